/**
 * One request of each request/response workload, as a closure per client. The closure
 * throws on error and returns a label when a workload mixes kinds (txn-mixed: 'read',
 * 'write'); the worker keeps one histogram per label.
 */
import type { BenchOptions } from './args.js';
import type { EtcdConn, LeaseKeepAliveResponse } from './etcd-client.js';
import { KeyChooser, Prng, keyBytes } from './keys.js';

export type Op = () => Promise<string | void>;

export interface ClientContext {
  conn: EtcdConn;
  opts: BenchOptions;
  /** global client number, for seeds and sequential-key offsets */
  clientIndex: number;
  /** counters a workload may add to (e.g. txn-put compare failures) */
  extra: Record<string, number>;
  /** txn-put: the last mod_revision known per key index, shared by the worker's clients
   * (as kube-apiserver's watch cache is shared by its requests); 0 = key absent */
  modRevisions?: Float64Array;
}

const CMP_MOD = 2; // Compare.CompareTarget.MOD
const CMP_EQUAL = 0; // Compare.CompareResult.EQUAL

export async function makeOp(ctx: ClientContext): Promise<Op> {
  const { conn, opts } = ctx;
  const offset = Math.floor((ctx.clientIndex * opts.keySpaceSize) / Math.max(1, opts.clients));
  const keys = new KeyChooser(opts.keySpaceSize, opts.sequentialKeys, 1 + ctx.clientIndex * 7919, offset);
  const value = Buffer.alloc(opts.valSize, 0x76);
  const serializable = opts.consistency === 's';
  const limit = opts.limit;

  switch (opts.workload) {
    case 'put':
      return async () => {
        await conn.put({ key: keyBytes(keys.next(), opts.keySize), value });
      };
    case 'range':
      return async () => {
        await conn.range({ key: keyBytes(keys.next(), opts.keySize), serializable, limit });
      };
    case 'txn-put': {
      // The Kubernetes optimistic update: if mod_revision(key) == what I last saw, put,
      // else read the current revision (and retry later with it).
      const seen = ctx.modRevisions ?? new Float64Array(opts.keySpaceSize);
      return async () => {
        const k = keys.next();
        const key = keyBytes(k, opts.keySize);
        const r = await conn.txn({
          compare: [{ key, target: CMP_MOD, result: CMP_EQUAL, modRevision: seen[k]! }],
          success: [{ requestPut: { key, value } }],
          failure: [{ requestRange: { key } }],
        });
        if (r.succeeded) {
          seen[k] = r.header?.revision ?? 0;
        } else {
          ctx.extra['txnCompareFailed'] = (ctx.extra['txnCompareFailed'] ?? 0) + 1;
          const kv = r.responses[0]?.responseRange?.kvs?.[0];
          seen[k] = kv?.modRevision ?? 0;
        }
      };
    }
    case 'txn-mixed': {
      const rng = new Prng(99 + ctx.clientIndex);
      const readShare = opts.rwRatio / (opts.rwRatio + 1);
      return async () => {
        const key = keyBytes(keys.next(), opts.keySize);
        if (rng.nextU32() / 0x1_0000_0000 < readShare) {
          await conn.txn({ success: [{ requestRange: { key, serializable, limit } }] });
          return 'read';
        }
        await conn.txn({ success: [{ requestPut: { key, value } }] });
        return 'write';
      };
    }
    case 'kube-create-delete': {
      // kube-apiserver's create (mod_revision(key) = 0, then put) on a key of this client's
      // own, then its conditional delete (mod_revision = the create's, else read); labels
      // 'create' and 'delete'.
      let n = 0;
      let created: { key: Buffer; rev: number } | undefined;
      return async () => {
        if (created === undefined) {
          const key = Buffer.from(`kube/${ctx.clientIndex}/${n++}`);
          const r = await conn.txn({ compare: [{ key, target: CMP_MOD, result: CMP_EQUAL, modRevision: 0 }], success: [{ requestPut: { key, value } }] });
          if (!r.succeeded) throw new Error(`create of ${key.toString()} found the key`);
          created = { key, rev: r.header?.revision ?? 0 };
          return 'create';
        }
        const { key, rev } = created;
        created = undefined;
        const r = await conn.txn({
          compare: [{ key, target: CMP_MOD, result: CMP_EQUAL, modRevision: rev }],
          success: [{ requestDeleteRange: { key } }],
          failure: [{ requestRange: { key } }],
        });
        if (!r.succeeded) throw new Error(`conditional delete of ${key.toString()} failed its compare`);
        return 'delete';
      };
    }
    case 'kube-list': {
      // One page of a paginated list: every page after the first is read at the first page's
      // revision (taken once here), from the key after the previous page.
      const pageLimit = limit > 0 ? limit : 500;
      const end = Buffer.from([0xff]);
      let rev = 0;
      return async () => {
        const r = await conn.range({ key: keyBytes(keys.next(), opts.keySize), rangeEnd: end, limit: pageLimit, ...(rev > 0 ? { revision: rev } : {}), serializable });
        if (rev === 0) rev = r.header?.revision ?? 0;
      };
    }
    case 'kube-count':
      return async () => {
        await conn.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), countOnly: true, serializable });
      };
    case 'lease-keepalive':
      return makeKeepAlive(conn, ctx.clientIndex);
    case 'lease-grant-revoke': {
      // Alternates: grant a lease (TTL 60, server-chosen ID), then revoke it; labels 'grant', 'revoke'.
      let held: bigint | undefined;
      return async () => {
        if (held === undefined) {
          const g = await conn.leaseGrant(60, 0n);
          if (g.error) throw new Error(`lease grant: ${g.error}`);
          held = g.ID;
          return 'grant';
        }
        const id = held;
        held = undefined;
        await conn.leaseRevoke(id);
        return 'revoke';
      };
    }
    default:
      throw new Error(`${opts.workload} is not a request/response workload`);
  }
}

/** One lease and one keep-alive stream per client; an op is one keep-alive round trip. */
async function makeKeepAlive(conn: EtcdConn, clientIndex: number): Promise<Op> {
  // A per-run base avoids clashing with old leases (IDs are exact 64-bit bigints).
  const base = BigInt(Date.now() % 1_000_000_000) * 1_000_000n;
  const grant = await conn.leaseGrant(60, base + BigInt(clientIndex) + 1n);
  if (grant.error) throw new Error(`lease grant: ${grant.error}`);
  const id = grant.ID;
  const stream = conn.keepAliveStream();
  const waiting: Array<{ ok: () => void; fail: (e: unknown) => void }> = [];
  stream.on('data', (_r: LeaseKeepAliveResponse) => waiting.shift()?.ok());
  stream.on('error', (e) => {
    for (const w of waiting.splice(0)) w.fail(e);
  });
  return () =>
    new Promise<void>((ok, fail) => {
      waiting.push({ ok, fail });
      stream.write({ ID: id });
    });
}
