/**
 * Raft messages, snapshots and membership types: plain typed objects.
 * Names and numeric values follow etcd's raftpb so transcripts read the same.
 * Binary encoding lives in codec.ts.
 */
import type { Entry, HardState, Index, NodeId, Term } from '../raftpb/types.js';

export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
}

export const MESSAGE_TYPE_MAX = 18;

/** Local messages never cross the network (etcd: IsLocalMsg). */
export function isLocalMsg(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgSnapStatus ||
    t === MessageType.MsgCheckQuorum
  );
}

export function isResponseMsg(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgPreVoteResp
  );
}

export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Voters of the outgoing config while in a joint config; empty otherwise. */
  readonly votersOutgoing: readonly NodeId[];
  /** Nodes that become learners when the joint config is left. */
  readonly learnersNext: readonly NodeId[];
  readonly autoLeave: boolean;
}

export const EMPTY_CONF_STATE: ConfState = Object.freeze({
  voters: [],
  learners: [],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
});

export interface SnapshotMetadata {
  readonly confState: ConfState;
  readonly index: Index;
  readonly term: Term;
}

/** data is opaque to raft: the server puts a handle there and streams the content. */
export interface Snapshot {
  readonly data: Uint8Array;
  readonly metadata: SnapshotMetadata;
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  data: new Uint8Array(0),
  metadata: Object.freeze({ confState: EMPTY_CONF_STATE, index: 0, term: 0 }),
});

export function isEmptySnap(s: Snapshot | null | undefined): boolean {
  return s == null || s.metadata.index === 0;
}

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: Term;
  /** Term of the entry at `index` (MsgApp), or the rejection hint term (MsgAppResp). */
  logTerm: Term;
  index: Index;
  entries: Entry[];
  commit: Index;
  snapshot: Snapshot | null;
  reject: boolean;
  rejectHint: Index;
  context: Uint8Array | null;
}

export function newMessage(p: Partial<Message> & { type: MessageType }): Message {
  return {
    type: p.type,
    to: p.to ?? 0n,
    from: p.from ?? 0n,
    term: p.term ?? 0,
    logTerm: p.logTerm ?? 0,
    index: p.index ?? 0,
    entries: p.entries ?? [],
    commit: p.commit ?? 0,
    snapshot: p.snapshot ?? null,
    reject: p.reject ?? false,
    rejectHint: p.rejectHint ?? 0,
    context: p.context ?? null,
  };
}

export enum ConfChangeType {
  AddNode = 0,
  RemoveNode = 1,
  UpdateNode = 2,
  AddLearnerNode = 3,
}

export enum ConfChangeTransition {
  /** Simple change if possible (one voter changed), else joint with auto-leave. */
  Auto = 0,
  /** Always joint; leave automatically once applied. */
  JointImplicit = 1,
  /** Always joint; the application proposes the leave (an empty ConfChangeV2). */
  JointExplicit = 2,
}

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

/** etcd's ConfChangeV2. No changes = leave the joint config. */
export interface ConfChangeV2 {
  readonly transition: ConfChangeTransition;
  readonly changes: readonly ConfChangeSingle[];
  readonly context: Uint8Array;
}

export function isLeaveJoint(cc: ConfChangeV2): boolean {
  return cc.changes.length === 0;
}

/** Returns [autoLeave, useJoint] as etcd's ConfChangeV2.EnterJoint. */
export function enterJoint(cc: ConfChangeV2): { autoLeave: boolean; joint: boolean } {
  if (cc.transition !== ConfChangeTransition.Auto || cc.changes.length > 1) {
    return { autoLeave: cc.transition !== ConfChangeTransition.JointExplicit, joint: true };
  }
  return { autoLeave: false, joint: false };
}

export enum StateType {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

export interface SoftState {
  readonly lead: NodeId;
  readonly raftState: StateType;
}

export interface ReadState {
  readonly index: Index;
  readonly requestCtx: Uint8Array;
}

export interface Ready {
  /** Set when changed since the last Ready. Volatile; need not be persisted. */
  readonly softState: SoftState | null;
  /** Set when changed; persist before sending messages. */
  readonly hardState: HardState | null;
  readonly readStates: ReadState[];
  /** Entries to persist before sending messages. */
  readonly entries: Entry[];
  /** Snapshot to install (persist) before sending messages. */
  readonly snapshot: Snapshot | null;
  /** Committed entries to apply (after persisting `entries`). */
  readonly committedEntries: Entry[];
  /** Send only after entries, hard state and snapshot above are durable. */
  readonly messages: Message[];
  /** Whether the hard state and entries must be fsynced. */
  readonly mustSync: boolean;
}

export class RaftError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RaftError';
  }
}

export const ErrCompacted = new RaftError('ETCD_ERR_RAFT_COMPACTED', 'requested index is unavailable due to compaction');
export const ErrSnapOutOfDate = new RaftError('ETCD_ERR_RAFT_SNAP_OUT_OF_DATE', 'requested index is older than the existing snapshot');
export const ErrUnavailable = new RaftError('ETCD_ERR_RAFT_UNAVAILABLE', 'requested entry at index is unavailable');
export const ErrSnapshotTemporarilyUnavailable = new RaftError(
  'ETCD_ERR_RAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE',
  'snapshot is temporarily unavailable',
);
export const ErrProposalDropped = new RaftError('ETCD_ERR_RAFT_PROPOSAL_DROPPED', 'raft proposal dropped');

/** Thrown on a broken invariant. Assertions stay on in production (style rule 11). */
export { assert } from '../util/pure/assert.js';

export type { Entry, HardState, Index, NodeId, Term };
