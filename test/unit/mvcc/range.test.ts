import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { EtcdError } from '../../../src/errors/errors.js';
import { Harness, b, s } from '../apply/helpers.js';

const SO = etcdserverpb.RangeRequest.SortOrder;
const ST = etcdserverpb.RangeRequest.SortTarget;
const keys = (r: etcdserverpb.RangeResponse.$Properties) => (r.kvs ?? []).map((kv) => s(kv.key));

describe('range', () => {
  const h = new Harness();
  after(() => h.close());
  // rev 2: a=1, 3: b=2, 4: c=3, 5: a=4 (a v2), 6: delete b, 7: b=5 (new generation), 8: ab=0, 9: "\0x"
  h.put('a', '1'); h.put('b', '2'); h.put('c', '3'); h.put('a', '4');
  h.del('b'); h.put('b', '5'); h.put('ab', '0'); h.put('\0x', 'z');

  test('single key, versions and create revisions across generations', () => {
    const r = h.get('a');
    assert.equal(r.count, 1);
    assert.deepEqual({ ...r.kvs![0], key: s(r.kvs![0]!.key), value: s(r.kvs![0]!.value) },
      { key: 'a', value: '4', createRevision: 2, modRevision: 5, version: 2, lease: 0n });
    const bb = h.get('b').kvs![0]!;
    assert.equal(bb.createRevision, 7); assert.equal(bb.version, 1);
    assert.equal(h.get('a').header!.revision, 9);
    assert.equal(h.get('zz').count, 0);
  });

  test('range, prefix, from-key, all keys', () => {
    assert.deepEqual(keys(h.get('a', { rangeEnd: b('c') })), ['a', 'ab', 'b']);
    assert.deepEqual(keys(h.get('a', { rangeEnd: b('b') })), ['a', 'ab']); // prefix "a"
    assert.deepEqual(keys(h.get('b', { rangeEnd: new Uint8Array([0]) })), ['b', 'c']);
    assert.deepEqual(keys(h.reader.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) })), ['\0x', 'a', 'ab', 'b', 'c']);
    assert.deepEqual(keys(h.get('c', { rangeEnd: b('a') })), []);
  });

  test('at an older revision', () => {
    assert.deepEqual(keys(h.get('a', { rangeEnd: b('z'), revision: 4 })), ['a', 'b', 'c']);
    assert.equal(s(h.get('a', { revision: 4 }).kvs![0]!.value), '1');
    assert.deepEqual(keys(h.get('a', { rangeEnd: b('z'), revision: 6 })), ['a', 'c']);
    assert.equal(h.get('a', { revision: 1 }).count, 0);
    assert.equal(h.get('a', { revision: 4 }).header!.revision, 9);
    assert.throws(() => h.get('a', { revision: 10 }), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_FUTURE_REV');
  });

  test('limit, more, count, count_only, keys_only', () => {
    const r = h.get('a', { rangeEnd: b('z'), limit: 2 });
    assert.deepEqual(keys(r), ['a', 'ab']); assert.equal(r.more, true); assert.equal(r.count, 4);
    const r2 = h.get('a', { rangeEnd: b('z'), limit: 4 });
    assert.equal(r2.more, false); assert.equal(r2.kvs!.length, 4);
    const c = h.get('a', { rangeEnd: b('z'), countOnly: true });
    assert.equal(c.count, 4); assert.equal(c.kvs!.length, 0); assert.equal(c.more, false);
    const k = h.get('a', { rangeEnd: b('z'), keysOnly: true });
    assert.ok(k.kvs!.every((kv) => kv.value!.length === 0 && kv.modRevision! > 0));
  });

  test('sort targets and orders', () => {
    const all = { rangeEnd: b('z') };
    assert.deepEqual(keys(h.get('a', { ...all, sortOrder: SO.DESCEND })), ['c', 'b', 'ab', 'a']);
    assert.deepEqual(keys(h.get('a', { ...all, sortTarget: ST.VALUE })), ['ab', 'c', 'a', 'b']); // NONE + VALUE = ascend
    assert.deepEqual(keys(h.get('a', { ...all, sortTarget: ST.VALUE, sortOrder: SO.DESCEND })), ['b', 'a', 'c', 'ab']);
    assert.deepEqual(keys(h.get('a', { ...all, sortTarget: ST.MOD, sortOrder: SO.DESCEND })), ['ab', 'b', 'a', 'c']);
    assert.deepEqual(keys(h.get('a', { ...all, sortTarget: ST.CREATE, sortOrder: SO.ASCEND })), ['a', 'c', 'b', 'ab']);
    assert.deepEqual(keys(h.get('a', { ...all, sortTarget: ST.VERSION, sortOrder: SO.DESCEND })), ['a', 'ab', 'b', 'c']);
    // sort happens over all keys before the limit
    const r = h.get('a', { ...all, sortOrder: SO.DESCEND, limit: 1 });
    assert.deepEqual(keys(r), ['c']); assert.equal(r.more, true); assert.equal(r.count, 4);
    // keys_only with VALUE sort still sorts by value
    assert.deepEqual(keys(h.get('a', { ...all, sortTarget: ST.VALUE, keysOnly: true })), ['ab', 'c', 'a', 'b']);
  });

  test('mod/create revision filters (count stays the range total)', () => {
    const all = { rangeEnd: b('z') };
    assert.deepEqual(keys(h.get('a', { ...all, minModRevision: 5 })), ['a', 'ab', 'b']);
    assert.deepEqual(keys(h.get('a', { ...all, maxModRevision: 5 })), ['a', 'c']);
    assert.deepEqual(keys(h.get('a', { ...all, minCreateRevision: 4 })), ['ab', 'b', 'c']);
    const r = h.get('a', { ...all, maxCreateRevision: 4, limit: 1 });
    assert.deepEqual(keys(r), ['a']); assert.equal(r.more, true); assert.equal(r.count, 4);
  });

  test('empty key and oversized keys do not crash', () => {
    assert.equal(h.reader.range({ key: new Uint8Array(0) }).count, 0);
    assert.equal(h.reader.range({ key: Buffer.alloc(3000, 0x61) }).count, 0);
    assert.deepEqual(keys(h.reader.range({ key: Buffer.alloc(3000, 0x61), rangeEnd: b('z') })), ['ab', 'b', 'c']);
    assert.deepEqual(keys(h.reader.range({ key: b('a'), rangeEnd: Buffer.alloc(3000, 0x61) })), ['a']);
  });
});
