// Known-bad inputs for each invariant checker of the simulator (test/sim/checkers/invariants.ts):
// every check must fire on the violation it names, and stay quiet on the matching good case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantViolation, RaftInvariants } from './checkers/invariants.js';
import type { Raft } from '../../src/raft/raft.js';
import type { Snapshot } from '../../src/raft/messages.js';
import { EntryType, type Entry } from '../../src/raftpb/types.js';

const ent = (index: number, term: number, data = `d${index}.${term}`): Entry => ({ index, term, type: EntryType.Normal, data: new TextEncoder().encode(data) });
const snap = (index: number, term: number): Snapshot => ({ data: new Uint8Array(0), metadata: { index, term, confState: { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } });
/** Just what onBecomeLeader reads of a Raft: its term and its log's indexes and terms. */
function fakeLeader(term: number, log: Entry[]): Raft {
  const first = log[0]?.index ?? 1;
  const last = log.length ? log[log.length - 1]!.index : 0;
  return {
    term,
    raftLog: {
      firstIndex: () => first,
      lastIndex: () => last,
      termOrNull: (i: number) => log.find((e) => e.index === i)?.term ?? null,
    },
  } as unknown as Raft;
}
const violates = (fn: () => void, re: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof InvariantViolation && re.test(e.message));
};

test('election safety: two leaders in one term', () => {
  const inv = new RaftInvariants();
  inv.onLeader(1n, 5);
  inv.onLeader(1n, 5);
  inv.onLeader(2n, 6);
  violates(() => inv.onLeader(3n, 5), /election safety: two leaders in term 5/);
});

test('commit agreement: a different term or different data at a committed index', () => {
  const inv = new RaftInvariants();
  inv.onCommitted(1n, ent(1, 1));
  inv.onCommitted(2n, ent(1, 1));
  violates(() => inv.onCommitted(3n, ent(1, 2)), /commit agreement: node 3 has committed entry 1 with term 2/);
  violates(() => inv.onCommitted(3n, ent(1, 1, 'other')), /commit agreement: node 3 committed different data at index 1/);
});

test('snapshot: a snapshot that disagrees with the committed term', () => {
  const inv = new RaftInvariants();
  inv.onCommitted(1n, ent(4, 2));
  inv.onSnapshot(2n, snap(4, 2));
  violates(() => inv.onSnapshot(3n, snap(4, 3)), /snapshot: node 3 installed snapshot at 4 term 3, committed term is 2/);
});

test('state machine safety: out of order, uncommitted, or a different entry applied', () => {
  const inv = new RaftInvariants();
  inv.onCommitted(1n, ent(1, 1));
  inv.onCommitted(1n, ent(2, 1));
  inv.onApply(1n, ent(1, 1), 1);
  violates(() => inv.onApply(1n, ent(2, 1), 3), /state machine safety: node 1 applied index 2, expected 3/);
  violates(() => inv.onApply(1n, ent(3, 1), 3), /applied entry 3 that nobody claimed committed/);
  violates(() => inv.onApply(2n, ent(2, 2), 2), /applied entry 2\/2 but the committed entry is term 1/);
  violates(() => inv.onApply(2n, ent(2, 1, 'other'), 2), /applied entry 2\/1/);
});

test('committed entry lost: a node overwrites its committed prefix', () => {
  const inv = new RaftInvariants();
  inv.onCommitted(1n, ent(1, 1));
  inv.onCommitted(1n, ent(2, 1));
  inv.onPersist(2n, [ent(3, 2)], 2); // above the node's commit: allowed
  inv.onPersist(2n, [ent(2, 2)], 1); // index 2 is above this node's own commit (1): allowed
  violates(() => inv.onPersist(2n, [ent(2, 2)], 2), /committed entry lost: node 2 overwrote committed index 2 \(term 1\) with term 2/);
});

test('leader completeness: a new leader missing or disagreeing on a committed entry', () => {
  const inv = new RaftInvariants();
  for (const e of [ent(1, 1), ent(2, 1), ent(3, 2)]) inv.onCommitted(1n, e);
  inv.onBecomeLeader(2n, fakeLeader(3, [ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 3)]));
  violates(() => inv.onBecomeLeader(3n, fakeLeader(3, [ent(1, 1), ent(2, 1)])), /leader completeness: leader 3 \(term 3\) has lastIndex 2 < committed 3/);
  violates(() => inv.onBecomeLeader(3n, fakeLeader(4, [ent(1, 1), ent(2, 1), ent(3, 3)])), /leader completeness: leader 3 \(term 4\) has term 3 at committed index 3/);
});

test('log matching: same index and term with different data, or agreeing above a disagreement', () => {
  const good = new Map([
    [1n, [ent(1, 1), ent(2, 1), ent(3, 2)]],
    [2n, [ent(1, 1), ent(2, 1), ent(3, 3)]],
  ]);
  RaftInvariants.checkLogMatching(good);
  violates(
    () => RaftInvariants.checkLogMatching(new Map([[1n, [ent(1, 1)]], [2n, [ent(1, 1, 'x')]]])),
    /log matching: nodes 1 and 2 differ at index 1 term 1/,
  );
  // Agree at index 3 (term 2) but differ at index 2 below it: the prefix must match.
  violates(
    () =>
      RaftInvariants.checkLogMatching(
        new Map([
          [1n, [ent(1, 1), ent(2, 1), ent(3, 2, 'same')]],
          [2n, [ent(1, 1), ent(2, 2), ent(3, 2, 'same')]],
        ]),
      ),
    /log matching: nodes 1 and 2 agree at index 3 but differ at 2/,
  );
});
