/**
 * The leader's view of one follower (etcd: tracker/progress.go).
 *
 * StateProbe: one MsgApp per heartbeat interval until the match point is found.
 * StateReplicate: optimistic pipelining, bounded by Inflights.
 * StateSnapshot: waiting for a snapshot to be applied; sends nothing.
 *
 * Invariant: match < next.
 */
import { Inflights } from './inflights.js';
import { assert } from './messages.js';
import type { Index } from '../raftpb/types.js';

export enum ProgressState {
  Probe = 0,
  Replicate = 1,
  Snapshot = 2,
}

export class Progress {
  match: Index = 0;
  next: Index;
  state: ProgressState = ProgressState.Probe;
  /** Index of the snapshot in flight while in StateSnapshot. */
  pendingSnapshot: Index = 0;
  /** Heard from recently (reset each check-quorum round). */
  recentActive = false;
  /** In StateProbe: a MsgApp was sent this heartbeat interval; wait. */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner: boolean;

  constructor(next: Index, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  toString(): string {
    return `${ProgressState[this.state]} match=${this.match} next=${this.next}${this.isLearner ? ' learner' : ''}${this.pendingSnapshot ? ` pendingSnap=${this.pendingSnapshot}` : ''}${this.msgAppFlowPaused ? ' paused' : ''} inflight=${this.inflights.length()}`;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: Index): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgApp with `entries` entries (of `bytes` bytes) went out starting at next. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === ProgressState.Replicate) {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
    } else if (this.state === ProgressState.Probe) {
      this.msgAppFlowPaused = true;
    } else {
      assert(false, `sending append in unhandled state ${ProgressState[this.state]}`);
    }
  }

  /** The follower acknowledged n; returns false if that is old news. */
  maybeUpdate(n: Index): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A MsgApp at `rejected` was refused; matchHint is the follower's best guess of the
   * last index that may match. Returns false if the rejection is stale.
   */
  maybeDecrTo(rejected: Index, matchHint: Index): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.msgAppFlowPaused;
      case ProgressState.Replicate:
        return this.inflights.full();
      case ProgressState.Snapshot:
        return true;
    }
  }
}
