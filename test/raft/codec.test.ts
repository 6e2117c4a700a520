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
const ids = fc.array(u53, { maxLength: 5 });
const confState = fc.record({ voters: ids, learners: ids, votersOutgoing: ids, learnersNext: ids, autoLeave: fc.boolean() });
const snapMeta = fc.record({ confState, index: u53, term: u53 });
const snapshot = fc.record({ data: bytes, metadata: snapMeta });
const message: fc.Arbitrary<Message> = fc.record({
  type: fc.integer({ min: 0, max: MESSAGE_TYPE_MAX }),
  to: u53,
  from: u53,
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
  fc.assert(fc.property(fc.record({ term: u53, vote: u53, commit: u53 }), (hs) => assert.deepEqual(decodeHardState(encodeHardState(hs)), plain(hs))));
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
    changes: fc.array(fc.record({ type: fc.constantFrom(0, 1, 2, 3), nodeId: u53 }), { maxLength: 4 }),
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
  assert.throws(() => encodeHardState({ term: -1, vote: 0, commit: 0 }));
  assert.throws(() => encodeHardState({ term: 2 ** 53, vote: 0, commit: 0 }));
  const max = Number.MAX_SAFE_INTEGER;
  assert.deepEqual(decodeHardState(encodeHardState({ term: max, vote: max, commit: 0 })), { term: max, vote: max, commit: 0 });
});
