// Quorum arithmetic against a simple model (etcd: quorum/quick_test.go), inflights, storage.
import '../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Inflights } from '../../src/raft/inflights.js';
import { majorityCommittedIndex, majorityVoteResult, VoteResult } from '../../src/raft/quorum.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { ErrCompacted } from '../../src/raft/messages.js';
import { EntryType } from '../../src/raftpb/types.js';

/** Model: the largest index i such that a majority acked >= i. */
function alternativeCommitted(voters: bigint[], acked: Map<bigint, number>): number {
  if (voters.length === 0) return Number.MAX_SAFE_INTEGER;
  const q = Math.floor(voters.length / 2) + 1;
  let best = 0;
  for (const v of voters) {
    const idx = acked.get(v) ?? 0;
    const n = voters.filter((w) => (acked.get(w) ?? 0) >= idx).length;
    if (n >= q && idx > best) best = idx;
  }
  return best;
}

test('majorityCommittedIndex matches the model', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.bigInt({ min: 1n, max: 9n }), { maxLength: 7 }), fc.array(fc.nat(20), { minLength: 9, maxLength: 9 }), (voters, idx) => {
      const acked = new Map<bigint, number>();
      voters.forEach((v, i) => {
        if (idx[i]! % 4 !== 0) acked.set(v, idx[i]!);
      });
      assert.equal(majorityCommittedIndex(new Set(voters), (id) => acked.get(id)), alternativeCommitted(voters, acked));
    }),
  );
});

test('majority vote results', () => {
  const v = new Set([1n, 2n, 3n]);
  assert.equal(majorityVoteResult(v, new Map([[1n, true]])), VoteResult.Pending);
  assert.equal(majorityVoteResult(v, new Map([[1n, true], [2n, true]])), VoteResult.Won);
  assert.equal(majorityVoteResult(v, new Map([[1n, false], [2n, false]])), VoteResult.Lost);
  assert.equal(majorityVoteResult(new Set<bigint>(), new Map()), VoteResult.Won);
});

test('inflights: count and byte limits, freeLE', () => {
  const f = new Inflights(3, 100);
  f.add(1, 10);
  f.add(2, 10);
  assert.equal(f.full(), false);
  f.add(3, 10);
  assert.equal(f.full(), true);
  f.freeLE(2);
  assert.equal(f.length(), 1);
  f.add(4, 95);
  assert.equal(f.full(), true, 'byte budget reached');
  f.freeFirstOne();
  assert.equal(f.length(), 1);
  f.freeLE(10);
  assert.equal(f.length(), 0);
});

test('MemoryStorage: append truncates conflicts, compact, snapshot', () => {
  const s = new MemoryStorage();
  const e = (index: number, term: number) => ({ index, term, type: EntryType.Normal, data: new Uint8Array(0) });
  s.append([e(1, 1), e(2, 1), e(3, 1)]);
  s.append([e(2, 2)]);
  assert.equal(s.lastIndex(), 2);
  assert.equal(s.term(2), 2);
  s.append([e(3, 2), e(4, 2)]);
  s.createSnapshot(3, { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, new Uint8Array(0));
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  assert.throws(() => s.term(2), (err) => err === ErrCompacted);
  assert.equal(s.term(3), 2);
  assert.equal(s.entries(4, 5, 1000).length, 1);
});
