/**
 * What the main thread sees of the WAL (style rule 4: one interface, two
 * implementations): InlineWalWriter here (same thread: tests, simulation) and
 * WorkerWalWriter (worker-wal-writer.ts: the WAL writer thread, production).
 *
 * Raft's "local append thread" (etcd-io/raft Config.AsyncStorageWrites): requests are
 * made durable in call order, and a promise resolves only after the fdatasync that
 * covered it returned.
 */
import type { Entry, HardState } from '../raftpb/types.js';
import { assert } from '../util/pure/assert.js';
import { WalClosedError, WalInvalidArgumentError } from '../wal/errors.js';
import type { WalOptions, WalRecovery, WalSnapshot } from '../wal/types.js';
import { openWalSync, type FileWal } from '../wal/wal.js';

export interface WalWriter {
  /**
   * Resolves when the hard state and entries (after the snapshot marker, when given: the log
   * then continues at its index + 1) are durable; calls are durable in call order.
   */
  append(hardState: HardState | null, entries: readonly Entry[], snapshot?: WalSnapshot | null): Promise<void>;
  /** Syncs what is pending, closes the WAL. Later appends reject with WalClosedError. */
  close(): Promise<void>;
}

/** Counters for both implementations (metrics, benchmarks). */
export interface WalWriterStats {
  /** append() calls made durable. */
  appends: number;
  /** fdatasync batches (group commits). appends / syncs = average batch size. */
  syncs: number;
  /** Last index of the durable log. */
  durableIndex: number;
}

export interface OpenedWalWriter<W extends WalWriter = WalWriter> {
  recovery: WalRecovery;
  writer: W;
}

interface Queued {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: WalSnapshot | null;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Same-thread writer with the same group commit: every append() made before the next
 * macrotask goes into one save + sync. Blocks the calling thread during fdatasync.
 */
export class InlineWalWriter implements WalWriter {
  private queue: Queued[] = [];
  private scheduled = false;
  private failure: unknown = null;
  private closed = false;
  private releaseIndex = 0;
  readonly stats: WalWriterStats = { appends: 0, syncs: 0, durableIndex: 0 };

  constructor(private readonly wal: FileWal) {
    this.stats.durableIndex = wal.lastSavedIndex;
  }

  static async open(opts: WalOptions, fromIndex: number): Promise<OpenedWalWriter<InlineWalWriter>> {
    const { recovery, wal } = openWalSync(opts, fromIndex);
    return { recovery, writer: new InlineWalWriter(wal) };
  }

  append(hardState: HardState | null, entries: readonly Entry[], snapshot: WalSnapshot | null = null): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new WalClosedError());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ hardState, entries, snapshot, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Deletes segments wholly below `index` once the appends made before this call are durable. */
  releaseTo(index: number): void {
    if (this.failure || this.closed) return;
    this.releaseIndex = Math.max(this.releaseIndex, index);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.queue.length > 0 || this.releaseIndex > 0) this.flush();
    this.wal.close();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const saved: Queued[] = [];
    const releaseIndex = this.releaseIndex;
    this.releaseIndex = 0;
    for (const q of batch) {
      if (this.failure) {
        q.reject(this.failure);
        continue;
      }
      try {
        this.wal.save(q.hardState, q.entries, q.snapshot);
        saved.push(q);
      } catch (e) {
        // Refused input persists nothing and fails alone; anything else is fatal.
        if (!(e instanceof WalInvalidArgumentError)) this.failure = e;
        q.reject(e);
      }
    }
    if (saved.length > 0 && !this.failure) {
      try {
        this.wal.syncIfNeeded();
      } catch (e) {
        this.failure = e;
      }
    }
    if (releaseIndex > 0 && !this.failure) {
      try {
        this.wal.releaseTo(releaseIndex);
      } catch (e) {
        this.failure = e;
      }
    }
    if (saved.length === 0) return;
    if (this.failure) {
      for (const q of saved) q.reject(this.failure);
      return;
    }
    this.countSynced(saved.length);
    for (const q of saved) q.resolve();
  }

  private countSynced(n: number): void {
    this.stats.appends += n;
    this.stats.syncs++;
    this.stats.durableIndex = this.wal.lastSavedIndex;
    assert(n > 0 && this.stats.appends >= this.stats.syncs, 'wal writer: a sync with no append');
  }
}
