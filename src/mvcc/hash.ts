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

/**
 * etcd's revision key followed by its marshalled KeyValue, in one buffer, straight from our
 * KvRecord bytes (docs/storage-lmdb.md): the hot loop of HashKV and snapshots, so no objects
 * in between. Equal to etcdRevKey ++ encodeEtcdKeyValue / encodeEtcdTombstone (tested).
 */
export function etcdEntryBytes(main: number, sub: number, rec: Buffer): Buffer {
  if (rec.length < KV_RECORD_HEADER_BYTES) throw new Error('kv record: short');
  const flags = rec[0]!;
  if ((flags & ~FLAG_TOMBSTONE) !== 0) throw new Error(`unknown record flags ${flags}`);
  const tomb = flags === FLAG_TOMBSTONE;
  const kl = rec.readUInt32BE(25);
  const keyEnd = KV_RECORD_HEADER_BYTES + kl;
  if (keyEnd > rec.length) throw new Error('kv record: key length beyond record');
  const vl = rec.length - keyEnd;
  const revBytes = tomb ? ETCD_REV_KEY_BYTES + 1 : ETCD_REV_KEY_BYTES;
  if (tomb) {
    const out = Buffer.allocUnsafe(revBytes + 1 + varintSize(kl) + kl);
    writeRevKey(out, main, sub, true);
    let o = revBytes;
    out[o++] = 0x0a;
    o = putVarint(out, o, kl);
    rec.copy(out, o, KV_RECORD_HEADER_BYTES, keyEnd);
    return out;
  }
  const create = readU64(rec, 1);
  const version = readU64(rec, 9);
  const leaseHi = rec.readUInt32BE(17);
  const leaseLo = rec.readUInt32BE(21);
  const hasLease = leaseHi !== 0 || leaseLo !== 0;
  let leaseSize = 0;
  let lease = 0n;
  if (hasLease) {
    lease = (BigInt(leaseHi) << 32n) | BigInt(leaseLo);
    leaseSize = 1;
    for (let u = lease; u >= 0x80n; u >>= 7n) leaseSize++;
  }
  const size = revBytes + 1 + varintSize(kl) + kl
    + (create !== 0 ? 1 + varintSize(create) : 0)
    + (main !== 0 ? 1 + varintSize(main) : 0)
    + (version !== 0 ? 1 + varintSize(version) : 0)
    + (vl > 0 ? 1 + varintSize(vl) + vl : 0)
    + (hasLease ? 1 + leaseSize : 0);
  const out = Buffer.allocUnsafe(size);
  writeRevKey(out, main, sub, false);
  let o = revBytes;
  out[o++] = 0x0a;
  o = putVarint(out, o, kl);
  rec.copy(out, o, KV_RECORD_HEADER_BYTES, keyEnd);
  o += kl;
  if (create !== 0) {
    out[o++] = 0x10;
    o = putVarint(out, o, create);
  }
  if (main !== 0) {
    out[o++] = 0x18;
    o = putVarint(out, o, main);
  }
  if (version !== 0) {
    out[o++] = 0x20;
    o = putVarint(out, o, version);
  }
  if (vl > 0) {
    out[o++] = 0x2a;
    o = putVarint(out, o, vl);
    rec.copy(out, o, keyEnd);
    o += vl;
  }
  if (hasLease) {
    out[o++] = 0x30;
    let u = lease;
    while (u >= 0x80n) {
      out[o++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    out[o++] = Number(u);
  }
  if (o !== size) throw new Error('etcdEntryBytes: size mismatch');
  return out;
}

function writeRevKey(b: Buffer, main: number, sub: number, tombstone: boolean): void {
  writeU64(b, 0, main);
  b[8] = 0x5f;
  writeU64(b, 9, sub);
  if (tombstone) b[17] = 0x74;
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
  let h = crc32c(Buffer.from('key'));
  const add = (main: number, sub: number, record: Buffer): void => {
    h = crc32c(etcdEntryBytes(main, sub, record), h);
  };
  for (const e of keptAtOrBelow(view, c, rev)) add(e.modRevision, e.sub, view.record(e));
  for (const { key, value } of view.backend.rev.getRange({ ...view.opts, start: encodeRevision(c + 1, 0) })) {
    const main = readU64(key, 0);
    if (main > rev) break;
    add(main, readU64(key, 8), value);
  }
  return { hash: h >>> 0, hashRevision: rev, compactRevision: c };
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
