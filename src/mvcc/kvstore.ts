/**
 * Reading the MVCC store: LmdbReadView (one snapshot) and LmdbKvReader (Range requests for
 * the server, each in its own read transaction).
 *
 * A read at revision R scans `latest` over the range; a key whose head is newer than R is
 * located in `kidx` with one backward seek from (key, R). Nothing is held in memory.
 */
import type { LmdbBackend, ReadOpts } from '../backend/backend.js';
import { readMeta } from '../backend/meta.js';
import { EtcdError } from '../errors/errors.js';
import { mvccpb, type etcdserverpb } from '../proto/pb.js';
import type { KeyValue, KvReader, RangeOptions, RangeResult, ReadView } from './kv.js';
import { LMDB_MAX_KEY_BYTES, encodeIndexKey, encodeKeyPrefix, isStorableKey } from './key-index.js';
import { decodeIndexRecord, decodeKvRecord, decodeLatestRecord, kvRecordValue, type LocatedEntry } from './records.js';
import { REV_BYTES, assert, encodeRevision, readU64 } from './revision.js';
import { writeU64Big } from '../util/pure/u64be.js';
import type { LeaseId } from '../util/pure/id64.js';
import { rangeRequest } from './range.js';

const EMPTY = new Uint8Array(0);
const MAX_SUB = Number.MAX_SAFE_INTEGER;
/** Writes since a historical read's revision above which its count scans the range instead. */
const HISTORICAL_COUNT_MAX_WRITES = 10_000;

export function isFromKey(end: Uint8Array): boolean {
  return end.length === 1 && end[0] === 0;
}

export class LmdbReadView implements ReadView {
  constructor(
    readonly backend: LmdbBackend,
    readonly opts: ReadOpts,
    protected readonly baseRev: number,
    readonly compactedRev: number,
  ) {
    assert(compactedRev <= baseRev, 'view: compacted above current');
  }

  /** Store revision of this view. */
  get rev(): number {
    return this.baseRev;
  }

  /** Resolve a requested revision (0 = current) or throw etcd's errors. */
  checkRev(requested: number): number {
    if (requested > this.rev) throw new EtcdError('ETCD_ERR_MVCC_FUTURE_REV');
    const r = requested <= 0 ? this.rev : requested;
    if (r < this.compactedRev) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
    return r;
  }

  /** The head of `key`'s history (live or tombstone), if any. */
  head(key: Uint8Array): LocatedEntry | undefined {
    if (!isStorableKey(key)) return undefined;
    const v = this.backend.latest.get(key as Buffer, this.opts);
    return v === undefined ? undefined : decodeLatestRecord(v);
  }

  /** The newest entry of `key` at or below `rev`, seeking `kidx` backwards. */
  locateHistorical(key: Uint8Array, rev: number): LocatedEntry | undefined {
    const prefix = encodeKeyPrefix(key);
    for (const { key: ik, value } of this.backend.kidx.getRange({
      ...this.opts, start: encodeIndexKey(key, rev, MAX_SUB), end: prefix, reverse: true, limit: 1,
    })) {
      assert(ik.length === prefix.length + REV_BYTES && ik.subarray(0, prefix.length).equals(prefix), 'kidx: seek left the key');
      const e = decodeIndexRecord(value);
      const modRevision = readU64(ik, prefix.length);
      assert(modRevision <= rev, 'kidx: seek beyond revision');
      return { ...e, modRevision, sub: readU64(ik, prefix.length + 8) };
    }
    return undefined;
  }

  /** The entry of `key` visible at `rev` (given its head), or undefined. */
  visible(key: Uint8Array, head: LocatedEntry, rev: number): LocatedEntry | undefined {
    const e = head.modRevision <= rev ? head : this.locateHistorical(key, rev);
    return e === undefined || e.tombstone ? undefined : e;
  }

  /** The KvRecord bytes stored for a located entry. */
  record(e: LocatedEntry): Buffer {
    const rec = this.backend.rev.get(encodeRevision(e.modRevision, e.sub), this.opts);
    assert(rec !== undefined, `rev ${e.modRevision}.${e.sub} missing for an index entry`);
    return rec;
  }

  /** The value stored for a located entry. */
  value(e: LocatedEntry): Buffer {
    return kvRecordValue(this.record(e));
  }

  toKeyValue(key: Uint8Array, e: LocatedEntry, withValue: boolean): KeyValue {
    return {
      key,
      createRevision: e.createRevision,
      modRevision: e.modRevision,
      version: e.version,
      value: withValue ? this.value(e) : EMPTY,
      lease: e.lease,
    };
  }

  /** Visit heads of keys in [key, end) in key order (see ReadView.rangeKeys for `end`). */
  *heads(key: Uint8Array, end: Uint8Array): Generator<{ key: Buffer; head: LocatedEntry }> {
    if (end.length === 0) {
      const h = this.head(key);
      if (h !== undefined) yield { key: Buffer.from(key), head: h };
      return;
    }
    const unbounded = isFromKey(end);
    if (!unbounded && Buffer.compare(key, end) >= 0) return;
    // Oversized bounds cannot be passed to LMDB: loosen them and filter here.
    const startOk = key.length <= LMDB_MAX_KEY_BYTES;
    const endOk = unbounded || end.length <= LMDB_MAX_KEY_BYTES;
    const range: { start?: Buffer; end?: Buffer } = {};
    if (key.length > 0) range.start = Buffer.from(key.subarray(0, LMDB_MAX_KEY_BYTES));
    if (!unbounded && endOk) range.end = Buffer.from(end);
    for (const { key: k, value } of this.backend.latest.getRange({ ...this.opts, ...range })) {
      if (!startOk && Buffer.compare(k, key) < 0) continue;
      if (!endOk && Buffer.compare(k, end) >= 0) break;
      yield { key: k, head: decodeLatestRecord(value) };
    }
  }

  /** The visible entry of a single key at `rev` (after checkRev). */
  get(key: Uint8Array, rev: number): LocatedEntry | undefined {
    const h = this.head(key);
    return h === undefined ? undefined : this.visible(key, h, rev);
  }

  /**
   * Events (writes) with revision >= fromRev, in revision order, at most `limit` (whole
   * revisions are never split, so a txn's events stay together). For watchers catching up.
   * Throws ETCD_ERR_MVCC_COMPACTED if fromRev < compacted revision.
   */
  eventsSince(fromRev: number, limit: number): { events: mvccpb.Event.$Properties[]; nextRev: number } {
    if (fromRev < this.compactedRev) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
    const events: mvccpb.Event.$Properties[] = [];
    let lastMain = 0;
    let cut = false;
    for (const { key, value } of this.backend.rev.getRange({ ...this.opts, start: encodeRevision(Math.max(fromRev, 0), 0) })) {
      const main = readU64(key, 0);
      if (main > this.rev) break;
      if (events.length >= limit && main !== lastMain) {
        cut = true;
        break;
      }
      lastMain = main;
      const r = decodeKvRecord(value);
      events.push(r.tombstone
        ? { type: mvccpb.Event.EventType.DELETE, kv: { key: r.key, modRevision: main } }
        : { type: mvccpb.Event.EventType.PUT, kv: { key: r.key, createRevision: r.createRevision, modRevision: main, version: r.version, value: r.value, lease: r.lease } });
    }
    return { events, nextRev: cut ? lastMain + 1 : Math.max(fromRev, this.rev + 1) };
  }

  /** Live keys attached to `lease` (for lease revoke and for restoring a lessor's key sets). */
  *keysOfLease(lease: LeaseId): Generator<Buffer> {
    // lease_keys is ordered by the lease's u64 bit pattern (leaseKey): scan [bits, bits + 1).
    const bits = BigInt.asUintN(64, lease);
    const start = Buffer.allocUnsafe(8);
    writeU64Big(start, 0, bits);
    const range: { start: Buffer; end?: Buffer } = { start };
    if (bits < 0xffff_ffff_ffff_ffffn) {
      range.end = Buffer.allocUnsafe(8);
      writeU64Big(range.end, 0, bits + 1n);
    }
    for (const k of this.backend.leaseKeys.getKeys({ ...this.opts, ...range })) {
      const key = k as Buffer;
      if (!key.subarray(0, 8).equals(start)) break;
      yield key.subarray(8);
    }
  }

  rangeKeys(key: Uint8Array, end: Uint8Array, opts: RangeOptions = {}): RangeResult {
    const rev = this.checkRev(opts.rev ?? 0);
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : Infinity;
    // At the view's own revision every head is visible as it is, and the live count of a range
    // is (heads in range) - (tombstone heads in range): two native counts, no scan.
    const bounds = this.countBounds(key, end);
    // Below the view's revision the count is the live count now, corrected by the keys written
    // since `rev` (historicalCount): a paged list at a fixed revision (kube-apiserver's every
    // page after the first) then costs its page, not a scan to the end of the range.
    let historical: number | undefined;
    if (rev !== this.rev && bounds !== undefined && (opts.countOnly === true || limit !== Infinity)) {
      historical = this.historicalCount(key, end, bounds, rev);
    }
    const fastCount = bounds !== undefined && (opts.countOnly === true || limit !== Infinity) && (rev === this.rev || historical !== undefined);
    if (fastCount && opts.countOnly) return { kvs: [], count: historical ?? this.countLive(bounds!), rev: this.rev };
    const kvs: KeyValue[] = [];
    let count = 0;
    for (const { key: k, head } of this.heads(key, end)) {
      const e = this.visible(k, head, rev);
      if (e === undefined) continue;
      count++;
      if (!opts.countOnly && kvs.length < limit) kvs.push(this.toKeyValue(k, e, !opts.noValues));
      if (fastCount && kvs.length >= limit) break;
    }
    if (fastCount) {
      count = historical ?? this.countLive(bounds!);
      assert(count >= kvs.length, 'count below the keys found');
    }
    return { kvs, count, rev: this.rev };
  }

  /** LMDB bounds for a multi-key range, or undefined when a native count cannot be used. */
  private countBounds(key: Uint8Array, end: Uint8Array): { start?: Buffer; end?: Buffer } | undefined {
    if (end.length === 0 || key.length > LMDB_MAX_KEY_BYTES) return undefined;
    const unbounded = isFromKey(end);
    if (!unbounded && (end.length > LMDB_MAX_KEY_BYTES || Buffer.compare(key, end) >= 0)) return undefined;
    const r: { start?: Buffer; end?: Buffer } = {};
    if (key.length > 0) r.start = Buffer.from(key);
    if (!unbounded) r.end = Buffer.from(end);
    return r;
  }

  /**
   * The number of keys in [key, end) live at `rev` < this.rev, from the live count now and the
   * keys written in (rev, this.rev] (the `rev` table from rev + 1: nothing above the compacted
   * revision is ever removed): each such key counts as it was at `rev` instead of as it is now.
   * Undefined when more than HISTORICAL_COUNT_MAX_WRITES revisions were written since: then a
   * scan of the range is the cheaper way.
   */
  private historicalCount(key: Uint8Array, end: Uint8Array, bounds: { start?: Buffer; end?: Buffer }, rev: number): number | undefined {
    if (this.rev - rev > HISTORICAL_COUNT_MAX_WRITES) return undefined;
    const unbounded = isFromKey(end);
    const touched = new Map<string, Buffer>();
    let seen = 0;
    for (const { key: at, value } of this.backend.rev.getRange({ ...this.opts, start: encodeRevision(rev + 1, 0) })) {
      if (readU64(at, 0) > this.rev) break;
      if (++seen > HISTORICAL_COUNT_MAX_WRITES) return undefined; // a txn may write many keys per revision
      const k = decodeKvRecord(value).key;
      if (Buffer.compare(k, key) < 0 || (!unbounded && Buffer.compare(k, end) >= 0)) continue;
      const copy = Buffer.from(k); // the record bytes may be reused by the next step of the scan
      touched.set(copy.toString('latin1'), copy);
    }
    let count = this.countLive(bounds);
    for (const k of touched.values()) {
      const head = this.head(k);
      const liveNow = head !== undefined && !head.tombstone;
      const liveThen = head !== undefined && this.visible(k, head, rev) !== undefined;
      count += (liveThen ? 1 : 0) - (liveNow ? 1 : 0);
    }
    assert(count >= 0, 'historical count below zero');
    return count;
  }

  private countLive(bounds: { start?: Buffer; end?: Buffer }): number {
    const heads = this.backend.latest.getKeysCount({ ...this.opts, ...bounds });
    const tombs = this.backend.tombs.getKeysCount({ ...this.opts, ...bounds });
    assert(tombs <= heads, 'more tombstone heads than heads');
    return heads - tombs;
  }
}

/** Range requests for the server (main thread or read pool): one read txn per call. */
export class LmdbKvReader implements KvReader {
  constructor(readonly backend: LmdbBackend) {}

  /** Run `fn` over one consistent snapshot. */
  view<T>(fn: (view: LmdbReadView) => T): T {
    const txn = this.backend.beginRead();
    try {
      const opts = { transaction: txn };
      const m = readMeta(this.backend.meta, opts);
      return fn(new LmdbReadView(this.backend, opts, m.currentRev, m.compactedRev));
    } finally {
      txn.done();
    }
  }

  /** etcd's Range (sort, limit/more, count, filters, keys_only, count_only, revision). Throws EtcdError. */
  range(req: etcdserverpb.RangeRequest.$Properties): etcdserverpb.RangeResponse.$Properties {
    return this.view((v) => rangeRequest(v, req));
  }

  currentRevision(): number {
    return this.view((v) => v.rev);
  }

  compactedRevision(): number {
    return this.view((v) => v.compactedRev);
  }

  appliedIndex(): number {
    const txn = this.backend.beginRead();
    try {
      return readMeta(this.backend.meta, { transaction: txn }).appliedIndex;
    } finally {
      txn.done();
    }
  }

  /** Everything Status and the read path need, from one snapshot. */
  status(): { appliedIndex: number; consistentTerm: number; currentRev: number; compactedRev: number; finishedCompactRev: number } {
    const txn = this.backend.beginRead();
    try {
      return readMeta(this.backend.meta, { transaction: txn });
    } finally {
      txn.done();
    }
  }
}
