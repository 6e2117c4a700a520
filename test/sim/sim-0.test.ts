// Deterministic simulation, shard 0 of SIM_SHARDS (mixed 3- and 5-member clusters).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailures, runShard } from './seeds.js';

test('simulation seeds, shard 0', () => {
  const r = runShard(0);
  console.log(`shard 0: ${r.ran} seeds in ${r.seconds.toFixed(1)}s (${(r.ran / r.seconds).toFixed(1)} seeds/s)`);
  assert.equal(r.failures.length, 0, describeFailures(r.failures));
});
