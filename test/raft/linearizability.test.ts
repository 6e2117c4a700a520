// Tests for the simulator's linearizability checker on hand-made histories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAS_OK, checkHistory, type KvOp } from '../sim/checkers/linearizability.js';

const put = (client: number, key: string, value: string, call: number, ret: number): KvOp => ({ client, input: { kind: 'put', key, value }, output: null, call, ret });
const cas = (client: number, key: string, expected: string, value: string, output: string | null, call: number, ret: number): KvOp => ({
  client,
  input: { kind: 'cas', key, expected, value },
  output,
  call,
  ret,
});
const get = (client: number, key: string, output: string | null, call: number, ret: number): KvOp => ({ client, input: { kind: 'get', key }, output, call, ret });

test('sequential history is linearizable', () => {
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), get(1, 'a', 'x', 3, 4), put(1, 'a', 'y', 5, 6), get(2, 'a', 'y', 7, 8)]).ok, true);
});

test('read of the initial (absent) value', () => {
  assert.equal(checkHistory([get(1, 'a', null, 1, 2), put(1, 'a', 'x', 3, 4)]).ok, true);
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), get(2, 'a', null, 3, 4)]).ok, false);
});

test('concurrent write may be seen or not by an overlapping read', () => {
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 10), get(2, 'a', null, 2, 3), get(3, 'a', 'x', 4, 5)]).ok, true);
});

test('stale read after a completed write is not linearizable', () => {
  const h = [put(1, 'a', 'x', 1, 2), put(1, 'a', 'y', 3, 4), get(2, 'a', 'x', 5, 6)];
  const r = checkHistory(h);
  assert.equal(r.ok, false);
  assert.equal(r.key, 'a');
});

test('reads going back in time are not linearizable', () => {
  // Both writes overlap both reads, but the reads see y then x, and x was written first.
  const h = [put(1, 'a', 'x', 1, 3), put(2, 'a', 'y', 2, 20), get(3, 'a', 'y', 5, 6), get(3, 'a', 'x', 7, 8)];
  assert.equal(checkHistory(h).ok, false);
  // With the x write overlapping the reads too, y-then-x is fine.
  const h2 = [put(1, 'a', 'x', 1, 30), put(2, 'a', 'y', 2, 20), get(3, 'a', 'y', 5, 6), get(3, 'a', 'x', 7, 8)];
  assert.equal(checkHistory(h2).ok, true);
});

test('an unknown-outcome write may take effect late or never', () => {
  const inf = Infinity;
  assert.equal(checkHistory([put(1, 'a', 'x', 1, inf), get(2, 'a', null, 5, 6), get(2, 'a', 'x', 7, 8)]).ok, true);
  assert.equal(checkHistory([put(1, 'a', 'x', 1, inf), get(2, 'a', null, 5, 6)]).ok, true);
  // But it cannot take effect before it was called.
  assert.equal(checkHistory([get(2, 'a', 'x', 1, 2), put(1, 'a', 'x', 3, inf)]).ok, false);
  // And it cannot take effect twice.
  assert.equal(checkHistory([put(1, 'a', 'x', 1, inf), get(2, 'a', 'x', 5, 6), put(3, 'a', 'y', 7, 8), get(2, 'a', 'x', 9, 10)]).ok, false);
});

test('keys are checked independently', () => {
  const h = [put(1, 'a', 'x', 1, 2), put(1, 'b', 'y', 3, 4), get(2, 'a', 'x', 5, 6), get(2, 'b', 'y', 7, 8), get(2, 'b', null, 9, 10)];
  const r = checkHistory(h);
  assert.equal(r.ok, false);
  assert.equal(r.key, 'b');
});

test('a larger random sequential history is linearizable, a mutated one is not', () => {
  const h: KvOp[] = [];
  let t = 0;
  let cur: string | null = null;
  for (let i = 0; i < 200; i++) {
    if (i % 3 === 0) {
      cur = `v${i}`;
      h.push(put(i % 4, 'k', cur, ++t, ++t));
    } else {
      h.push(get(i % 4, 'k', cur, ++t, ++t));
    }
  }
  assert.equal(checkHistory(h).ok, true);
  const bad = h.slice();
  const last = bad[bad.length - 1]!;
  bad[bad.length - 1] = { ...last, output: 'v3' };
  assert.equal(checkHistory(bad).ok, false);
});

test('a search that runs out of budget is a failure, never a pass', () => {
  // Many overlapping writes and a read: fine with the default budget, unproven with 5 steps.
  const h: KvOp[] = [];
  for (let i = 0; i < 12; i++) h.push(put(i, 'a', `v${i}`, i + 1, 100 + i));
  h.push(get(99, 'a', 'v3', 200, 201));
  assert.equal(checkHistory(h).ok, true);
  const r = checkHistory(h, 5);
  assert.equal(r.ok, false);
  assert.equal(r.budgetExceeded, true);
  assert.equal(r.key, 'a');
  // A proven violation on another key is reported as such, not as inconclusive.
  const bad = [...h, put(1, 'b', 'x', 300, 301), get(2, 'b', null, 302, 303)];
  const rb = checkHistory(bad, 5);
  assert.equal(rb.ok, false);
  assert.equal(rb.key, 'b');
  assert.equal(rb.budgetExceeded, undefined);
});

test('writes of unknown outcome that no read saw are dropped before the search (sound, and keeps it small)', () => {
  // 60 timed-out writes overlapping everything, none of them read: with them the search explodes.
  const h: KvOp[] = [];
  for (let i = 0; i < 60; i++) h.push(put(i, 'a', `lost${i}`, i + 1, Infinity));
  h.push(put(100, 'a', 'x', 100, 101), get(101, 'a', 'x', 102, 103));
  assert.deepEqual(checkHistory(h, 1000), { ok: true });
  // A timed-out write that a read did see is kept, and must still be placed correctly.
  const seen = [...h, get(102, 'a', 'lost7', 104, 105), get(103, 'a', 'x', 106, 107)];
  assert.equal(checkHistory(seen).ok, false);
});

test('cas: a swap needs the expected value; a failed cas reads the current one', () => {
  // sequential: x, cas x->y swaps, a read sees y, cas x->z fails reading y
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), cas(1, 'a', 'x', 'y', CAS_OK, 3, 4), get(2, 'a', 'y', 5, 6), cas(2, 'a', 'x', 'z', 'y', 7, 8)]).ok, true);
  // a swap from a value that was not there
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), cas(1, 'a', 'w', 'y', CAS_OK, 3, 4)]).ok, false);
  // a failed cas whose expected value was there (it should have swapped)
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), cas(1, 'a', 'x', 'y', 'x', 3, 4)]).ok, false);
  // a failed cas that read a value never written
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), cas(1, 'a', 'w', 'y', 'q', 3, 4)]).ok, false);
  // two concurrent cas from the same value: only one may swap
  const both = [put(1, 'a', 'x', 1, 2), cas(1, 'a', 'x', 'y', CAS_OK, 3, 6), cas(2, 'a', 'x', 'z', CAS_OK, 4, 5)];
  assert.equal(checkHistory(both).ok, false);
  const one = [put(1, 'a', 'x', 1, 2), cas(1, 'a', 'x', 'y', CAS_OK, 3, 6), cas(2, 'a', 'x', 'z', 'y', 4, 5)];
  assert.equal(checkHistory(one).ok, true);
});

test('cas of unknown outcome: may swap late or never, and a later read decides', () => {
  const inf = Infinity;
  // it swapped (a read saw its value), after a read that did not see it
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), cas(1, 'a', 'x', 'y', null, 3, inf), get(2, 'a', 'x', 4, 5), get(2, 'a', 'y', 6, 7)]).ok, true);
  // it cannot have swapped: the value changed away from its expected one before anyone saw y
  const h = [put(1, 'a', 'x', 1, 2), cas(1, 'a', 'w', 'y', null, 3, inf), get(2, 'a', 'y', 4, 5)];
  assert.equal(checkHistory(h).ok, false);
  // never took effect: fine
  assert.equal(checkHistory([put(1, 'a', 'x', 1, 2), cas(1, 'a', 'x', 'y', null, 3, inf), get(2, 'a', 'x', 4, 5)]).ok, true);
});
