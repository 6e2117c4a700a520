/**
 * RawNode: the application-facing wrapper (etcd: rawnode.go).
 *
 * Usage loop (synchronous storage writes):
 *   for each input: tick() / step(m) / propose(data) / ...
 *   if (hasReady()) {
 *     const rd = ready();
 *     persist rd.snapshot, rd.entries, rd.hardState   (fsync if rd.mustSync)
 *     send rd.messages                                 (only now: they depend on the above)
 *     apply rd.committedEntries (applyConfChange for conf entries), serve rd.readStates
 *     advance();
 *   }
 * Nothing may be stepped into the node between ready() and advance().
 */
import { decodeConfChangeV2, encodeConfChangeV2 } from './codec.js';
import {
  MessageType,
  RaftError,
  StateType,
  isLocalMsg,
  isResponseMsg,
  newMessage,
  type ConfChangeV2,
  type ConfState,
  type Message,
  type Ready,
  type SoftState,
} from './messages.js';
import { Raft, CampaignType, type Config } from './raft.js';
import { EntryType, type Entry, type HardState, type Index, type NodeId, type Term } from '../raftpb/types.js';

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: Index;
  /** Only set on the leader. */
  progress: Map<NodeId, { match: Index; next: Index; state: string; isLearner: boolean }> | null;
  leadTransferee: NodeId;
}

export class RawNode {
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** What the Ready currently being handled promised (cleared on advance). */
  private pending: { lastEntry: Entry | null; snapIndex: Index; applying: Index } | null = null;

  constructor(config: Config) {
    this.raft = new Raft(config);
    this.prevSoftState = this.softState();
    this.prevHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  /** Starts an election now (skipping the timeout). */
  campaign(): void {
    this.raft.step(newMessage({ type: MessageType.MsgHup }));
  }

  /** Proposes data; false if the proposal was dropped (no leader, transfer, size limit). */
  propose(data: Uint8Array): boolean {
    return this.raft.step(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries: [{ term: 0, index: 0, type: EntryType.Normal, data }] }));
  }

  /**
   * Proposes several entries in one message: they are appended together and go out in
   * the same MsgApp (batching of proposals). All or nothing: false if dropped.
   */
  proposeBatch(datas: readonly Uint8Array[]): boolean {
    if (datas.length === 0) return true;
    const entries: Entry[] = datas.map((data) => ({ term: 0, index: 0, type: EntryType.Normal, data }));
    return this.raft.step(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries }));
  }

  /** Proposes a membership change (etcd ConfChangeV2 semantics). */
  proposeConfChange(cc: ConfChangeV2): boolean {
    const e: Entry = { term: 0, index: 0, type: EntryType.ConfChangeV2, data: encodeConfChangeV2(cc) };
    return this.raft.step(newMessage({ type: MessageType.MsgProp, from: this.raft.id, entries: [e] }));
  }

  /** Applies a committed conf change entry's change; returns the new ConfState. */
  applyConfChange(cc: ConfChangeV2): ConfState {
    return this.raft.applyConfChange(cc);
  }

  static decodeConfChange(e: Entry): ConfChangeV2 {
    return decodeConfChangeV2(e.data);
  }

  /** Steps a message from the network. Local message types are refused. */
  step(m: Message): boolean {
    if (isLocalMsg(m.type)) throw new RaftError('ETCD_ERR_RAFT_STEP_LOCAL_MSG', 'raft: cannot step raft local message');
    if (!this.raft.trk.progress.has(m.from) && isResponseMsg(m.type)) {
      // Responses from unknown peers are ignored (etcd: ErrStepPeerNotFound).
      return true;
    }
    return this.raft.step(m);
  }

  /** Requests a linearizable read; the answer arrives as a ReadState with ctx. */
  readIndex(ctx: Uint8Array): boolean {
    return this.raft.step(newMessage({ type: MessageType.MsgReadIndex, entries: [{ term: 0, index: 0, type: EntryType.Normal, data: ctx }] }));
  }

  transferLeadership(transferee: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.MsgTransferLeader, from: transferee }));
  }

  /**
   * Config.asyncLeaderAppend: entries through `index`, appended by this node while it led term
   * `term` (the Ready's), are durable. May commit (a later Ready). Ignored when the term changed
   * or this node no longer leads; returns whether it was taken. Not between ready() and advance().
   */
  leaderAppended(index: Index, term: Term): boolean {
    if (this.pending) throw new RaftError('ETCD_ERR_RAFT_READY_NOT_ADVANCED', 'raft: leaderAppended() called before advance()');
    return this.raft.leaderAppended(index, term);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage({ type: MessageType.MsgUnreachable, from: id }));
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step(newMessage({ type: MessageType.MsgSnapStatus, from: id, reject: !ok }));
  }

  private softState(): SoftState {
    return { lead: this.raft.lead, raftState: this.raft.state };
  }

  hasReady(): boolean {
    const r = this.raft;
    const ss = this.softState();
    if (ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState) return true;
    const hs = r.hardState();
    if (!hardStateEqual(hs, this.prevHardState)) return true;
    if (r.raftLog.unstable.snapshot) return true;
    if (r.msgs.length > 0 || r.raftLog.unstableEntries().length > 0 || r.raftLog.hasNextCommittedEnts()) return true;
    return r.readStates.length > 0;
  }

  ready(): Ready {
    if (this.pending) throw new RaftError('ETCD_ERR_RAFT_READY_NOT_ADVANCED', 'raft: ready() called before advance()');
    const r = this.raft;
    const ss = this.softState();
    const softChanged = ss.lead !== this.prevSoftState.lead || ss.raftState !== this.prevSoftState.raftState;
    const hs = r.hardState();
    const hsChanged = !hardStateEqual(hs, this.prevHardState);
    const prevHs = this.prevHardState;
    // Mutation 7 (tests only): a change of the vote alone never reaches storage.
    const hsDropped = r.mut.voteOnlyHardStateDropped === true && hsChanged && hs.term === prevHs.term && hs.commit === prevHs.commit;
    const entries = r.raftLog.unstableEntries().slice();
    const snapshot = r.raftLog.unstable.snapshot;
    const committedEntries = r.raftLog.nextCommittedEnts();
    const rd: Ready = {
      softState: softChanged ? ss : null,
      hardState: hsChanged && !hsDropped ? hs : null,
      readStates: r.readStates,
      entries,
      snapshot,
      committedEntries,
      messages: r.msgs,
      mustSync: entries.length > 0 || (hsChanged && (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote)),
    };
    // Accept the Ready: it is now the application's to handle.
    if (softChanged) this.prevSoftState = ss;
    if (hsChanged) this.prevHardState = hs;
    r.readStates = [];
    r.msgs = [];
    let applying = r.raftLog.applying;
    if (snapshot) applying = Math.max(applying, snapshot.metadata.index);
    if (committedEntries.length > 0) {
      applying = Math.max(applying, committedEntries[committedEntries.length - 1]!.index);
      r.reduceUncommittedSize(committedEntries);
    }
    if (applying > r.raftLog.applying) r.raftLog.acceptApplying(applying);
    this.pending = { lastEntry: entries.length > 0 ? entries[entries.length - 1]! : null, snapIndex: snapshot ? snapshot.metadata.index : 0, applying };
    return rd;
  }

  /** The last Ready is persisted, sent and applied. */
  advance(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    const r = this.raft;
    if (p.snapIndex > 0) r.raftLog.stableSnapTo(p.snapIndex);
    if (p.lastEntry) r.raftLog.stableTo(p.lastEntry.index, p.lastEntry.term);
    if (p.applying > r.raftLog.applied) r.appliedTo(p.applying);
  }

  status(): Status {
    const r = this.raft;
    let progress: Status['progress'] = null;
    if (r.state === StateType.Leader) {
      progress = new Map();
      r.trk.visit((id, pr) => progress!.set(id, { match: pr.match, next: pr.next, state: String(pr.state), isLearner: pr.isLearner }));
    }
    return { id: r.id, hardState: r.hardState(), softState: this.softState(), applied: r.raftLog.applied, progress, leadTransferee: r.leadTransferee };
  }

  /** Campaign type helper for tests. */
  static readonly CampaignType = CampaignType;
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
