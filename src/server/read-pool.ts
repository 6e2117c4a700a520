/**
 * Large ranges off the event loop (design.md "Read pool"): a piscina pool of read-only LMDB
 * handles. The main thread keeps the small reads (a key, a small limit, count-only), which
 * cost less than a hop to another thread.
 */
import { Piscina } from 'piscina';
import type { etcdserverpb } from '../proto/pb.js';
import { etcdserverpb as pb } from '../proto/pb.js';
import { errorByCode } from '../errors/errors.js';
import type { RangeTaskResult } from './range.worker.js';
import type { HashKvResult, MaintenancePool, RangePool, SnapshotMeta, StoreCopy } from './ports.js';
import type { MaintenanceResult, MaintenanceTask } from './maintenance.worker.js';

/**
 * A range goes to the pool when it may return more than this many keys. Below it the
 * main thread answers in well under a millisecond; the metric that says it is wrong is
 * event-loop delay under mixed load.
 */
export const POOL_RANGE_LIMIT_MIN = 1000;
/** Threads in the pool; the machine has few cores and the main thread needs one. */
const POOL_THREADS_MAX = 2;
/** A pool thread with nothing to do for this long exits. */
const POOL_IDLE_TIMEOUT_MS = 30_000;

/** True when a request may read many keys: a range (not one key), with no small limit, not count-only. */
export function isLargeRange(req: etcdserverpb.IRangeRequest): boolean {
  if (req.countOnly) return false;
  if (req.rangeEnd == null || req.rangeEnd.length === 0) return false;
  const limit = Number(req.limit ?? 0);
  return limit === 0 || limit > POOL_RANGE_LIMIT_MIN;
}

export interface PooledRange {
  /** Encoded RangeResponse (header: revision only). */
  readonly response: Uint8Array;
  readonly revision: number;
}

const MAINTENANCE_WORKER = new URL('./maintenance.worker.js', import.meta.url).href;

export class ReadPool implements RangePool, MaintenancePool {
  readonly #pool: Piscina;
  readonly #dbPath: string;

  constructor(dbPath: string) {
    this.#dbPath = dbPath;
    this.#pool = new Piscina({
      filename: new URL('./range.worker.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: POOL_THREADS_MAX,
      idleTimeout: POOL_IDLE_TIMEOUT_MS,
    });
  }

  wants(req: etcdserverpb.IRangeRequest): boolean {
    return isLargeRange(req);
  }

  async range(req: etcdserverpb.IRangeRequest): Promise<PooledRange> {
    const request = pb.RangeRequest.encode(req).finish();
    const r = (await this.#pool.run({ dbPath: this.#dbPath, request })) as RangeTaskResult;
    if ('errorCode' in r) throw errorByCode(r.errorCode);
    return r;
  }

  async #maintenance(task: MaintenanceTask): Promise<MaintenanceResult> {
    const r = (await this.#pool.run(task, { filename: MAINTENANCE_WORKER })) as MaintenanceResult;
    if ('errorCode' in r) throw errorByCode(r.errorCode);
    return r;
  }

  async hashKv(revision: number): Promise<HashKvResult> {
    return (await this.#maintenance({ kind: 'hashKv', dbPath: this.#dbPath, revision })) as HashKvResult;
  }

  async hash(): Promise<{ hash: number; currentRevision: number }> {
    return (await this.#maintenance({ kind: 'hash', dbPath: this.#dbPath })) as { hash: number; currentRevision: number };
  }

  async snapshot(path: string, meta: SnapshotMeta): Promise<{ sizeBytes: number; revision: number }> {
    return (await this.#maintenance({ kind: 'snapshot', dbPath: this.#dbPath, path, meta })) as { sizeBytes: number; revision: number };
  }

  async storeCopy(path: string): Promise<StoreCopy> {
    return (await this.#maintenance({ kind: 'storeCopy', dbPath: this.#dbPath, path })) as StoreCopy;
  }

  close(): Promise<void> {
    return this.#pool.destroy();
  }
}
