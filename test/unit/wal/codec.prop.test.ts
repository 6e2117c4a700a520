import '../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';
import { CodecError, decodeEntry, decodeHardState, encodeEntry, encodeHardState } from '../../../src/wal/codec.js';
import { parseRecord, recordBytes, RecordType, sealRecord } from '../../../src/wal/record.js';
import { seedFor } from './helpers.js';

const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const arbEntry: fc.Arbitrary<Entry> = fc.record({
  index: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  term: safe,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange, EntryType.ConfChangeV2),
  data: fc.uint8Array({ maxLength: 300 }),
});

test('entry encode/decode round-trip (property)', () => {
  fc.assert(
    fc.property(arbEntry, (e) => {
      const b = encodeEntry(e);
      assert.equal(b.length, 21 + e.data.length);
      assert.deepEqual(decodeEntry(b), { ...e });
    }),
    { seed: seedFor('entry round-trip'), numRuns: 500 },
  );
});

/** HardState.vote is a member ID: any uint64 (decision 0003), e.g. etcd's default 8e9e05c52164694d. */
const u64 = fc.oneof(fc.constant(0x8e9e05c52164694dn), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));

test('hard state encode/decode round-trip (property)', () => {
  fc.assert(
    fc.property(safe, u64, safe, (term, vote, commit) => {
      assert.deepEqual(decodeHardState(encodeHardState({ term, vote, commit })), { term, vote, commit });
    }),
    { seed: seedFor('hard state round-trip'), numRuns: 300 },
  );
});

test('hard state vote: the full u64, in the same 24-byte layout (term, vote, commit little-endian)', () => {
  const b = encodeHardState({ term: 1, vote: 0x8e9e05c52164694dn, commit: 2 });
  assert.equal(Buffer.from(b).toString('hex'), '0100000000000000' + '4d696421c5059e8e' + '0200000000000000');
  assert.equal(decodeHardState(b).vote, 0x8e9e05c52164694dn);
  assert.throws(() => encodeHardState({ term: 1, vote: 1n << 64n, commit: 0 }), RangeError);
  assert.throws(() => encodeHardState({ term: 1, vote: -1n, commit: 0 }), RangeError);
});

test('truncated or padded entry encodings are refused, never misread', () => {
  fc.assert(
    fc.property(arbEntry, fc.nat(), (e, cut) => {
      const b = encodeEntry(e);
      const at = cut % b.length;
      assert.throws(() => decodeEntry(b.subarray(0, at)), CodecError);
      const longer = new Uint8Array(b.length + 1);
      longer.set(b);
      assert.throws(() => decodeEntry(longer), CodecError);
    }),
    { seed: seedFor('entry truncation'), numRuns: 300 },
  );
});

test('record seal/parse round-trip with chained crc; any flipped bit is detected', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { minLength: 1, maxLength: 10 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (payloads, pick, bit) => {
      const size = payloads.reduce((s, p) => s + recordBytes(p.length), 0);
      const buf = new Uint8Array(size + 16);
      const dv = new DataView(buf.buffer);
      let at = 0;
      let crc = 0;
      const crcs: number[] = [];
      for (const p of payloads) {
        buf.set(p, at + 16);
        crc = sealRecord(buf, dv, at, RecordType.Entry, p.length, crc);
        crcs.push(crc);
        at += recordBytes(p.length);
      }
      at = 0;
      crc = 0;
      for (let i = 0; i < payloads.length; i++) {
        const r = parseRecord(buf, dv, at, crc);
        assert.equal(r.kind, 'ok');
        if (r.kind !== 'ok') return;
        assert.deepEqual(buf.subarray(r.payloadOffset, r.payloadOffset + r.payloadBytes), payloads[i]);
        assert.equal(r.crc, crcs[i]);
        crc = r.crc;
        at = r.next;
      }
      assert.equal(parseRecord(buf, dv, at, crc).kind, 'end');
      // flip one bit inside a record (header or payload, not the trailing zero padding)
      const i = pick % payloads.length;
      let start = 0;
      for (let k = 0; k < i; k++) start += recordBytes(payloads[k]!.length);
      const byte = start + (pick % (16 + payloads[i]!.length));
      buf[byte]! ^= 1 << bit;
      const r = parseRecord(buf, dv, start, i === 0 ? 0 : crcs[i - 1]!);
      assert.equal(r.kind, 'bad');
    }),
    { seed: seedFor('record round-trip'), numRuns: 300 },
  );
});
