/**
 * HistoryLoader: writes a store's history, revision by revision, into a new LMDB store (the
 * target of `etcdutl snapshot restore`). Entries come in revision order as etcd's key bucket
 * holds them (src/mvcc/etcd-format.ts) and are written with every projection the store keeps
 * (docs/storage-lmdb.md: rev, kidx, latest, tombs, lease_keys), so the result is what applying
 * the same writes would have produced. Nothing here is recomputed: create revision, version and
 * lease come from the KeyValue; only the order and the shape are checked.
 *
 *   const l = new HistoryLoader(backend);          // a writable backend on an empty file
 *   l.add(main, sub, tombstone, kv) ...            // strictly ascending (main, sub)
 *   l.finish({ compactedRev, scheduledCompactRev }); // meta; returns the store revision
 */
import type { LmdbBackend } from '../backend/backend.js';
import { putU64, META_COMPACTED_REV, META_FINISHED_COMPACT_REV, META_SCHEDULED_COMPACT_REV } from '../backend/meta.js';
import { META_CONSISTENT_TERM, META_CURRENT_REV, META_APPLIED_INDEX } from '../backend/schema.js';
import { encodeIndexKey, isStorableKey } from './key-index.js';
import { decodeLatestRecord, encodeIndexRecord, encodeKvRecord, encodeLatestRecord, type IndexEntry } from './records.js';
import { encodeRevision } from './revision.js';
import { leaseKey } from './kvstore-txn.js';
import type { EtcdKeyValue } from './etcd-format.js';

/** Entries per LMDB write transaction (bounds the dirty pages held in memory). */
const ENTRIES_PER_TXN = 20_000;
const EMPTY = Buffer.alloc(0);

export class RestoreError extends Error {
  override name = 'RestoreError';
}

interface Pending {
  main: number;
  sub: number;
  tombstone: boolean;
  kv: EtcdKeyValue;
}

export class HistoryLoader {
  #pending: Pending[] = [];
  #lastMain = 0;
  #lastSub = -1;
  /** Entries written. */
  count = 0;

  constructor(private readonly backend: LmdbBackend) {
    if (!backend.writable) throw new RestoreError('HistoryLoader needs a writable backend');
    if (backend.rev.getKeysCount() !== 0) throw new RestoreError(`${backend.path}: not an empty store`);
  }

  add(main: number, sub: number, tombstone: boolean, kv: EtcdKeyValue): void {
    if (main < this.#lastMain || (main === this.#lastMain && sub <= this.#lastSub)) {
      throw new RestoreError(`revision ${main}.${sub} after ${this.#lastMain}.${this.#lastSub}: the key bucket is out of order`);
    }
    if (main < 1) throw new RestoreError(`revision ${main}.${sub}: not a revision`);
    if (!isStorableKey(kv.key)) throw new RestoreError(`revision ${main}.${sub}: key of ${kv.key.length} bytes cannot be stored (empty, or longer than the key limit)`);
    if (!tombstone && (kv.createRevision < 1 || kv.createRevision > main || kv.version < 1)) {
      throw new RestoreError(`revision ${main}.${sub}: create revision ${kv.createRevision} / version ${kv.version} do not fit a put`);
    }
    this.#lastMain = main;
    this.#lastSub = sub;
    // No copy: the caller hands over fresh buffers (BoltReader reads every page into its own).
    this.#pending.push({ main, sub, tombstone, kv });
    if (this.#pending.length >= ENTRIES_PER_TXN) this.#flush();
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const b = this.backend;
    b.write(() => {
      for (const p of batch) {
        const key = Buffer.isBuffer(p.kv.key) ? p.kv.key : Buffer.from(p.kv.key.buffer, p.kv.key.byteOffset, p.kv.key.length);
        const e: IndexEntry = p.tombstone
          ? { tombstone: true, createRevision: 0, version: 0, lease: 0n }
          : { tombstone: false, createRevision: p.kv.createRevision, version: p.kv.version, lease: p.kv.lease };
        const prevRaw = b.latest.get(key);
        const prev = prevRaw === undefined ? undefined : decodeLatestRecord(prevRaw);
        b.rev.putSync(encodeRevision(p.main, p.sub), encodeKvRecord({ ...e, key, value: p.tombstone ? EMPTY : p.kv.value }), { append: true });
        b.kidx.putSync(encodeIndexKey(key, p.main, p.sub), encodeIndexRecord(e));
        b.latest.putSync(key, encodeLatestRecord({ ...e, modRevision: p.main, sub: p.sub }));
        const prevLease = prev !== undefined && !prev.tombstone ? prev.lease : 0n;
        if (prevLease !== e.lease) {
          if (prevLease !== 0n) b.leaseKeys.removeSync(leaseKey(prevLease, key));
          if (e.lease !== 0n) b.leaseKeys.putSync(leaseKey(e.lease, key), EMPTY);
        }
        if (p.tombstone) b.tombs.putSync(key, EMPTY);
        else if (prev?.tombstone) b.tombs.removeSync(key);
      }
    });
    this.count += batch.length;
  }

  /**
   * Writes the remaining entries and the meta keys. `compactedRev`: etcd's finished compaction;
   * `scheduledCompactRev` above it: a compaction etcd had not finished, which our compactor
   * carries out at the next start. Returns the store revision (etcd's: the last revision, or
   * the compacted one when that is higher).
   */
  finish(opts: { compactedRev: number; scheduledCompactRev: number }): number {
    this.#flush();
    const compacted = Math.max(opts.compactedRev, opts.scheduledCompactRev);
    const current = Math.max(this.#lastMain, compacted, 1);
    const b = this.backend;
    b.write(() => {
      putU64(b.meta, META_APPLIED_INDEX, 0);
      putU64(b.meta, META_CONSISTENT_TERM, 0);
      putU64(b.meta, META_CURRENT_REV, current);
      putU64(b.meta, META_COMPACTED_REV, compacted);
      putU64(b.meta, META_FINISHED_COMPACT_REV, opts.compactedRev);
      putU64(b.meta, META_SCHEDULED_COMPACT_REV, opts.scheduledCompactRev > opts.compactedRev ? opts.scheduledCompactRev : 0);
    });
    return current;
  }
}
