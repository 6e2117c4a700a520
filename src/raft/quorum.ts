/**
 * Majority and joint quorums (etcd: quorum/majority.go, quorum/joint.go).
 * A joint config needs a majority in both the incoming and the outgoing voter sets;
 * an empty set agrees to everything.
 */
import type { Index, NodeId } from '../raftpb/types.js';

export enum VoteResult {
  Pending = 1,
  Lost = 2,
  Won = 3,
}

/** An empty voter set commits everything (it never constrains a joint quorum). */
export const INDEX_MAX = Number.MAX_SAFE_INTEGER;

/** Largest index acknowledged by a majority of voters. */
export function majorityCommittedIndex(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => Index | undefined): Index {
  const n = voters.size;
  if (n === 0) return INDEX_MAX;
  const srt: Index[] = [];
  for (const id of voters) srt.push(acked(id) ?? 0);
  srt.sort((a, b) => b - a);
  return srt[Math.floor(n / 2)]!;
}

export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return VoteResult.Won;
  let yes = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = Math.floor(voters.size / 2) + 1;
  if (yes >= q) return VoteResult.Won;
  if (yes + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

export interface JointConfig {
  readonly incoming: ReadonlySet<NodeId>;
  readonly outgoing: ReadonlySet<NodeId>;
}

export function jointCommittedIndex(c: JointConfig, acked: (id: NodeId) => Index | undefined): Index {
  return Math.min(majorityCommittedIndex(c.incoming, acked), majorityCommittedIndex(c.outgoing, acked));
}

export function jointVoteResult(c: JointConfig, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const r1 = majorityVoteResult(c.incoming, votes);
  const r2 = majorityVoteResult(c.outgoing, votes);
  if (r1 === r2) return r1;
  if (r1 === VoteResult.Lost || r2 === VoteResult.Lost) return VoteResult.Lost;
  return VoteResult.Pending;
}

export function jointIds(c: JointConfig): Set<NodeId> {
  const s = new Set(c.incoming);
  for (const id of c.outgoing) s.add(id);
  return s;
}
