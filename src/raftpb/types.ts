/**
 * The log types shared by the Raft library and the storage below it (WAL, apply).
 * Pure: no node:* imports. Field names follow etcd's raftpb.
 */

/** Position in the Raft log; 1-based, 0 means "none". Below 2^53. */
export type Index = number;
/** Raft term; 0 means "none". */
export type Term = number;
/** Member (node) ID: a full uint64, 0n means "none" (docs/decisions/0003-64-bit-ids.md). */
export type NodeId = bigint;

export enum EntryType {
  /** data is an encoded etcdserverpb.InternalRaftRequest (or empty: a new leader's no-op). */
  Normal = 0,
  ConfChange = 1,
  ConfChangeV2 = 2,
}

export interface Entry {
  readonly term: Term;
  readonly index: Index;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be durable before a node answers votes or acknowledges appends. */
export interface HardState {
  readonly term: Term;
  readonly vote: NodeId;
  readonly commit: Index;
}

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: 0n, commit: 0 });

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0n && hs.commit === 0;
}

/** Ascending order of node IDs, for sort() (bigint subtraction is not a comparator). */
export function compareIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
