// The simulator's teeth, proven on every run (issue 14): each deliberate bug of
// src/raft/mutations.ts is switched on alone and must make a seed fail that passes without it.
// Seeds are the ones `npm run sim -- --mutations` recorded (docs/raft.md); if a simulator
// change moves the catch, the test searches on for SEARCH_SEEDS seeds before failing, and
// says how to re-record. A bug the simulator cannot reach is checked at the level that
// catches it (the unit scenario of test/raft/raft.test.ts), with the mutation switched on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MUTATION_NAMES, type MutationName, type RaftMutations } from '../../src/raft/mutations.js';
import { newMessage, MessageType, StateType } from '../../src/raft/messages.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { SeededRng } from '../../src/raft/rng.js';
import { MemoryStorage } from '../../src/raft/storage.js';
import { EntryType } from '../../src/raftpb/types.js';
import { huntMutation } from './mutations.js';

/** Seeds after a failing one to try when the recorded seed no longer catches the bug. */
const SEARCH_SEEDS = Number(process.env['SIM_MUTATION_SEARCH'] ?? 300);

/** Where each mutation is caught: a simulator seed, or a unit scenario (with why the simulator cannot reach it). */
const CAUGHT: Readonly<Record<MutationName, { seed: number } | { unit: string }>> = {
  commitOldTerm: { seed: 100710 },
  voteWithoutLogCheck: { seed: 100004 },
  readIndexWithoutHeartbeat: { seed: 100693 },
  voteNotRecorded: { seed: 100010 },
  readIndexBeforeTermCommit: { seed: 100127 },
  followerCommitBeyondVerified: {
    unit:
      'unreachable by message schedules here: the leader backtracks by term, so the first append a follower accepts in a ' +
      'term starts at the divergence and truncates the stale tail; a snapshot fast-forward happens only at or past it (docs/raft.md)',
  },
  voteOnlyHardStateDropped: { seed: 100902 },
  heartbeatFullCommit: { seed: 100000 },
};

test('every mutation has a row here', () => {
  assert.deepEqual(Object.keys(CAUGHT).sort(), [...MUTATION_NAMES].sort());
});

MUTATION_NAMES.forEach((name, i) => {
  const where = CAUGHT[name];
  if (!('seed' in where)) return;
  test(`mutation ${i + 1} (${name}) is caught by the simulator`, () => {
    const h = huntMutation(name, where.seed, SEARCH_SEEDS);
    assert.ok(
      h.seed !== undefined,
      `the simulator no longer catches ${name} in ${SEARCH_SEEDS} seeds from ${where.seed}: it has lost its teeth for this bug ` +
        `(search further: npm run sim -- --mutations --only ${name} --from ${where.seed} --seeds 20000)`,
    );
    assert.ok(h.controlOk, `seed ${h.seed} fails without the mutation too, so it proves nothing about ${name}`);
    if (h.seed !== where.seed) console.log(`${name}: caught at seed ${h.seed}, not the recorded ${where.seed}: update CAUGHT in test/sim/mutations.test.ts`);
  });
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const conf = { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

/** The §5.3 unit scenario: a follower with a stale tail gets a size-limited append carrying the leader's commit 5. */
function followerCommitAfterShortAppend(mutations?: RaftMutations): number {
  const s = new MemoryStorage(conf);
  s.append([1, 2, 3, 4, 5].map((index) => ({ index, term: 1, type: EntryType.Normal, data: enc(`old${index}`) })));
  s.setHardState({ term: 1, vote: 0n, commit: 0 });
  const raw = new RawNode({ id: 2n, electionTick: 10, heartbeatTick: 1, storage: s, maxInflightMsgs: 16, rng: new SeededRng(3), ...(mutations ? { mutations } : {}) });
  const e3 = { index: 3, term: 1, type: EntryType.Normal, data: enc('old3') };
  raw.step(newMessage({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 2, index: 2, logTerm: 1, entries: [e3], commit: 5 }));
  return raw.raft.raftLog.committed;
}

test('mutation 6 (followerCommitBeyondVerified) is caught by the §5.3 unit scenario', () => {
  assert.equal(followerCommitAfterShortAppend(), 3, 'without the bug: commit stops at the verified entry');
  assert.equal(followerCommitAfterShortAppend({ followerCommitBeyondVerified: true }), 5, 'with the bug the stale tail is committed, which the unit test refuses');
});

/** The §5.4.2 unit scenario: a majority acknowledges an old-term entry before the new leader's own entry. */
function commitAfterOldTermAck(mutations?: RaftMutations): number {
  const mk = (withEntry: boolean): MemoryStorage => {
    const s = new MemoryStorage(conf);
    if (withEntry) s.append([{ term: 1, index: 1, type: EntryType.Normal, data: enc('old') }]);
    s.setHardState({ term: 1, vote: 0n, commit: 0 });
    return s;
  };
  const raw = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: mk(true), maxInflightMsgs: 16, rng: new SeededRng(7), ...(mutations ? { mutations } : {}) });
  const r = raw.raft;
  r.becomeFollower(1, 0n);
  raw.campaign();
  r.step(newMessage({ type: MessageType.MsgPreVoteResp, from: 2n, to: 1n, term: 2 }));
  r.step(newMessage({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 2 }));
  assert.equal(r.state, StateType.Leader);
  r.step(newMessage({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: 2, index: 1 }));
  return r.raftLog.committed;
}

test('mutation 1 (commitOldTerm) is also caught by the §5.4.2 unit scenario', () => {
  assert.equal(commitAfterOldTermAck(), 0);
  assert.equal(commitAfterOldTermAck({ commitOldTerm: true }), 1);
});
