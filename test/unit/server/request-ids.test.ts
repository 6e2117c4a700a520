// Request IDs with etcd's layout: 16 member bits | 40 ms bits | 8 counter bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestIdGenerator, leaseIdFrom } from '../../../src/server/request-ids.js';

const NOW_MS = 1_764_750_000_123;

test('bits layout: low 16 bits of the member ID on top, then the start time in ms, then a counter', () => {
  const g = new RequestIdGenerator(0x8e9e05c52164694dn, NOW_MS);
  const id = g.next();
  assert.equal(id >> 48n, 0x694dn, 'the low 16 bits of the member ID');
  assert.equal((id >> 8n) & ((1n << 40n) - 1n), BigInt(NOW_MS) & ((1n << 40n) - 1n), 'the clock at start, ms, low 40 bits');
  assert.equal(id & 0xffn, 1n, 'the counter starts after the time');
  assert.ok(id > 2n ** 53n, 'a full 64-bit value');
});

test('monotonic and unique within a member, carrying from the counter into the time bits', () => {
  const g = new RequestIdGenerator(7n, NOW_MS);
  let last = g.next();
  for (let i = 0; i < 5000; i++) {
    const id = g.next();
    assert.ok(id > last, `${id} after ${last}`);
    last = id;
  }
});

test('two members with the same clock never collide', () => {
  const a = new RequestIdGenerator(0x8e9e05c52164694dn, NOW_MS);
  const b = new RequestIdGenerator(0x1234_5678_9abc_def0n, NOW_MS);
  const seen = new Set<bigint>();
  for (let i = 0; i < 10_000; i++) {
    for (const id of [a.next(), b.next()]) {
      assert.ok(!seen.has(id), `duplicate ${id.toString(16)}`);
      seen.add(id);
    }
  }
});

test('the 48-bit suffix wraps as etcd\'s lowbit does, keeping the member bits', () => {
  const g = new RequestIdGenerator(0xabcdn, 2 ** 40 - 1); // time bits all ones
  for (let i = 0; i < 255; i++) g.next();
  const wrapped = g.next();
  assert.equal(wrapped, 0xabcdn << 48n, 'suffix back to 0, prefix unchanged');
});

test('server-chosen lease IDs: the request ID with the sign bit cleared', () => {
  const g = new RequestIdGenerator(0x8e9e05c52164694dn, NOW_MS);
  const id = g.next();
  const lease = leaseIdFrom(id);
  assert.ok(lease > 0n && lease < 1n << 63n);
  assert.equal(lease, id & ((1n << 63n) - 1n));
});
