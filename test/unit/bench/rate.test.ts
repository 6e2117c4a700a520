import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateSchedule, splitEven } from '../../../bench/rate.js';

test('unlimited rate never waits', () => {
  const s = new RateSchedule(0, 0);
  for (let i = 0; i < 10; i++) assert.equal(s.nextDelayMs(0), 0);
});

test('100/s on time: request n waits until n * 10 ms', () => {
  const s = new RateSchedule(100, 1000);
  assert.equal(s.nextDelayMs(1000), 0);
  assert.equal(s.nextDelayMs(1000), 10);
  assert.equal(s.nextDelayMs(1000), 20);
});

test('a late client catches up without sleeping, then keeps the schedule', () => {
  const s = new RateSchedule(1000, 0);
  // 5 ms late: slots 0..5 are due, so no wait for six requests
  for (let i = 0; i < 6; i++) assert.equal(s.nextDelayMs(5), 0);
  assert.equal(s.nextDelayMs(5), 1);
});

test('the achieved rate over a simulated run matches the asked one', () => {
  const s = new RateSchedule(250, 0);
  let now = 0;
  let n = 0;
  while (now < 10_000) {
    now += s.nextDelayMs(now) + 0.1; // each request takes 0.1 ms to issue
    n++;
  }
  assert.ok(Math.abs(n / 10 - 250) <= 1, `${n / 10}/s`);
});

test('splitEven spreads a total with shares differing by at most one', () => {
  assert.deepEqual(splitEven(10, 3), [4, 3, 3]);
  assert.deepEqual(splitEven(2, 4), [1, 1, 0, 0]);
  assert.equal(splitEven(1001, 7).reduce((a, b) => a + b, 0), 1001);
});
