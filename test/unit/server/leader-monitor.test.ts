// LeaderMonitor (src/server/leader-monitor.ts): hasleader streams end after NO_LEADER_CHECKS
// leaderless checks in a row, each listener once; a leader seen in between starts the count again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaderMonitor, NO_LEADER_CHECKS } from '../../../src/server/leader-monitor.js';

function monitor(hasLeader: () => boolean): LeaderMonitor {
  // A long interval: the test drives check() itself.
  return new LeaderMonitor(hasLeader, 3_600_000);
}

test('listeners are told once, after NO_LEADER_CHECKS leaderless checks in a row', () => {
  let leader = true;
  const m = monitor(() => leader);
  const told: string[] = [];
  m.onLeaderLost(() => told.push('a'));
  m.onLeaderLost(() => told.push('b'));
  m.check();
  leader = false;
  for (let i = 1; i < NO_LEADER_CHECKS; i++) m.check();
  assert.deepEqual(told, [], 'not before the last check');
  m.check();
  assert.deepEqual(told.sort(), ['a', 'b']);
  m.check();
  assert.equal(told.length, 2, 'each listener once');
  assert.equal(m.size, 0);
  m.close();
});

test('a leader seen between checks starts the count again', () => {
  let leader = false;
  const m = monitor(() => leader);
  let told = 0;
  m.onLeaderLost(() => told++);
  for (let i = 1; i < NO_LEADER_CHECKS; i++) m.check();
  leader = true;
  m.check();
  leader = false;
  for (let i = 1; i < NO_LEADER_CHECKS; i++) m.check();
  assert.equal(told, 0);
  m.check();
  assert.equal(told, 1);
  m.close();
});

test('an unsubscribed listener is not told; listeners added while leaderless are told at the next check', () => {
  const m = monitor(() => false);
  let a = 0;
  let b = 0;
  const off = m.onLeaderLost(() => a++);
  off();
  for (let i = 0; i < NO_LEADER_CHECKS; i++) m.check();
  m.onLeaderLost(() => b++);
  m.check();
  assert.equal(a, 0);
  assert.equal(b, 1);
  m.close();
});

test('many concurrent streams: a listener that unsubscribes another during the notification does not break it', () => {
  const m = monitor(() => false);
  const offs: (() => void)[] = [];
  let told = 0;
  for (let i = 0; i < 1000; i++) offs.push(m.onLeaderLost(() => {
    told++;
    offs[(i + 1) % 1000]!(); // a stream closing another (the watch hub closes on end)
  }));
  for (let i = 0; i < NO_LEADER_CHECKS; i++) m.check();
  assert.equal(told, 1000);
  m.close();
});
