/**
 * WriteTxn: the writes of one request (put / delete range / txn) inside the applier's LMDB
 * write transaction. All writes share main revision beginRev + 1 and take increasing sub
 * revisions. Reads through this object see the request's own earlier writes (etcd's
 * storeTxnWrite.Range reads at beginRev + 1 once something changed).
 *
 * Only the apply worker creates these. The caller validates first (so a write almost never
 * fails half-way) and, if one does, aborts and re-runs the batch without that request
 * (so even a bug cannot leave half of it).
 */
import type { LmdbBackend } from '../backend/backend.js';
import { mvccpb } from '../proto/pb.js';
import type { KeyValue, TxnWrite } from './kv.js';
import { LmdbReadView } from './kvstore.js';
import { encodeIndexKey, isStorableKey } from './key-index.js';
import { encodeIndexRecord, encodeKvRecord, encodeLatestRecord, type IndexEntry } from './records.js';
import { assert, encodeRevision } from './revision.js';
import { writeU64Big } from '../util/pure/u64be.js';
import type { LeaseId } from '../util/pure/id64.js';

const EMPTY = new Uint8Array(0);
const EMPTY_BUF = Buffer.alloc(0);

/** lease_keys key: lease ID u64 BE (its two's complement) ++ user key. */
export function leaseKey(lease: LeaseId, key: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(8 + key.length);
  writeU64Big(b, 0, lease);
  b.set(key, 8);
  return b;
}

export class WriteTxn extends LmdbReadView implements TxnWrite {
  readonly beginRev: number;
  #sub = 0;
  /** Events produced, in order (for watchers). */
  readonly events: mvccpb.Event.$Properties[] = [];

  constructor(backend: LmdbBackend, beginRev: number, compactedRev: number) {
    super(backend, {}, beginRev, compactedRev);
    this.beginRev = beginRev;
  }

  get changes(): number {
    return this.#sub;
  }

  /** Revision reads see: beginRev, or beginRev + 1 once this txn wrote something. */
  override get rev(): number {
    return this.#sub > 0 ? this.beginRev + 1 : this.beginRev;
  }

  /** Store revision after this txn ends. */
  endRev(): number {
    return this.rev;
  }

  private write(key: Uint8Array, e: IndexEntry, value: Uint8Array): { main: number; sub: number } {
    assert(isStorableKey(key), 'write: key must be validated before writing');
    const main = this.beginRev + 1;
    const sub = this.#sub++;
    const b = this.backend;
    // Revisions only grow: MDB_APPEND (fails loudly if that invariant ever breaks).
    const appended = b.rev.putSync(encodeRevision(main, sub), encodeKvRecord({ ...e, key, value }), { append: true });
    assert(appended, `rev ${main}.${sub} is not above every stored revision`);
    b.kidx.putSync(encodeIndexKey(key, main, sub), encodeIndexRecord(e));
    b.latest.putSync(Buffer.from(key.buffer, key.byteOffset, key.length), encodeLatestRecord({ ...e, modRevision: main, sub }));
    return { main, sub };
  }

  put(key: Uint8Array, value: Uint8Array, lease: LeaseId): number {
    const h = this.head(key);
    const live = h !== undefined && !h.tombstone;
    const main = this.beginRev + 1;
    const e: IndexEntry = {
      tombstone: false,
      createRevision: live ? h.createRevision : main,
      version: live ? h.version + 1 : 1,
      lease,
    };
    this.write(key, e, value);
    const prevLease = live ? h.lease : 0n;
    if (prevLease !== lease) {
      if (prevLease !== 0n) assert(this.backend.leaseKeys.removeSync(leaseKey(prevLease, key)), 'lease_keys: attached key not listed');
      if (lease !== 0n) this.backend.leaseKeys.putSync(leaseKey(lease, key), EMPTY_BUF);
    }
    if (h?.tombstone) assert(this.backend.tombs.removeSync(Buffer.from(key.buffer, key.byteOffset, key.length)), 'tombs: head tombstone not listed');
    this.events.push({
      type: mvccpb.Event.EventType.PUT,
      kv: { key, createRevision: e.createRevision, modRevision: main, version: e.version, value, lease },
    });
    return main;
  }

  deleteRange(key: Uint8Array, end: Uint8Array, withPrevValues = false): { deleted: number; rev: number; prevKvs: KeyValue[] } {
    // Collect first: the scan must not run over entries being rewritten.
    const prevKvs = this.rangeKeys(key, end, { noValues: !withPrevValues }).kvs;
    for (const kv of prevKvs) {
      const { main } = this.write(kv.key, { tombstone: true, createRevision: 0, version: 0, lease: 0n }, EMPTY);
      this.backend.tombs.putSync(Buffer.from(kv.key), EMPTY_BUF);
      if (kv.lease !== 0n) assert(this.backend.leaseKeys.removeSync(leaseKey(kv.lease, kv.key)), 'lease_keys: attached key not listed');
      this.events.push({ type: mvccpb.Event.EventType.DELETE, kv: { key: kv.key, modRevision: main } });
    }
    const rev = prevKvs.length > 0 || this.#sub > 0 ? this.beginRev + 1 : this.beginRev;
    return { deleted: prevKvs.length, rev, prevKvs };
  }
}
