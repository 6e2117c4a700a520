import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { mvccpb } from "../../../src/proto/pb.js";
import { EtcdError } from '../../../src/errors/errors.js';
import { Harness, b, s } from '../apply/helpers.js';

test('events since a revision: order, whole revisions, compaction, equals the applier events', async () => {
  const h = new Harness();
  const applied: mvccpb.Event.$Properties[] = [];
  applied.push(...h.apply({ put: { key: b('a'), value: b('1') } }).events);
  applied.push(...h.txn({ success: [{ requestPut: { key: b('b'), value: b('2') } }, { requestPut: { key: b('c'), value: b('3') } }] }).res.events);
  applied.push(...h.apply({ deleteRange: { key: b('a'), rangeEnd: b('c') } }).events);
  const all = h.reader.view((v) => v.eventsSince(0, 100));
  assert.equal(all.nextRev, 5);
  const norm = (es: typeof applied) => es.map((e) => [e.type ?? 0, s(e.kv!.key), e.kv!.modRevision, s(e.kv!.value), e.kv!.version ?? 0]);
  assert.deepEqual(norm(all.events), norm(applied));
  const page = h.reader.view((v) => v.eventsSince(3, 1)); // rev 3 has two events: never split
  assert.equal(page.events.length, 2); assert.equal(page.nextRev, 4);
  assert.deepEqual(h.reader.view((v) => v.eventsSince(5, 10)), { events: [], nextRev: 5 });
  h.compact(3);
  assert.throws(() => h.reader.view((v) => v.eventsSince(2, 10)), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_COMPACTED');
  await h.close();
});
