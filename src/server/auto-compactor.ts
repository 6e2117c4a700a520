/**
 * Automatic compaction (--auto-compaction-mode, --auto-compaction-retention), proposed through
 * the log like a client's Compact, on the leader.
 *
 * periodic (etcd's v3compactor.Periodic): every `interval` = min(retention, 1 h) / 10 it samples
 * the store revision and keeps the samples of the last retention period; once a whole retention
 * period has passed since the start (later: min(retention, 1 h) since the last compaction) it
 * compacts at the oldest sample, i.e. it keeps about `retention` of history.
 *
 * revision (etcd's v3compactor.Revision keeps the last `retention` revisions, checking every 5
 * minutes): here it checks every REVISION_CHECK_INTERVAL_MS and compacts at
 * `revision - retention` once that target has moved by at least a tenth of the retention since
 * the last compaction. The store always keeps at least `retention` revisions, as etcd's does,
 * and never grows past 1.1 x retention plus a second of writes (etcd: plus 5 minutes of writes).
 * Compaction is cheap here (it runs in slices between apply batches), so checking often costs
 * nothing that etcd's 5-minute interval was there to avoid.
 *
 * A compaction answered "compacted" (someone compacted further) counts as done, as in etcd.
 */

/** How often revision mode looks at the store revision. */
export const REVISION_CHECK_INTERVAL_MS = 1000;
/** etcd's retryDivisor: periodic mode samples the revision 10 times per compaction interval. */
const RETRY_DIVISOR = 10;
const HOUR_MS = 3_600_000;

export interface AutoCompactorOptions {
  readonly mode: 'periodic' | 'revision';
  /** periodic: milliseconds; revision: a number of revisions. 0: no automatic compaction. */
  readonly retention: number;
  currentRevision(): number;
  /** Proposes Compact(revision); resolves when applied, rejects with the EtcdError otherwise. */
  compact(revision: number): Promise<void>;
  log(level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void;
  /** The clock (tests pass their own). */
  now?: () => number;
}

export class AutoCompactor {
  readonly intervalMs: number;
  readonly #o: AutoCompactorOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = false;
  // periodic
  #revs: number[] = [];
  readonly #keep: number;
  #lastSuccessMs = 0;
  #baseIntervalMs = 0;
  #lastRevision = 0;

  constructor(o: AutoCompactorOptions) {
    if (!(o.retention > 0)) throw new Error('AutoCompactor: retention must be positive');
    this.#o = o;
    this.#now = o.now ?? Date.now;
    if (o.mode === 'periodic') {
      this.intervalMs = Math.max(1, Math.min(o.retention, HOUR_MS) / RETRY_DIVISOR);
      this.#keep = Math.floor(o.retention / this.intervalMs) + 1;
      this.#baseIntervalMs = o.retention;
    } else {
      this.intervalMs = REVISION_CHECK_INTERVAL_MS;
      this.#keep = 0;
    }
    this.#lastSuccessMs = this.#now();
  }

  start(): void {
    if (this.#timer !== undefined) return;
    if (this.#o.mode === 'periodic') this.#sample();
    this.#timer = setInterval(() => this.tick(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sample(): void {
    this.#revs.push(this.#o.currentRevision());
    if (this.#revs.length > this.#keep) this.#revs.shift();
  }

  /** One step of the schedule (the timer calls it every `intervalMs`). Returns the revision it compacts at, if any. */
  tick(): number | undefined {
    if (this.#inFlight) return undefined;
    return this.#o.mode === 'periodic' ? this.#periodic() : this.#revision();
  }

  #periodic(): number | undefined {
    const rev = this.#revs[0] ?? this.#o.currentRevision();
    const elapsed = this.#now() - this.#lastSuccessMs;
    if (elapsed < this.#baseIntervalMs || rev === this.#lastRevision || rev <= 1) {
      this.#sample();
      return undefined;
    }
    if (this.#baseIntervalMs === this.#o.retention) this.#baseIntervalMs = Math.min(this.#o.retention, HOUR_MS);
    this.#run(rev, 'periodic', () => {
      this.#lastRevision = rev;
      this.#lastSuccessMs = this.#now();
    });
    this.#sample();
    return rev;
  }

  #revision(): number | undefined {
    const target = this.#o.currentRevision() - this.#o.retention;
    if (target <= 1 || target === this.#lastRevision) return undefined;
    const step = Math.max(1, Math.floor(this.#o.retention / 10));
    if (this.#lastRevision > 0 && target - this.#lastRevision < step) return undefined;
    this.#run(target, 'revision', () => {
      this.#lastRevision = target;
    });
    return target;
  }

  #run(rev: number, mode: string, onDone: () => void): void {
    this.#inFlight = true;
    const started = this.#now();
    const fields = mode === 'periodic'
      ? { revision: rev, 'compact-period': `${this.#o.retention}ms` }
      : { revision: rev, 'revision-compaction-retention': this.#o.retention };
    this.#o.log('info', `starting auto ${mode} compaction`, fields);
    this.#o.compact(rev).then(
      () => {
        onDone();
        this.#o.log('info', `completed auto ${mode} compaction`, { ...fields, took: `${this.#now() - started}ms` });
      },
      (err: unknown) => {
        const code = (err as { code?: string }).code;
        if (code === 'ETCD_ERR_MVCC_COMPACTED') {
          onDone();
          return;
        }
        this.#o.log('warn', `failed auto ${mode} compaction`, { ...fields, error: err instanceof Error ? err.message : String(err) });
      },
    ).finally(() => {
      this.#inFlight = false;
    });
  }
}
