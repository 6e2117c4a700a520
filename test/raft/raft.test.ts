// Scenario tests for the raft core, named after what they check (Raft paper sections).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfChangeTransition, ConfChangeType, MessageType, StateType, newMessage } from '../../src/raft/messages.js';
import { ReadOnlyOption } from '../../src/raft/read-only.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { SeededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { EntryType } from '../../src/raftpb/types.js';
import { TestCluster, enc, isType } from './helpers.js';

function leaders(c: TestCluster): bigint[] {
  return [...c.nodes.values()].filter((n) => n.raw.raft.state === StateType.Leader).map((n) => n.id);
}

test('§5.2 election: a leader is elected by ticking, and only one', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.tickAll(40);
  assert.equal(leaders(c).length, 1);
  const l = leaders(c)[0]!;
  for (const n of c.nodes.values()) assert.equal(n.raw.raft.lead, l);
});

test('a new leader appends an empty entry of its term, and it commits', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  const r = c.node(1n).raw.raft;
  assert.equal(r.state, StateType.Leader);
  const last = r.raftLog.lastIndex();
  assert.equal(r.raftLog.termOrNull(last), r.term);
  assert.equal(r.raftLog.committed, last);
});

test('§5.3 replication: proposals commit and apply on every node in order', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  for (let i = 0; i < 10; i++) c.node(1n).raw.propose(enc(`v${i}`));
  c.stabilize();
  c.tickAll(2);
  for (const id of [1n, 2n, 3n]) assert.deepEqual(c.dataApplied(id), Array.from({ length: 10 }, (_, i) => `v${i}`));
});

test('§5.4.2 commit rule: entries of an older term are not committed by counting replicas', () => {
  // Nodes 1 and 2 hold an uncommitted entry of term 1 at index 2.
  const mk = (withEntry: boolean): MemoryStorage => {
    const s = new MemoryStorage({ voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
    if (withEntry) s.append([{ term: 1, index: 1, type: EntryType.Normal, data: enc('old') }]);
    s.setHardState({ term: 1, vote: 0n, commit: 0 });
    return s;
  };
  const rng = new SeededRng(7);
  const stores = [mk(true), mk(true), mk(false)];
  const raws = stores.map((storage, i) => new RawNode({ id: BigInt(i + 1), electionTick: 10, heartbeatTick: 1, storage, maxInflightMsgs: 16, rng: rng.fork() }));
  const r1 = raws[0]!.raft;
  r1.becomeFollower(1, 0n);
  raws[0]!.campaign();
  // Grant pre-votes and votes by hand.
  r1.step(newMessage({ type: MessageType.MsgPreVoteResp, from: 2n, to: 1n, term: 2 }));
  r1.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 2 }));
  assert.equal(r1.state, StateType.Leader);
  assert.equal(r1.term, 2);
  // Node 2 acknowledges index 1 (term 1): a majority holds it, but it is not of term 2.
  r1.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 2, index: 1 }));
  assert.equal(r1.raftLog.committed, 0, 'old-term entry must not be committed by counting');
  // Once the term-2 empty entry (index 2) is acknowledged, both commit.
  r1.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 2, index: 2 }));
  assert.equal(r1.raftLog.committed, 2);
});

test('§5.4.1 election restriction: a node with a shorter log cannot win', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  c.filter = (m) => m.to === 3n; // node 3 misses the next entries
  c.node(1n).raw.propose(enc('x'));
  c.stabilize();
  c.filter = null;
  // Node 3 campaigns without pre-vote leverage: it must lose.
  c.node(3n).raw.raft.becomeFollower(c.node(3n).raw.raft.term, 0n);
  c.node(3n).raw.raft.campaign(1 /* Election */);
  c.stabilize();
  assert.notEqual(c.node(3n).raw.raft.state, StateType.Leader);
});

test('pre-vote: a partitioned node does not inflate its term or disrupt the leader on return', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  const term = c.node(1n).raw.raft.term;
  c.filter = (m) => m.to === 3n || m.from === 3n;
  for (let i = 0; i < 100; i++) {
    c.node(3n).raw.tick();
    c.stabilize();
  }
  assert.equal(c.node(3n).raw.raft.term, term, 'pre-candidate must not bump its term');
  c.filter = null;
  c.tickAll(5);
  assert.equal(c.node(1n).raw.raft.state, StateType.Leader);
  assert.equal(c.node(1n).raw.raft.term, term);
});

test('check-quorum: an isolated leader steps down after an election timeout', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  c.filter = (m) => m.to === 1n || m.from === 1n;
  for (let i = 0; i < 25; i++) {
    c.node(1n).raw.tick();
    c.stabilize();
  }
  assert.equal(c.node(1n).raw.raft.state, StateType.Follower);
});

test('ReadIndex (safe): answered only after a heartbeat round confirms leadership', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  c.filter = isType(MessageType.MsgHeartbeatResp);
  c.node(1n).raw.readIndex(enc('r1'));
  c.stabilize();
  assert.equal(c.node(1n).readStates.length, 0, 'no quorum ack yet');
  c.filter = null;
  c.node(1n).raw.readIndex(enc('r2'));
  c.stabilize();
  assert.deepEqual(c.node(1n).readStates.map((r) => r.ctx), ['r1', 'r2']);
  assert.equal(c.node(1n).readStates[0]!.index, c.node(1n).raw.raft.raftLog.committed);
});

test('ReadIndex from a follower is served through the leader', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  c.node(1n).raw.propose(enc('a'));
  c.stabilize();
  c.node(2n).raw.readIndex(enc('f'));
  c.stabilize();
  assert.equal(c.node(2n).readStates.length, 1);
  assert.equal(c.node(2n).readStates[0]!.index, c.node(1n).raw.raft.raftLog.committed);
});

test('ReadIndex lease-based requires check-quorum', () => {
  assert.throws(() => new TestCluster([1n], { readOnlyOption: ReadOnlyOption.LeaseBased, checkQuorum: false }), /CheckQuorum/);
  const c = new TestCluster([1n, 2n, 3n], { readOnlyOption: ReadOnlyOption.LeaseBased });
  c.campaign(1n);
  c.filter = isType(MessageType.MsgHeartbeatResp);
  c.node(1n).raw.readIndex(enc('lease'));
  c.stabilize();
  assert.equal(c.node(1n).readStates.length, 1);
});

test('proposals are forwarded to the leader, or dropped when forwarding is disabled or there is no leader', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  assert.equal(c.node(2n).raw.propose(enc('no-leader')), false);
  c.campaign(1n);
  assert.equal(c.node(2n).raw.propose(enc('fwd')), true);
  c.stabilize();
  assert.deepEqual(c.dataApplied(1n), ['fwd']);
  const d = new TestCluster([1n, 2n, 3n], { disableProposalForwarding: true });
  d.campaign(1n);
  assert.equal(d.node(2n).raw.propose(enc('x')), false);
});

test('proposals are dropped when the uncommitted tail is too large', () => {
  const c = new TestCluster([1n, 2n, 3n], { maxUncommittedEntriesSize: 100 });
  c.campaign(1n);
  c.filter = (m) => m.from === 1n; // nothing gets acknowledged
  assert.equal(c.node(1n).raw.propose(new Uint8Array(60)), true);
  assert.equal(c.node(1n).raw.propose(new Uint8Array(60)), false);
});

test('learners replicate but cannot campaign; promotion makes them voters', () => {
  const c = new TestCluster([1n, 2n, 3n], {}, [4n]);
  c.campaign(1n);
  c.node(1n).raw.propose(enc('x'));
  c.stabilize();
  assert.deepEqual(c.dataApplied(4n), ['x']);
  const r4 = c.node(4n).raw.raft;
  assert.equal(r4.isLearner, true);
  for (let i = 0; i < 50; i++) c.node(4n).raw.tick();
  assert.equal(r4.state, StateType.Follower);
  c.node(1n).raw.proposeConfChange({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddNode, nodeId: 4n }], context: new Uint8Array(0) });
  c.stabilize();
  assert.equal(r4.isLearner, false);
  assert.deepEqual(c.node(1n).raw.raft.trk.voterNodes(), [1n, 2n, 3n, 4n]);
});

test('only one conf change may be pending', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  c.filter = (m) => m.from === 1n;
  const cc = (id: bigint) => ({ transition: ConfChangeTransition.Auto, changes: [{ type: ConfChangeType.AddLearnerNode, nodeId: id }], context: new Uint8Array(0) });
  c.node(1n).raw.proposeConfChange(cc(4n));
  c.node(1n).raw.proposeConfChange(cc(5n));
  const ents = c.node(1n).raw.raft.raftLog.allEntries();
  assert.equal(ents.filter((e) => e.type === EntryType.ConfChangeV2).length, 1, 'second change becomes a no-op entry');
});

test('joint consensus: enter and auto-leave swaps two voters', () => {
  const c = new TestCluster([1n, 2n, 3n], {}, [4n, 5n]);
  c.campaign(1n);
  c.node(1n).raw.proposeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [
      { type: ConfChangeType.AddNode, nodeId: 4n },
      { type: ConfChangeType.AddNode, nodeId: 5n },
      { type: ConfChangeType.RemoveNode, nodeId: 3n },
    ],
    context: new Uint8Array(0),
  });
  c.stabilize();
  c.tickAll(3);
  const cs = c.node(1n).raw.raft.trk.confState();
  assert.deepEqual(cs.voters, [1n, 2n, 4n, 5n]);
  assert.deepEqual(cs.votersOutgoing, []);
});

test('leadership transfer: timeout-now makes the transferee leader', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  c.node(1n).raw.transferLeadership(3n);
  c.stabilize();
  assert.equal(c.node(3n).raw.raft.state, StateType.Leader);
  assert.equal(c.node(1n).raw.raft.state, StateType.Follower);
});

test('snapshot: a follower behind the first index gets a MsgSnap', () => {
  const c = new TestCluster([1n, 2n, 3n]);
  c.campaign(1n);
  c.filter = (m) => m.to === 3n;
  for (let i = 0; i < 5; i++) c.node(1n).raw.propose(enc(`v${i}`));
  c.stabilize();
  const s1 = c.node(1n).storage;
  const applied = c.node(1n).raw.raft.raftLog.applied;
  s1.createSnapshot(applied, c.node(1n).raw.raft.trk.confState(), enc('state'));
  s1.compact(applied);
  let sawSnap = false;
  c.filter = (m) => {
    if (m.type === MessageType.MsgSnap) sawSnap = true;
    return false;
  };
  c.tickAll(3);
  assert.ok(sawSnap);
  assert.equal(c.node(3n).storage.snapshot().metadata.index, applied);
  c.node(1n).raw.reportSnapshot(3n, true);
  c.node(1n).raw.propose(enc('after'));
  c.stabilize();
  c.tickAll(2);
  assert.deepEqual(c.dataApplied(3n), ['after']);
});

test('step refuses local messages from the network', () => {
  const c = new TestCluster([1n]);
  assert.throws(() => c.node(1n).raw.step(newMessage({ type: MessageType.MsgHup })));
});

test('single-node cluster commits on its own', () => {
  const c = new TestCluster([1n]);
  c.campaign(1n);
  c.node(1n).raw.propose(enc('solo'));
  c.stabilize();
  assert.deepEqual(c.dataApplied(1n), ['solo']);
});

test('learners cannot receive leadership', () => {
  const c = new TestCluster([1n, 2n, 3n], {}, [4n]);
  c.campaign(1n);
  c.node(1n).raw.transferLeadership(4n);
  c.stabilize();
  assert.equal(c.node(1n).raw.raft.state, StateType.Leader);
  assert.equal(c.node(1n).raw.raft.leadTransferee, 0n);
});

test('joint consensus with explicit leave: the config stays joint until the leave is proposed', () => {
  const c = new TestCluster([1n, 2n, 3n], {}, [4n]);
  c.campaign(1n);
  c.node(1n).raw.proposeConfChange({
    transition: ConfChangeTransition.JointExplicit,
    changes: [
      { type: ConfChangeType.AddNode, nodeId: 4n },
      { type: ConfChangeType.RemoveNode, nodeId: 3n },
    ],
    context: new Uint8Array(0),
  });
  c.stabilize();
  c.tickAll(2);
  assert.deepEqual(c.node(1n).raw.raft.trk.confState().votersOutgoing, [1n, 2n, 3n]);
  c.node(1n).raw.proposeConfChange({ transition: ConfChangeTransition.Auto, changes: [], context: new Uint8Array(0) });
  c.stabilize();
  const cs = c.node(1n).raw.raft.trk.confState();
  assert.deepEqual(cs.voters, [1n, 2n, 4n]);
  assert.deepEqual(cs.votersOutgoing, []);
});

test('a leader that demotes itself hands leadership to a caught-up voter (sim seed 100599)', () => {
  const c = new TestCluster([1n, 2n, 3n], {}, [4n]);
  c.campaign(1n);
  c.node(1n).raw.proposeConfChange({
    transition: ConfChangeTransition.Auto,
    changes: [
      { type: ConfChangeType.AddNode, nodeId: 4n },
      { type: ConfChangeType.AddLearnerNode, nodeId: 1n },
    ],
    context: new Uint8Array(0),
  });
  c.stabilize();
  // The transferee refuses to campaign until it applied the change; the leader retries
  // the hand-off after an election timeout.
  c.tickAll(25);
  const l = leaders(c);
  assert.equal(l.length, 1);
  assert.notEqual(l[0], 1n);
  const cs = c.node(l[0]!).raw.raft.trk.confState();
  assert.deepEqual(cs.voters, [2n, 3n, 4n]);
  assert.deepEqual(cs.learners, [1n]);
  assert.equal(c.node(l[0]!).raw.propose(enc('after')), true);
  c.stabilize();
  c.tickAll(2);
  for (const id of [1n, 2n, 3n, 4n]) assert.deepEqual(c.dataApplied(id), ['after']);
});

test('§5.3 a follower commits only up to the last entry the leader vouched for, not its stale tail', () => {
  const s = new MemoryStorage({ voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
  s.append([1, 2, 3, 4, 5].map((index) => ({ index, term: 1, type: EntryType.Normal, data: enc(`old${index}`) })));
  s.setHardState({ term: 1, vote: 0n, commit: 0 });
  const raw = new RawNode({ id: 2n, electionTick: 10, heartbeatTick: 1, storage: s, maxInflightMsgs: 16, rng: new SeededRng(3) });
  // The term-2 leader sends entry 3 only (size-limited), with its commit index 5.
  const e3 = { index: 3, term: 1, type: EntryType.Normal, data: enc('old3') };
  raw.step(newMessage({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 2, index: 2, logTerm: 1, entries: [e3], commit: 5 }));
  assert.equal(raw.raft.raftLog.committed, 3, 'entries 4 and 5 are unverified and must not be committed');
});
