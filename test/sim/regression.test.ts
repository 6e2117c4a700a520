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
