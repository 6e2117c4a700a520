// IndexWaiter (src/server/wait.ts): waiters resolve once the index reaches theirs, in any arrival order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexWaiter } from '../../../src/server/wait.js';

test('waits in any order resolve exactly when their index is reached', async () => {
  const w = new IndexWaiter(5);
  assert.equal(w.wait(5), undefined, 'already reached');
  const done: number[] = [];
  const order = [9, 7, 12, 7, 6, 10];
  const all = order.map((i) => w.wait(i)!.then(() => done.push(i)));
  w.advance(7);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(done.sort((a, b) => a - b), [6, 7, 7]);
  w.advance(10);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(done.sort((a, b) => a - b), [6, 7, 7, 9, 10]);
  w.advance(12);
  await Promise.all(all);
  assert.equal(done.length, order.length);
  assert.throws(() => w.advance(11), /went back/);
});

test('failAll rejects every waiter, whatever its index', async () => {
  const w = new IndexWaiter(0);
  const ps = [3, 1, 2].map((i) => w.wait(i)!);
  w.failAll(new Error('stopped'));
  for (const p of ps) await assert.rejects(p, /stopped/);
});
