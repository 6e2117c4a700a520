import '../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeKeyPrefix, encodeIndexKey, encodeKeyPrefix, indexKeyPrefix } from '../../../src/mvcc/key-index.js';
import { decodeIndexRecord, decodeKvRecord, decodeLatestRecord, encodeIndexRecord, encodeKvRecord, encodeLatestRecord } from '../../../src/mvcc/records.js';
import { decodeRevision, encodeRevision } from '../../../src/mvcc/revision.js';
import { AssertionError } from '../../../src/util/pure/assert.js';

test('index keys sort by user key, then revision; escaping round-trips', () => {
  const k = fc.uint8Array({ minLength: 1, maxLength: 6, max: 3 });
  const r = fc.record({ main: fc.nat(), sub: fc.nat(5) });
  fc.assert(fc.property(k, r, k, r, (k1, r1, k2, r2) => {
    const a = encodeIndexKey(k1, r1.main, r1.sub);
    const c = encodeIndexKey(k2, r2.main, r2.sub);
    const byKey = Buffer.compare(k1, k2);
    const want = byKey !== 0 ? byKey : Math.sign(r1.main - r2.main) || Math.sign(r1.sub - r2.sub);
    assert.equal(Math.sign(Buffer.compare(a, c)), want);
    assert.ok(decodeKeyPrefix(indexKeyPrefix(a)).equals(Buffer.from(k1)));
    assert.ok(indexKeyPrefix(a).equals(encodeKeyPrefix(k1)));
  }));
});

test('revision and record layouts round-trip', () => {
  assert.deepEqual(decodeRevision(encodeRevision(2 ** 53 - 1, 7)), { main: 2 ** 53 - 1, sub: 7 });
  assert.ok(Buffer.compare(encodeRevision(256, 0), encodeRevision(255, 9)) > 0);
  const e = { modRevision: 9, sub: 2, tombstone: false, createRevision: 3, version: 4, lease: 5n };
  assert.deepEqual(decodeLatestRecord(encodeLatestRecord(e)), e);
  const kv = decodeKvRecord(encodeKvRecord({ tombstone: false, createRevision: 3, version: 1, lease: 0n, key: Buffer.from('k'), value: Buffer.from('val') }));
  assert.equal(kv.key.toString(), 'k'); assert.equal(Buffer.from(kv.value).toString(), 'val');
  assert.throws(() => encodeLatestRecord({ ...e, tombstone: true }), AssertionError);
});

test('a key\'s lease is a full int64 in every record (decision 0003)', () => {
  for (const lease of [0n, 1n, 2n ** 53n + 1n, 0x694d_7a1c_2e3f_4b05n, (1n << 63n) - 1n, -(1n << 63n), -1n]) {
    const kv = { tombstone: false, createRevision: 3, version: 1, lease, key: Buffer.from('k'), value: Buffer.from('v') };
    const enc = encodeKvRecord(kv);
    assert.equal(decodeKvRecord(enc).lease, lease);
    // big-endian two's complement at offset 17 of the record header
    assert.equal(enc.readBigUInt64BE(17), BigInt.asUintN(64, lease));
    assert.equal(decodeIndexRecord(encodeIndexRecord(kv)).lease, lease);
    assert.equal(decodeLatestRecord(encodeLatestRecord({ ...kv, modRevision: 4, sub: 0 })).lease, lease);
  }
  assert.throws(() => encodeKvRecord({ tombstone: false, createRevision: 1, version: 1, lease: 1n << 64n, key: Buffer.from('k'), value: Buffer.from('v') }), AssertionError);
});
