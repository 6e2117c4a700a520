/**
 * syncIfNeeded (docs/storage-wal.md, "Writing"): the WAL writers fdatasync a batch only when it
 * holds entries, a snapshot marker, or a new term or vote; a commit-only hard state waits for the
 * next sync. A crash before that sync loses only the commit index, never an entry or a vote.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openWalSync } from '../../../src/wal/wal.js';
import { InlineWalWriter } from '../../../src/threads/wal-writer.js';
import { entries, tmpDir } from './helpers.js';

test('entries, a new term, a new vote and a snapshot marker are synced; a commit-only hard state is not', () => {
  const dir = tmpDir();
  const { wal } = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  const base = wal.syncCount;
  assert.equal(wal.syncIfNeeded(), false, 'nothing saved');
  wal.save({ term: 1, vote: 0n, commit: 0 }, []);
  assert.equal(wal.syncIfNeeded(), true, 'a new term');
  wal.save({ term: 1, vote: 7n, commit: 0 }, []);
  assert.equal(wal.syncIfNeeded(), true, 'a new vote');
  wal.save(null, entries(1, 3));
  assert.equal(wal.syncIfNeeded(), true, 'entries without a hard state');
  wal.save({ term: 1, vote: 7n, commit: 3 }, []);
  assert.equal(wal.syncIfNeeded(), false, 'commit only');
  wal.save({ term: 1, vote: 7n, commit: 3 }, entries(4, 4));
  wal.save({ term: 1, vote: 7n, commit: 4 }, []);
  assert.equal(wal.syncIfNeeded(), true, 'a batch with entries and a commit-only save');
  wal.save(null, [], { index: 10, term: 1 });
  assert.equal(wal.syncIfNeeded(), true, 'a snapshot marker');
  assert.equal(wal.syncCount - base, 5);
  wal.close();
});

test('a crash before the next sync loses only the commit index of a commit-only save; the next sync makes it durable', () => {
  const dir = tmpDir();
  const { wal } = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  wal.save({ term: 2, vote: 1n, commit: 0 }, entries(1, 5));
  wal.syncIfNeeded();
  wal.save({ term: 2, vote: 1n, commit: 5 }, []);
  assert.equal(wal.syncIfNeeded(), false);
  // "Crash": read the directory as a restart would, without closing (nothing more is written).
  const crashed = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(crashed.recovery.entries, entries(1, 5), 'every synced entry');
  assert.deepEqual(crashed.recovery.hardState, { term: 2, vote: 1n, commit: 0 }, 'the commit-only save is lost, the term and vote are not');
  crashed.wal.close();
  // The writer goes on: its next entry's sync carries the commit-only record too.
  const dir2 = tmpDir();
  const w2 = openWalSync({ dir: dir2, segmentBytes: 64 * 1024 }, 0).wal;
  w2.save({ term: 2, vote: 1n, commit: 0 }, entries(1, 5));
  w2.syncIfNeeded();
  w2.save({ term: 2, vote: 1n, commit: 5 }, []);
  w2.syncIfNeeded();
  w2.save(null, entries(6, 6));
  assert.equal(w2.syncIfNeeded(), true);
  const r = openWalSync({ dir: dir2, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(r.recovery.hardState, { term: 2, vote: 1n, commit: 5 });
  assert.equal(r.recovery.lastIndex, 6);
  r.wal.close();
  w2.close();
});

test('the inline writer acknowledges commit-only appends without a sync, and concurrent appends still resolve in order', async () => {
  const dir = tmpDir();
  const { writer } = await InlineWalWriter.open({ dir, segmentBytes: 64 * 1024 }, 0);
  await writer.append({ term: 1, vote: 1n, commit: 0 }, entries(1, 2));
  const syncs = writer.stats.syncs;
  const order: number[] = [];
  await Promise.all([
    writer.append({ term: 1, vote: 1n, commit: 2 }, []).then(() => order.push(1)),
    writer.append({ term: 1, vote: 1n, commit: 2 }, entries(3, 3)).then(() => order.push(2)),
    writer.append({ term: 1, vote: 1n, commit: 3 }, []).then(() => order.push(3)),
  ]);
  assert.deepEqual(order, [1, 2, 3]);
  assert.ok(writer.stats.syncs - syncs <= 1, 'one batch, at most one sync');
  await writer.close();
  const r = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(r.recovery.hardState, { term: 1, vote: 1n, commit: 3 }, 'close syncs what was buffered');
  r.wal.close();
});
