/**
 * The Raft state machine (etcd: raft.go). Pure: inputs are tick() and step(message);
 * outputs accumulate in `msgs`, `readStates` and the log, drained by RawNode.ready().
 *
 * Safety-critical rules live here and are named where they are enforced:
 * - one vote per term (vote is persisted in HardState before any response leaves);
 * - vote only for an up-to-date log (§5.4.1, RaftLog.isUpToDate);
 * - commit only entries of the current term by counting (§5.4.2, RaftLog.maybeCommit);
 * - a new leader appends an empty entry of its term;
 * - ReadIndex only after the leader committed an entry of its term, and (Safe) after
 *   a quorum answered a heartbeat round.
 */
import { encodeConfChangeV2 } from './codec.js';
import { Changer, restoreConfState, type ChangerResult } from './confchange.js';
import { RaftLog } from './log.js';
import { handOffLeadership, releasePendingReadIndexMessages, stepLeader } from './raft-leader.js';
import {
  ErrCompacted,
  ErrSnapshotTemporarilyUnavailable,
  MessageType,
  StateType,
  assert,
  enterJoint,
  isLeaveJoint,
  isLocalMsg,
  isResponseMsg,
  newMessage,
  type ConfChangeV2,
  type ConfState,
  type Message,
  type ReadState,
  type Snapshot,
} from './messages.js';
import { ProgressState } from './progress.js';
import { VoteResult } from './quorum.js';
import { ReadOnly, ReadOnlyOption } from './read-only.js';
import { NO_MUTATIONS, type RaftMutations } from './mutations.js';
import type { Rng } from './rng.js';
import type { Storage } from './storage.js';
import { ProgressTracker } from './tracker.js';
import { EntryType, type Entry, type HardState, type Index, type NodeId, type Term } from '../raftpb/types.js';

export const NONE: NodeId = 0n;

/** Context of votes triggered by leadership transfer: bypasses the leader lease. */
export const CAMPAIGN_TRANSFER = new Uint8Array([0x54, 0x52]); // "TR"

export enum CampaignType {
  PreElection = 0,
  Election = 1,
  Transfer = 2,
}

export interface Config {
  id: NodeId;
  /** Ticks without hearing from a leader before campaigning; randomized in [electionTick, 2*electionTick). */
  electionTick: number;
  /** Ticks between leader heartbeats; must be < electionTick. */
  heartbeatTick: number;
  storage: Storage;
  /** Last applied index, when restarting (entries up to it are not handed out again). */
  applied?: Index;
  /** Max bytes of entries per MsgApp (at least one entry is always sent). */
  maxSizePerMsg?: number;
  /** Max bytes of committed entries per Ready. */
  maxCommittedSizePerReady?: number;
  /** Max bytes of uncommitted entries at the leader before proposals are dropped; 0 = no limit. */
  maxUncommittedEntriesSize?: number;
  /** Max MsgApp messages in flight per follower in StateReplicate. */
  maxInflightMsgs: number;
  /** Max bytes in flight per follower; 0 = no limit. */
  maxInflightBytes?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  readOnlyOption?: ReadOnlyOption;
  disableProposalForwarding?: boolean;
  /**
   * When the leader removes or demotes itself, hand leadership over to the most
   * caught-up voter (default true). When false, it stays leader until deposed (etcd's default).
   */
  stepDownOnRemoval?: boolean;
  /**
   * The leader's own append is acknowledged separately (etcd's AsyncStorageWrites, leader side;
   * Raft thesis §10.2.1): appending does not advance the leader's own progress; the application
   * calls RawNode.leaderAppended(index, term) once the entries are durable, and only then does
   * the leader count itself toward the commit quorum. This lets the application send a leader's
   * MsgApps before its own append is durable. Default false: the leader counts its entries as
   * soon as it appends them, and the application persists a Ready before sending its messages.
   */
  asyncLeaderAppend?: boolean;
  rng: Rng;
  /** Deliberate bugs for the simulator's self-test (mutations.ts); never set outside tests. */
  mutations?: RaftMutations;
}

export class Raft {
  readonly id: NodeId;
  term: Term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly trk: ProgressTracker;
  state: StateType = StateType.Follower;
  isLearner = false;
  msgs: Message[] = [];
  lead: NodeId = NONE;
  leadTransferee: NodeId = NONE;
  /** Index of the last conf change proposed by this leader; only one may be pending. */
  pendingConfIndex: Index = 0;
  uncommittedSize = 0;
  readOnly: ReadOnly;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  readonly asyncLeaderAppend: boolean;
  private readonly rng: Rng;
  /** @internal Deliberate bugs switched on (tests only; empty otherwise). */
  readonly mut: RaftMutations;
  /** Read requests received before this leader committed an entry of its term. */
  /** @internal */
  pendingReadIndexMessages: Message[] = [];

  constructor(c: Config) {
    assert(c.id !== NONE, 'cannot use none as id');
    assert(c.heartbeatTick > 0, 'heartbeat tick must be greater than 0');
    assert(c.electionTick > c.heartbeatTick, 'election tick must be greater than heartbeat tick');
    assert(c.maxInflightMsgs > 0, 'max inflight messages must be greater than 0');
    const readOnlyOption = c.readOnlyOption ?? ReadOnlyOption.Safe;
    const checkQuorum = c.checkQuorum ?? true;
    assert(!(readOnlyOption === ReadOnlyOption.LeaseBased && !checkQuorum), 'CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased');
    this.id = c.id;
    this.raftLog = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? Number.MAX_SAFE_INTEGER);
    this.maxMsgSize = c.maxSizePerMsg ?? Number.MAX_SAFE_INTEGER;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize || Number.MAX_SAFE_INTEGER;
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes ?? 0);
    this.readOnly = new ReadOnly(readOnlyOption);
    this.checkQuorum = checkQuorum;
    this.preVote = c.preVote ?? true;
    this.heartbeatTimeout = c.heartbeatTick;
    this.electionTimeout = c.electionTick;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.stepDownOnRemoval = c.stepDownOnRemoval ?? true;
    this.asyncLeaderAppend = c.asyncLeaderAppend ?? false;
    this.mut = c.mutations ?? NO_MUTATIONS;
    this.raftLog.commitBeyondVerified = this.mut.followerCommitBeyondVerified === true;
    this.rng = c.rng;

    const { hardState, confState } = c.storage.initialState();
    const restored = restoreConfState(confState, this.raftLog.lastIndex(), this.trk.maxInflight, this.trk.maxInflightBytes);
    this.switchToConfig(restored);
    if (hardState.term !== 0 || hardState.vote !== 0n || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied && c.applied > 0) this.raftLog.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  private loadState(hs: HardState): void {
    assert(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      `${this.id} state.commit ${hs.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  // ---- sending -------------------------------------------------------------

  /** @internal */
  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      assert(m.term !== 0, `term should be set when sending ${MessageType[t]}`);
    } else {
      assert(m.term === 0, `term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      // Proposals and forwarded read requests are local-ish: they carry no term.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    this.msgs.push(m);
  }

  /** Sends a MsgApp (or MsgSnap) to `to` if it is not paused. */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.termOrNull(prevIndex);
    let ents: Entry[] | null = null;
    if (prevTerm !== null) {
      try {
        ents = this.raftLog.entries(pr.next, this.maxMsgSize);
      } catch (e) {
        if (e !== ErrCompacted) throw e;
      }
    }
    if (prevTerm === null || ents === null) return this.maybeSendSnapshot(to);
    if (ents.length === 0 && !sendIfEmpty) return false;
    let bytes = 0;
    for (const e of ents) bytes += e.data.length;
    this.send(newMessage({ type: MessageType.MsgApp, to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.raftLog.committed }));
    pr.sentEntries(ents.length, bytes);
    return true;
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      if (e === ErrSnapshotTemporarilyUnavailable) return false;
      throw e;
    }
    assert(snap.metadata.index !== 0, 'need non-empty snapshot');
    pr.becomeSnapshot(snap.metadata.index);
    this.send(newMessage({ type: MessageType.MsgSnap, to, snapshot: snap }));
    return true;
  }

  private sendHeartbeat(to: NodeId, ctx: Uint8Array | null): void {
    // Never advance a follower's commit beyond what it is known to have.
    const commit = this.mut.heartbeatFullCommit ? this.raftLog.committed : Math.min(this.trk.progress.get(to)!.match, this.raftLog.committed);
    this.send(newMessage({ type: MessageType.MsgHeartbeat, to, commit, context: ctx }));
  }

  bcastAppend(): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendAppend(id);
    });
  }

  /** @internal */
  bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingRequestCtx();
    this.bcastHeartbeatWithCtx(ctx);
  }

  /** @internal */
  bcastHeartbeatWithCtx(ctx: Uint8Array | null): void {
    this.trk.visit((id) => {
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    });
  }

  // ---- commit and append --------------------------------------------------

  /** Advances the commit index if a quorum acknowledged an entry of the current term. */
  maybeCommit(): boolean {
    if (this.mut.commitOldTerm) {
      const mci = this.trk.committed();
      if (mci <= this.raftLog.committed) return false;
      this.raftLog.commitTo(mci);
      return true;
    }
    return this.raftLog.maybeCommit(this.trk.committed(), this.term);
  }

  private reset(term: Term): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      const isLearner = pr.isLearner;
      pr.inflights.reset();
      pr.match = 0;
      pr.next = last + 1;
      pr.state = ProgressState.Probe;
      pr.pendingSnapshot = 0;
      pr.msgAppFlowPaused = false;
      pr.recentActive = false;
      pr.isLearner = isLearner;
      if (id === this.id) pr.match = last;
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly(this.readOnly.option);
    this.pendingReadIndexMessages = [];
  }

  /** Appends entries proposed at this leader; false if the uncommitted tail is too large. */
  /** @internal */
  appendEntry(es: Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    const out: Entry[] = [];
    for (const e of es) out.push({ term: this.term, index: ++li, type: e.type, data: e.data });
    if (!this.increaseUncommittedSize(out)) return false;
    li = this.raftLog.append(out);
    // Synchronous mode: the leader's own entries count toward the quorum at once, because the
    // application persists them before any message of this Ready leaves (Ready contract).
    // asyncLeaderAppend: they count once the application reports them durable (leaderAppended).
    if (!this.asyncLeaderAppend) this.trk.progress.get(this.id)?.maybeUpdate(li);
    this.maybeCommit();
    return true;
  }

  /**
   * asyncLeaderAppend: this leader's entries through `index`, appended while it led term
   * `term`, are durable; it now counts itself toward the quorum up to there, which may commit.
   * Ignored (false) when the term changed or this node no longer leads: an append of an
   * earlier leadership says nothing about the current log (its entries may be replaced), and
   * the progress of a new leadership starts from its own reset.
   */
  leaderAppended(index: Index, term: Term): boolean {
    assert(this.asyncLeaderAppend, 'leaderAppended without asyncLeaderAppend');
    if (this.state !== StateType.Leader || term !== this.term) return false;
    const pr = this.trk.progress.get(this.id);
    if (!pr) return false;
    assert(index <= this.raftLog.lastIndex(), `leaderAppended(${index}) beyond the last index ${this.raftLog.lastIndex()}`);
    if (pr.maybeUpdate(index) && this.maybeCommit()) {
      releasePendingReadIndexMessages(this);
      this.bcastAppend();
    }
    return true;
  }

  private increaseUncommittedSize(ents: Entry[]): boolean {
    let s = 0;
    for (const e of ents) s += e.data.length;
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(ents: Entry[]): void {
    if (this.uncommittedSize === 0) return;
    let s = 0;
    for (const e of ents) s += e.data.length;
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  // ---- ticks and state transitions -----------------------------------------

  tick(): void {
    if (this.state === StateType.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgHup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage({ type: MessageType.MsgCheckQuorum, from: this.id }));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === StateType.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
      // A leader no longer in the voters keeps trying to hand over.
      if (this.state === StateType.Leader && this.stepDownOnRemoval && !this.trk.isVoter(this.id)) handOffLeadership(this);
    }
    if (this.state !== StateType.Leader) return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage({ type: MessageType.MsgBeat, from: this.id }));
    }
  }

  becomeFollower(term: Term, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.state = StateType.Follower;
  }

  private becomeCandidate(): void {
    assert(this.state !== StateType.Leader, 'invalid transition [leader -> candidate]');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.state = StateType.Candidate;
  }

  private becomePreCandidate(): void {
    assert(this.state !== StateType.Leader, 'invalid transition [leader -> pre-candidate]');
    // Pre-candidacy changes neither term nor vote.
    this.trk.resetVotes();
    this.lead = NONE;
    this.state = StateType.PreCandidate;
  }

  becomeLeader(): void {
    assert(this.state !== StateType.Follower, 'invalid transition [follower -> leader]');
    assert(this.trk.progress.has(this.id), 'becoming leader without being in the config');
    this.reset(this.term);
    this.lead = this.id;
    this.state = StateType.Leader;
    const pr = this.trk.progress.get(this.id)!;
    pr.becomeReplicate();
    pr.recentActive = true;
    // Conservatively treat any unapplied entry as a possible conf change.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // The empty entry of the new term: committing it commits everything before it.
    const ok = this.appendEntry([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }]);
    assert(ok, 'empty entry was dropped');
    this.uncommittedSize = 0;
  }

  private hup(t: CampaignType): void {
    if (this.state === StateType.Leader) return;
    if (!this.promotable()) return;
    // Do not campaign with unapplied conf changes: the config we would lead is unknown.
    if (this.raftLog.applied < this.raftLog.committed) {
      const ents = this.raftLog.slice(Math.max(this.raftLog.applied + 1, this.raftLog.firstIndex()), this.raftLog.committed + 1, Number.MAX_SAFE_INTEGER);
      for (const e of ents) if (e.type === EntryType.ConfChange || e.type === EntryType.ConfChangeV2) return;
    }
    this.campaign(t);
  }

  campaign(t: CampaignType): void {
    if (!this.promotable()) return;
    let voteMsg: MessageType;
    let term: Term;
    if (t === CampaignType.PreElection) {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    const { result } = this.poll(this.id, true);
    if (result === VoteResult.Won) {
      if (t === CampaignType.PreElection) this.campaign(CampaignType.Election);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (const id of this.trk.voterNodes()) {
      if (id === this.id) continue;
      this.send(newMessage({ type: voteMsg, to: id, term, index: lastIndex, logTerm: lastTerm, context: t === CampaignType.Transfer ? CAMPAIGN_TRANSFER : null }));
    }
  }

  private poll(id: NodeId, granted: boolean): { granted: number; rejected: number; result: VoteResult } {
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  /** Can this node campaign? Learners and removed nodes cannot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.unstable.snapshot;
  }

  private pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rng.int(this.electionTimeout);
  }

  /** @internal */
  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- step ----------------------------------------------------------------

  /** Processes one message. Returns false if a proposal (or read) was dropped. */
  step(m: Message): boolean {
    // Term handling first (etcd: Step).
    if (m.term === 0) {
      // local message
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = m.context !== null && m.context.length === CAMPAIGN_TRANSFER.length && m.context[0] === CAMPAIGN_TRANSFER[0] && m.context[1] === CAMPAIGN_TRANSFER[1];
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        // Within the lease of a live leader, ignore disruptive (pre-)votes.
        if (!force && inLease) return true;
      }
      if (m.type === MessageType.MsgPreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // Granted pre-votes carry the future term; the term moves when we campaign.
      } else if (m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)) {
        // Tell a stale leader (cut off, e.g. by a partition) about our term so it steps down.
        this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from }));
      } else if (m.type === MessageType.MsgPreVote) {
        this.send(newMessage({ type: MessageType.MsgPreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return true;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? CampaignType.PreElection : CampaignType.Election);
        return true;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote: {
        const canVote =
          this.vote === m.from ||
          (this.vote === NONE && this.lead === NONE) ||
          (m.type === MessageType.MsgPreVote && m.term > this.term);
        const respType = m.type === MessageType.MsgVote ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp;
        if (canVote && (this.mut.voteWithoutLogCheck === true || this.raftLog.isUpToDate(m.index, m.logTerm))) {
          // The response carries the candidate's term so it is not ignored as stale.
          this.send(newMessage({ type: respType, to: m.from, term: m.term }));
          if (m.type === MessageType.MsgVote) {
            this.electionElapsed = 0;
            if (!this.mut.voteNotRecorded) this.vote = m.from;
          }
        } else {
          // The rejection carries our commit index and its term: a candidate whose log
          // matches there may adopt it (log matching makes that prefix committed for it
          // too). This lets members learn that a config change committed when the only
          // node that knew was a removed leader, whose longer log makes it refuse votes
          // while a joint config still counts it (found by sim seed 314664).
          const ci = this.raftLog.committed;
          this.send(newMessage({ type: respType, to: m.from, term: this.term, reject: true, index: ci, logTerm: this.raftLog.termOrNull(ci) ?? 0 }));
        }
        return true;
      }
      default:
        switch (this.state) {
          case StateType.Leader:
            return stepLeader(this, m);
          case StateType.Candidate:
          case StateType.PreCandidate:
            return this.stepCandidate(m);
          case StateType.Follower:
            return this.stepFollower(m);
        }
    }
  }

  private stepCandidate(m: Message): boolean {
    const myVoteRespType = this.state === StateType.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        return false;
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return true;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return true;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return true;
      case MessageType.MsgTimeoutNow:
        return true;
      default:
        if (m.type === myVoteRespType) {
          if (m.reject && this.maybeAdoptCommit(m)) {
            // Newly committed entries may change the config: apply them before
            // campaigning again (hup refuses while conf changes are unapplied).
            this.becomeFollower(this.term, NONE);
            return true;
          }
          const { result } = this.poll(m.from, !m.reject);
          if (result === VoteResult.Won) {
            if (this.state === StateType.PreCandidate) {
              this.campaign(CampaignType.Election);
            } else {
              this.becomeLeader();
              this.bcastAppend();
            }
          } else if (result === VoteResult.Lost) {
            // MsgPreVoteResp carries a future term on grant only; on loss stay in our term.
            this.becomeFollower(this.term, NONE);
          }
        }
        return true;
    }
  }

  /** Adopts a peer's commit index if our log holds the same entry there (see above). */
  private maybeAdoptCommit(m: Message): boolean {
    if (m.index > this.raftLog.committed && m.logTerm > 0 && this.raftLog.matchTerm(m.index, m.logTerm)) {
      this.raftLog.commitTo(m.index);
      return true;
    }
    return false;
  }

  private stepFollower(m: Message): boolean {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === NONE || this.disableProposalForwarding) return false;
        m.to = this.lead;
        this.send(m);
        return true;
      case MessageType.MsgApp:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return true;
      case MessageType.MsgHeartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return true;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return true;
      case MessageType.MsgTransferLeader:
        if (this.lead === NONE) return false;
        m.to = this.lead;
        this.send(m);
        return true;
      case MessageType.MsgTimeoutNow:
        // Campaign at once, skipping pre-vote: the leader asked us to take over.
        this.hup(CampaignType.Transfer);
        return true;
      case MessageType.MsgReadIndex:
        if (this.lead === NONE) return false;
        m.to = this.lead;
        this.send(m);
        return true;
      case MessageType.MsgReadIndexResp:
        if (m.entries.length !== 1) return true;
        this.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
        return true;
      default:
        return true;
    }
  }

  // ---- follower handlers ---------------------------------------------------

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed }));
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: lastNew }));
      return;
    }
    // Reject with a hint: the largest index <= m.index whose term is <= m.logTerm, so the
    // leader can skip a whole term of mismatching entries per round trip.
    const hintIndex = Math.min(m.index, this.raftLog.lastIndex());
    const [idx, term] = this.raftLog.findConflictByTerm(hintIndex, m.logTerm);
    this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: m.index, reject: true, rejectHint: idx, logTerm: term }));
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(newMessage({ type: MessageType.MsgHeartbeatResp, to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot!;
    if (this.restore(s)) {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.lastIndex() }));
    } else {
      this.send(newMessage({ type: MessageType.MsgAppResp, to: m.from, index: this.raftLog.committed }));
    }
  }

  /** Installs a snapshot; false if it is stale or we already have its entries. */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.state !== StateType.Follower) {
      // Defensive: only a follower installs snapshots.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    const inConf = [...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(this.id);
    if (!inConf) return false;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We have the entries: just fast-forward the commit index.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.switchToConfig(restoreConfState(cs, this.raftLog.lastIndex(), this.trk.maxInflight, this.trk.maxInflightBytes));
    return true;
  }

  // ---- membership ----------------------------------------------------------

  /** Applies a committed conf change; returns the resulting ConfState. */
  applyConfChange(cc: ConfChangeV2): ConfState {
    const changer = new Changer(this.trk.config, this.trk.progress, this.raftLog.lastIndex(), this.trk.maxInflight, this.trk.maxInflightBytes);
    let res: ChangerResult;
    if (isLeaveJoint(cc)) {
      res = changer.leaveJoint();
    } else {
      const { autoLeave, joint } = enterJoint(cc);
      res = joint ? changer.enterJoint(autoLeave, cc.changes) : changer.simple(cc.changes);
    }
    return this.switchToConfig(res);
  }

  switchToConfig(res: ChangerResult): ConfState {
    this.trk.config = res.config;
    this.trk.progress = res.progress;
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if (this.state !== StateType.Leader || cs.voters.length === 0) return cs;
    if ((pr === undefined || this.isLearner) && this.stepDownOnRemoval) {
      // Removed or demoted: hand leadership to the most caught-up voter rather than
      // stepping down at once. Stepping down at once can strand the others: they may
      // not know the change committed and still need our vote in a joint config, while
      // our log (longer than theirs) makes us refuse it.
      handOffLeadership(this);
    }
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      this.trk.visit((id) => {
        if (id !== this.id) this.maybeSendAppend(id, false);
      });
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  /** Called by RawNode.advance once entries up to `applied` are applied. */
  appliedTo(applied: Index): void {
    const old = this.raftLog.applied;
    this.raftLog.appliedTo(applied);
    if (this.trk.config.autoLeave && applied >= this.pendingConfIndex && old < applied && this.state === StateType.Leader) {
      // Leave the joint config automatically once entering it is applied.
      const ent: Entry = { term: 0, index: 0, type: EntryType.ConfChangeV2, data: new Uint8Array(0) };
      if (this.appendEntry([ent])) {
        this.pendingConfIndex = this.raftLog.lastIndex();
        this.bcastAppend();
      }
    }
  }

  /** Encodes a conf change as a proposal entry. */
  static confChangeEntry(cc: ConfChangeV2): Entry {
    return { term: 0, index: 0, type: EntryType.ConfChangeV2, data: encodeConfChangeV2(cc) };
  }

  static isLocal(m: Message): boolean {
    return isLocalMsg(m.type);
  }

  static isResponse(m: Message): boolean {
    return isResponseMsg(m.type);
  }
}
