import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { EtcdError } from '../../../src/errors/errors.js';
import { Harness, b, s } from '../apply/helpers.js';

const count = (h: Harness) => ({
  rev: h.backend.rev.getKeysCount(),
  kidx: h.backend.kidx.getKeysCount(),
  latest: h.backend.latest.getKeysCount(),
});
const isErr = (code: string) => (e: unknown) => e instanceof EtcdError && e.code === code;

describe('compaction', () => {
  test('errors: at or below compacted, future revision', async () => {
    const h = new Harness();
    h.put('a', '1'); h.put('a', '2');
    assert.equal(h.compact(4).errorCode, 'ETCD_ERR_MVCC_FUTURE_REV');
    const r = h.compact(2, true);
    assert.equal(r.errorCode, undefined); assert.equal(r.compactPhysical, true);
    assert.equal(etcdserverpb.CompactionResponse.decode(r.response!).header!.revision, 3);
    assert.equal(h.compact(2).errorCode, 'ETCD_ERR_MVCC_COMPACTED');
    assert.equal(h.compact(1).errorCode, 'ETCD_ERR_MVCC_COMPACTED');
    assert.equal(h.compact(3).errorCode, undefined);
    const done: number[] = [];
    (h.applier.compactor as unknown as { onFinished: (r: number) => void }).onFinished = (r) => done.push(r);
    h.applier.compactor.runToCompletion();
    assert.deepEqual(done, [3]);
    assert.equal(h.applier.finishedCompactRevision(), 3);
    await h.close();
  });

  test('logical at once, physical on steps; keeps the newest revision at C, drops tombstones at C', async () => {
    const h = new Harness();
    h.put('a', '1'); h.put('a', '2'); h.put('b', '1'); h.del('b'); h.put('c', '1'); // revs 2..6
    h.put('a', '3'); // 7
    assert.deepEqual(count(h), { rev: 6, kidx: 6, latest: 3 });
    h.compact(6);
    assert.throws(() => h.get('a', { revision: 5 }), isErr('ETCD_ERR_MVCC_COMPACTED'));
    assert.equal(s(h.get('a', { revision: 6 }).kvs![0]!.value), '2');
    assert.deepEqual(count(h), { rev: 6, kidx: 6, latest: 3 }); // nothing physical yet
    assert.equal(h.applier.compactedRevision(), 6);
    assert.equal(h.reader.compactedRevision(), 6);
    while (h.applier.compactStep(2));
    // a: keep rev 3 (newest <= 6) and 7; b: tombstone at 5 dropped with its put and head; c: kept
    assert.deepEqual(count(h), { rev: 3, kidx: 3, latest: 2 });
    assert.equal(h.applier.finishedCompactRevision(), 6);
    assert.equal(s(h.get('a', { revision: 6 }).kvs![0]!.value), '2');
    assert.equal(s(h.get('a').kvs![0]!.value), '3');
    assert.equal(h.get('a').kvs![0]!.version, 3);
    assert.equal(h.get('b', { revision: 6 }).count, 0);
    assert.deepEqual(h.get('a', { rangeEnd: new Uint8Array([0]), revision: 6 }).kvs!.map((kv) => s(kv.key)), ['a', 'c']);
    // a new generation of b after its history is gone
    h.put('b', 'x');
    assert.equal(h.get('b').kvs![0]!.createRevision, 8);
    await h.close();
  });

  test('slices keep reads correct mid-way and resume after restart', async () => {
    const h = new Harness();
    for (let i = 0; i < 30; i++) h.put(`k${i % 7}`, `v${i}`);
    h.del('k3');
    const before = new Map<number, string[]>();
    const cur = h.applier.currentRevision();
    const snapshot = (rev: number) => h.get('k', { rangeEnd: b('l'), revision: rev }).kvs!.map((kv) => `${s(kv.key)}=${s(kv.value)}@${kv.modRevision}/${kv.version}`);
    for (let r = 20; r <= cur; r++) before.set(r, snapshot(r));
    h.compact(20);
    h.applier.compactStep(3); h.applier.compactStep(3);
    for (let r = 20; r <= cur; r++) assert.deepEqual(snapshot(r), before.get(r));
    await h.reopen();
    assert.equal(h.applier.compactor.pending, true);
    while (h.applier.compactStep(3)) for (let r = 20; r <= cur; r++) assert.deepEqual(snapshot(r), before.get(r));
    for (let r = 20; r <= cur; r++) assert.deepEqual(snapshot(r), before.get(r));
    // a second compaction while idle, and one scheduled while another runs
    h.compact(25); h.applier.compactStep(2);
    h.compact(cur);
    h.applier.compactor.runToCompletion(2);
    assert.equal(h.applier.finishedCompactRevision(), cur);
    assert.deepEqual(snapshot(cur), before.get(cur));
    assert.equal(count(h).kidx, 6); // k0..k6 minus deleted k3
    await h.close();
  });

  test('a key with a long history compacts across slices', async () => {
    const h = new Harness();
    for (let i = 0; i < 50; i++) h.put('hot', String(i));
    h.put('z', 'z');
    h.compact(40);
    let steps = 0;
    while (h.applier.compactStep(4)) steps++;
    assert.ok(steps > 5);
    assert.deepEqual(count(h), { rev: 13, kidx: 13, latest: 2 });
    assert.equal(s(h.get('hot', { revision: 40 }).kvs![0]!.value), '38');
    await h.close();
  });
});
