/**
 * The simulator's teeth: each deliberate bug of src/raft/mutations.ts must make some seed
 * fail, and that seed must pass without the bug (so the failure is the bug's doing).
 * `npm run sim -- --mutations` re-runs the whole table (docs/raft.md); mutations.test.ts
 * checks every mutation on each `npm test`, starting at the seed recorded below and
 * searching on for a bounded number of seeds if a simulator change moved the catch.
 */
import type { MutationName } from '../../src/raft/mutations.js';
import { runSeed } from './simulator.js';

export interface Hunt {
  /** First failing seed, or undefined when none failed within the budget. */
  seed?: number;
  /** Seeds run, the failing one included. */
  tried: number;
  /** First line of the failure. */
  by?: string;
  /** The failing seed passes with no mutation. */
  controlOk?: boolean;
}

export function huntMutation(mutation: MutationName, from: number, maxSeeds: number): Hunt {
  for (let i = 0; i < maxSeeds; i++) {
    const seed = from + i;
    const r = runSeed(seed, { mutation });
    // An inconclusive linearizability check fails a seed, but it proves nothing about the bug.
    if (!r.ok && !/linearizability: inconclusive/.test(r.error ?? '')) {
      const control = runSeed(seed);
      return { seed, tried: i + 1, by: (r.error ?? '').split('\n')[0]!, controlOk: control.ok };
    }
  }
  return { tried: maxSeeds };
}
