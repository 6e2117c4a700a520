// AutoCompactor with a fake clock: etcd's periodic schedule, revision mode's retention and
// step, errors (compacted counts as done, others are retried), and no overlapping compactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoCompactor } from '../../../src/server/auto-compactor.js';

function harness(mode: 'periodic' | 'revision', retention: number, fail?: (rev: number) => string | undefined) {
  const state = { now: 0, rev: 1, compacted: [] as number[], pending: [] as (() => void)[] };
  const c = new AutoCompactor({
    mode,
    retention,
    now: () => state.now,
    currentRevision: () => state.rev,
    compact: (rev) => new Promise<void>((resolve, reject) => {
      state.pending.push(() => {
        const code = fail?.(rev);
        if (code === undefined) {
          state.compacted.push(rev);
          resolve();
        } else reject(Object.assign(new Error(code), { code }));
      });
    }),
    log: () => {},
  });
  const settle = async () => {
    for (const p of state.pending.splice(0)) p();
    await new Promise((r) => setImmediate(r));
  };
  return { c, state, settle };
}

test('periodic: compacts at the revision of one retention period ago, every period after', async () => {
  const { c, state, settle } = harness('periodic', 10_000);
  assert.equal(c.intervalMs, 1000);
  // One write per 100 ms; tick every second.
  const step = async () => {
    state.now += 1000;
    state.rev += 10;
    c.tick();
    await settle();
  };
  for (let i = 0; i < 9; i++) await step();
  assert.deepEqual(state.compacted, []);
  for (let i = 0; i < 3; i++) await step();
  assert.equal(state.compacted.length, 1);
  // The compacted revision is about one retention period (10 s = 100 revisions) behind.
  assert.ok(state.rev - state.compacted[0]! >= 100 && state.rev - state.compacted[0]! <= 130, String(state.compacted));
  for (let i = 0; i < 10; i++) await step();
  assert.equal(state.compacted.length, 2);
  // Writes stop: the samples catch up with the last revision within two periods, then nothing
  // is compacted again (etcd's rev == lastRevision rule).
  const idle = async (n: number) => {
    for (let i = 0; i < n; i++) {
      state.now += 1000;
      c.tick();
      await settle();
    }
  };
  await idle(30);
  const settled = state.compacted.length;
  assert.equal(state.compacted[settled - 1], state.rev);
  await idle(30);
  assert.equal(state.compacted.length, settled);
});

test('revision: keeps at least `retention` revisions, compacts in steps of a tenth', async () => {
  const { c, state, settle } = harness('revision', 100);
  state.rev = 50;
  assert.equal(c.tick(), undefined);
  state.rev = 150;
  assert.equal(c.tick(), 50);
  await settle();
  state.rev = 155;
  assert.equal(c.tick(), undefined);
  state.rev = 160;
  assert.equal(c.tick(), 60);
  await settle();
  assert.deepEqual(state.compacted, [50, 60]);
  for (const r of state.compacted) assert.ok(r <= state.rev - 100);
});

test('no overlapping compactions; "compacted" counts as done; other errors are retried', async () => {
  let failing = true;
  const { c, state, settle } = harness('revision', 10, () => (failing ? 'ETCD_ERR_SERVER_STOPPED' : undefined));
  state.rev = 100;
  assert.equal(c.tick(), 90);
  assert.equal(c.tick(), undefined, 'one in flight');
  await settle();
  assert.deepEqual(state.compacted, []);
  failing = false;
  assert.equal(c.tick(), 90, 'retried after a failure');
  await settle();
  assert.deepEqual(state.compacted, [90]);
  const h2 = harness('revision', 10, () => 'ETCD_ERR_MVCC_COMPACTED');
  h2.state.rev = 100;
  assert.equal(h2.c.tick(), 90);
  await h2.settle();
  assert.equal(h2.c.tick(), undefined, 'compacted counts as done');
});

test('bad retention is refused', () => {
  assert.throws(() => harness('periodic', 0), /retention must be positive/);
  assert.throws(() => harness('revision', -5), /retention must be positive/);
});
