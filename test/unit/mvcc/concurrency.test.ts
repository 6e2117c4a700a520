import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { Harness, b, s } from '../apply/helpers.js';

function putPair(h: Harness, n: number): void {
  const v = b(String(n));
  h.txn({ success: [{ requestPut: { key: b('pair/a'), value: v } }, { requestPut: { key: b('pair/b'), value: v } }] });
}

test('a read view held open keeps its snapshot while writes continue', async () => {
  const h = new Harness();
  putPair(h, 1);
  h.reader.view((v) => {
    for (let i = 2; i < 50; i++) putPair(h, i);
    h.applier.applyEntries([h.entry({ deleteRange: { key: b('pair/'), rangeEnd: b('pair0') } })]);
    const r = v.rangeKeys(b('pair/'), b('pair0'), {});
    assert.deepEqual(r.kvs.map((kv) => s(kv.value)), ['1', '1']);
    assert.equal(r.rev, 2);
  });
  assert.equal(h.get('pair/', { rangeEnd: b('pair0') }).count, 0);
  await h.close();
});

test('a reader in another thread sees every applied write and never half a txn', async () => {
  const h = new Harness();
  putPair(h, 0);
  const w = new Worker(new URL('./reader.worker.js', import.meta.url), { workerData: { path: h.path } });
  for (let i = 1; i <= 200; i++) {
    putPair(h, i);
    w.postMessage({ appliedAtLeast: i });
    if (i % 10 === 0) await once(w, 'message');
  }
  w.postMessage('stop');
  let result: { reads: number; violations: number } | undefined;
  while (result === undefined) {
    const [m] = (await once(w, 'message')) as [{ reads?: number; violations?: number }];
    if (m.reads !== undefined) result = { reads: m.reads, violations: m.violations! };
  }
  assert.equal(result.violations, 0);
  assert.equal(result.reads, 200);
  await w.terminate();
  await h.close();
});

test('nested views on one thread: the inner sees new commits, the outer keeps its snapshot', async () => {
  const h = new Harness();
  h.put('k', '1');
  h.reader.view((outer) => {
    h.put('k', '2');
    h.reader.view((inner) => assert.equal(s(inner.rangeKeys(b('k'), new Uint8Array(0)).kvs[0]!.value), '2'));
    assert.equal(s(outer.rangeKeys(b('k'), new Uint8Array(0)).kvs[0]!.value), '1');
  });
  await h.close();
});
