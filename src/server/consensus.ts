/**
 * The consensus seam (docs/architecture.md, "The consensus seam"): what the server needs of
 * consensus, declared next to its consumer. src/server/node/single-node.ts implements it for
 * one member; the Raft node of the cluster issue is the second implementation, and nothing
 * above this interface changes when it lands.
 *
 * Contract:
 * - `propose` appends to the log of the current leader and returns the entry's index at once;
 *   the entry becomes durable and, later, committed (or, with Raft, is lost with a leader change:
 *   the proposer learns that from a leader change, never from a committed entry at its index
 *   with other data). `onLeaderChange(term, false)` is heard before any committed entry that
 *   replaced one of this member's proposals.
 * - Committed entries reach every `onCommitted` listener exactly once, in index order, with
 *   no gaps, synchronously as they commit.
 * - `readIndex` returns an index such that every entry committed before the call is at or
 *   below it; a read served after applying up to it is linearizable.
 * - `releaseLog(index)`: everything at or below `index` is in a synced store; the log may
 *   drop it (WAL segments).
 * - `stop` refuses new proposals and makes what was proposed durable and committed (listeners
 *   see it); `close` then closes the log (after the last checkpoint released what it could).
 */
import type { Entry, NodeId } from '../raftpb/types.js';
import type { ConfChangeV2 } from '../raft/index.js';

export interface ConsensusNode {
  /** Current term (0 before the first election). */
  readonly term: number;
  /** Highest committed index. */
  readonly committedIndex: number;
  /** Index of the last entry in the log (proposed, durable or not). */
  readonly lastIndex: number;
  /** The leader this member knows of (0n: none); when absent, this member when it leads. */
  readonly leaderId?: NodeId;
  /** How many times this member saw a new leader (etcd_server_leader_changes_seen_total); absent: once it led. */
  readonly leaderChangesSeen?: number;
  /** True while this member is the leader and may `propose`. */
  isLeader(): boolean;
  /**
   * Appends `data` as the next entry; returns its index. A follower that forwards the proposal
   * to the leader returns undefined: the index is known only to the leader, and the proposer
   * learns the outcome when the entry (by its request ID) is applied, or not at all (a timeout).
   * Throws an EtcdError when it cannot propose (stopped, not leader and not forwarding, no leader).
   */
  propose(data: Uint8Array): number | undefined;
  /**
   * Entries this member did not propose were appended to its log while it leads (proposals
   * forwarded by followers), the last at `lastIndex`: their effect is unknown to this member's
   * proposers until applied. Told synchronously, before any later `propose` returns.
   */
  onAppendedByOthers?(listener: (lastIndex: number) => void): void;
  /**
   * Membership (Raft only; a single member has none of these). `proposeConfChange` as `propose`;
   * `applyConfChange` once a change's entry is applied and accepted (Raft's configuration follows);
   * `progress` is the leader's view of each member's log; `transferLeadership` asks Raft to hand
   * leadership to a voter; `isLearnerMember` whether this member is a learner.
   */
  proposeConfChange?(cc: ConfChangeV2): number | undefined;
  applyConfChange?(cc: ConfChangeV2): void;
  progress?(): ReadonlyMap<NodeId, { readonly match: number; readonly isLearner: boolean }> | undefined;
  transferLeadership?(transferee: NodeId): void;
  isLearnerMember?(): boolean;
  /** A linearizable read index: a number when known at once, else a promise (a round of heartbeats). */
  readIndex(): number | Promise<number>;
  /** Committed entries, in index order, each once. */
  onCommitted(listener: (entries: readonly Entry[]) => void): void;
  /** Leadership changes (term, and whether this member leads now). */
  onLeaderChange(listener: (term: number, isLeader: boolean) => void): void;
  /** The log failed (a WAL write): the member must stop. */
  onFatal(listener: (err: Error) => void): void;
  /** Starts serving: one member becomes leader of a new term and commits its empty entry. Resolves with that entry's index. */
  start(): Promise<number>;
  /** Entries at or below `index` are in a synced store; the log may release them. */
  releaseLog(index: number): void;
  /** Clean stop: no new proposals; pending ones become durable and committed (listeners see them). */
  stop(): Promise<void>;
  /** Closes the log. After `stop`, or after a failure. */
  close(): Promise<void>;
}
