// Seeds that once failed (test/sim/seeds.txt), plus a canary: the checkers must notice
// a broken cluster (style rule 13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { regressionSeeds } from './seeds.js';
import { runSeed } from './simulator.js';

for (const seed of regressionSeeds()) {
  test(`regression seed ${seed}`, () => {
    const r = runSeed(seed);
    assert.ok(r.ok, `seed ${seed}: ${r.error}\n  reproduce with: npm run sim -- --seed ${seed}`);
  });
}

test('a run is deterministic: the same seed gives the same result', () => {
  const a = runSeed(4242);
  const b = runSeed(4242);
  assert.deepEqual(a.stats, b.stats);
});

test('canary: the checkers catch reads served without ReadIndex', () => {
  let caughtAfter = -1;
  for (let i = 0; i < 300; i++) {
    const r = runSeed(500_000 + i, { canaryStaleReads: true });
    if (!r.ok) {
      assert.match(r.error ?? '', /linearizability/);
      caughtAfter = i + 1;
      break;
    }
  }
  assert.ok(caughtAfter > 0, 'stale reads went unnoticed for 300 seeds: the simulator has lost its teeth');
});
