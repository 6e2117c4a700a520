/** Seed ranges run by `npm test` (test/sim/sim-*.test.ts), and the regression seeds file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSeed, type SimResult } from './simulator.js';

/** Total seeds in the default test run, split across SIM_SHARDS files so they run in parallel. */
export const SIM_SEEDS = Number(process.env['SIM_SEEDS'] ?? 2000);
export const SIM_SHARDS = 2;
/** Fixed base so CI runs are reproducible; set SIM_SEED_BASE to explore other seeds. */
export const SIM_SEED_BASE = Number(process.env['SIM_SEED_BASE'] ?? 100_000);

export function regressionSeeds(): number[] {
  // dist/test/sim/*.js -> test/sim/seeds.txt
  const file = join(import.meta.dirname, '..', '..', '..', 'test', 'sim', 'seeds.txt');
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => Number(l.split(/\s+/)[0]));
}

export function runShard(shard: number): { ran: number; failures: SimResult[]; seconds: number } {
  const per = Math.ceil(SIM_SEEDS / SIM_SHARDS);
  const from = SIM_SEED_BASE + shard * per;
  const to = Math.min(SIM_SEED_BASE + SIM_SEEDS, from + per);
  const t0 = performance.now();
  const failures: SimResult[] = [];
  for (let s = from; s < to; s++) {
    const r = runSeed(s);
    if (!r.ok) failures.push(r);
  }
  return { ran: to - from, failures, seconds: (performance.now() - t0) / 1000 };
}

export function describeFailures(fs: SimResult[]): string {
  return fs.map((f) => `seed ${f.seed}: ${f.error?.split('\n')[0]}\n  reproduce with: npm run sim -- --seed ${f.seed}`).join('\n');
}
