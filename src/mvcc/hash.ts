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
import { encodeRevision, readU64 } from './revision.js';
import { decodeKvRecord, type LocatedEntry } from './records.js';
import { decodeEtcdKeyValue, encodeEtcdKeyValue, encodeEtcdTombstone, etcdRevKey, parseEtcdRevKey } from './etcd-format.js';

export interface KvHash {
  readonly hash: number;
  /** The revision hashed up to. */
  readonly hashRevision: number;
  readonly compactRevision: number;
}

/** One entry of etcd's key bucket, from our record at (main, sub). */
export function etcdKeyBucketEntry(main: number, sub: number, record: Buffer): { key: Buffer; value: Buffer } {
  const r = decodeKvRecord(record);
  if (r.tombstone) return { key: etcdRevKey(main, sub, true), value: encodeEtcdTombstone(r.key) };
  return {
    key: etcdRevKey(main, sub, false),
    value: encodeEtcdKeyValue({ key: r.key, createRevision: r.createRevision, modRevision: main, version: r.version, value: r.value, lease: r.lease }),
  };
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
    const e = etcdKeyBucketEntry(main, sub, record);
    h = crc32c(e.key, h);
    h = crc32c(e.value, h);
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
