import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planWorkers, threadCount } from '../../../bench/plan.js';
import { KeyChooser, keyText, readStamp, stampedValue } from '../../../bench/keys.js';
import { selectBenchFiles } from '../../../bench/micro/select.js';
import { renderBar } from '../../../bench/progress.js';

test('threads: as asked, else one per CPU, never more than clients or channels', () => {
  assert.equal(threadCount(0, 100, 10, 2), 2);
  assert.equal(threadCount(4, 100, 10, 2), 4);
  assert.equal(threadCount(0, 1, 1, 8), 1);
  assert.equal(threadCount(8, 100, 3, 8), 3);
});

test('100 clients over 10 channels and 2 threads: 5 channels and 50 clients each', () => {
  const p = planWorkers(2, 100, 10, ['a:1', 'b:2'], 1000);
  assert.deepEqual(p.map((s) => s.clients), [50, 50]);
  assert.deepEqual(p.map((s) => s.connEndpoints.length), [5, 5]);
  assert.deepEqual(p.map((s) => s.firstClientIndex), [0, 50]);
  assert.deepEqual(p[0]!.connEndpoints, ['a:1', 'b:2', 'a:1', 'b:2', 'a:1']);
  assert.deepEqual(p.map((s) => s.rate), [500, 500]);
});

test('uneven shares still cover every client and channel once', () => {
  const p = planWorkers(3, 7, 5, ['e'], 0);
  assert.equal(p.reduce((a, s) => a + s.clients, 0), 7);
  assert.equal(p.reduce((a, s) => a + s.connEndpoints.length, 0), 5);
  for (const s of p) assert.ok(s.clients >= s.connEndpoints.length);
});

test('keys are zero-padded to the key size; sequential keys wrap', () => {
  assert.equal(keyText(42, 8), '00000042');
  assert.equal(keyText(123456789, 4), '123456789');
  const k = new KeyChooser(3, true, 1, 2);
  assert.deepEqual([k.next(), k.next(), k.next(), k.next()], [2, 0, 1, 2]);
});

test('random keys stay inside the key space and are repeatable for a seed', () => {
  const a = new KeyChooser(1000, false, 7);
  const b = new KeyChooser(1000, false, 7);
  for (let i = 0; i < 1000; i++) {
    const x = a.next();
    assert.equal(x, b.next());
    assert.ok(x >= 0 && x < 1000);
  }
});

test('watch values carry their put time', () => {
  const v = stampedValue(256, 1234.5);
  assert.equal(v.length, 256);
  assert.equal(readStamp(v), 1234.5);
  assert.equal(stampedValue(2, 1).length, 8);
});

test('micro runner picks *.bench.js files, sorted, filtered', () => {
  assert.deepEqual(selectBenchFiles(['main.js', 'wal.bench.js', 'ring.bench.js', 'ring.bench.js.map'], []), ['ring.bench.js', 'wal.bench.js']);
  assert.deepEqual(selectBenchFiles(['wal.bench.js', 'ring.bench.js'], ['wal']), ['wal.bench.js']);
});

test('progress bar', () => {
  assert.equal(renderBar(0.5, 4), '[##..]  50%');
  assert.equal(renderBar(2, 2), '[##] 100%');
});
