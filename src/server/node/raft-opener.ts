/**
 * Opens a RaftNode as a member's consensus node (startMember's ConsensusOpener, bootstrap.ts).
 *
 * Restart: the WAL's hard state says what is committed; those entries are replayed through the
 * apply loop before the node starts, and the node's Raft storage holds the store's applied
 * point plus every recovered entry (committed or not: Raft decides what survives).
 */
import type { Rng } from '../../raft/index.js';
import type { NodeId } from '../../raftpb/types.js';
import type { ConsensusOpener } from '../bootstrap.js';
import type { ClusterMember } from '../etcd-server.js';
import { RaftNode, type PeerTransport } from './raft-node.js';
import { CATCH_UP_ENTRIES } from './raft-storage.js';

export interface RaftOpenerOptions {
  /** Every voter of the cluster, this member included. */
  readonly voters: readonly NodeId[];
  /** This member's transport (opened before the node, so peers can reach it early). */
  readonly transport: PeerTransport;
  /** --heartbeat-interval in ms (one tick) and --election-timeout in ms. */
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly rng?: Rng;
  /** Entries kept in memory below a released index (RaftNodeOptions.catchUpEntries). */
  readonly catchUpEntries?: number;
  /** The members as MemberList shows them. */
  readonly members?: readonly ClusterMember[];
  /** The node, once opened (tests reach its Raft state through it). */
  readonly onOpened?: (node: RaftNode) => void;
}

export function raftConsensus(opts: RaftOpenerOptions): ConsensusOpener {
  return {
    memberIds: opts.voters,
    ...(opts.members !== undefined ? { members: opts.members } : {}),
    // Read the catch-up entries below the applied index back too (as far as the WAL still has them).
    recoverFrom: (appliedIndex, walFirstIndex) =>
      Math.min(appliedIndex, Math.max(0, appliedIndex - (opts.catchUpEntries ?? CATCH_UP_ENTRIES), (walFirstIndex ?? appliedIndex + 1) - 1)),
    committedThrough: (recovery) => Math.min(recovery.hardState.commit, recovery.lastIndex),
    open: ({ memberId, log, recovery, appliedIndex, consistentTerm, replayedThrough, onAppended }) => {
      if (!opts.voters.includes(memberId)) {
        throw new Error(`member ${memberId.toString(16)} is not among the voters ${opts.voters.map((v) => v.toString(16)).join(', ')}`);
      }
      const node = new RaftNode({
        id: memberId,
        voters: opts.voters,
        log,
        transport: opts.transport,
        recovered: { appliedIndex, appliedTerm: consistentTerm, hardState: recovery.hardState, entries: recovery.entries },
        appliedIndex: replayedThrough,
        tickMs: opts.heartbeatMs,
        electionTicks: Math.max(2, Math.round(opts.electionMs / opts.heartbeatMs)),
        ...(opts.rng !== undefined ? { rng: opts.rng } : {}),
        ...(opts.catchUpEntries !== undefined ? { catchUpEntries: opts.catchUpEntries } : {}),
        onAppended,
      });
      opts.onOpened?.(node);
      return node;
    },
  };
}
