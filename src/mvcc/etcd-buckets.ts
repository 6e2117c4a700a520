/**
 * The store as etcd's bbolt buckets (docs/snapshot-format.md): what a snapshot in etcd's format
 * holds, read from one consistent LMDB read view. Buckets come in bbolt (byte) order, each with
 * its entries in key order, ready for BoltWriter.
 *
 *   alarm            AlarmMember{memberID, alarm} marshalled -> empty
 *   auth             authEnabled -> 1 byte (1/0; only once auth was ever enabled), authRevision -> u64 BE
 *   authRoles        role name -> authpb.Role marshalled (docs/auth.md)
 *   authUsers        user name -> authpb.User marshalled
 *   cluster          "clusterVersion" -> "3.6.0"
 *   key              revision key (17/18 bytes) -> mvccpb.KeyValue (src/mvcc/etcd-format.ts)
 *   lease            lease ID int64 BE -> leasepb.Lease{ID, TTL, RemainingTTL} marshalled
 *   members          member ID in hex -> {"id":<uint64>,"peerURLs":[...],"name":"...","clientURLs":[...]}
 *   members_removed  (empty)
 *   meta             consistent_index -> u64 BE applied index; finishedCompactRev and
 *                    scheduledCompactRev -> revision key (compacted revision, sub 0), when compacted;
 *                    term -> u64 BE term of the applied index
 *
 * The key bucket holds what physical compaction leaves: every revision above the compacted
 * revision C, and for revisions at or below C the newest one of each key unless it is a
 * tombstone, whether or not our physical compaction has finished.
 */
import type { LmdbReadView } from './kvstore.js';
import { encodeRevision, readU64, u64Bytes } from './revision.js';
import { etcdKeyBucketEntry, keptAtOrBelow } from './hash.js';
import { etcdRevKey } from './etcd-format.js';

export interface EtcdMemberInfo {
  readonly memberId: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

export interface EtcdBucketsInput {
  readonly members: readonly EtcdMemberInfo[];
  /** etcd's clusterVersion, "major.minor.0". */
  readonly clusterVersion: string;
  readonly alarms: readonly { readonly memberId: bigint; readonly alarm: number }[];
  /** Leases in ID byte order (int64 big-endian, as etcd's bucket sorts them). */
  readonly leases: Iterable<{ readonly id: bigint; readonly ttl: number; readonly remainingTtl: number }>;
  readonly appliedIndex: number;
  readonly term: number;
  /** Our scheduled compaction (0: none pending, so the `rev` dbi holds exactly what compaction keeps). */
  readonly scheduledCompactRev: number;
  /** The auth store (docs/auth.md); absent: auth never used (revision 1, no users or roles). */
  readonly auth?: EtcdAuthBuckets;
}

/** The auth store in etcd's bucket form: names and marshalled authpb.User / authpb.Role values. */
export interface EtcdAuthBuckets {
  /** undefined: never enabled nor disabled (etcd then has no authEnabled key). */
  readonly enabled: boolean | undefined;
  readonly revision: number;
  readonly users: readonly (readonly [Uint8Array, Uint8Array])[];
  readonly roles: readonly (readonly [Uint8Array, Uint8Array])[];
}

export type BucketEntries = Iterable<readonly [Uint8Array, Uint8Array]>;

const b = (s: string): Buffer => Buffer.from(s);
const EMPTY: BucketEntries = [];

function varint(n: bigint): number[] {
  const out: number[] = [];
  let u = BigInt.asUintN(64, n);
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}

/** etcdserverpb.AlarmMember marshalled (zero fields omitted). */
export function encodeAlarmMember(memberId: bigint, alarm: number): Buffer {
  const bytes: number[] = [];
  if (memberId !== 0n) bytes.push(0x08, ...varint(memberId));
  if (alarm !== 0) bytes.push(0x10, ...varint(BigInt(alarm)));
  return Buffer.from(bytes);
}

/** leasepb.Lease{ID, TTL, RemainingTTL} marshalled (zero fields omitted). */
export function encodeLease(id: bigint, ttl: number, remainingTtl: number): Buffer {
  const bytes: number[] = [];
  if (id !== 0n) bytes.push(0x08, ...varint(id));
  if (ttl !== 0) bytes.push(0x10, ...varint(BigInt(ttl)));
  if (remainingTtl !== 0) bytes.push(0x18, ...varint(BigInt(remainingTtl)));
  return Buffer.from(bytes);
}

/** Decodes leasepb.Lease (unknown fields skipped); throws on malformed bytes. */
export function decodeLease(b: Uint8Array): { id: bigint; ttl: number; remainingTtl: number } {
  let o = 0;
  const out = { id: 0n, ttl: 0, remainingTtl: 0 };
  const vint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (o >= b.length || shift > 63n) throw new Error('leasepb.Lease: malformed varint');
      const c = b[o++]!;
      v |= BigInt(c & 0x7f) << shift;
      if ((c & 0x80) === 0) return v;
    }
  };
  while (o < b.length) {
    const tag = Number(vint());
    if ((tag & 7) !== 0) throw new Error(`leasepb.Lease: unexpected wire type ${tag & 7}`);
    const v = BigInt.asIntN(64, vint());
    if (tag >>> 3 === 1) out.id = v;
    else if (tag >>> 3 === 2) out.ttl = Number(v);
    else if (tag >>> 3 === 3) out.remainingTtl = Number(v);
  }
  return out;
}

/** etcd's membership.Member as JSON (the ID as an exact uint64 number). */
export function memberJson(m: EtcdMemberInfo): string {
  const parts = [`"id":${BigInt.asUintN(64, m.memberId).toString()}`, `"peerURLs":${JSON.stringify(m.peerUrls)}`];
  if (m.name !== '') parts.push(`"name":${JSON.stringify(m.name)}`);
  if (m.clientUrls.length > 0) parts.push(`"clientURLs":${JSON.stringify(m.clientUrls)}`);
  return `{${parts.join(',')}}`;
}

function* keyBucket(view: LmdbReadView, scheduled: number): Generator<[Buffer, Buffer]> {
  const c = view.compactedRev;
  let start: Buffer | undefined;
  if (scheduled !== 0 && c > 0) {
    for (const e of keptAtOrBelow(view, c, c)) {
      const kv = etcdKeyBucketEntry(e.modRevision, e.sub, view.record(e));
      yield [kv.key, kv.value];
    }
    start = encodeRevision(c + 1, 0);
  }
  // revScan: `value` is valid for this step only; etcdKeyBucketEntry copies it.
  for (const { key, value } of view.backend.revScan().getRange({ ...view.opts, ...(start ? { start } : {}) })) {
    const main = readU64(key, 0);
    if (main > view.rev) break;
    const kv = etcdKeyBucketEntry(main, readU64(key, 8), value);
    yield [kv.key, kv.value];
  }
}

function authBucket(a: EtcdAuthBuckets | undefined): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  if (a?.enabled !== undefined) out.push([b('authEnabled'), Buffer.from([a.enabled ? 1 : 0])]);
  out.push([b('authRevision'), u64Bytes(a?.revision ?? 1)]);
  return out;
}

function sortedEntries(list: readonly (readonly [Uint8Array, Uint8Array])[] | undefined): BucketEntries {
  if (list === undefined || list.length === 0) return EMPTY;
  return list.map(([k, v]): [Buffer, Buffer] => [Buffer.from(k), Buffer.from(v)]).sort((x, y) => Buffer.compare(x[0], y[0]));
}

/** The buckets in bbolt order. The key bucket is a lazy generator over `view`: use it inside the read transaction. */
export function etcdBuckets(view: LmdbReadView, input: EtcdBucketsInput): [Buffer, BucketEntries][] {
  const alarms = input.alarms
    .map((a) => encodeAlarmMember(a.memberId, a.alarm))
    .sort(Buffer.compare)
    .map((k): [Buffer, Buffer] => [k, Buffer.alloc(0)]);
  const members = input.members
    .map((m): [Buffer, Buffer] => [b(BigInt.asUintN(64, m.memberId).toString(16)), b(memberJson(m))])
    .sort((x, y) => Buffer.compare(x[0], y[0]));
  const meta: [Buffer, Buffer][] = [[b('consistent_index'), u64Bytes(input.appliedIndex)]];
  if (view.compactedRev > 0) {
    const rk = etcdRevKey(view.compactedRev, 0, false);
    meta.push([b('finishedCompactRev'), rk], [b('scheduledCompactRev'), rk]);
  }
  meta.push([b('term'), u64Bytes(input.term)]);
  return [
    [b('alarm'), alarms],
    // etcd's auth store commits revision 1 when it first opens a backend.
    [b('auth'), authBucket(input.auth)],
    [b('authRoles'), sortedEntries(input.auth?.roles)],
    [b('authUsers'), sortedEntries(input.auth?.users)],
    [b('cluster'), [[b('clusterVersion'), b(input.clusterVersion)]]],
    [b('key'), { [Symbol.iterator]: () => keyBucket(view, input.scheduledCompactRev) }],
    [b('lease'), { [Symbol.iterator]: function* () {
      for (const l of input.leases) {
        const k = Buffer.allocUnsafe(8);
        k.writeBigUInt64BE(BigInt.asUintN(64, l.id));
        yield [k, encodeLease(l.id, l.ttl, l.remainingTtl)] as const;
      }
    } }],
    [b('members'), members],
    [b('members_removed'), EMPTY],
    [b('meta'), meta],
  ];
}
