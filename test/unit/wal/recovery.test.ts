import '../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { openWalSync } from '../../../src/wal/wal.js';
import { WalCorruptError } from '../../../src/wal/errors.js';
import { entries, entry, segmentFiles, seedFor, tmpDir } from './helpers.js';

const SEG = 8192;

/** Writes entries 1..n (each its own sync), returns the offsets of each entry record in the last file. */
function writeLog(dir: string, n: number, size: number): { file: string; starts: Map<number, number>; end: number } {
  const { wal } = openWalSync({ dir, segmentBytes: SEG }, 0);
  const starts = new Map<number, number>();
  let file = '';
  for (let i = 1; i <= n; i++) {
    wal.save(null, [entry(i, 1, size)]);
    wal.sync();
    // the record of i ends at tailOffset; its start is tailOffset - record size
    file = wal.currentFile;
    starts.set(i, wal.tailOffset - (16 + ((21 + size + 7) & ~7)));
  }
  const end = wal.tailOffset;
  wal.close();
  return { file, starts, end };
}

test('torn tail: cutting the file anywhere inside the last record drops only that record (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.boolean(), (size, cutSeed, truncate) => {
      const dir = tmpDir();
      const n = 12;
      const { file, starts, end } = writeLog(dir, n, size);
      const start = starts.get(n)!;
      const real = 16 + 21 + size; // record bytes before the zero padding
      const cut = start + 1 + (cutSeed % ((truncate ? end : start + real) - start - 1)); // strictly inside the last record
      if (truncate) {
        fs.truncateSync(file, cut); // the write never reached the disk past `cut`
      } else {
        const fd = fs.openSync(file, 'r+'); // the unsynced rest reads as preallocated zeros
        fs.writeSync(fd, new Uint8Array(end - cut), 0, end - cut, cut);
        fs.closeSync(fd);
      }
      const { recovery, wal } = openWalSync({ dir, segmentBytes: SEG }, 0);
      const untouched = !truncate && entry(n, 1, size).data.subarray(Math.max(0, cut - start - 37)).every((x) => x === 0) && cut >= start + 37;
      if (untouched) {
        // the zeroed bytes were zero already: the record is intact
        assert.deepEqual(recovery.entries, entries(1, n, 1, size));
        wal.close();
        return;
      }
      assert.deepEqual(recovery.entries, entries(1, n - 1, 1, size));
      assert.equal(recovery.lastIndex, n - 1);
      assert.deepEqual(recovery.repaired, { file, offset: start });
      assert.equal(fs.statSync(file).size >= SEG, true, 'preallocation restored');
      // writable again
      wal.save(null, [entry(n, 2, size), entry(n + 1, 2, size)]);
      wal.close();
      const r2 = openWalSync({ dir, segmentBytes: SEG }, 0);
      assert.deepEqual(r2.recovery.entries, [...entries(1, n - 1, 1, size), entry(n, 2, size), entry(n + 1, 2, size)]);
      assert.equal(r2.recovery.repaired, undefined);
      r2.wal.close();
      fs.rmSync(dir, { recursive: true });
    }),
    { seed: seedFor('torn tail'), numRuns: 60 },
  );
});

test('mid-file corruption: a flipped byte in an earlier record names the file and offset', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (victim, byteSeed, bit) => {
      const dir = tmpDir();
      const size = 40;
      const { file, starts } = writeLog(dir, 12, size);
      const recordSize = 16 + ((21 + size + 7) & ~7);
      const at = starts.get(victim)!;
      const byte = at + (byteSeed % (16 + 21 + size)); // header or payload, not padding
      const b = fs.readFileSync(file);
      b[byte]! ^= 1 << bit;
      fs.writeFileSync(file, b);
      assert.throws(
        () => openWalSync({ dir, segmentBytes: SEG }, 0),
        (e: unknown) =>
          e instanceof WalCorruptError && e.file === file && e.offset === at && e.message.includes(`${file} at offset ${at}`),
      );
      assert.ok(recordSize > 0);
      fs.rmSync(dir, { recursive: true });
    }),
    { seed: seedFor('mid-file corruption'), numRuns: 40 },
  );
});

test('corruption in an older segment is refused, not truncated', () => {
  const dir = tmpDir();
  const { wal } = openWalSync({ dir, segmentBytes: 4096 }, 0);
  wal.save(null, entries(1, 200, 1, 30));
  wal.close();
  const files = segmentFiles(dir);
  assert.ok(files.length >= 3);
  const b = fs.readFileSync(files[0]!);
  b[200]! ^= 0xff;
  fs.writeFileSync(files[0]!, b);
  assert.throws(() => openWalSync({ dir, segmentBytes: 4096 }, 0), (e: unknown) => e instanceof WalCorruptError && e.file === files[0]);
});

test('records lost at the end of an older segment break the crc chain', () => {
  const dir = tmpDir();
  const { wal } = openWalSync({ dir, segmentBytes: 4096 }, 0);
  wal.save(null, entries(1, 200, 1, 30));
  wal.close();
  const files = segmentFiles(dir);
  // zero the last entry record of segment 0 (its index is the next segment's firstIndex - 1)
  const b = fs.readFileSync(files[0]!);
  let last = 0;
  for (let off = 112; off + 16 <= b.length; ) {
    const n = b.readUInt32LE(off + 4);
    if (b.readUInt32LE(off + 8) === 0) break;
    last = off;
    off += 16 + ((n + 7) & ~7);
  }
  b.fill(0, last);
  fs.writeFileSync(files[0]!, b);
  assert.throws(() => openWalSync({ dir, segmentBytes: 4096 }, 0), /crc chain broken/);
});

test('a zeroed hole inside acknowledged data of the last segment is corruption, not a torn tail', () => {
  const dir = tmpDir();
  const { file, starts } = writeLog(dir, 12, 40);
  const b = fs.readFileSync(file);
  b.fill(0, starts.get(3)!, starts.get(4)!);
  fs.writeFileSync(file, b);
  assert.throws(
    () => openWalSync({ dir, segmentBytes: SEG }, 0),
    (e: unknown) => e instanceof WalCorruptError && e.offset === starts.get(3) && /zero header; a well-formed record follows/.test(e.message),
  );
});
