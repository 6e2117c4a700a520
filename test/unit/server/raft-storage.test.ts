/**
 * RaftLogStorage.trim (src/server/node/raft-storage.ts): the log in memory keeps about
 * catchUpEntries entries below Raft's applied index, dropped in steps of a quarter of it; never
 * an entry above `applied - catchUpEntries`, never without snapshots (a lagging follower could
 * then never catch up), and the entries kept read back unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';
import { RaftLogStorage } from '../../../src/server/node/raft-storage.js';

const CONF = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

function entries(from: number, to: number): Entry[] {
  const es: Entry[] = [];
  for (let i = from; i <= to; i++) es.push({ term: 1, index: i, type: EntryType.Normal, data: Uint8Array.of(i & 0xff) });
  return es;
}

function storage(last: number, catchUp: number, snapshots: boolean): RaftLogStorage {
  return new RaftLogStorage(
    CONF,
    { appliedIndex: 0, appliedTerm: 0, hardState: { term: 1, vote: 0n, commit: last }, entries: entries(1, last) },
    catchUp,
    snapshots,
  );
}

test('trim keeps catchUpEntries below applied, in quarter steps', () => {
  const s = storage(1000, 100, true);
  assert.equal(s.firstIndex(), 1);
  s.trim(120); // releasable 20: below one step (25)
  assert.equal(s.firstIndex(), 1);
  s.trim(126); // releasable 26: one step past the first index
  assert.equal(s.firstIndex(), 27);
  s.trim(140); // releasable 40: 13 past, below a step
  assert.equal(s.firstIndex(), 27);
  s.trim(1000);
  assert.equal(s.firstIndex(), 901);
  assert.equal(s.lastIndex(), 1000);
  const kept = s.entries(901, 1001, Infinity);
  assert.deepEqual(kept.map((e) => e.index), entries(901, 1000).map((e) => e.index));
  assert.deepEqual(kept.map((e) => e.data[0]), entries(901, 1000).map((e) => e.data[0]));
  assert.equal(s.term(900), 1, 'the term of the first point stays known');
});

test('trim never drops past the last entry nor goes back', () => {
  const s = storage(50, 10, true);
  s.trim(10_000); // applied beyond the log (cannot happen; must not throw or empty the log)
  assert.equal(s.lastIndex(), 50);
  assert.ok(s.firstIndex() <= 50);
  const first = s.firstIndex();
  s.trim(5); // an older applied index: nothing comes back, nothing breaks
  assert.equal(s.firstIndex(), first);
});

test('trim does nothing without snapshots', () => {
  const s = storage(1000, 100, false);
  s.trim(1000);
  assert.equal(s.firstIndex(), 1);
  assert.equal(s.lastIndex(), 1000);
});

test('a catch-up of 1 entry still trims (step of at least one)', () => {
  const s = storage(20, 1, true);
  s.trim(20);
  assert.equal(s.firstIndex(), 20);
  assert.equal(s.lastIndex(), 20);
});
