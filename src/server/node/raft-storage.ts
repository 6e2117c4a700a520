/**
 * The Raft storage of a member (src/raft's `Storage`), rebuilt on the main thread from what
 * the WAL recovered (docs/cluster.md, "Restart").
 *
 * Layout: the store's applied index and its term are the "snapshot" point (MemoryStorage's
 * dummy entry); after it, every entry the WAL holds past the applied index, committed or not.
 * The hard state is the WAL's last one.
 *
 * Snapshots (docs/cluster.md, "Snapshots to lagging followers"): with `snapshots` on,
 * `snapshot()` answers metadata only (the storage's first point and the current confState; no
 * data): the store itself is copied and streamed by the snapshot port, which rewrites the
 * metadata to the copy's own point. Without it, `snapshot()` throws
 * ErrSnapshotTemporarilyUnavailable, so the leader keeps probing a follower whose next entry it
 * no longer holds instead of sending it an empty snapshot (a silent divergence). `compact` keeps
 * CATCH_UP_ENTRIES entries below the released index so a follower that fell a little behind
 * still catches up by log.
 */
import { ErrSnapshotTemporarilyUnavailable, MemoryStorage, type ConfState, type Snapshot } from '../../raft/index.js';
import type { Entry, HardState, Index, Term } from '../../raftpb/types.js';

/**
 * Entries kept in memory below the index the store has synced, for followers that lag (etcd's
 * SnapshotCatchUpEntries; --experimental-snapshot-catchup-entries). A follower further behind
 * gets a store snapshot; `etcd_network_snapshot_send_success` growing says this is too small.
 */
export const CATCH_UP_ENTRIES = 5000;

export interface RecoveredLog {
  /** The store's applied index and the term of the entry there (0, 0 for a new member). */
  readonly appliedIndex: Index;
  readonly appliedTerm: Term;
  /** The WAL's hard state. */
  readonly hardState: HardState;
  /**
   * Every entry the WAL recovered, in index order, contiguous up to its last one; they may begin
   * below the applied index (the catch-up entries kept for lagging followers).
   */
  readonly entries: readonly Entry[];
}

export class RaftLogStorage extends MemoryStorage {
  readonly #catchUpEntries: number;
  readonly #snapshots: boolean;
  /** Raft's configuration now (kept up to date by the node: conf changes, restored snapshots). */
  #confState: ConfState;
  #applied: (() => number) | undefined;

  constructor(confState: ConfState, recovered: RecoveredLog, catchUpEntries = CATCH_UP_ENTRIES, snapshots = false) {
    super(confState);
    this.#catchUpEntries = catchUpEntries;
    this.#snapshots = snapshots;
    this.#confState = confState;
    // The first point of the log: the first recovered entry when it is at or below the applied
    // index (its term is known from it), else the applied index and its term.
    // A log recovered from its first entry keeps it (a member joining a young cluster catches up
    // by log; once index 1 is released it gets a snapshot instead): the first point is then index 0.
    const first = recovered.entries[0];
    const fromStart = first !== undefined && first.index === 1;
    const fromBelow = !fromStart && first !== undefined && first.index <= recovered.appliedIndex;
    const start = fromStart
      ? { index: 0, term: 0 }
      : fromBelow
        ? { index: first.index, term: first.term }
        : { index: recovered.appliedIndex, term: recovered.appliedTerm };
    if (start.index > 0) {
      super.applySnapshot({ data: new Uint8Array(0), metadata: { confState, index: start.index, term: start.term } });
    }
    this.append(fromBelow ? recovered.entries.slice(1) : recovered.entries.filter((e) => e.index > start.index));
    const last = this.lastIndex();
    // The applied index was committed; the WAL's commit may trail it only if LMDB came from a
    // one-member log: never below the store, never past the log.
    const commit = Math.min(Math.max(recovered.hardState.commit, recovered.appliedIndex), last);
    this.setHardState({ ...recovered.hardState, commit });
  }

  /**
   * Metadata only (see the file comment), at the applied index when it is known (the store copy
   * the port sends is at or past it, so Raft's probe after the transfer starts close to where the
   * follower will be), else at the storage's first point.
   */
  override snapshot(): Snapshot {
    const first = this.firstIndex() - 1;
    const index = Math.max(first, Math.min(this.#applied?.() ?? 0, this.lastIndex()));
    if (!this.#snapshots || index < 1) throw ErrSnapshotTemporarilyUnavailable;
    return { data: new Uint8Array(0), metadata: { index, term: this.term(index), confState: this.#confState } };
  }

  /** Where snapshot() reads the applied index (the node's Raft log). */
  setAppliedIndexSource(applied: () => number): void {
    this.#applied = applied;
  }

  setConfState(cs: ConfState): void {
    this.#confState = cs;
  }

  /** Drops entries at or below `index - catchUpEntries` (index: synced in the store and applied). */
  release(index: Index): void {
    const to = this.releasableTo(index);
    if (to > this.firstIndex() && to <= this.lastIndex()) this.compact(to);
  }

  /**
   * Drops, from memory only, the entries more than catchUpEntries below `applied` (Raft's
   * applied index), in steps of a quarter of catchUpEntries, so the log in memory holds about
   * catchUpEntries entries whatever --snapshot-count is (they would otherwise live until the next
   * checkpoint, up to --snapshot-count entries: old-generation garbage that each of V8's full
   * collections marks again). The WAL keeps them until the checkpoint, for restarts. Only with
   * snapshots on: a follower behind the first entry then gets the store instead.
   */
  trim(applied: Index): void {
    if (!this.#snapshots) return;
    const to = this.releasableTo(applied);
    const step = Math.max(1, this.#catchUpEntries >> 2);
    if (to - this.firstIndex() >= step && to <= this.lastIndex()) this.compact(to);
  }

  /** The highest index that may go once `index` is synced in the store: catch-up entries stay. */
  releasableTo(index: Index): Index {
    return index - this.#catchUpEntries;
  }

  get catchUpEntries(): number {
    return this.#catchUpEntries;
  }
}
