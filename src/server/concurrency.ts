/**
 * Lock and election on the member (v3lockpb, v3electionpb; docs/leases.md "Lock and election"),
 * with the semantics of etcd's concurrency recipes, over the member's own KV operations:
 * keys `<name>/<lease hex>` with the caller's lease, ordered by create revision; a waiter waits
 * for every key with a lower create revision to be deleted, and after waiting checks that its
 * own key is still there (its lease may have expired meanwhile) before it answers.
 */
import { EtcdError } from '../errors/errors.js';
import { etcdserverpb, type mvccpb } from '../proto/pb.js';
import type { LeaseId } from '../util/pure/id64.js';
import type { KeyEvents } from './key-events.js';

const SORT = etcdserverpb.RangeRequest.SortTarget;
const ORDER = etcdserverpb.RangeRequest.SortOrder;
const CMP = etcdserverpb.Compare;

/** What lock and election need of the member (EtcdServer implements it). */
export interface KvHost {
  txn(req: etcdserverpb.ITxnRequest): Promise<Uint8Array | etcdserverpb.ITxnResponse>;
  range(req: etcdserverpb.IRangeRequest): Promise<etcdserverpb.IRangeResponse>;
  deleteRange(req: etcdserverpb.IDeleteRangeRequest): Promise<Uint8Array>;
}

export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** `<name>/`, and the caller's key `<name>/<lease in hex>` (etcd's `%s%x`). */
export function keysFor(name: Uint8Array, lease: LeaseId): { prefix: Buffer; key: Buffer } {
  const prefix = Buffer.concat([Buffer.from(name), Buffer.from('/')]);
  const hex = lease < 0n ? `-${(-lease).toString(16)}` : lease.toString(16);
  return { prefix, key: Buffer.concat([prefix, Buffer.from(hex)]) };
}

function decodeTxn(r: Uint8Array | etcdserverpb.ITxnResponse): etcdserverpb.ITxnResponse {
  return r instanceof Uint8Array ? etcdserverpb.TxnResponse.decode(r) : r;
}

/** etcd's concurrency.NewSession default TTL (s): the lease Lock/Campaign take when given none. */
export const DEFAULT_SESSION_TTL = 60;

export class Concurrency {
  constructor(
    private readonly kv: KvHost,
    private readonly events: KeyEvents,
    /** Grants a lease of `ttl` seconds (for a Lock or Campaign that names none, as etcd's session does). */
    private readonly grantLease: (ttl: number) => Promise<LeaseId>,
  ) {}

  /** The key with the lowest create revision under `prefix` (the lock holder, the leader). */
  async first(prefix: Uint8Array): Promise<{ kv: mvccpb.IKeyValue | undefined; header: etcdserverpb.IResponseHeader }> {
    const r = await this.kv.range({ key: prefix, rangeEnd: prefixEnd(prefix), sortTarget: SORT.CREATE, sortOrder: ORDER.ASCEND, limit: 1 });
    return { kv: r.kvs?.[0], header: r.header ?? {} };
  }

  /**
   * Creates `key` with `lease` if it does not exist (else keeps it): its create revision, and
   * whether it existed with another value.
   */
  async create(key: Buffer, value: Uint8Array, lease: LeaseId): Promise<{ rev: number; existing?: mvccpb.IKeyValue; header: etcdserverpb.IResponseHeader }> {
    const res = decodeTxn(await this.kv.txn({
      compare: [{ key, target: CMP.CompareTarget.CREATE, result: CMP.CompareResult.EQUAL, createRevision: 0 }],
      success: [{ requestPut: { key, value, lease } }],
      failure: [{ requestRange: { key } }],
    }));
    if (res.succeeded) return { rev: Number(res.header?.revision), header: res.header ?? {} };
    const kv = res.responses?.[0]?.responseRange?.kvs?.[0];
    if (kv === undefined) throw new EtcdError('ETCD_ERR_LEASE_NOT_FOUND'); // deleted in between: its lease is gone
    return { rev: Number(kv.createRevision), existing: kv, header: res.header ?? {} };
  }

  /** Waits until no key under `prefix` has a create revision at or below `maxCreateRev`. */
  async waitDeletes(prefix: Buffer, maxCreateRev: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const r = await this.kv.range({
        key: prefix, rangeEnd: prefixEnd(prefix), maxCreateRevision: maxCreateRev,
        sortTarget: SORT.CREATE, sortOrder: ORDER.DESCEND, limit: 1,
      });
      const last = r.kvs?.[0];
      if (last === undefined) return;
      const key = Buffer.from(last.key ?? []);
      const createRev = Number(last.createRevision);
      await this.events.waitDeleted(key, async () => {
        const now = await this.kv.range({ key });
        return Number(now.kvs?.[0]?.createRevision ?? 0) !== createRev;
      }, signal);
    }
  }

  /** After waiting: is our key still there, as we created it? Its lease may have expired. */
  async stillHeld(key: Buffer, rev: number): Promise<etcdserverpb.IResponseHeader> {
    const r = await this.kv.range({ key });
    if (Number(r.kvs?.[0]?.createRevision ?? 0) !== rev) throw new EtcdError('ETCD_ERR_LEASE_NOT_FOUND');
    return r.header ?? {};
  }

  /** etcd's Mutex.Lock on the member. */
  async lock(name: Uint8Array, lease: LeaseId, signal?: AbortSignal): Promise<{ header: etcdserverpb.IResponseHeader; key: Buffer }> {
    if (lease === 0n) lease = await this.grantLease(DEFAULT_SESSION_TTL);
    const { prefix, key } = keysFor(name, lease);
    const mine = await this.create(key, new Uint8Array(0), lease);
    try {
      await this.waitDeletes(prefix, mine.rev - 1, signal);
    } catch (err) {
      // Given up (client gone): release our place, as etcd's Mutex does.
      await this.kv.deleteRange({ key }).catch(() => undefined);
      throw err;
    }
    const header = await this.stillHeld(key, mine.rev);
    return { header, key };
  }

  async unlock(key: Uint8Array): Promise<Uint8Array> {
    return this.kv.deleteRange({ key });
  }

  /** etcd's Election.Campaign on the member. */
  async campaign(name: Uint8Array, lease: LeaseId, value: Uint8Array, signal?: AbortSignal): Promise<{ header: etcdserverpb.IResponseHeader; leader: { name: Uint8Array; key: Buffer; rev: number; lease: LeaseId } }> {
    if (lease === 0n) lease = await this.grantLease(DEFAULT_SESSION_TTL);
    const { prefix, key } = keysFor(name, lease);
    const mine = await this.create(key, value, lease);
    const leader = { name, key, rev: mine.rev, lease };
    if (mine.existing !== undefined && !Buffer.from(mine.existing.value ?? []).equals(Buffer.from(value))) {
      await this.proclaim(leader, value);
    }
    try {
      await this.waitDeletes(prefix, mine.rev - 1, signal);
    } catch (err) {
      await this.kv.deleteRange({ key }).catch(() => undefined);
      throw err;
    }
    const header = await this.stillHeld(key, mine.rev);
    return { header, leader };
  }

  /** A new value from the leader: only while its key is the one it created. */
  async proclaim(leader: { key?: Uint8Array | null; rev?: number | null; lease?: bigint | null }, value: Uint8Array): Promise<etcdserverpb.IResponseHeader> {
    const key = Buffer.from(leader.key ?? []);
    const res = decodeTxn(await this.kv.txn({
      compare: [{ key, target: CMP.CompareTarget.CREATE, result: CMP.CompareResult.EQUAL, createRevision: Number(leader.rev ?? 0) }],
      success: [{ requestPut: { key, value, lease: leader.lease ?? 0n } }],
    }));
    if (!res.succeeded) throw new EtcdError('ETCD_ERR_ELECTION_NOT_LEADER');
    return res.header ?? {};
  }

  async leader(name: Uint8Array): Promise<{ header: etcdserverpb.IResponseHeader; kv: mvccpb.IKeyValue }> {
    const { prefix } = keysFor(name, 0n);
    const { kv, header } = await this.first(prefix);
    if (kv === undefined) throw new EtcdError('ETCD_ERR_ELECTION_NO_LEADER');
    return { header, kv };
  }

  async resign(leader: { key?: Uint8Array | null; rev?: number | null }): Promise<etcdserverpb.IResponseHeader> {
    const key = Buffer.from(leader.key ?? []);
    const res = decodeTxn(await this.kv.txn({
      compare: [{ key, target: CMP.CompareTarget.CREATE, result: CMP.CompareResult.EQUAL, createRevision: Number(leader.rev ?? 0) }],
      success: [{ requestDeleteRange: { key } }],
    }));
    return res.header ?? {};
  }

  /**
   * Calls `send` with the leader's key-value now (if any) and each time the leader or its value
   * changes, until `signal` aborts.
   */
  async observe(name: Uint8Array, send: (kv: mvccpb.IKeyValue, header: etcdserverpb.IResponseHeader) => void, signal: AbortSignal): Promise<void> {
    const { prefix } = keysFor(name, 0n);
    let last = '';
    let wake: (() => void) | undefined;
    let dirty = true;
    const changed = (): void => {
      dirty = true;
      wake?.();
    };
    const stopEvents = this.events.listen(prefix, changed);
    const stopResync = this.events.onResync(changed);
    const stop = (): void => {
      stopEvents();
      stopResync();
    };
    const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    try {
      while (!signal.aborted) {
        if (dirty) {
          dirty = false;
          const { kv, header } = await this.first(prefix);
          if (kv !== undefined) {
            const id = `${Buffer.from(kv.key ?? []).toString('hex')}@${String(kv.modRevision)}`;
            if (id !== last) {
              last = id;
              send(kv, header);
            }
          }
          continue;
        }
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
        wake = undefined;
      }
    } finally {
      stop();
    }
  }
}
