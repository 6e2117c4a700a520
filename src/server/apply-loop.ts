/**
 * The apply loop (docs/architecture.md, "The apply loop and the applied-batch stream").
 *
 * It alone owns the applied index, the ordered hand-off of committed entries to the apply
 * pipe (worker or in-thread), checkpoints (LMDB synced every `checkpointEntries` applied
 * entries, or sooner once `checkpointBytes` of entry data were applied, then the log released
 * below it) and the applied-batch stream: every applied batch
 * is published once, in index order, to every subscriber (the request waits now; the watch
 * hub, the lessor and the auth cache later).
 *
 * A batch goes two ways (docs/architecture.md, "Deferred commits: applied, then visible"): its
 * outcomes go to the outcome listeners as soon as the pipe reports it applied (answers), and the
 * batch is published to subscribers once the store's readers see it (the pipe's visible
 * report; at once for a pipe that commits every batch).
 *
 * Invariants:
 * - entries reach the pipe in index order, each once, from `appliedIndex + 1` on, no gaps;
 * - outcome listeners get every batch once, in order, before it is published;
 * - a batch is published only after the store's readers see it, and the applied index advances
 *   before subscribers run, so a subscriber may read the store at it;
 * - a waiter for an index the store's readers do not see yet makes the pipe commit;
 * - an apply failure is fatal: nothing after it is published, the fatal listeners run once,
 *   and every later call fails; the WAL keeps the entries for a restart to replay.
 */
import type { Entry } from '../raftpb/types.js';
import type { ApplyOutcome, ApplyPipe, InstalledStore, PromisedRevisions } from './ports.js';
import { IndexWaiter } from './wait.js';
import { promisesOf } from '../apply/interface.js';

/** One batch of applied entries, as published to subscribers. */
export interface AppliedBatch {
  /** Index of the first and last entry of the batch. */
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** One outcome per entry, in index order. */
  readonly outcomes: readonly ApplyOutcome[];
  /**
   * Set on the one batch that says a Raft snapshot replaced the store (no outcomes; first and
   * last index are the snapshot's): subscribers reload what they cache from the store.
   */
  readonly snapshot?: { readonly index: number; readonly revision: number };
}

export type AppliedBatchSubscriber = (batch: AppliedBatch) => void;

export interface ApplyLoopOptions {
  readonly pipe: ApplyPipe;
  /** The store's applied index (where the entries handed over must continue). */
  readonly appliedIndex: number;
  /** Sync LMDB and release the log after this many applied entries (--snapshot-count). */
  readonly checkpointEntries: number;
  /**
   * ... or once this many bytes of entry data were applied since the last checkpoint (default
   * CHECKPOINT_BYTES), so a log of large entries (100-put transactions, big values) does not
   * keep hundreds of MiB of WAL that the synced store already holds.
   */
  readonly checkpointBytes?: number;
  /** Entries at or below `index` are in a synced store: the log may drop them. */
  readonly releaseLog: (index: number) => void;
  /** Stage timing: from handing a batch to the pipe to its outcomes, in seconds. */
  readonly onApplied?: (seconds: number, entries: number) => void;
  /**
   * While this says true, every hand-off asks the pipe to commit as soon as it is applied (the
   * watch hub and lock waiters have listeners: their events come from published batches).
   */
  readonly wantsPromptVisibility?: () => boolean;
}

/**
 * Default `checkpointBytes`: two 64 MiB WAL segments. etcd keeps --snapshot-count entries of WAL
 * whatever their size; the store here is its own snapshot (a sync makes it the recovery point),
 * so the WAL needs to hold only what was applied since the last sync.
 */
export const CHECKPOINT_BYTES = 128 * 1024 * 1024;

/**
 * How long entries that were all answered at commit (plain puts) may wait to be handed over
 * with later ones (ms). Nothing waits on their apply but readers, which hand them over at once.
 */
const LAZY_HANDOFF_MS = 2;

/** Entries handed to the pipe per call at most (replay hands over the whole recovered log at once). */
const MAX_HANDOFF_ENTRIES = 1000;

export class ApplyLoop {
  readonly #pipe: ApplyPipe;
  readonly #checkpointEntries: number;
  readonly #checkpointBytes: number;
  readonly #releaseLog: (index: number) => void;
  /** Revisions promised for queued entries, by index (see `enqueue`). */
  readonly #promised = new Map<number, number>();
  readonly #onApplied: ((seconds: number, entries: number) => void) | undefined;
  readonly #subscribers: AppliedBatchSubscriber[] = [];
  readonly #outcomeListeners: AppliedBatchSubscriber[] = [];
  #wantsPrompt: () => boolean;
  /** Batches whose outcomes came, not yet visible to the store's readers, in order. */
  #unpublished: AppliedBatch[] = [];
  /** Highest index whose outcomes came; highest index the pipe reported visible. */
  #outcomeIndex: number;
  #visibleIndex: number;
  /** Highest index handed to the pipe; highest index a commit was requested for. */
  #handedIndex: number;
  #commitRequestedIndex: number;
  /** Highest index a waiter needs visible. */
  #wantVisibleIndex = 0;
  readonly #fatalListeners: ((err: Error) => void)[] = [];
  readonly #applied: IndexWaiter;
  /** Committed entries not handed over yet. */
  #queue: Entry[] = [];
  #handoffScheduled = false;
  /** A lazy hand-off (everything queued was answered at commit), and whether something queued has a waiter. */
  #lazyTimer: ReturnType<typeof setTimeout> | undefined;
  #queueWanted = false;
  /** Highest index handed over or queued. */
  #lastQueued: number;
  /** Every hand-off so far, chained: settles when the last one is published. */
  #chain: Promise<void> = Promise.resolve();
  #checkpointIndex: number;
  /**
   * Entry data bytes enqueued and not yet visible to the store's readers, and the (last index,
   * bytes) of each enqueued run, oldest first: what the store grows by once they are committed
   * (the quota check adds it to the size it measures, which sees committed data only).
   */
  #bytesNotVisible = 0;
  #runsNotVisible: { lastIndex: number; bytes: number }[] = [];
  /** Entry data bytes applied since the last checkpoint began. */
  #bytesSinceCheckpoint = 0;
  #checkpointing = false;
  #failed: Error | undefined;

  constructor(opts: ApplyLoopOptions) {
    this.#pipe = opts.pipe;
    this.#checkpointEntries = opts.checkpointEntries;
    this.#checkpointBytes = opts.checkpointBytes ?? CHECKPOINT_BYTES;
    this.#releaseLog = opts.releaseLog;
    this.#onApplied = opts.onApplied;
    this.#applied = new IndexWaiter(opts.appliedIndex);
    this.#lastQueued = opts.appliedIndex;
    this.#checkpointIndex = opts.appliedIndex;
    this.#outcomeIndex = this.#visibleIndex = this.#handedIndex = this.#commitRequestedIndex = opts.appliedIndex;
    this.#wantsPrompt = opts.wantsPromptVisibility ?? (() => false);
    this.#pipe.onVisible?.((index) => this.#onVisible(index));
  }

  /** Sets the prompt-visibility predicate (its owners are made after the loop). */
  setWantsPromptVisibility(fn: () => boolean): void {
    this.#wantsPrompt = fn;
  }

  /** Highest index applied, visible to readers or not (Status's raftAppliedIndex, answers). */
  get outcomeIndex(): number {
    return this.#outcomeIndex;
  }

  /** Highest index published: applied and visible to the store's readers. */
  get appliedIndex(): number {
    return this.#applied.current;
  }

  /** Highest index handed to the loop (applied or not). */
  get lastQueuedIndex(): number {
    return this.#lastQueued;
  }

  get failed(): Error | undefined {
    return this.#failed;
  }

  /**
   * Every applied batch, in order, as soon as it is applied and before the store's readers may
   * see it: for answers that depend only on the outcomes. Returns the unsubscribe function.
   */
  subscribeOutcomes(listener: AppliedBatchSubscriber): () => void {
    this.#outcomeListeners.push(listener);
    return () => {
      const i = this.#outcomeListeners.indexOf(listener);
      if (i >= 0) this.#outcomeListeners.splice(i, 1);
    };
  }

  /** Every applied batch, in order, once the store's readers see it. Returns the unsubscribe function. */
  subscribe(subscriber: AppliedBatchSubscriber): () => void {
    this.#subscribers.push(subscriber);
    return () => {
      const i = this.#subscribers.indexOf(subscriber);
      if (i >= 0) this.#subscribers.splice(i, 1);
    };
  }

  onFatal(listener: (err: Error) => void): void {
    this.#fatalListeners.push(listener);
  }

  /**
   * Resolves when `index` is applied and visible to the store's readers; undefined when it
   * already is. Asks the pipe to commit what it needs. Rejects after a failure.
   */
  waitApplied(index: number): Promise<void> | undefined {
    if (this.#failed && index > this.#applied.current) return Promise.reject(this.#failed);
    const wait = this.#applied.wait(index);
    if (wait !== undefined && index > this.#wantVisibleIndex) {
      this.#wantVisibleIndex = index;
      if (index > this.#handedIndex) {
        this.#queueWanted = true;
        this.#scheduleHandOff();
      }
      this.#requestCommit();
    }
    return wait;
  }

  /**
   * Committed entries, in index order, continuing where the last call ended. They are handed
   * over together at the end of this event-loop turn (after the answers this turn wrote), or,
   * when every one was answered at commit (or `waited` is false: no request waits for their
   * outcomes) and nobody waits for the store, within LAZY_HANDOFF_MS. `promised`: revisions
   * clients were already given for some of them; the applier checks them before the batch
   * commits.
   */
  enqueue(entries: readonly Entry[], promised?: PromisedRevisions, waited = true): void {
    if (entries.length === 0 || this.#failed) return;
    const first = entries[0]!.index;
    if (first !== this.#lastQueued + 1) {
      this.#fail(new Error(`apply loop: entry ${first} handed over after ${this.#lastQueued}`));
      return;
    }
    this.#lastQueued = entries[entries.length - 1]!.index;
    let bytes = 0;
    for (const e of entries) {
      this.#queue.push(e);
      bytes += e.data.length;
    }
    this.#bytesNotVisible += bytes;
    this.#runsNotVisible.push({ lastIndex: this.#lastQueued, bytes });
    if (promised !== undefined) for (const [index, rev] of promised) this.#promised.set(index, rev);
    // Entries all answered at commit, or with nobody waiting for their outcomes (`waited`
    // false), need nothing from their apply but the store: they may wait a little and go over
    // with the next ones (fewer wake-ups of both threads).
    if (waited && (promised === undefined || !entries.every((e) => promised.has(e.index)))) this.#queueWanted = true;
    this.#scheduleHandOff();
  }

  /**
   * At the end of this turn when anything queued has a waiter (an entry not answered at commit,
   * a reader, a watcher); else within LAZY_HANDOFF_MS.
   */
  #scheduleHandOff(): void {
    if (this.#handoffScheduled || this.#queue.length === 0) return;
    if (!this.#queueWanted && this.#wantVisibleIndex <= this.#visibleIndex && !this.#wantsPrompt()) {
      this.#lazyTimer ??= setTimeout(() => {
        this.#lazyTimer = undefined;
        this.#handOff();
      }, LAZY_HANDOFF_MS);
      return;
    }
    this.#handoffScheduled = true;
    setImmediate(() => this.#handOff());
  }

  /** Hands over what is queued now, applies it, and resolves when everything queued is applied and published. */
  async drain(): Promise<void> {
    this.#handOff();
    for (let chain = this.#chain; ; chain = this.#chain) {
      await chain;
      if (chain === this.#chain) break; // a checkpoint extends the chain from inside it
    }
    if (this.#failed) throw this.#failed;
    const visible = this.waitApplied(this.#outcomeIndex);
    if (visible !== undefined) await visible;
  }

  /** A last checkpoint (clean stop): LMDB synced, the log released up to the applied index. */
  async checkpoint(): Promise<void> {
    await this.drain();
    if (this.#applied.current > this.#checkpointIndex) await this.#checkpointAt(this.#applied.current);
  }

  /**
   * A Raft snapshot replaces the store (docs/cluster.md, "Snapshots to lagging followers"): waits
   * until everything handed over is applied, runs `beforeSwap` (the WAL marker), swaps the store
   * through the pipe, moves the applied index to the snapshot's and publishes one snapshot batch.
   * Nothing may be enqueued meanwhile (the Ready loop waits for this). A failure is fatal.
   */
  async installSnapshot(path: string, beforeSwap: () => Promise<void>): Promise<InstalledStore> {
    await this.drain();
    let installed: InstalledStore;
    try {
      await beforeSwap();
      installed = await this.#pipe.installSnapshot(path);
    } catch (err) {
      this.#fail(err);
      throw err;
    }
    const index = installed.appliedIndex;
    if (index <= this.#applied.current) {
      const err = new Error(`apply loop: a snapshot at ${index} installed over applied index ${this.#applied.current}`);
      this.#fail(err);
      throw err;
    }
    this.#lastQueued = index;
    this.#checkpointIndex = index;
    this.#outcomeIndex = this.#visibleIndex = this.#handedIndex = this.#commitRequestedIndex = index;
    this.#unpublished = [];
    this.#runsNotVisible = [];
    this.#bytesNotVisible = 0;
    this.#promised.clear();
    this.#applied.advance(index);
    const published: AppliedBatch = { firstIndex: index, lastIndex: index, outcomes: [], snapshot: { index, revision: installed.currentRevision } };
    for (const s of this.#subscribers) {
      try {
        s(published);
      } catch (err) {
        this.#fail(err);
        throw err;
      }
    }
    return installed;
  }

  /** Fails every waiter (the server stops); the pipe is closed by `close`. */
  failAll(err: Error): void {
    this.#applied.failAll(err);
  }

  close(): Promise<void> {
    if (this.#lazyTimer !== undefined) clearTimeout(this.#lazyTimer);
    this.#lazyTimer = undefined;
    return this.#pipe.close();
  }

  #handOff(): void {
    this.#handoffScheduled = false;
    this.#queueWanted = false;
    if (this.#lazyTimer !== undefined) {
      clearTimeout(this.#lazyTimer);
      this.#lazyTimer = undefined;
    }
    while (this.#queue.length > 0 && !this.#failed) {
      const batch = this.#queue.length <= MAX_HANDOFF_ENTRIES ? this.#queue : this.#queue.slice(0, MAX_HANDOFF_ENTRIES);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(MAX_HANDOFF_ENTRIES);
      this.#applyBatch(batch);
    }
  }

  #applyBatch(batch: readonly Entry[]): void {
    const startedMs = performance.now();
    // The pipe keeps call order, so batches are pipelined; outcomes are published in order by the chain.
    // Whoever wants prompt visibility listens to events (the watch hub, lock waiters): with
    // nobody listening, the pipe may leave them out (the listeners resync on eventsOmitted).
    const listening = this.#wantsPrompt();
    const applied = this.#pipe.apply(batch, this.#takePromised(batch), listening);
    applied.catch(() => undefined); // handled in the chain
    this.#handedIndex = batch[batch.length - 1]!.index;
    if (listening) this.#wantVisibleIndex = Math.max(this.#wantVisibleIndex, this.#handedIndex);
    this.#requestCommit();
    this.#chain = this.#chain.then(async () => {
      if (this.#failed) return;
      let outcomes: ApplyOutcome[];
      try {
        outcomes = await applied;
      } catch (err) {
        this.#fail(err);
        return;
      }
      this.#onApplied?.((performance.now() - startedMs) / 1000, batch.length);
      const done: AppliedBatch = { firstIndex: batch[0]!.index, lastIndex: batch[batch.length - 1]!.index, outcomes };
      this.#outcomeIndex = done.lastIndex;
      if (this.#pipe.onVisible === undefined) this.#visibleIndex = done.lastIndex;
      for (const l of this.#outcomeListeners) {
        try {
          l(done);
        } catch (err) {
          this.#fail(err);
          return;
        }
      }
      for (const e of batch) this.#bytesSinceCheckpoint += e.data.length;
      this.#unpublished.push(done);
      this.#publishVisible();
    });
  }

  /** The pipe committed everything through `index`: publish what that makes visible. */
  #onVisible(index: number): void {
    if (index <= this.#visibleIndex || this.#failed) return;
    this.#visibleIndex = index;
    this.#publishVisible();
  }

  /** Entry data bytes enqueued and not yet visible to the store's readers (see the field). */
  get bytesNotVisible(): number {
    return this.#bytesNotVisible;
  }

  /** Publishes, in order, the batches whose outcomes came and that the store's readers see. */
  #publishVisible(): void {
    while (this.#runsNotVisible.length > 0 && this.#runsNotVisible[0]!.lastIndex <= this.#visibleIndex) {
      this.#bytesNotVisible -= this.#runsNotVisible.shift()!.bytes;
    }
    while (this.#unpublished.length > 0 && this.#unpublished[0]!.lastIndex <= this.#visibleIndex && !this.#failed) {
      const published = this.#unpublished.shift()!;
      this.#applied.advance(published.lastIndex);
      for (const s of this.#subscribers) {
        try {
          s(published);
        } catch (err) {
          this.#fail(err); // a subscriber bug must not leave waiters hanging silently
          return;
        }
      }
    }
    const due = this.#applied.current - this.#checkpointIndex >= this.#checkpointEntries || this.#bytesSinceCheckpoint >= this.#checkpointBytes;
    if (due && !this.#checkpointing && this.#applied.current > this.#checkpointIndex) void this.#checkpointAt(this.#applied.current);
  }

  /** Asks the pipe to commit when a waiter needs an index that is handed over but not visible. */
  #requestCommit(): void {
    if (this.#pipe.requestVisible === undefined || this.#failed) return;
    if (this.#wantVisibleIndex <= this.#visibleIndex || this.#handedIndex <= this.#commitRequestedIndex) return;
    this.#commitRequestedIndex = this.#handedIndex;
    this.#pipe.requestVisible();
  }

  #takePromised(batch: readonly Entry[]): PromisedRevisions | undefined {
    const out = promisesOf(this.#promised, batch);
    if (out !== undefined) for (const index of out.keys()) this.#promised.delete(index);
    return out;
  }

  /**
   * Syncs LMDB with everything applied so far (the pipe orders the flush after the applies
   * before it), then lets the log drop what is at or below `index`: LMDB's applied index is
   * the recovery point, so nothing recovery needs is released.
   */
  #checkpointAt(index: number): Promise<void> {
    this.#checkpointing = true;
    this.#bytesSinceCheckpoint = 0;
    const done = this.#pipe.flush().then(
      () => {
        this.#releaseLog(index);
        this.#checkpointIndex = index;
        this.#checkpointing = false;
      },
      (err: unknown) => this.#fail(err),
    );
    this.#chain = this.#chain.then(() => done);
    return done;
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = err instanceof Error ? err : new Error(String(err));
    this.#queue = [];
    this.#applied.failAll(this.#failed);
    for (const l of this.#fatalListeners) l(this.#failed);
  }
}
