// etcd's key bucket encodings: the revision key and gogoproto's mvccpb.KeyValue bytes
// (zero fields omitted), checked against bytes the real etcd 3.4.23 wrote (a snapshot of
// `put foo bar; put foo baz; ...`) and against protobufjs decoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mvccpb } from '../../../src/proto/pb.js';
import {
  decodeEtcdKeyValue, encodeEtcdKeyValue, encodeEtcdTombstone, etcdRevKey, parseEtcdRevKey,
} from '../../../src/mvcc/etcd-format.js';
import { encodeAlarmMember, memberJson } from '../../../src/mvcc/etcd-buckets.js';
import { etcdEntryBytes } from '../../../src/mvcc/hash.js';
import { encodeKvRecord } from '../../../src/mvcc/records.js';

const b = (s: string): Buffer => Buffer.from(s);

test('bytes the real etcd 3.4.23 stored', () => {
  // key bucket of a real etcd: rev 3 "foo"="baz" (create 2, version 2), rev 5 a delete of "foo".
  assert.equal(etcdRevKey(3, 0, false).toString('hex'), '00000000000000035f0000000000000000');
  assert.equal(etcdRevKey(5, 0, true).toString('hex'), '00000000000000055f000000000000000074');
  assert.equal(
    encodeEtcdKeyValue({ key: b('foo'), createRevision: 2, modRevision: 3, version: 2, value: b('baz'), lease: 0n }).toString('hex'),
    '0a03666f6f1002180320022a0362617a',
  );
  assert.equal(encodeEtcdTombstone(b('foo')).toString('hex'), '0a03666f6f');
  // AlarmMember{memberID: 8e9e05c52164694d, alarm: NOSPACE}, as protobufjs encodes it.
  assert.equal(encodeAlarmMember(0x8e9e05c52164694dn, 1).toString('hex'), '08cdd2918bd2b881cf8e011001');
  assert.equal(
    memberJson({ memberId: 0x8e9e05c52164694dn, name: 'default', peerUrls: ['http://localhost:2380'], clientUrls: ['http://localhost:2379'] }),
    '{"id":10276657743932975437,"peerURLs":["http://localhost:2380"],"name":"default","clientURLs":["http://localhost:2379"]}',
  );
});

test('KeyValue round trips, negative and large leases, empty values; protobufjs agrees', () => {
  const cases = [
    { key: b('k'), createRevision: 2, modRevision: 2, version: 1, value: new Uint8Array(0), lease: 0n },
    { key: b('k'), createRevision: 2 ** 40, modRevision: 2 ** 52, version: 300, value: Buffer.alloc(1000, 1), lease: -1n },
    { key: Buffer.alloc(300, 2), createRevision: 9, modRevision: 10, version: 2, value: b('v'), lease: 0x7fffffffffffffffn },
  ];
  for (const kv of cases) {
    const enc = encodeEtcdKeyValue(kv);
    const back = decodeEtcdKeyValue(enc);
    assert.deepEqual({ ...back, key: Buffer.from(back.key), value: Buffer.from(back.value) }, { ...kv, key: Buffer.from(kv.key), value: Buffer.from(kv.value) });
    const pj = mvccpb.KeyValue.decode(enc);
    assert.equal(Number(pj.modRevision), kv.modRevision);
    assert.equal(Number(pj.version), kv.version);
  }
});

test('malformed input is refused, never misread', () => {
  assert.throws(() => parseEtcdRevKey(Buffer.alloc(16)), /not an etcd revision key/);
  assert.throws(() => parseEtcdRevKey(Buffer.concat([etcdRevKey(1, 0, false), b('x')])), /not an etcd revision key/);
  assert.deepEqual(parseEtcdRevKey(etcdRevKey(7, 3, true)), { main: 7, sub: 3, tombstone: true });
  assert.throws(() => decodeEtcdKeyValue(Buffer.from([0x0a, 0x05, 0x61])), /truncated/);
  assert.throws(() => decodeEtcdKeyValue(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), /out of range/);
  assert.throws(() => decodeEtcdKeyValue(Buffer.from([0x10])), /truncated varint/);
});

test('etcdEntryBytes (our record -> etcd key ++ value in one buffer) equals the two encoders', () => {
  const cases = [
    { main: 2, sub: 0, tombstone: false, createRevision: 2, version: 1, lease: 0n, key: b('k'), value: b('v') },
    { main: 2 ** 40, sub: 7, tombstone: false, createRevision: 2 ** 39, version: 1000, lease: -5n, key: Buffer.alloc(200, 3), value: Buffer.alloc(0) },
    { main: 9, sub: 3, tombstone: false, createRevision: 1, version: 2, lease: 0x7fffffffffffffffn, key: b('x'), value: Buffer.alloc(70_000, 9) },
    { main: 12, sub: 1, tombstone: true, createRevision: 0, version: 0, lease: 0n, key: Buffer.alloc(300, 1), value: Buffer.alloc(0) },
  ];
  for (const c of cases) {
    const rec = encodeKvRecord({ tombstone: c.tombstone, createRevision: c.createRevision, version: c.version, lease: c.lease, key: c.key, value: c.value });
    const want = Buffer.concat([
      etcdRevKey(c.main, c.sub, c.tombstone),
      c.tombstone ? encodeEtcdTombstone(c.key) : encodeEtcdKeyValue({ key: c.key, createRevision: c.createRevision, modRevision: c.main, version: c.version, value: c.value, lease: c.lease }),
    ]);
    assert.ok(etcdEntryBytes(c.main, c.sub, rec).equals(want), JSON.stringify({ main: c.main, sub: c.sub }));
  }
  assert.throws(() => etcdEntryBytes(1, 0, Buffer.alloc(10)), /short/);
});
