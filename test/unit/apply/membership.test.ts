/**
 * The membership state machine (src/apply/membership.ts): each change's verdict as the table in
 * its file comment says, the quorum rules checked in log order, and the encodings round-trip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_MEMBERSHIP, applyMemberChange, confStateOf, decodeMemberChange, decodeMembership, decodeMembershipOutcome,
  encodeMemberChange, encodeMembership, encodeMembershipOutcome,
  type MemberChange, type MembershipState, type MemberRecord,
} from '../../../src/apply/membership.js';

const member = (id: bigint, name: string, port: number, isLearner = false): MemberRecord => ({
  id, name, peerUrls: [`http://127.0.0.1:${port}`], clientUrls: name === '' ? [] : [`http://127.0.0.1:${port + 1}`], isLearner,
});

function run(s: MembershipState, ...changes: MemberChange[]): { state: MembershipState; errors: (string | undefined)[] } {
  const errors: (string | undefined)[] = [];
  for (const c of changes) {
    const v = applyMemberChange(s, c);
    errors.push(v.error);
    s = v.state;
  }
  return { state: s, errors };
}

/** Three started voters, as a new cluster's bootstrap entries leave them. */
function three(): MembershipState {
  const r = run(EMPTY_MEMBERSHIP, { op: 'add', member: member(3n, 'c', 3000) }, { op: 'add', member: member(1n, 'a', 1000) }, { op: 'add', member: member(2n, 'b', 2000) });
  assert.deepEqual(r.errors, [undefined, undefined, undefined], 'bootstrap members (named) are added one by one');
  return r.state;
}

test('bootstrap: named initial members are voters, sorted by ID', () => {
  const s = three();
  assert.deepEqual(s.members.map((m) => m.id), [1n, 2n, 3n]);
  assert.deepEqual(confStateOf(s), { voters: [1n, 2n, 3n], learners: [] });
});

test('add: duplicate ID, taken peer URL, second learner, removed ID are refused and change nothing', () => {
  const s = three();
  const cases: [MemberChange, string][] = [
    [{ op: 'add', member: member(1n, '', 9000) }, 'ETCD_ERR_MEMBER_EXIST'],
    [{ op: 'add', member: member(9n, '', 2000) }, 'ETCD_ERR_MEMBER_PEER_URL_EXIST'],
  ];
  for (const [c, code] of cases) {
    const v = applyMemberChange(s, c);
    assert.equal(v.error, code);
    assert.equal(v.state, s);
    assert.equal(v.raft, 'none');
  }
  const withLearner = applyMemberChange(s, { op: 'add', member: member(7n, '', 7000, true) });
  assert.equal(withLearner.raft, 'add-learner');
  assert.equal(applyMemberChange(withLearner.state, { op: 'add', member: member(8n, '', 8000, true) }).error, 'ETCD_ERR_MEMBER_TOO_MANY_LEARNERS');
  const removed = applyMemberChange(s, { op: 'remove', id: 2n }).state;
  assert.equal(applyMemberChange(removed, { op: 'add', member: member(2n, '', 2500) }).error, 'ETCD_ERR_MEMBER_NOT_FOUND', 'a removed ID never comes back');
});

test('quorum rules in log order: two unstarted voters may join three started ones, a third may not', () => {
  const r = run(three(), { op: 'add', member: member(10n, '', 10000) }, { op: 'add', member: member(11n, '', 11000) }, { op: 'add', member: member(12n, '', 12000) });
  assert.deepEqual(r.errors, [undefined, undefined, 'ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED']);
  assert.equal(confStateOf(r.state).voters.length, 5);
  // Removing a started voter would leave 2 started of 4: refused; an unstarted one may go.
  assert.equal(applyMemberChange(r.state, { op: 'remove', id: 1n }).error, 'ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED');
  assert.equal(applyMemberChange(r.state, { op: 'remove', id: 10n }).error, undefined);
  // Proposed with --strict-reconfig-check=false: the rules are not applied (the flag travels in the entry).
  assert.equal(applyMemberChange(r.state, { op: 'add', member: member(12n, '', 12000), lax: true }).error, undefined);
  assert.equal(applyMemberChange(r.state, { op: 'remove', id: 1n, lax: true }).error, undefined);
  const lax: MemberChange = { op: 'remove', id: 1n, lax: true };
  assert.deepEqual(decodeMemberChange(encodeMemberChange({ requestId: 1n, change: lax })).change, lax);
});

test('promote, update, attrs, remove', () => {
  let s = applyMemberChange(three(), { op: 'add', member: member(7n, '', 7000, true) }).state;
  assert.equal(applyMemberChange(s, { op: 'promote', id: 1n }).error, 'ETCD_ERR_MEMBER_NOT_LEARNER');
  assert.equal(applyMemberChange(s, { op: 'promote', id: 99n }).error, 'ETCD_ERR_MEMBER_NOT_FOUND');
  const p = applyMemberChange(s, { op: 'promote', id: 7n });
  assert.equal(p.raft, 'add-voter');
  s = p.state;
  assert.deepEqual(confStateOf(s).learners, []);
  assert.equal(applyMemberChange(s, { op: 'update', id: 7n, peerUrls: ['http://127.0.0.1:1000'] }).error, 'ETCD_ERR_MEMBER_PEER_URL_EXIST');
  s = applyMemberChange(s, { op: 'update', id: 7n, peerUrls: ['http://localhost:7000'] }).state;
  assert.deepEqual(s.members.find((m) => m.id === 7n)!.peerUrls, ['http://localhost:7000']);
  s = applyMemberChange(s, { op: 'attrs', id: 7n, name: 'g', clientUrls: ['http://127.0.0.1:7001'] }).state;
  assert.equal(s.members.find((m) => m.id === 7n)!.name, 'g');
  const gone = applyMemberChange(s, { op: 'remove', id: 7n });
  assert.equal(gone.raft, 'remove');
  assert.equal(applyMemberChange(gone.state, { op: 'remove', id: 7n }).error, 'ETCD_ERR_MEMBER_NOT_FOUND');
  assert.equal(applyMemberChange(gone.state, { op: 'attrs', id: 7n, name: 'late', clientUrls: [] }).state, gone.state, 'attributes of a removed member are ignored');
});

test('encodings round-trip, 64-bit IDs included; garbage is refused', () => {
  const big = 0xfedcba9876543210n;
  const s = applyMemberChange(three(), { op: 'add', member: member(big, '', 5000, true) }).state;
  assert.deepEqual(decodeMembership(encodeMembership(s)), s);
  const changes: MemberChange[] = [
    { op: 'add', member: member(big, 'x', 1) },
    { op: 'remove', id: big },
    { op: 'update', id: big, peerUrls: ['http://a:1', 'http://b:2'] },
    { op: 'promote', id: big },
    { op: 'attrs', id: big, name: 'n', clientUrls: ['http://c:3'] },
  ];
  for (const change of changes) {
    assert.deepEqual(decodeMemberChange(encodeMemberChange({ requestId: 0xffffffffffffffffn, change })), { requestId: 0xffffffffffffffffn, change });
  }
  const out = decodeMembershipOutcome(encodeMembershipOutcome({ state: s, change: changes[0]!, raft: 'add-voter' }));
  assert.deepEqual(out, { state: s, change: changes[0]!, raft: 'add-voter' });
  for (const bad of ['', '{}', '{"req":"1","op":"nope"}', '{"req":"zz","op":"remove","id":"1"}', '{"req":"1","op":"remove","id":"12345678901234567"}']) {
    assert.throws(() => decodeMemberChange(new TextEncoder().encode(bad)), Error, bad);
  }
});
