// ApplyLoop checkpoints (src/server/apply-loop.ts): every `checkpointEntries` applied entries, or
// sooner once `checkpointBytes` of entry data were applied; a checkpoint flushes the pipe first
// and only then releases the log, at an index the flushed store holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyLoop } from '../../../src/server/apply-loop.js';
import type { ApplyOutcome, ApplyPipe } from '../../../src/server/ports.js';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';

/** A pipe that applies at once and records the order of applies and flushes. */
function recordingPipe(events: string[]): ApplyPipe {
  let applied = 0;
  return {
    apply: async (entries) => {
      applied = entries[entries.length - 1]!.index;
      events.push(`apply ${applied}`);
      return entries.map((e): ApplyOutcome => ({ index: e.index, requestId: 0n, revision: 1 }));
    },
    flush: async () => {
      events.push(`flush ${applied}`);
    },
    close: async () => undefined,
    installSnapshot: async () => {
      throw new Error('no snapshots in these tests');
    },
  };
}

const entry = (index: number, bytes: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array(bytes) });

async function run(opts: { checkpointEntries: number; checkpointBytes?: number }, batches: number[][]): Promise<{ events: string[]; released: number[] }> {
  const events: string[] = [];
  const released: number[] = [];
  const loop = new ApplyLoop({ pipe: recordingPipe(events), appliedIndex: 0, ...opts, releaseLog: (i) => (released.push(i), events.push(`release ${i}`)) });
  let index = 0;
  for (const sizes of batches) {
    loop.enqueue(sizes.map((b) => entry(++index, b)));
    await loop.drain();
  }
  await loop.drain();
  return { events, released };
}

test('a checkpoint every checkpointEntries entries when entries are small', async () => {
  const { released } = await run({ checkpointEntries: 3, checkpointBytes: 1 << 30 }, [[10], [10], [10], [10], [10], [10], [10]]);
  assert.deepEqual(released, [3, 6]);
});

test('large entries checkpoint by bytes long before checkpointEntries', async () => {
  const { released, events } = await run({ checkpointEntries: 100_000, checkpointBytes: 1000 }, [[400], [400], [400], [100], [900], [50]]);
  assert.deepEqual(released, [3, 5]);
  // The flush that makes the store hold an index comes before that index is released.
  for (const r of released) assert.ok(events.indexOf(`flush ${r}`) < events.indexOf(`release ${r}`), events.join(', '));
});

test('bytes count from the last checkpoint, whichever rule triggered it', async () => {
  const { released } = await run({ checkpointEntries: 2, checkpointBytes: 1000 }, [[10], [10], [990], [20], [600], [600]]);
  // 2 entries -> 2; then 990+20 = 1010 bytes -> 4; then 600+600 -> 6 (also 2 entries).
  assert.deepEqual(released, [2, 4, 6]);
});

test('the default byte threshold keeps a log of large entries bounded', async () => {
  // 40 entries of 4 MiB (160 MiB) with the default --snapshot-count: released at least once.
  const { released } = await run({ checkpointEntries: 100_000 }, Array.from({ length: 40 }, () => [4 * 1024 * 1024]));
  assert.ok(released.length >= 1 && released[0]! <= 32, `released ${released.join(',')}`);
});
