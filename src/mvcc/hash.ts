/**
 * HashKV: etcd's hash of the MVCC state up to a revision, byte for byte, so a store can be
 * checked against a real etcd fed the same writes (and members against each other).
 *
 * etcd computes a CRC-32C (Castagnoli) over its bbolt `key` bucket in bucket (revision) order:
 *
 *   crc32c("key") ++ for each bucket entry (k, v) that counts: k ++ v
 *
 * where k is the 17-byte revision key (18 with the tombstone mark) and v the marshalled
 * mvccpb.KeyValue (src/mvcc/etcd-format.ts). An entry counts when its main revision is at or
 * below the hashed revision R and either
 *   - its main revision is above the compacted revision C, or
 *   - it is the newest revision at or below R of its key and not a tombstone (what
 *     compaction keeps; so the hash does not depend on how far physical compaction got).
 * The second group (all at or below C) comes first, in revision order.
 */
import { crc32c } from '@node-rs/crc32';
import { EtcdError } from '../errors/errors.js';
import type { LmdbReadView } from './kvstore.js';
import { encodeRevision, readU64, writeU64 } from './revision.js';
import { FLAG_TOMBSTONE, KV_RECORD_HEADER_BYTES, type LocatedEntry } from './records.js';
import { ETCD_REV_KEY_BYTES, decodeEtcdKeyValue, parseEtcdRevKey } from './etcd-format.js';

export interface KvHash {
  readonly hash: number;
  /** The revision hashed up to. */
  readonly hashRevision: number;
  readonly compactRevision: number;
}

/** One entry of etcd's key bucket, from our record at (main, sub). */
export function etcdKeyBucketEntry(main: number, sub: number, record: Buffer): { key: Buffer; value: Buffer; both: Buffer } {
  const both = etcdEntryBytes(main, sub, record);
  const kl = record[0] === FLAG_TOMBSTONE ? ETCD_REV_KEY_BYTES + 1 : ETCD_REV_KEY_BYTES;
  return { key: both.subarray(0, kl), value: both.subarray(kl), both };
}

function varintSize(n: number): number {
  let s = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

function putVarint(b: Buffer, o: number, n: number): number {
  while (n >= 128) {
    b[o++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  b[o++] = n;
  return o;
}

/** Fields of a KvRecord the etcd encoding needs, parsed once. */
interface RecordFields {
  tomb: boolean;
  kl: number;
  keyEnd: number;
  vl: number;
  create: number;
  version: number;
  lease: bigint;
  leaseSize: number;
  size: number;
}

function fieldsOf(main: number, rec: Buffer): RecordFields {
  if (rec.length < KV_RECORD_HEADER_BYTES) throw new Error('kv record: short');
  const flags = rec[0]!;
  if ((flags & ~FLAG_TOMBSTONE) !== 0) throw new Error(`unknown record flags ${flags}`);
  const tomb = flags === FLAG_TOMBSTONE;
  const kl = rec.readUInt32BE(25);
  const keyEnd = KV_RECORD_HEADER_BYTES + kl;
  if (keyEnd > rec.length) throw new Error('kv record: key length beyond record');
  const vl = rec.length - keyEnd;
  if (tomb) {
    return { tomb, kl, keyEnd, vl, create: 0, version: 0, lease: 0n, leaseSize: 0, size: ETCD_REV_KEY_BYTES + 1 + 1 + varintSize(kl) + kl };
  }
  const create = readU64(rec, 1);
  const version = readU64(rec, 9);
  const leaseHi = rec.readUInt32BE(17);
  const leaseLo = rec.readUInt32BE(21);
  let lease = 0n;
  let leaseSize = 0;
  if (leaseHi !== 0 || leaseLo !== 0) {
    lease = (BigInt(leaseHi) << 32n) | BigInt(leaseLo);
    leaseSize = 1;
    for (let u = lease; u >= 0x80n; u >>= 7n) leaseSize++;
  }
  const size = ETCD_REV_KEY_BYTES + 1 + varintSize(kl) + kl
    + (create !== 0 ? 1 + varintSize(create) : 0)
    + (main !== 0 ? 1 + varintSize(main) : 0)
    + (version !== 0 ? 1 + varintSize(version) : 0)
    + (vl > 0 ? 1 + varintSize(vl) + vl : 0)
    + (leaseSize > 0 ? 1 + leaseSize : 0);
  return { tomb, kl, keyEnd, vl, create, version, lease, leaseSize, size };
}

/** Writes the entry at `out[off]` (room for `f.size` bytes); returns the offset after it. */
function writeEntry(out: Buffer, off: number, main: number, sub: number, rec: Buffer, f: RecordFields): number {
  writeRevKey(out, off, main, sub, f.tomb);
  let o = off + (f.tomb ? ETCD_REV_KEY_BYTES + 1 : ETCD_REV_KEY_BYTES);
  out[o++] = 0x0a;
  o = putVarint(out, o, f.kl);
  rec.copy(out, o, KV_RECORD_HEADER_BYTES, f.keyEnd);
  o += f.kl;
  if (f.tomb) return o;
  if (f.create !== 0) {
    out[o++] = 0x10;
    o = putVarint(out, o, f.create);
  }
  if (main !== 0) {
    out[o++] = 0x18;
    o = putVarint(out, o, main);
  }
  if (f.version !== 0) {
    out[o++] = 0x20;
    o = putVarint(out, o, f.version);
  }
  if (f.vl > 0) {
    out[o++] = 0x2a;
    o = putVarint(out, o, f.vl);
    rec.copy(out, o, f.keyEnd);
    o += f.vl;
  }
  if (f.leaseSize > 0) {
    out[o++] = 0x30;
    let u = f.lease;
    while (u >= 0x80n) {
      out[o++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    out[o++] = Number(u);
  }
  return o;
}

/**
 * etcd's revision key followed by its marshalled KeyValue, in one buffer, straight from our
 * KvRecord bytes (docs/storage-lmdb.md): the hot loop of HashKV and snapshots, so no objects
 * in between. Equal to etcdRevKey ++ encodeEtcdKeyValue / encodeEtcdTombstone (tested).
 */
export function etcdEntryBytes(main: number, sub: number, rec: Buffer): Buffer {
  const f = fieldsOf(main, rec);
  const out = Buffer.allocUnsafe(f.size);
  if (writeEntry(out, 0, main, sub, rec, f) !== f.size) throw new Error('etcdEntryBytes: size mismatch');
  return out;
}

/** Bytes gathered before one crc32c call (fewer native calls, no allocation per entry). */
const HASH_CHUNK_BYTES = 1 << 20;

/** A CRC-32C over etcd key-bucket entries appended one by one. */
class EntryHasher {
  #h: number;
  readonly #buf = Buffer.allocUnsafe(HASH_CHUNK_BYTES);
  #used = 0;
  constructor(seed: Buffer) {
    this.#h = crc32c(seed);
  }
  add(main: number, sub: number, rec: Buffer): void {
    const f = fieldsOf(main, rec);
    if (this.#used + f.size > this.#buf.length) this.#flush();
    if (f.size > this.#buf.length) {
      this.#h = crc32c(etcdEntryBytes(main, sub, rec), this.#h);
      return;
    }
    const end = writeEntry(this.#buf, this.#used, main, sub, rec, f);
    if (end - this.#used !== f.size) throw new Error('EntryHasher: size mismatch');
    this.#used = end;
  }
  #flush(): void {
    if (this.#used > 0) this.#h = crc32c(this.#buf.subarray(0, this.#used), this.#h);
    this.#used = 0;
  }
  digest(): number {
    this.#flush();
    return this.#h >>> 0;
  }
}

function writeRevKey(b: Buffer, off: number, main: number, sub: number, tombstone: boolean): void {
  writeU64(b, off, main);
  b[off + 8] = 0x5f;
  writeU64(b, off + 9, sub);
  if (tombstone) b[off + 17] = 0x74;
}

/** The entries at or below C that compaction at C keeps and that are still the newest at or below `rev`, in revision order. */
export function keptAtOrBelow(view: LmdbReadView, c: number, rev: number): LocatedEntry[] {
  const kept: LocatedEntry[] = [];
  if (c <= 0) return kept;
  for (const { key, head } of view.heads(new Uint8Array(0), new Uint8Array([0]))) {
    const e = head.modRevision <= rev ? head : view.locateHistorical(key, rev);
    if (e === undefined || e.tombstone || e.modRevision > c) continue;
    kept.push(e);
  }
  kept.sort((a, b) => a.modRevision - b.modRevision || a.sub - b.sub);
  return kept;
}

export function hashKv(view: LmdbReadView, revision: number): KvHash {
  if (revision > view.rev) throw new EtcdError('ETCD_ERR_MVCC_FUTURE_REV');
  const rev = revision <= 0 ? view.rev : revision;
  const c = view.compactedRev;
  if (rev < c) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
  const h = new EntryHasher(Buffer.from('key'));
  for (const e of keptAtOrBelow(view, c, rev)) h.add(e.modRevision, e.sub, view.record(e));
  // revScan: `value` is valid for this step only; etcdEntryBytes copies what it needs.
  for (const { key, value } of view.backend.revScan().getRange({ ...view.opts, start: encodeRevision(c + 1, 0) })) {
    const main = readU64(key, 0);
    if (main > rev) break;
    h.add(main, readU64(key, 8), value);
  }
  return { hash: h.digest(), hashRevision: rev, compactRevision: c };
}

/**
 * etcd's HashKV over an etcd key bucket (a snapshot or an etcd data file): the same rule as
 * `hashKv`, computed from the bucket's entries in order. `compactRev` from its meta bucket.
 */
export function hashKvOfKeyBucket(
  entries: () => Iterable<readonly [Uint8Array, Uint8Array]>,
  compactRev: number,
  revision: number,
): KvHash {
  // Pass 1: the newest revision at or below `revision` of every key that has one at or below C.
  let top = 0;
  const newest = new Map<string, { main: number; sub: number; tombstone: boolean }>();
  for (const [k, v] of entries()) {
    const rk = parseEtcdRevKey(k);
    top = rk.main;
    const rev = revision > 0 ? revision : Number.MAX_SAFE_INTEGER;
    if (rk.main > rev) continue;
    newest.set(Buffer.from(decodeEtcdKeyValue(v).key).toString('latin1'), rk);
  }
  const rev = revision > 0 ? revision : Math.max(top, compactRev);
  if (rev < compactRev) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
  let h = crc32c(Buffer.from('key'));
  for (const [k, v] of entries()) {
    const rk = parseEtcdRevKey(k);
    if (rk.main > rev) break;
    if (rk.main <= compactRev) {
      const n = newest.get(Buffer.from(decodeEtcdKeyValue(v).key).toString('latin1'));
      if (n === undefined || n.main !== rk.main || n.sub !== rk.sub || n.tombstone) continue;
    }
    h = crc32c(Buffer.from(k), h);
    h = crc32c(Buffer.from(v), h);
  }
  return { hash: h >>> 0, hashRevision: rev, compactRevision: compactRev };
}
