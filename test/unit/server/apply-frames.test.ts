import '../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeEntryBatch, decodeOutcomes, encodeCommitRequest, encodeEntryBatch, encodeOutcomes, encodeVisible, isCommitRequest, isFlushFrame, visibleIndex,
} from '../../../src/server/apply-frames.js';
import type { ApplyOutcome } from '../../../src/server/ports.js';
import { FrameError } from '../../../src/threads/frame.js';
import { EntryType } from '../../../src/raftpb/types.js';

const outcome = fc.record({
  index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  // a full u64 (decision 0003): member bits on top, as src/server/request-ids.ts makes them
  requestId: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
  revision: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  response: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
  errorCode: fc.option(fc.constantFrom('ETCD_ERR_MVCC_COMPACTED', 'ETCD_ERR_LEASE_NOT_FOUND'), { nil: undefined }),
  events: fc.array(fc.uint8Array({ maxLength: 32 }), { maxLength: 4 }),
});

const norm = (o: ApplyOutcome) => ({
  ...o,
  response: o.response && Buffer.from(o.response),
  events: (o.events ?? []).map((e) => Buffer.from(e)),
});

test('outcome frames round-trip', () => {
  fc.assert(
    fc.property(fc.array(outcome, { maxLength: 20 }), (outcomes) => {
      const decoded = decodeOutcomes(encodeOutcomes(outcomes));
      assert.deepEqual(decoded.map(norm), outcomes.map(norm));
    }),
  );
});

test('a request ID above 2^53 crosses exactly, in the documented byte layout', () => {
  const requestId = 0x694d_0191_2345_6789n;
  const frame = Buffer.from(encodeOutcomes([{ index: 5, requestId, revision: 3, events: [] }]));
  // u32 count | u64 index | u64 requestId (little-endian, low word first) | ...
  assert.equal(frame.subarray(12, 20).toString('hex'), '89674523 91014d69'.replace(' ', ''));
  assert.equal(decodeOutcomes(frame)[0]!.requestId, requestId);
});

test('a truncated or padded frame is refused, not misread', () => {
  const frame = Buffer.from(encodeOutcomes([{ index: 5, requestId: 9n, revision: 3, response: Buffer.from('abc'), events: [] }]));
  for (let cut = 0; cut < frame.length; cut++) {
    assert.throws(() => decodeOutcomes(frame.subarray(0, cut)), FrameError);
  }
  assert.throws(() => decodeOutcomes(Buffer.concat([frame, Buffer.from([0])])), FrameError);
});

test('entry batches round-trip, and a bad type or truncation is refused', () => {
  const entry = fc.record({
    index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    term: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange, EntryType.ConfChangeV2),
    data: fc.uint8Array({ maxLength: 64 }),
  });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 20 }), fc.boolean(), (entries, eventsWanted) => {
      const promised = new Map(entries.filter((_, i) => i % 3 === 0).map((e) => [e.index, e.term] as [number, number]));
      const decoded = decodeEntryBatch(encodeEntryBatch(entries, undefined, promised, eventsWanted));
      assert.deepEqual(decoded.entries.map((e) => ({ ...e, data: Buffer.from(e.data) })), entries.map((e) => ({ ...e, data: Buffer.from(e.data) })));
      assert.deepEqual([...decoded.promised], [...promised]);
      assert.equal(decoded.eventsWanted, eventsWanted);
    }),
  );
  const frame = Buffer.from(encodeEntryBatch([{ index: 1, term: 1, type: EntryType.Normal, data: Buffer.from('x') }]));
  for (let cut = 0; cut < frame.length; cut++) assert.throws(() => decodeEntryBatch(frame.subarray(0, cut)), /truncated|trailing/);
  frame[4 + 16] = 7; // the type byte
  assert.throws(() => decodeEntryBatch(frame), /unknown type/);
});

test('batch flags: events not wanted is bit 0 of the last u32; another bit is refused', () => {
  const one = [{ index: 1, term: 1, type: EntryType.Normal, data: Buffer.from('x') }];
  assert.equal(decodeEntryBatch(encodeEntryBatch(one)).eventsWanted, true, 'wanted by default');
  const frame = Buffer.from(encodeEntryBatch(one, undefined, undefined, false));
  assert.equal(frame.readUInt32LE(frame.length - 4), 1);
  frame.writeUInt32LE(2, frame.length - 4);
  assert.throws(() => decodeEntryBatch(frame), /unknown flags 2/);
});

test('an outcome whose events were left out says so (eventCount 0xFFFFFFFF), with no events', () => {
  const o: ApplyOutcome = { index: 3, requestId: 7n, revision: 2, response: Buffer.from('r'), eventsOmitted: true };
  const [back] = decodeOutcomes(encodeOutcomes([o]));
  assert.equal(back!.eventsOmitted, true);
  assert.equal(back!.events, undefined);
  assert.equal(decodeOutcomes(encodeOutcomes([{ ...o, eventsOmitted: undefined }]))[0]!.eventsOmitted, undefined);
  const frame = Buffer.from(encodeOutcomes([{ index: 3, requestId: 7n, revision: 2, eventsOmitted: true }]));
  assert.equal(frame.readUInt32LE(4 + 24 + 1), 0xffffffff, 'u32 count | u64 x3 | u8 flags | eventCount');
  assert.throws(() => encodeOutcomes([{ ...o, events: [Buffer.from('e')] }]), /both omitted and sent/);
  // An omitted marker followed by event bytes is trailing garbage, refused.
  assert.throws(() => decodeOutcomes(Buffer.concat([frame, Buffer.from([1, 0, 0, 0, 0x65])])), FrameError);
});

test('visible frames carry any safe index; commit requests are told apart from every other frame', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (index) => {
    const f = encodeVisible(index);
    assert.equal(f.length, 16);
    assert.equal(visibleIndex(f), index);
  }));
  const req = encodeCommitRequest();
  assert.equal(isCommitRequest(req), true);
  assert.equal(isFlushFrame(req), false);
  assert.equal(visibleIndex(req), undefined);
  // An outcome frame is never taken for a visible frame, whatever its length.
  for (const n of [0, 1, 2]) {
    const frame = encodeOutcomes(Array.from({ length: n }, (_, i) => ({ index: i + 1, requestId: 0n, revision: 1 })));
    assert.equal(visibleIndex(frame), undefined);
    assert.equal(isCommitRequest(frame), false);
  }
  // A visible frame with an index that is not a safe integer is refused, not believed.
  for (const bad of [-1, 0.5, Number.NaN, 2 ** 60]) {
    const f = encodeVisible(0);
    new DataView(f.buffer).setFloat64(8, bad, true);
    assert.throws(() => visibleIndex(f), FrameError);
  }
});
