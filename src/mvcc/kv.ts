/**
 * The MVCC interfaces (etcd's mvcc/kv.go shapes). Consumers: the applier (src/apply) and
 * the server's read path. Implementations: kvstore.ts (ReadView, LmdbKvReader),
 * kvstore-txn.ts (WriteTxn).
 */
import type { etcdserverpb, mvccpb } from '../proto/pb.js';
import type { LeaseId } from '../util/pure/id64.js';

export type KeyValue = mvccpb.KeyValue.$Properties & {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: LeaseId;
};

/** mvcc-level range options (etcd's mvcc.RangeOptions). */
export interface RangeOptions {
  /** At most this many kvs (0 = all). `count` is always the total. */
  readonly limit?: number;
  /** Revision to read at; 0 = current. */
  readonly rev?: number;
  /** Only count. */
  readonly countOnly?: boolean;
  /** Skip reading values (kvs get an empty value). */
  readonly noValues?: boolean;
}

/** mvcc-level range result: kvs in key order, count of all live keys in range, store revision. */
export interface RangeResult {
  readonly kvs: KeyValue[];
  readonly count: number;
  /** The store revision the read was served from (header.revision). */
  readonly rev: number;
}

/** A consistent view of the store at one moment (a read txn, or inside the write txn). */
export interface ReadView {
  /** Store revision of this view. */
  readonly rev: number;
  /** Compacted revision of this view (reads below fail). */
  readonly compactedRev: number;
  /**
   * Keys in [key, end) at `opts.rev`. `end` empty = the single key; `end` = [0] = every
   * key >= key. Throws EtcdError ETCD_ERR_MVCC_FUTURE_REV / ETCD_ERR_MVCC_COMPACTED.
   */
  rangeKeys(key: Uint8Array, end: Uint8Array, opts?: RangeOptions): RangeResult;
}

/** A Range request served from one snapshot, with etcd's sort/limit/filter semantics. */
export interface KvReader {
  range(req: etcdserverpb.RangeRequest.$Properties): etcdserverpb.RangeResponse.$Properties;
  currentRevision(): number;
  compactedRevision(): number;
  appliedIndex(): number;
}

/** The write half (etcd's TxnWrite): all writes share one main revision. */
export interface TxnWrite extends ReadView {
  /** Returns the revision the put was written at (main). */
  put(key: Uint8Array, value: Uint8Array, lease: LeaseId): number;
  /** Deletes live keys in range; returns [deleted count, revision] as etcd does. */
  deleteRange(key: Uint8Array, end: Uint8Array, withPrevValues?: boolean): { deleted: number; rev: number; prevKvs: KeyValue[] };
  /** Number of writes so far. */
  readonly changes: number;
}
