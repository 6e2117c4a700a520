import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c } from '@node-rs/crc32';
import { EtcdError } from '../../../src/errors/errors.js';
import { hashKv } from '../../../src/mvcc/hash.js';
import { Harness } from '../apply/helpers.js';

function history(h: Harness): void {
  for (let i = 0; i < 40; i++) h.put(`k${i % 9}`, `v${i}`);
  h.del('k1'); h.del('k2', 'k5');
  for (let i = 0; i < 10; i++) h.put(`k${i % 4}`, `w${i}`);
}

test('crc32c chains', () => {
  assert.equal(crc32c(Buffer.from('456789'), crc32c(Buffer.from('123'))), crc32c(Buffer.from('123456789')));
});

test('hashKv: equal on equal histories, independent of physical compaction progress', async () => {
  const a = new Harness();
  const b = new Harness();
  history(a); history(b);
  const hash = (h: Harness, rev = 0) => h.reader.view((v) => hashKv(v, rev));
  assert.deepEqual(hash(a), hash(b));
  assert.notEqual(hash(a, 20).hash, hash(a).hash);
  assert.equal(hash(a, 20).hashRevision, 20);
  a.compact(30); b.compact(30);
  const before = hash(a);
  assert.equal(before.compactRevision, 30);
  a.applier.compactStep(3);
  assert.deepEqual(hash(a), before);
  a.applier.compactor.runToCompletion(3);
  assert.deepEqual(hash(a), before);
  assert.deepEqual(hash(b), before);
  assert.throws(() => hash(a, 29), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_COMPACTED');
  assert.throws(() => hash(a, 1000), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_FUTURE_REV');
  a.put('k1', 'x');
  assert.notEqual(hash(a).hash, before.hash);
  await a.close(); await b.close();
});
