/**
 * Applying membership changes to a tracker config (etcd: confchange/confchange.go).
 * Every function works on copies and returns a new (config, progress map) pair, which
 * the caller installs with Raft.switchToConfig. Errors are thrown as RaftError.
 *
 * - simple: at most one voter added or removed (learner changes are free).
 * - enterJoint: the old voters become the outgoing half; both halves must agree.
 * - leaveJoint: drop the outgoing half; learnersNext become learners.
 */
import { Inflights } from './inflights.js';
import { ConfChangeType, RaftError, type ConfChangeSingle, type ConfState } from './messages.js';
import { Progress } from './progress.js';
import { checkInvariants, cloneConfig, emptyConfig, isJoint, type ProgressMap, type TrackerConfig } from './tracker.js';
import type { Index, NodeId } from '../raftpb/types.js';

export interface ChangerResult {
  config: TrackerConfig;
  progress: ProgressMap;
}

function err(msg: string): RaftError {
  return new RaftError('ETCD_ERR_RAFT_CONF_CHANGE', msg);
}

export class Changer {
  constructor(
    private readonly config: TrackerConfig,
    private readonly progress: ProgressMap,
    private readonly lastIndex: Index,
    private readonly maxInflight: number,
    private readonly maxInflightBytes: number,
  ) {}

  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ChangerResult {
    const { cfg, prs } = this.checkAndCopy();
    if (isJoint(cfg)) throw err('config is already joint');
    if (cfg.voters.incoming.size === 0) throw err("can't make a zero-voter config joint");
    cfg.voters.outgoing = new Set(cfg.voters.incoming);
    this.apply(cfg, prs, ccs);
    cfg.autoLeave = autoLeave;
    checkInvariants(cfg, prs);
    return { config: cfg, progress: prs };
  }

  leaveJoint(): ChangerResult {
    const { cfg, prs } = this.checkAndCopy();
    if (!isJoint(cfg)) throw err("can't leave a non-joint config");
    for (const id of cfg.learnersNext) {
      cfg.learners.add(id);
      prs.get(id)!.isLearner = true;
    }
    cfg.learnersNext = new Set();
    for (const id of cfg.voters.outgoing) {
      if (!cfg.voters.incoming.has(id) && !cfg.learners.has(id)) prs.delete(id);
    }
    cfg.voters.outgoing = new Set();
    cfg.autoLeave = false;
    checkInvariants(cfg, prs);
    return { config: cfg, progress: prs };
  }

  simple(ccs: readonly ConfChangeSingle[]): ChangerResult {
    const { cfg, prs } = this.checkAndCopy();
    if (isJoint(cfg)) throw err("can't apply simple config change in joint config");
    this.apply(cfg, prs, ccs);
    let diff = 0;
    for (const id of cfg.voters.incoming) if (!this.config.voters.incoming.has(id)) diff++;
    for (const id of this.config.voters.incoming) if (!cfg.voters.incoming.has(id)) diff++;
    if (diff > 1) throw err('more than one voter changed without entering joint config');
    checkInvariants(cfg, prs);
    return { config: cfg, progress: prs };
  }

  private checkAndCopy(): { cfg: TrackerConfig; prs: ProgressMap } {
    checkInvariants(this.config, this.progress);
    const prs: ProgressMap = new Map();
    for (const [id, pr] of this.progress) {
      // Shallow copy: the Progress state (match, next, inflights) carries over.
      const c = new Progress(pr.next, pr.inflights.clone(), pr.isLearner);
      c.match = pr.match;
      c.state = pr.state;
      c.pendingSnapshot = pr.pendingSnapshot;
      c.recentActive = pr.recentActive;
      c.msgAppFlowPaused = pr.msgAppFlowPaused;
      prs.set(id, c);
    }
    return { cfg: cloneConfig(this.config), prs };
  }

  private apply(cfg: TrackerConfig, prs: ProgressMap, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === 0n) continue;
      switch (cc.type) {
        case ConfChangeType.AddNode:
          this.makeVoter(cfg, prs, cc.nodeId);
          break;
        case ConfChangeType.AddLearnerNode:
          this.makeLearner(cfg, prs, cc.nodeId);
          break;
        case ConfChangeType.RemoveNode:
          this.remove(cfg, prs, cc.nodeId);
          break;
        case ConfChangeType.UpdateNode:
          break;
        default:
          throw err(`unexpected conf type ${String(cc.type)}`);
      }
    }
    if (cfg.voters.incoming.size === 0) throw err('removed all voters');
  }

  private initProgress(cfg: TrackerConfig, prs: ProgressMap, id: NodeId, isLearner: boolean): void {
    if (isLearner) cfg.learners.add(id);
    else cfg.voters.incoming.add(id);
    const pr = new Progress(Math.max(this.lastIndex, 1), new Inflights(this.maxInflight, this.maxInflightBytes), isLearner);
    // A new member counts as active so check-quorum does not step the leader down at once.
    pr.recentActive = true;
    prs.set(id, pr);
  }

  private makeVoter(cfg: TrackerConfig, prs: ProgressMap, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(cfg, prs, id, false);
      return;
    }
    pr.isLearner = false;
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    cfg.voters.incoming.add(id);
  }

  private makeLearner(cfg: TrackerConfig, prs: ProgressMap, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(cfg, prs, id, true);
      return;
    }
    if (pr.isLearner) return;
    this.remove(cfg, prs, id);
    prs.set(id, pr);
    if (cfg.voters.outgoing.has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  private remove(cfg: TrackerConfig, prs: ProgressMap, id: NodeId): void {
    if (!prs.has(id)) return;
    cfg.voters.incoming.delete(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    if (!cfg.voters.outgoing.has(id)) prs.delete(id);
  }
}

/** Builds the tracker config and progress for a ConfState (etcd: confchange.Restore). */
export function restoreConfState(cs: ConfState, lastIndex: Index, maxInflight: number, maxInflightBytes: number): ChangerResult {
  const cfg = emptyConfig();
  const prs: ProgressMap = new Map();
  const mk = (id: NodeId, learner: boolean): void => {
    if (prs.has(id)) return;
    const pr = new Progress(Math.max(lastIndex, 1), new Inflights(maxInflight, maxInflightBytes), learner);
    pr.recentActive = true;
    prs.set(id, pr);
  };
  for (const id of cs.voters) {
    cfg.voters.incoming.add(id);
    mk(id, false);
  }
  for (const id of cs.votersOutgoing) {
    cfg.voters.outgoing.add(id);
    mk(id, false);
  }
  for (const id of cs.learners) {
    cfg.learners.add(id);
    mk(id, true);
  }
  for (const id of cs.learnersNext) cfg.learnersNext.add(id);
  cfg.autoLeave = cs.autoLeave && cfg.voters.outgoing.size > 0;
  checkInvariants(cfg, prs);
  return { config: cfg, progress: prs };
}
