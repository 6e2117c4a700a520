/**
 * --initial-election-tick-advance (src/server/node/tick-advance.ts) on a fake node and
 * transport, with a fake sleep (no time passes): when it advances, how far, and when not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialTickAdvance, TICK_ADVANCE_POLL_MS, TICK_ADVANCE_WAIT_MS, type TickAdvanceTarget } from '../../../../src/server/node/tick-advance.js';

interface Fake extends TickAdvanceTarget {
  advanced: number[];
  logs: string[];
  probes: number;
  polls: number;
}

/** `peersAt(poll)`: active peers seen at the n-th poll (0-based). */
function fake(voterCount: number, peersAt: (poll: number) => number, stopAt = Infinity): Fake {
  const f: Fake = {
    electionTicks: 10,
    voterCount,
    advanced: [],
    logs: [],
    probes: 0,
    polls: 0,
    activePeers: () => peersAt(f.polls++),
    probePeers: () => void f.probes++,
    advanceTicks: (n) => void f.advanced.push(n),
    stopped: () => f.polls >= stopAt,
    info: (msg) => void f.logs.push(msg),
  };
  return f;
}
const noSleep = async (): Promise<void> => undefined;

test('three voters: advance electionTicks - 2 once more than one peer answers (probing until then)', async () => {
  const f = fake(3, (poll) => (poll < 3 ? 0 : poll < 6 ? 1 : 2));
  assert.equal(await initialTickAdvance(true, f, noSleep), 8);
  assert.deepEqual(f.advanced, [8]);
  assert.equal(f.polls, 7, 'stopped looking at the first poll with 2 active peers');
  assert.equal(f.probes, 7, 'probed before every poll, so an idle cluster still shows who answers');
  assert.deepEqual(f.logs, ['starting initial election tick advance', 'initialized peer connections; fast-forwarding election ticks']);
});

test('one active peer is not enough (etcd: peerN > 1), so a two-member cluster never advances', async () => {
  const f = fake(2, () => 1);
  assert.equal(await initialTickAdvance(true, f, noSleep), 0);
  assert.deepEqual(f.advanced, []);
  assert.equal(f.polls, TICK_ADVANCE_WAIT_MS / TICK_ADVANCE_POLL_MS, 'gave up after the wait (5 s of 50 ms polls)');
});

test('peers that never answer: no advance after the wait', async () => {
  const f = fake(5, () => 0);
  assert.equal(await initialTickAdvance(true, f, noSleep), 0);
  assert.deepEqual(f.advanced, []);
  assert.deepEqual(f.logs, ['starting initial election tick advance']);
});

test('flag false: skipped and logged, nothing probed or advanced', async () => {
  const f = fake(3, () => 2);
  assert.equal(await initialTickAdvance(false, f, noSleep), 0);
  assert.deepEqual(f.advanced, []);
  assert.equal(f.probes, 0);
  assert.deepEqual(f.logs, ['skipping initial election tick advance']);
});

test('a single voter advances electionTicks - 1 whatever the flag', async () => {
  for (const enabled of [true, false]) {
    const f = fake(1, () => 0);
    assert.equal(await initialTickAdvance(enabled, f, noSleep), 9);
    assert.deepEqual(f.advanced, [9]);
    assert.deepEqual(f.logs, ['started as single-node; fast-forwarding election ticks']);
  }
});

test('a member that stops during the wait does not advance', async () => {
  const f = fake(3, () => 2, 0);
  assert.equal(await initialTickAdvance(true, f, noSleep), 0);
  assert.deepEqual(f.advanced, []);
});

test('the real sleep: concurrent advances on several members each advance once', async () => {
  const fs = [fake(3, (p) => (p < 1 ? 0 : 2)), fake(3, (p) => (p < 2 ? 1 : 2)), fake(3, () => 2)];
  const r = await Promise.all(fs.map((f) => initialTickAdvance(true, f)));
  assert.deepEqual(r, [8, 8, 8]);
  for (const f of fs) assert.deepEqual(f.advanced, [8]);
});
