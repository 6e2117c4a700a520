/**
 * When the apply worker commits its open LMDB write transaction (docs/storage-lmdb.md,
 * "Deferred commits"; docs/architecture.md, "Deferred commits: applied, then visible").
 *
 * The transaction opens with the first batch after a commit and is committed when any of:
 * - a reader asked (a commit request frame);
 * - it has been open `intervalMs` (--backend-batch-interval);
 * - it holds `limitEntries` entries (--backend-batch-limit) or `limitBytes` of entry data;
 * - a batch holds a result answered only once visible (answersWhenVisible), so that answer
 *   is not held back;
 * - anything else must run outside it (a flush, an install, a close): the worker decides that.
 * Pure: the caller passes the clock.
 */
import type { ApplyResult } from '../apply/interface.js';

/**
 * The defaults of --backend-batch-interval and --backend-batch-limit (0 means these). The limit
 * is etcd's; the interval is 1 s where etcd's is 100 ms: our commit does not make answers durable
 * (the WAL did) nor visible to a waiting reader (its read asks for the commit), so the interval
 * only decides how often the store's dirty pages are synced, and each put dirties random index
 * pages that etcd's revision-ordered bbolt bucket does not (docs/storage-lmdb.md, "Deferred
 * commits": 3 members on one disk did 1.16x the puts at 1 s).
 */
export const DEFAULT_BATCH_INTERVAL_MS = 1000;
export const DEFAULT_BATCH_LIMIT = 10_000;

export interface CommitPolicyOptions {
  /** Longest time a transaction stays open, ms (> 0). */
  readonly intervalMs: number;
  /** Most entries in one transaction (> 0). */
  readonly limitEntries: number;
  /** Most bytes of entry data in one transaction (> 0). */
  readonly limitBytes: number;
}

const VISIBLE_KINDS: ReadonlySet<string> = new Set(['compaction', 'leaseGrant', 'leaseRevoke', 'leaseCheckpoint', 'alarm', 'membership', 'auth']);

/**
 * True when a result is answered only once visible: the caller next relies on state the main
 * thread reloads from the store (leases, alarms, auth, membership, the compacted revision the
 * watch hub reads). The worker commits at once after such a batch.
 */
export function answersWhenVisible(r: ApplyResult): boolean {
  return VISIBLE_KINDS.has(r.kind) || r.lease !== undefined || r.alarmsChanged === true || r.authChanged === true || r.authToken === true;
}

export class CommitPolicy {
  readonly #o: CommitPolicyOptions;
  #openedAtMs = 0;
  #entries = 0;
  #bytes = 0;
  #wanted = false;

  constructor(o: CommitPolicyOptions) {
    if (!(o.intervalMs > 0) || !(o.limitEntries > 0) || !(o.limitBytes > 0)) {
      throw new RangeError(`commit policy: interval, entry and byte limits must be positive (got ${o.intervalMs} ms, ${o.limitEntries}, ${o.limitBytes})`);
    }
    this.#o = o;
  }

  /** A transaction was opened at `nowMs`. */
  opened(nowMs: number): void {
    this.#openedAtMs = nowMs;
    this.#entries = 0;
    this.#bytes = 0;
    this.#wanted = false;
  }

  /** Entries were applied in it; `results` are theirs. */
  applied(entries: number, bytes: number, results: readonly ApplyResult[]): void {
    this.#entries += entries;
    this.#bytes += bytes;
    if (!this.#wanted) for (const r of results) if (answersWhenVisible(r)) { this.#wanted = true; break; }
  }

  /** A reader asked for a commit. */
  request(): void {
    this.#wanted = true;
  }

  /** Whether to commit now. */
  due(nowMs: number): boolean {
    return this.#wanted || this.#entries >= this.#o.limitEntries || this.#bytes >= this.#o.limitBytes || nowMs - this.#openedAtMs >= this.#o.intervalMs;
  }

  /** How long to wait for more batches before the interval ends, ms (0 when it has). */
  remainingMs(nowMs: number): number {
    return Math.max(0, this.#o.intervalMs - (nowMs - this.#openedAtMs));
  }
}
