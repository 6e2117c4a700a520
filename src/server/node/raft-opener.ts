/**
 * Opens a RaftNode as a member's consensus node (startMember's ConsensusOpener, bootstrap.ts).
 *
 * Restart: the WAL's hard state says what is committed; those entries are replayed through the
 * apply loop before the node starts, and the node's Raft storage holds the store's applied
 * point plus every recovered entry (committed or not: Raft decides what survives).
 */
import { ConfChangeTransition, ConfChangeType, encodeConfChangeV2, type Rng } from '../../raft/index.js';
import { EntryType, type Entry, type NodeId } from '../../raftpb/types.js';
import { confStateOf, encodeMemberChange, type MembershipState, type MemberRecord } from '../../apply/membership.js';
import type { ConsensusOpener } from '../bootstrap.js';
import type { ClusterMember } from '../etcd-server.js';
import { RaftNode, type PeerTransport } from './raft-node.js';
import { CATCH_UP_ENTRIES } from './raft-storage.js';
import { RaftSnapshots } from './raft-snapshots.js';
import { initialTickAdvance } from './tick-advance.js';

export interface RaftOpenerOptions {
  /**
   * Every voter of the initial cluster, this member included (a new cluster, or a data dir
   * without stored membership); empty when restarting from stored membership or joining.
   */
  readonly voters: readonly NodeId[];
  /**
   * Membership is stored in the store and changes through the log (docs/cluster.md, "Runtime
   * membership"). `initialMembers`: a new cluster's members, written as its first entries;
   * `joining`: this member's IDs in a running cluster it joins (its log comes from the leader).
   */
  readonly storesMembership?: boolean;
  readonly initialMembers?: readonly MemberRecord[];
  readonly joining?: { readonly memberId: NodeId; readonly clusterId: bigint };
  /** Told the membership found in the store at start (the transport learns its peers from it). */
  readonly onMembership?: (s: MembershipState) => void;
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
  /** --pre-vote (RaftNodeOptions.preVote). */
  readonly preVote?: boolean;
  /** --initial-election-tick-advance, and what it watches (tick-advance.ts); none: no advance at all. */
  readonly tickAdvance?: {
    readonly enabled: boolean;
    activePeers(): number;
    probePeers(): void;
    info(msg: string, fields: Record<string, unknown>): void;
  };
  /** The node, once opened (tests reach its Raft state through it). */
  readonly onOpened?: (node: RaftNode) => void;
  /** The member's snapshot side, once opened (metrics, tests). */
  readonly onSnapshots?: (s: RaftSnapshots) => void;
}

export function raftConsensus(opts: RaftOpenerOptions): ConsensusOpener {
  return {
    ...(opts.voters.length > 0 ? { memberIds: opts.voters } : {}),
    ...(opts.storesMembership === true ? { storesMembership: true } : {}),
    ...(opts.joining !== undefined ? { joining: opts.joining } : {}),
    ...(opts.initialMembers !== undefined ? { bootstrapEntries: () => bootstrapEntries(opts.initialMembers!) } : {}),
    ...(opts.members !== undefined ? { members: opts.members } : {}),
    // Read the catch-up entries below the applied index back too (as far as the WAL still has them).
    recoverFrom: (appliedIndex, walFirstIndex) =>
      Math.min(appliedIndex, Math.max(0, appliedIndex - (opts.catchUpEntries ?? CATCH_UP_ENTRIES), (walFirstIndex ?? appliedIndex + 1) - 1)),
    committedThrough: (recovery) => Math.min(recovery.hardState.commit, recovery.lastIndex),
    open: ({ memberId, log, recovery, appliedIndex, consistentTerm, replayedThrough, onAppended, membership, snapshots: store }) => {
      const transport = opts.transport;
      const snapshots = store !== undefined && transport.sendSnapshot !== undefined
        ? new RaftSnapshots({ memberId, store: store.store, transport, log, maxBytes: store.maxBytes, logger: store.log, env: process.env })
        : undefined;
      if (snapshots !== undefined) {
        transport.onSnapshot?.((body, from) => snapshots.receive(body, from));
        opts.onSnapshots?.(snapshots);
      }
      // The configuration: the stored membership's; else the initial cluster's voters; a joining
      // member starts with none and learns it from the leader's log.
      const conf = membership !== undefined ? confStateOf(membership) : { voters: [...opts.voters], learners: [] };
      if (membership !== undefined) opts.onMembership?.(membership);
      if (membership === undefined && opts.joining === undefined && !opts.voters.includes(memberId)) {
        throw new Error(`member ${memberId.toString(16)} is not among the voters ${opts.voters.map((v) => v.toString(16)).join(', ')}`);
      }
      const node = new RaftNode({
        id: memberId,
        voters: opts.joining !== undefined && membership === undefined ? [] : conf.voters,
        learners: opts.joining !== undefined && membership === undefined ? [] : conf.learners,
        log,
        transport: opts.transport,
        recovered: { appliedIndex, appliedTerm: consistentTerm, hardState: recovery.hardState, entries: recovery.entries },
        appliedIndex: replayedThrough,
        tickMs: opts.heartbeatMs,
        electionTicks: Math.max(2, Math.round(opts.electionMs / opts.heartbeatMs)),
        ...(opts.rng !== undefined ? { rng: opts.rng } : {}),
        ...(opts.catchUpEntries !== undefined ? { catchUpEntries: opts.catchUpEntries } : {}),
        ...(opts.preVote !== undefined ? { preVote: opts.preVote } : {}),
        onAppended,
        ...(snapshots !== undefined ? { snapshots } : {}),
      });
      const ta = opts.tickAdvance;
      // A joining member has no configuration yet: it waits for the leader (etcd: a learner or a
      // new member hears the leader before its timeout anyway).
      if (ta !== undefined && conf.voters.length > 0 && (opts.joining === undefined || membership !== undefined)) {
        const electionTicks = Math.max(2, Math.round(opts.electionMs / opts.heartbeatMs));
        void initialTickAdvance(ta.enabled, {
          electionTicks,
          voterCount: conf.voters.length,
          activePeers: () => ta.activePeers(),
          probePeers: () => ta.probePeers(),
          advanceTicks: (n) => node.advanceTicks(n),
          stopped: () => node.stopped,
          info: (msg, fields) => ta.info(msg, { 'local-member-id': memberId.toString(16), ...fields }),
        });
      }
      opts.onOpened?.(node);
      return node;
    },
  };
}

/**
 * The first entries of a new cluster's log: one membership change per initial member (sorted by
 * ID, so every member writes the same bytes), term 1, request ID 0.
 */
export function bootstrapEntries(members: readonly MemberRecord[]): Entry[] {
  const sorted = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return sorted.map((member, i) => ({
    term: 1,
    index: i + 1,
    type: EntryType.ConfChangeV2,
    data: encodeConfChangeV2({
      transition: ConfChangeTransition.Auto,
      changes: [{ type: ConfChangeType.AddNode, nodeId: member.id }],
      context: encodeMemberChange({ requestId: 0n, change: { op: 'add', member } }),
    }),
  }));
}
