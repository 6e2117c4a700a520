// Config.asyncLeaderAppend (etcd's AsyncStorageWrites, leader side; Raft thesis §10.2.1): the
// leader's MsgApps may leave before its own append is durable, so the leader counts itself
// toward the commit quorum only once RawNode.leaderAppended(index, term) says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, StateType, newMessage } from '../../src/raft/messages.js';
import { RaftError } from '../../src/raft/messages.js';
import { TestCluster, enc } from './helpers.js';

const ids = [1n, 2n, 3n];

/** A 3-member cluster in async mode with node 1 leading and everything before committed. */
function ledBy1(): TestCluster {
  const c = new TestCluster(ids, { asyncLeaderAppend: true });
  c.campaign(1n);
  return c;
}

test('async leader append: a new leader commits its empty entry on its followers acks alone (a quorum without itself)', () => {
  const c = ledBy1();
  const r = c.node(1n).raw.raft;
  assert.equal(r.state, StateType.Leader);
  assert.equal(r.raftLog.committed, r.raftLog.lastIndex(), 'two followers of three are a quorum');
  assert.ok(r.trk.progress.get(1n)!.match < r.raftLog.lastIndex(), 'the leader has not counted its own empty entry');
});

test('async leader append: with one follower acking, an entry commits only once the leader reports its own append durable', () => {
  const c = ledBy1();
  const raw = c.node(1n).raw;
  const r = raw.raft;
  // Follower 3 never answers.
  c.filter = (m) => m.from === 3n && m.type === MessageType.MsgAppResp;
  const before = r.raftLog.committed;
  raw.propose(enc('x'));
  c.stabilize();
  const idx = r.raftLog.lastIndex();
  assert.equal(r.trk.progress.get(2n)!.match, idx, 'follower 2 acked');
  assert.equal(r.raftLog.committed, before, 'leader not durable + 1 follower of 3: not committed');
  assert.deepEqual(c.dataApplied(2n), [], 'nothing applied anywhere');
  // Its own append becomes durable (the harness persisted it; the application reports it now).
  assert.equal(raw.leaderAppended(idx, r.term), true);
  assert.equal(r.raftLog.committed, idx, 'leader + follower 2: committed');
  c.stabilize();
  assert.deepEqual(c.dataApplied(1n), ['x']);
  assert.deepEqual(c.dataApplied(2n), ['x'], 'the commit index went out to the followers at once');
});

test('async leader append: the leader acks only what it reports; a lower index commits only up to there', () => {
  const c = ledBy1();
  const raw = c.node(1n).raw;
  const r = raw.raft;
  c.filter = (m) => m.from === 3n && m.type === MessageType.MsgAppResp;
  raw.propose(enc('a'));
  c.stabilize();
  const a = r.raftLog.lastIndex();
  raw.propose(enc('b'));
  c.stabilize();
  raw.leaderAppended(a, r.term);
  assert.equal(r.raftLog.committed, a, 'only through the reported index');
  raw.leaderAppended(a - 1, r.term);
  assert.equal(r.raftLog.committed, a, 'an older (reordered) report changes nothing');
  raw.leaderAppended(a + 1, r.term);
  assert.equal(r.raftLog.committed, a + 1);
});

test('async leader append: without its own ack and with no follower acking, a 5-member leader commits nothing; 3 followers are a quorum', () => {
  const c = new TestCluster([1n, 2n, 3n, 4n, 5n], { asyncLeaderAppend: true });
  c.campaign(1n);
  const raw = c.node(1n).raw;
  const r = raw.raft;
  const before = r.raftLog.committed;
  // Only followers 2 and 3 answer: with the leader uncounted, 2 of 5 is not a quorum.
  c.filter = (m) => (m.from === 4n || m.from === 5n) && m.type === MessageType.MsgAppResp;
  raw.propose(enc('y'));
  c.stabilize();
  assert.equal(r.raftLog.committed, before);
  // A third follower answers: 3 of 5 without the leader.
  c.filter = null;
  c.tickAll(1);
  assert.equal(r.raftLog.committed, r.raftLog.lastIndex());
  assert.deepEqual(c.dataApplied(4n), ['y']);
});

test('async leader append: a report from an earlier term, or after losing leadership, is ignored', () => {
  const c = ledBy1();
  const raw = c.node(1n).raw;
  const r = raw.raft;
  const oldTerm = r.term;
  c.filter = (m) => m.type === MessageType.MsgAppResp;
  raw.propose(enc('lost'));
  c.stabilize();
  const idx = r.raftLog.lastIndex();
  const committed = r.raftLog.committed;
  // A higher term deposes the leader before its append is reported.
  raw.step(newMessage({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: oldTerm + 1 }));
  assert.equal(r.state, StateType.Follower);
  assert.equal(raw.leaderAppended(idx, oldTerm), false, 'not leader any more');
  assert.equal(r.raftLog.committed, committed);
  // Leader again in a later term: the old term's report still changes nothing.
  c.filter = null;
  c.tickAll(60);
  const l = [...c.nodes.values()].find((n) => n.raw.raft.state === StateType.Leader)!;
  if (l.id !== 1n) {
    l.raw.transferLeadership(1n);
    c.stabilize();
    c.tickAll(5);
  }
  assert.equal(r.state, StateType.Leader);
  assert.ok(r.term > oldTerm + 1);
  const match = r.trk.progress.get(1n)!.match;
  c.filter = (m) => m.type === MessageType.MsgAppResp;
  raw.propose(enc('z'));
  c.stabilize();
  assert.equal(raw.leaderAppended(r.raftLog.lastIndex(), oldTerm), false, 'a report of another term');
  assert.equal(r.trk.progress.get(1n)!.match, match);
  assert.equal(raw.leaderAppended(r.raftLog.lastIndex(), r.term), true);
  assert.equal(r.trk.progress.get(1n)!.match, r.raftLog.lastIndex());
});

test('async leader append: a single voter commits only on its own report; the report is refused between ready() and advance()', () => {
  const c = new TestCluster([1n], { asyncLeaderAppend: true });
  c.campaign(1n);
  const raw = c.node(1n).raw;
  const r = raw.raft;
  assert.equal(r.state, StateType.Leader);
  assert.ok(r.raftLog.committed < r.raftLog.lastIndex(), 'its empty entry waits for its own ack');
  raw.propose(enc('solo'));
  const rd = raw.ready();
  assert.throws(() => raw.leaderAppended(rd.entries.at(-1)!.index, r.term), RaftError);
  c.node(1n).storage.append(rd.entries);
  raw.advance();
  assert.equal(raw.leaderAppended(rd.entries.at(-1)!.index, r.term), true);
  c.stabilize();
  assert.deepEqual(c.dataApplied(1n), ['solo']);
});

test('synchronous mode (the default) is unchanged: the leader counts its entries when it appends them; leaderAppended is refused', () => {
  const c = new TestCluster(ids);
  c.campaign(1n);
  const raw = c.node(1n).raw;
  c.filter = (m) => m.from === 3n && m.type === MessageType.MsgAppResp;
  raw.propose(enc('s'));
  c.stabilize();
  assert.equal(raw.raft.raftLog.committed, raw.raft.raftLog.lastIndex(), 'leader + one follower');
  assert.throws(() => raw.leaderAppended(raw.raft.raftLog.lastIndex(), raw.raft.term), /without asyncLeaderAppend/);
});
