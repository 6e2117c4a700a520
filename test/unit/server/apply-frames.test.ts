import '../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEntryBatch, decodeOutcomes, encodeEntryBatch, encodeOutcomes } from '../../../src/server/apply-frames.js';
import type { ApplyOutcome } from '../../../src/server/ports.js';
import { FrameError } from '../../../src/threads/frame.js';
import { EntryType } from '../../../src/raftpb/types.js';

const outcome = fc.record({
  index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  requestId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
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

test('a truncated or padded frame is refused, not misread', () => {
  const frame = Buffer.from(encodeOutcomes([{ index: 5, requestId: 9, revision: 3, response: Buffer.from('abc'), events: [] }]));
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
    fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
      const decoded = decodeEntryBatch(encodeEntryBatch(entries));
      assert.deepEqual(decoded.map((e) => ({ ...e, data: Buffer.from(e.data) })), entries.map((e) => ({ ...e, data: Buffer.from(e.data) })));
    }),
  );
  const frame = Buffer.from(encodeEntryBatch([{ index: 1, term: 1, type: EntryType.Normal, data: Buffer.from('x') }]));
  for (let cut = 0; cut < frame.length; cut++) assert.throws(() => decodeEntryBatch(frame.subarray(0, cut)), /truncated|trailing/);
  frame[4 + 16] = 7; // the type byte
  assert.throws(() => decodeEntryBatch(frame), /unknown type/);
});
