/**
 * The WAL's snapshot marker (record type 5, docs/storage-wal.md): written by save(), it voids
 * every entry before it and the log continues at its index + 1; recovery reports it. The WAL
 * writer's append frame carries it (FLAG_SNAPSHOT) to the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWalSync } from '../../../src/wal/wal.js';
import { WalInvalidArgumentError } from '../../../src/wal/errors.js';
import { decodeAppend, encodeAppend } from '../../../src/threads/wal-writer-frames.js';
import { InlineWalWriter } from '../../../src/threads/wal-writer.js';
import { entries, tmpDir } from './helpers.js';

test('a marker voids the entries before it; recovery continues after it, with its hard state', () => {
  const dir = tmpDir();
  const a = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  // An old log that went past the snapshot point with entries of an old term (they must not survive).
  a.wal.save({ term: 1, vote: 0n, commit: 8 }, entries(1, 12, 1));
  a.wal.save({ term: 3, vote: 0n, commit: 100 }, [], { index: 100, term: 3 });
  a.wal.save({ term: 3, vote: 0n, commit: 102 }, entries(101, 103, 3));
  a.wal.close();
  const b = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(b.recovery.snapshot, { index: 100, term: 3 });
  assert.deepEqual(b.recovery.entries.map((e) => e.index), [101, 102, 103]);
  assert.ok(b.recovery.entries.every((e) => e.term === 3));
  assert.equal(b.recovery.lastIndex, 103);
  assert.equal(b.recovery.hardState.commit, 102);
  b.wal.close();
  // Read from past the marker (a store applied beyond it): only the later entries.
  const c = openWalSync({ dir, segmentBytes: 64 * 1024 }, 101);
  assert.deepEqual(c.recovery.entries.map((e) => e.index), [102, 103]);
  c.wal.close();
});

test('a marker below the last index also resets the log (the snapshot replaces a divergent tail)', () => {
  const dir = tmpDir();
  const a = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  a.wal.save({ term: 2, vote: 0n, commit: 5 }, entries(1, 20, 2));
  a.wal.save(null, [], { index: 10, term: 4 });
  a.wal.save(null, entries(11, 11, 4));
  // A gap after the marker is refused, as after any last index.
  assert.throws(() => a.wal.save(null, entries(13, 13, 4)), WalInvalidArgumentError);
  a.wal.close();
  const b = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(b.recovery.entries.map((e) => [e.index, e.term]), [[11, 4]]);
  assert.equal(b.recovery.lastIndex, 11);
  b.wal.close();
});

test('a marker that is not a safe positive index and term is refused and writes nothing', () => {
  const dir = tmpDir();
  const a = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  a.wal.save(null, entries(1, 3));
  for (const bad of [{ index: 0, term: 1 }, { index: 5, term: 0 }, { index: 2 ** 53, term: 1 }, { index: 1.5, term: 1 }]) {
    assert.throws(() => a.wal.save({ term: 1, vote: 0n, commit: 3 }, entries(4, 4), bad), WalInvalidArgumentError);
  }
  a.wal.close();
  const b = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.equal(b.recovery.snapshot, undefined);
  assert.equal(b.recovery.lastIndex, 3);
  b.wal.close();
});

test('markers survive segment rolls; the last one counts', () => {
  const dir = tmpDir();
  const a = openWalSync({ dir, segmentBytes: 4096 }, 0);
  a.wal.save(null, entries(1, 50, 1, 64));
  a.wal.save(null, [], { index: 500, term: 2 });
  a.wal.save(null, entries(501, 560, 2, 64));
  a.wal.save(null, [], { index: 900, term: 5 });
  a.wal.save({ term: 5, vote: 0n, commit: 905 }, entries(901, 905, 5, 64));
  a.wal.close();
  const b = openWalSync({ dir, segmentBytes: 4096 }, 0);
  assert.deepEqual(b.recovery.snapshot, { index: 900, term: 5 });
  assert.deepEqual(b.recovery.entries.map((e) => e.index), [901, 902, 903, 904, 905]);
  b.wal.close();
});

test('the append frame carries the marker to the worker, in the first part only', () => {
  const es = entries(11, 40, 2, 200);
  const parts = encodeAppend(7, { term: 2, vote: 0n, commit: 40 }, es, 1024, { index: 10, term: 2 });
  assert.ok(parts.length > 1);
  const decoded = parts.map((p) => decodeAppend(p, 0, p.length));
  assert.deepEqual(decoded[0]!.snapshot, { index: 10, term: 2 });
  assert.ok(decoded.slice(1).every((d) => d.snapshot === null));
  assert.deepEqual(decoded.flatMap((d) => d.entries.map((e) => e.index)), es.map((e) => e.index));
  const plain = encodeAppend(8, null, es.slice(0, 1), 1 << 20);
  assert.equal(decodeAppend(plain[0]!, 0, plain[0]!.length).snapshot, null);
  // Truncated inside the marker: refused.
  const one = encodeAppend(9, null, [], 1 << 20, { index: 3, term: 1 })[0]!;
  assert.throws(() => decodeAppend(one, 0, one.length - 4));
});

test('the inline WAL writer writes the marker durably before later appends', async () => {
  const dir = tmpDir();
  const { writer } = await InlineWalWriter.open({ dir, segmentBytes: 64 * 1024 }, 0);
  await writer.append({ term: 1, vote: 0n, commit: 2 }, entries(1, 2));
  await writer.append({ term: 4, vote: 0n, commit: 70 }, [], { index: 70, term: 4 });
  await writer.append(null, entries(71, 72, 4));
  await writer.close();
  const b = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(b.recovery.snapshot, { index: 70, term: 4 });
  assert.deepEqual(b.recovery.entries.map((e) => e.index), [71, 72]);
  assert.equal(b.recovery.hardState.commit, 70);
  b.wal.close();
});
