// Binary encoding round-trips (property-based) and rejection of malformed input.
import '../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeConfChangeV2,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshotMetadata,
  encodeConfChangeV2,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshotMetadata,
} from '../../src/raft/codec.js';
import { MESSAGE_TYPE_MAX, type Message } from '../../src/raft/messages.js';

/** fast-check builds null-prototype records; compare as plain objects. */
const plain = <T>(x: T): T => structuredClone(x);

const u53 = fc.oneof(fc.nat(300), fc.maxSafeNat());
const bytes = fc.uint8Array({ maxLength: 64 });
const entry = fc.record({ term: u53, index: u53, type: fc.constantFrom(0, 1, 2), data: bytes });
/** Node IDs are full uint64 (decision 0003): small ones, and ones above 2^53. */
const u64 = fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
const ids = fc.array(u64, { maxLength: 5 });
const confState = fc.record({ voters: ids, learners: ids, votersOutgoing: ids, learnersNext: ids, autoLeave: fc.boolean() });
const snapMeta = fc.record({ confState, index: u53, term: u53 });
const snapshot = fc.record({ data: bytes, metadata: snapMeta });
const message: fc.Arbitrary<Message> = fc.record({
  type: fc.integer({ min: 0, max: MESSAGE_TYPE_MAX }),
  to: u64,
  from: u64,
  term: u53,
  logTerm: u53,
  index: u53,
  entries: fc.array(entry, { maxLength: 4 }),
  commit: u53,
  snapshot: fc.option(snapshot, { nil: null }),
  reject: fc.boolean(),
  rejectHint: u53,
  context: fc.option(bytes, { nil: null }),
});

test('entry round-trip', () => {
  fc.assert(fc.property(entry, (e) => assert.deepEqual(decodeEntry(encodeEntry(e)), plain(e))));
});

test('hard state round-trip', () => {
  fc.assert(fc.property(fc.record({ term: u53, vote: u64, commit: u53 }), (hs) => assert.deepEqual(decodeHardState(encodeHardState(hs)), plain(hs))));
});

test('snapshot metadata round-trip', () => {
  fc.assert(fc.property(snapMeta, (m) => assert.deepEqual(decodeSnapshotMetadata(encodeSnapshotMetadata(m)), plain(m))));
});

test('message round-trip', () => {
  fc.assert(fc.property(message, (m) => assert.deepEqual(decodeMessage(encodeMessage(m)), plain(m))));
});

test('conf change round-trip; empty buffer is leave-joint', () => {
  const cc = fc.record({
    transition: fc.constantFrom(0, 1, 2),
    changes: fc.array(fc.record({ type: fc.constantFrom(0, 1, 2, 3), nodeId: u64 }), { maxLength: 4 }),
    context: bytes,
  });
  fc.assert(fc.property(cc, (c) => assert.deepEqual(decodeConfChangeV2(encodeConfChangeV2(c)), plain(c))));
  assert.equal(decodeConfChangeV2(new Uint8Array(0)).changes.length, 0);
});

test('truncated or corrupted messages are rejected, never misread silently', () => {
  fc.assert(
    fc.property(message, fc.nat(), (m, cut) => {
      const b = encodeMessage(m);
      const at = cut % b.length;
      assert.throws(() => decodeMessage(b.subarray(0, at)));
      const extra = new Uint8Array(b.length + 1);
      extra.set(b);
      assert.throws(() => decodeMessage(extra));
    }),
  );
  assert.throws(() => decodeMessage(new Uint8Array([9, 0])), /version/);
});

test('varint bounds', () => {
  assert.throws(() => encodeHardState({ term: -1, vote: 0n, commit: 0 }));
  assert.throws(() => encodeHardState({ term: 2 ** 53, vote: 0n, commit: 0 }));
  assert.throws(() => encodeHardState({ term: 1, vote: -1n, commit: 0 }));
  assert.throws(() => encodeHardState({ term: 1, vote: 1n << 64n, commit: 0 }));
  const max = Number.MAX_SAFE_INTEGER;
  const vote = (1n << 64n) - 1n;
  assert.deepEqual(decodeHardState(encodeHardState({ term: max, vote, commit: 0 })), { term: max, vote, commit: 0 });
  // etcd's default member ID (above 2^53) survives exactly.
  assert.equal(decodeHardState(encodeHardState({ term: 1, vote: 0x8e9e05c52164694dn, commit: 1 })).vote, 0x8e9e05c52164694dn);
  // Below 2^53 a node ID has the bytes it had as a number: the format did not change.
  assert.deepEqual([...encodeHardState({ term: 1, vote: 300n, commit: 2 })], [1, 0xac, 0x02, 2]);
});
