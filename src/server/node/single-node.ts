/**
 * The consensus node of a one-member cluster (ConsensusNode, src/server/consensus.ts).
 *
 * With one voter, "committed" means "durable on that voter": proposals made in one event-loop
 * turn go to the log as one append (the WAL writer groups what arrives during a sync into the
 * next one), and when an append is durable its entries are committed and handed to the
 * listeners in index order. A restart is a new election: the term moves past every term seen,
 * and the leader's empty entry is appended.
 */
import { EtcdError } from '../../errors/errors.js';
import { EntryType, type Entry, type NodeId } from '../../raftpb/types.js';
import type { ConsensusNode } from '../consensus.js';
import type { LogWriter } from '../ports.js';

export interface LogPosition {
  /** Term of the last entry in the log (0 for an empty log). */
  readonly lastTerm: number;
  /** Highest term seen in the hard state. */
  readonly hardStateTerm: number;
  /** Index of the last entry in the log. */
  readonly lastIndex: number;
}

export interface SingleNodeOptions {
  readonly memberId: NodeId;
  readonly log: LogWriter;
  /** Where the recovered log ends. */
  readonly position: LogPosition;
  /** Stage timing: from handing a batch to the log to its durability, in seconds. */
  readonly onAppended?: (seconds: number, entries: number) => void;
}

export class SingleNode implements ConsensusNode {
  readonly #log: LogWriter;
  readonly #memberId: NodeId;
  readonly #onAppended: ((seconds: number, entries: number) => void) | undefined;
  readonly #committedListeners: ((entries: readonly Entry[]) => void)[] = [];
  readonly #leaderListeners: ((term: number, isLeader: boolean) => void)[] = [];
  readonly #fatalListeners: ((err: Error) => void)[] = [];
  #term: number;
  #lastIndex: number;
  #committed: number;
  #pending: Entry[] = [];
  #flushScheduled = false;
  /** The last append handed to the log; appends become durable in order. */
  #lastAppend: Promise<void> = Promise.resolve();
  #leader = false;
  #stopped = false;
  #failed: Error | undefined;

  constructor(opts: SingleNodeOptions) {
    this.#log = opts.log;
    this.#memberId = opts.memberId;
    this.#onAppended = opts.onAppended;
    this.#term = Math.max(opts.position.lastTerm, opts.position.hardStateTerm);
    this.#lastIndex = opts.position.lastIndex;
    this.#committed = opts.position.lastIndex;
  }

  get term(): number {
    return this.#term;
  }

  get committedIndex(): number {
    return this.#committed;
  }

  get lastIndex(): number {
    return this.#lastIndex;
  }

  get leaderId(): NodeId {
    return this.isLeader() ? this.#memberId : 0n;
  }

  isLeader(): boolean {
    return this.#leader && !this.#stopped;
  }

  onCommitted(listener: (entries: readonly Entry[]) => void): void {
    this.#committedListeners.push(listener);
  }

  onLeaderChange(listener: (term: number, isLeader: boolean) => void): void {
    this.#leaderListeners.push(listener);
  }

  onFatal(listener: (err: Error) => void): void {
    this.#fatalListeners.push(listener);
  }

  async start(): Promise<number> {
    this.#term++;
    this.#leader = true;
    for (const l of this.#leaderListeners) l(this.#term, true);
    const index = this.#append(new Uint8Array());
    this.#flush();
    await this.#lastAppend;
    if (this.#failed) throw this.#failed;
    return index;
  }

  propose(data: Uint8Array): number {
    if (this.#stopped || this.#failed) throw new EtcdError('ETCD_ERR_SERVER_STOPPED');
    if (!this.#leader) throw new EtcdError('ETCD_ERR_RAFT_NOT_LEADER');
    const index = this.#append(data);
    if (!this.#flushScheduled) {
      // One log append per event-loop turn: every request read from every socket in this
      // turn goes in one frame with one wake-up of the WAL worker (a wake costs tens of µs).
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return index;
  }

  /** One member: whatever is committed now is everything any client was answered about. */
  readIndex(): number {
    return this.#committed;
  }

  releaseLog(index: number): void {
    this.#log.releaseTo(index + 1);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#failed) return;
    if (this.#flushScheduled) this.#flush();
    await this.#lastAppend;
    // The append's own callback (queued with the one we woke from) has committed it.
    await Promise.resolve();
  }

  close(): Promise<void> {
    this.#stopped = true;
    return this.#log.close();
  }

  #append(data: Uint8Array): number {
    const e: Entry = { term: this.#term, index: ++this.#lastIndex, type: EntryType.Normal, data };
    this.#pending.push(e);
    return e.index;
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const last = batch[batch.length - 1]!.index;
    const startedMs = performance.now();
    const appended = this.#log.append({ term: this.#term, vote: this.#memberId, commit: last }, batch);
    this.#lastAppend = appended.then(
      () => {
        this.#onAppended?.((performance.now() - startedMs) / 1000, batch.length);
        this.#committed = last;
        for (const l of this.#committedListeners) l(batch);
      },
      (err: unknown) => this.#fail(err),
    );
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = err instanceof Error ? err : new Error(String(err));
    for (const l of this.#fatalListeners) l(this.#failed);
  }
}
