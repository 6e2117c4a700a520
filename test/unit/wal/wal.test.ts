import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openWalSync, openWal } from '../../../src/wal/wal.js';
import { WalCorruptError, WalInvalidArgumentError } from '../../../src/wal/errors.js';
import { entries, entry, segmentFiles, tmpDir } from './helpers.js';

test('a new WAL recovers empty; saved entries and hard state come back', async () => {
  const dir = tmpDir();
  const { recovery, wal } = await openWal({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(recovery, { hardState: { term: 0, vote: 0n, commit: 0 }, entries: [], lastIndex: 0 });
  assert.deepEqual(segmentFiles(dir).map((f) => path.basename(f)), ['0000000000000000-0000000000000001.wal']);
  assert.equal(fs.statSync(segmentFiles(dir)[0]!).size, 64 * 1024, 'preallocated');
  wal.save({ term: 1, vote: 1n, commit: 0 }, entries(1, 5));
  wal.save({ term: 1, vote: 1n, commit: 5 }, []);
  wal.sync();
  wal.close();
  const r = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(r.recovery.entries, entries(1, 5));
  assert.deepEqual(r.recovery.hardState, { term: 1, vote: 1n, commit: 5 });
  assert.equal(r.recovery.lastIndex, 5);
  assert.equal(r.recovery.repaired, undefined);
  r.wal.close();
  const r2 = openWalSync({ dir }, 3);
  assert.deepEqual(r2.recovery.entries, entries(4, 5), 'only entries after fromIndex');
  r2.wal.close();
});

test('a WAL started at fromIndex names its first segment after fromIndex + 1', () => {
  const dir = tmpDir();
  const { recovery, wal } = openWalSync({ dir, segmentBytes: 4096 }, 41);
  assert.equal(recovery.lastIndex, 41);
  assert.throws(() => wal.save(null, [entry(43)]), WalInvalidArgumentError, 'gap refused');
  wal.save(null, [entry(42)]);
  wal.close();
  assert.equal(path.basename(segmentFiles(dir)[0]!), '0000000000000000-000000000000002a.wal');
  const r = openWalSync({ dir, segmentBytes: 4096 }, 41);
  assert.deepEqual(r.recovery.entries, [entry(42)]);
  r.wal.close();
  assert.throws(
    () => openWalSync({ dir, segmentBytes: 4096 }, 10),
    (e: unknown) => e instanceof WalCorruptError && /begins at index 42 but recovery needs entries from index 11/.test(e.message),
  );
});

test('invalid input is refused and nothing of that call is persisted', () => {
  const dir = tmpDir();
  const { wal } = openWalSync({ dir, segmentBytes: 4096 }, 0);
  assert.throws(() => wal.save(null, [entry(1), entry(3)]), WalInvalidArgumentError);
  assert.throws(() => wal.save({ term: -1, vote: 0n, commit: 0 }, [entry(1)]), WalInvalidArgumentError);
  assert.throws(() => wal.save(null, [{ ...entry(1), index: 1.5 }]), WalInvalidArgumentError);
  wal.close();
  const r = openWalSync({ dir, segmentBytes: 4096 }, 0);
  assert.deepEqual(r.recovery.entries, []);
  r.wal.close();
});

test('segment rollover across many entries; purge with releaseTo', () => {
  const dir = tmpDir();
  const opts = { dir, segmentBytes: 4096 };
  const { wal } = openWalSync(opts, 0);
  for (let i = 1; i <= 1000; i += 10) {
    wal.save({ term: 1, vote: 0n, commit: i - 1 }, entries(i, i + 9, 1, 50));
    if (i % 100 === 1) wal.sync();
  }
  wal.close();
  const files = segmentFiles(dir);
  assert.ok(files.length > 20, `expected many segments, got ${files.length}`);
  const r = openWalSync(opts, 0);
  assert.equal(r.recovery.entries.length, 1000);
  assert.deepEqual(r.recovery.entries, entries(1, 1000, 1, 50));
  assert.deepEqual(r.recovery.hardState, { term: 1, vote: 0n, commit: 990 });
  // purge: segments wholly below 500 go away; recovery from 499 still has everything it needs
  r.wal.releaseTo(500);
  const left = r.wal.segmentNames();
  assert.ok(left.length < files.length);
  const firstIdx = parseInt(left[0]!.slice(17, 33), 16);
  assert.ok(firstIdx <= 500, 'the segment holding 500 is kept');
  r.wal.save(null, entries(1001, 1010, 1, 50));
  r.wal.close();
  const r2 = openWalSync(opts, 499);
  assert.deepEqual(r2.recovery.entries, entries(500, 1010, 1, 50));
  assert.deepEqual(r2.recovery.hardState, { term: 1, vote: 0n, commit: 990 }, 'hard state survives purge');
  r2.wal.close();
});

test('raft log truncation: re-appending at a lower index replaces the tail on recovery', () => {
  const dir = tmpDir();
  const opts = { dir, segmentBytes: 4096 };
  const { wal } = openWalSync(opts, 0);
  wal.save(null, entries(1, 60, 1, 40)); // spans segments
  wal.sync();
  wal.save({ term: 2, vote: 2n, commit: 3 }, entries(6, 8, 2, 40));
  wal.save(null, entries(9, 9, 2, 40));
  wal.close();
  const r = openWalSync(opts, 0);
  assert.deepEqual(r.recovery.entries, [...entries(1, 5, 1, 40), ...entries(6, 9, 2, 40)]);
  assert.equal(r.recovery.lastIndex, 9);
  r.wal.save(null, entries(4, 4, 3, 40));
  r.wal.close();
  const r2 = openWalSync(opts, 2);
  assert.deepEqual(r2.recovery.entries, [entry(3, 1, 40), entry(4, 3, 40)]);
  assert.equal(r2.recovery.lastIndex, 4);
  r2.wal.close();
});

test('bad magic: a directory that is not an etcd-ts WAL is refused', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, '0000000000000000-0000000000000001.wal'), Buffer.from('this is not a wal at all, just text'.repeat(10)));
  assert.throws(
    () => openWalSync({ dir }, 0),
    (e: unknown) => e instanceof WalCorruptError && /0000000000000000-0000000000000001\.wal at offset 0: not an etcd-ts WAL \(bad magic\)/.test(e.message),
  );
  const dir2 = tmpDir();
  openWalSync({ dir: dir2, segmentBytes: 4096 }, 0).wal.close();
  const f = segmentFiles(dir2)[0]!;
  const b = fs.readFileSync(f);
  b[16] = 'X'.charCodeAt(0); // first magic byte
  fs.writeFileSync(f, b);
  assert.throws(() => openWalSync({ dir: dir2, segmentBytes: 4096 }, 0), /not an etcd-ts WAL \(bad magic\)/);
});

test('unparsable segment names and seq gaps are refused', () => {
  const dir = tmpDir();
  const { wal } = openWalSync({ dir, segmentBytes: 4096 }, 0);
  wal.save(null, entries(1, 200, 1, 50));
  wal.close();
  const files = segmentFiles(dir);
  fs.unlinkSync(files[1]!);
  assert.throws(() => openWalSync({ dir, segmentBytes: 4096 }, 0), /seq gap/);
  fs.writeFileSync(path.join(dir, 'junk.wal'), '');
  assert.throws(() => openWalSync({ dir, segmentBytes: 4096 }, 0), /junk\.wal at offset 0: segment file name/);
});

test('next segment prepared ahead (spare) is installed on roll; a leftover spare is removed at open', () => {
  const dir = tmpDir();
  const opts = { dir, segmentBytes: 8192 };
  const { wal } = openWalSync(opts, 0);
  assert.equal(wal.nextSegmentReady, false);
  assert.equal(wal.prepareNext(4096), false);
  assert.equal(wal.prepareNext(4096), true);
  assert.ok(fs.existsSync(path.join(dir, 'spare.wal.tmp')));
  wal.save(null, entries(1, 300, 1, 40)); // rolls several times; the first uses the spare
  assert.ok(wal.rollCount >= 2);
  assert.equal(fs.existsSync(path.join(dir, 'spare.wal.tmp')), false);
  wal.prepareNext(1000); // a partly prepared spare left behind by a crash
  wal.sync();
  fs.closeSync(fs.openSync(path.join(dir, '0000000000000099-0000000000000001.wal.tmp'), 'w'));
  const r = openWalSync(opts, 0);
  assert.deepEqual(r.recovery.entries, entries(1, 300, 1, 40));
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'tmp files removed');
  for (const f of segmentFiles(dir)) assert.ok(fs.statSync(f).size >= 8192);
  r.wal.close();
  wal.close();
});

test('the next segment is prepared at the pace of the appends past half-way, and ready well before the roll', () => {
  const dir = tmpDir();
  const segmentBytes = 8 * 1024 * 1024;
  const { wal } = openWalSync({ dir, segmentBytes }, 0);
  const value = new Uint8Array(64 * 1024);
  let index = 0;
  const append = (): void => {
    index++;
    wal.save(null, [{ index, term: 1, type: 0, data: value }]);
  };
  while (wal.tailOffset < segmentBytes / 2 - value.length) append();
  assert.equal(wal.nextSegmentBehind, false, 'nothing is wanted before half-way');
  append();
  append();
  assert.equal(wal.nextSegmentBehind, true);
  let slices = 0;
  while (wal.nextSegmentBehind) {
    wal.prepareNext(1 << 20);
    slices++;
  }
  assert.equal(wal.nextSegmentReady, false, 'not all at once: only the head start and the pace so far');
  assert.ok(slices <= 2, `slices ${slices}`);
  // Appends and one slice whenever behind (as the writer does): ready before the segment is full.
  const startRolls = wal.rollCount;
  while (!wal.nextSegmentReady) {
    append();
    while (wal.nextSegmentBehind) wal.prepareNext(1 << 20);
    assert.equal(wal.rollCount, startRolls, 'the spare was ready before the roll');
  }
  assert.ok(wal.tailOffset < segmentBytes * 0.9, `ready at ${wal.tailOffset} of ${segmentBytes}`);
  wal.close();
});

test('hard state vote: a member ID above 2^53 survives a reopen (decision 0003)', () => {
  const dir = tmpDir();
  const vote = 0x8e9e05c52164694dn; // etcd's default member ID
  const { wal } = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  wal.save({ term: 3, vote, commit: 0 }, entries(1, 2));
  wal.save({ term: 3, vote: (1n << 64n) - 1n, commit: 2 }, []);
  wal.save({ term: 4, vote, commit: 2 }, []);
  wal.sync();
  wal.close();
  const r = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(r.recovery.hardState, { term: 4, vote, commit: 2 });
  r.wal.close();
});
