/**
 * The leader's side of the state machine (etcd: raft.go stepLeader): proposals,
 * acknowledgements and flow control, check-quorum, ReadIndex, leadership transfer.
 * Functions over a Raft instance; split from raft.ts to keep one concept per file.
 */
import { decodeConfChangeV2 } from './codec.js';
import { MessageType, assert, isLeaveJoint, newMessage, type ConfChangeV2, type Message } from './messages.js';
import { ProgressState } from './progress.js';
import { VoteResult } from './quorum.js';
import { ReadOnlyOption, type ReadIndexStatus } from './read-only.js';
import type { Raft } from './raft.js';
import { isJoint } from './tracker.js';
import { EntryType, type Index, type NodeId } from '../raftpb/types.js';

const NONE: NodeId = 0n;

export function stepLeader(r: Raft, m: Message): boolean {
  switch (m.type) {
    case MessageType.MsgBeat:
      r.bcastHeartbeat();
      return true;
    case MessageType.MsgCheckQuorum:
      if (!r.trk.quorumActive()) r.becomeFollower(r.term, NONE);
      r.trk.visit((id, pr) => {
        if (id !== r.id) pr.recentActive = false;
      });
      return true;
    case MessageType.MsgProp:
      return stepLeaderProp(r, m);
    case MessageType.MsgReadIndex: {
      if (r.trk.isSingleton()) {
        sendReadIndexResponse(r, m, r.raftLog.committed);
        return true;
      }
      // Reject reads until this leader committed an entry of its term: before that its
      // commit index may lag behind the previous leader's.
      if (!r.mut.readIndexBeforeTermCommit && !committedEntryInCurrentTerm(r)) {
        r.pendingReadIndexMessages.push(m);
        return true;
      }
      sendMsgReadIndex(r, m);
      return true;
    }
    default:
      break;
  }

  const pr = r.trk.progress.get(m.from);
  if (!pr) return true;
  switch (m.type) {
    case MessageType.MsgAppResp: {
      pr.recentActive = true;
      if (m.reject) {
        let nextProbeIdx = m.rejectHint;
        if (m.logTerm > 0) nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
        if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
          if (pr.state === ProgressState.Replicate) pr.becomeProbe();
          r.sendAppend(m.from);
        }
      } else {
        const oldPaused = pr.isPaused();
        if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === ProgressState.Probe)) {
          if (pr.state === ProgressState.Probe) {
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.raftLog.firstIndex()) {
            // The follower caught up through the snapshot (or otherwise): resume appending.
            pr.becomeProbe();
            pr.becomeReplicate();
          } else if (pr.state === ProgressState.Replicate) {
            pr.inflights.freeLE(m.index);
          }
          if (r.maybeCommit()) {
            releasePendingReadIndexMessages(r);
            r.bcastAppend();
          } else if (oldPaused) {
            r.sendAppend(m.from);
          }
          // Pipeline as much as the window allows.
          while (r.maybeSendAppend(m.from, false)) {
            // keep sending
          }
          if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
            sendTimeoutNow(r, m.from);
          }
        }
      }
      return true;
    }
    case MessageType.MsgHeartbeatResp: {
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // A lost MsgApp would otherwise block a full window forever.
      if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < r.raftLog.lastIndex() || pr.state === ProgressState.Probe) r.sendAppend(m.from);
      if (r.readOnly.option !== ReadOnlyOption.Safe || m.context === null || m.context.length === 0) return true;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (!acks) return true;
      acks.set(r.id, true);
      if (jointWon(r, acks) !== VoteResult.Won) return true;
      for (const rs of r.readOnly.advance(m.context)) respondReadIndex(r, rs);
      return true;
    }
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressState.Snapshot) return true;
      if (m.reject) pr.pendingSnapshot = 0;
      pr.becomeProbe();
      // Wait for a MsgAppResp or heartbeat response before probing again.
      pr.msgAppFlowPaused = true;
      return true;
    case MessageType.MsgUnreachable:
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return true;
    case MessageType.MsgTransferLeader: {
      if (pr.isLearner) return true;
      const transferee = m.from;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === transferee) return true;
        r.abortLeaderTransfer();
      }
      if (transferee === r.id) return true;
      r.electionElapsed = 0;
      r.leadTransferee = transferee;
      if (pr.match === r.raftLog.lastIndex()) sendTimeoutNow(r, transferee);
      else r.sendAppend(transferee);
      return true;
    }
    default:
      return true;
  }
}

export function stepLeaderProp(r: Raft, m: Message): boolean {
  assert(m.entries.length > 0, 'stepped empty MsgProp');
  // A leader removed from the config, or handing over leadership, takes no proposals.
  if (!r.trk.progress.has(r.id)) return false;
  if (r.leadTransferee !== NONE) return false;
  const ents = m.entries.slice();
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i]!;
    if (e.type !== EntryType.ConfChange && e.type !== EntryType.ConfChangeV2) continue;
    let cc: ConfChangeV2 | null = null;
    try {
      cc = decodeConfChangeV2(e.data);
    } catch {
      cc = null;
    }
    const alreadyPending = r.pendingConfIndex > r.raftLog.applied;
    const alreadyJoint = isJoint(r.trk.config);
    const wantsLeaveJoint = cc !== null && isLeaveJoint(cc);
    const failed = cc === null || alreadyPending || (alreadyJoint && !wantsLeaveJoint) || (!alreadyJoint && wantsLeaveJoint);
    if (failed) {
      // Keep the slot (the caller may track indexes) but make it a no-op.
      ents[i] = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) };
    } else {
      r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
    }
  }
  if (!r.appendEntry(ents)) return false;
  r.bcastAppend();
  return true;
}

// ---- reads and transfer --------------------------------------------------

export function committedEntryInCurrentTerm(r: Raft): boolean {
  return r.raftLog.termOrNull(r.raftLog.committed) === r.term;
}

export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !committedEntryInCurrentTerm(r)) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendMsgReadIndex(r, m);
}

export function sendMsgReadIndex(r: Raft, m: Message): void {
  switch (r.readOnly.option) {
    case ReadOnlyOption.Safe: {
      if (r.mut.readIndexWithoutHeartbeat) {
        sendReadIndexResponse(r, m, r.raftLog.committed);
        return;
      }
      r.readOnly.addRequest(r.raftLog.committed, m);
      // The leader acknowledges its own heartbeat round.
      r.readOnly.recvAck(r.id, m.entries[0]!.data);
      r.bcastHeartbeatWithCtx(m.entries[0]!.data);
      return;
    }
    case ReadOnlyOption.LeaseBased:
      sendReadIndexResponse(r, m, r.raftLog.committed);
      return;
  }
}

export function respondReadIndex(r: Raft, rs: ReadIndexStatus): void {
  sendReadIndexResponse(r, rs.req, rs.index);
}

export function sendReadIndexResponse(r: Raft, req: Message, index: Index): void {
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, requestCtx: req.entries[0]!.data });
    return;
  }
  r.send(newMessage({ type: MessageType.MsgReadIndexResp, to: req.from, index, entries: req.entries }));
}

/** Starts a transfer to the voter with the highest match (lowest id on ties). */
export function handOffLeadership(r: Raft): void {
  if (r.leadTransferee !== NONE && r.trk.isVoter(r.leadTransferee)) return;
  let best: NodeId = NONE;
  let bestMatch = -1;
  for (const id of r.trk.voterNodes()) {
    if (id === r.id) continue;
    const m = r.trk.progress.get(id)!.match;
    if (m > bestMatch) {
      best = id;
      bestMatch = m;
    }
  }
  if (best === NONE) return;
  r.electionElapsed = 0;
  r.leadTransferee = best;
  if (bestMatch === r.raftLog.lastIndex()) sendTimeoutNow(r, best);
  else r.sendAppend(best);
}

export function sendTimeoutNow(r: Raft, to: NodeId): void {
  r.send(newMessage({ type: MessageType.MsgTimeoutNow, to }));
}

function jointWon(r: Raft, acks: Map<NodeId, boolean>): VoteResult {
  // Reuse the tracker's vote counting over the ack set.
  const saved = r.trk.votes;
  r.trk.votes = acks;
  const { result } = r.trk.tallyVotes();
  r.trk.votes = saved;
  return result;
}
