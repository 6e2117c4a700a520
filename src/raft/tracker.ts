/**
 * ProgressTracker: the active configuration and every member's Progress (etcd: tracker/tracker.go).
 *
 * Invariants (checked by checkInvariants):
 * - every voter (incoming or outgoing) and learner has a Progress, and nothing else does;
 * - learners and voters (incoming and outgoing) are disjoint, except learnersNext,
 *   which are outgoing voters that become learners when the joint config is left;
 * - Progress.isLearner is true exactly for learners.
 */
import { assert, type ConfState } from './messages.js';
import { Progress } from './progress.js';
import { jointCommittedIndex, jointVoteResult, VoteResult, type JointConfig } from './quorum.js';
import { compareIds, type Index, type NodeId } from '../raftpb/types.js';

export interface TrackerConfig {
  voters: { incoming: Set<NodeId>; outgoing: Set<NodeId> };
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

export function emptyConfig(): TrackerConfig {
  return { voters: { incoming: new Set(), outgoing: new Set() }, learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function cloneConfig(c: TrackerConfig): TrackerConfig {
  return {
    voters: { incoming: new Set(c.voters.incoming), outgoing: new Set(c.voters.outgoing) },
    learners: new Set(c.learners),
    learnersNext: new Set(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export function isJoint(c: TrackerConfig): boolean {
  return c.voters.outgoing.size > 0;
}

const sorted = (s: Iterable<NodeId>): NodeId[] => [...s].sort(compareIds);

export function configToConfState(c: TrackerConfig): ConfState {
  return {
    voters: sorted(c.voters.incoming),
    learners: sorted(c.learners),
    votersOutgoing: sorted(c.voters.outgoing),
    learnersNext: sorted(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

export function describeConfig(c: TrackerConfig): string {
  let s = `voters=(${sorted(c.voters.incoming).join(' ')})`;
  if (isJoint(c)) s += `&&(${sorted(c.voters.outgoing).join(' ')})`;
  if (c.learners.size) s += ` learners=(${sorted(c.learners).join(' ')})`;
  if (c.learnersNext.size) s += ` learners_next=(${sorted(c.learnersNext).join(' ')})`;
  if (c.autoLeave) s += ' autoleave';
  return s;
}

export type ProgressMap = Map<NodeId, Progress>;

export function checkInvariants(cfg: TrackerConfig, prs: ProgressMap): void {
  const all = [...cfg.voters.incoming, ...cfg.voters.outgoing, ...cfg.learners, ...cfg.learnersNext];
  for (const id of all) assert(prs.has(id), `no progress for ${id}`);
  for (const id of cfg.learnersNext) {
    assert(cfg.voters.outgoing.has(id), `${id} is in LearnersNext, but not Voters[1]`);
    assert(!prs.get(id)!.isLearner, `${id} is in LearnersNext, but is already marked as learner`);
  }
  for (const id of cfg.learners) {
    assert(!cfg.voters.outgoing.has(id), `${id} is in Learners and Voters[1]`);
    assert(!cfg.voters.incoming.has(id), `${id} is in Learners and Voters[0]`);
    assert(prs.get(id)!.isLearner, `${id} is in Learners, but is not marked as learner`);
  }
  for (const [id, pr] of prs) {
    const known = cfg.voters.incoming.has(id) || cfg.voters.outgoing.has(id) || cfg.learners.has(id);
    assert(known, `progress for ${id} which is not in the config`);
    if (cfg.voters.incoming.has(id) || cfg.voters.outgoing.has(id)) assert(!pr.isLearner, `${id} is a voter but marked as learner`);
  }
  if (!isJoint(cfg)) {
    assert(cfg.learnersNext.size === 0, 'cfg.LearnersNext must be nil when not joint');
    assert(!cfg.autoLeave, 'AutoLeave must be false when not joint');
  }
}

export class ProgressTracker {
  config: TrackerConfig = emptyConfig();
  progress: ProgressMap = new Map();
  votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return configToConfState(this.config);
  }

  private joint(): JointConfig {
    return this.config.voters;
  }

  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  /** Largest index acknowledged by a (joint) quorum. */
  committed(): Index {
    return jointCommittedIndex(this.joint(), (id) => this.progress.get(id)?.match);
  }

  /** Visits every member in ascending id order (deterministic iteration). */
  visit(f: (id: NodeId, pr: Progress) => void): void {
    const ids = [...this.progress.keys()].sort(compareIds);
    for (const id of ids) f(id, this.progress.get(id)!);
  }

  /** True if a quorum of voters was recently active (check-quorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return jointVoteResult(this.joint(), votes) === VoteResult.Won;
  }

  voterNodes(): NodeId[] {
    const s = new Set(this.config.voters.incoming);
    for (const id of this.config.voters.outgoing) s.add(id);
    return sorted(s);
  }

  learnerNodes(): NodeId[] {
    return sorted(this.config.learners);
  }

  isVoter(id: NodeId): boolean {
    return this.config.voters.incoming.has(id) || this.config.voters.outgoing.has(id);
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  recordVote(id: NodeId, v: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, v);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.joint(), this.votes) };
  }
}
