/**
 * The simulator's command line (npm run sim).
 *   node dist/test/sim/vopr.js --seed N      replay one seed with a readable trace
 *   node dist/test/sim/vopr.js --seeds K     run K seeds (from --from, default a random base)
 *                                           --stop-on-fail: stop at the first failing seed
 *   --mutation NAME                          with either: switch on one deliberate bug of
 *                                           src/raft/mutations.ts in every node
 *   node dist/test/sim/vopr.js --mutations [--seeds K] [--from N] [--only NAME]
 *                                           re-runs the bug-injection table of docs/raft.md:
 *                                           for each mutation, the first seed from N that fails
 *                                           (up to K seeds), what caught it, and a check that the
 *                                           same seed passes without the mutation
 */
import { MUTATION_NAMES, type MutationName } from '../../src/raft/mutations.js';
import { runSeed, swarmOptions } from './simulator.js';
import { huntMutation } from './mutations.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function mutationArg(): MutationName | undefined {
  const m = arg('--mutation');
  if (m === undefined) return undefined;
  if (!(MUTATION_NAMES as readonly string[]).includes(m)) throw new Error(`--mutation must be one of ${MUTATION_NAMES.join(', ')}; got ${m}`);
  return m as MutationName;
}

function mutationsTable(): number {
  const k = Number(arg('--seeds') ?? 5000);
  const from = Number(arg('--from') ?? 100_000);
  const only = arg('--only');
  let missed = 0;
  console.log(`| # | mutation | caught after | by (first line of the failure) | seed |`);
  console.log(`|---|---|---|---|---|`);
  MUTATION_NAMES.forEach((name, i) => {
    if (only !== undefined && only !== name) return;
    const t0 = performance.now();
    const h = huntMutation(name, from, k);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (h.seed === undefined) {
      missed++;
      console.log(`| ${i + 1} | ${name} | not in ${k} seeds (${secs}s) | — | — |`);
    } else {
      console.log(`| ${i + 1} | ${name} | ${h.tried} seeds (${secs}s) | ${h.by} | ${h.seed}${h.controlOk ? '' : ' (FAILS WITHOUT THE MUTATION TOO)'} |`);
    }
  });
  return missed > 0 ? 1 : 0;
}

function main(): number {
  if (process.argv.includes('--mutations')) return mutationsTable();
  const mutation = mutationArg();
  const extra = mutation !== undefined ? { mutation } : {};
  const seedArg = arg('--seed');
  if (seedArg !== undefined) {
    const seed = Number(seedArg);
    const opts = swarmOptions(seed, { trace: true, ...extra });
    const r = runSeed(seed, { trace: true, ...extra });
    const { trace: _t, ...printable } = opts;
    console.log(`seed ${seed}: ${JSON.stringify(printable)}`);
    if (!r.ok) {
      const tail = Number(arg('--tail') ?? 400);
      console.log((r.trace ?? []).slice(-tail).join('\n'));
      console.log(`\nFAILED seed ${seed}: ${r.error}`);
      console.log(`reproduce with: npm run sim -- --seed ${seed}${mutation !== undefined ? ` --mutation ${mutation}` : ''}`);
      return 1;
    }
    if (process.argv.includes('--trace')) console.log((r.trace ?? []).join('\n'));
    console.log(`seed ${seed}: ok ${JSON.stringify(r.stats)}`);
    return 0;
  }
  const k = Number(arg('--seeds') ?? 200);
  const from = Number(arg('--from') ?? Math.floor(Date.now() % 1_000_000_000));
  const t0 = performance.now();
  const failed: number[] = [];
  let ran = 0;
  for (let i = 0; i < k; i++) {
    ran++;
    const seed = from + i;
    const r = runSeed(seed, extra);
    if (!r.ok) {
      failed.push(seed);
      console.log(`FAILED seed ${seed}: ${r.error?.split('\n')[0]}`);
      console.log(`  reproduce with: npm run sim -- --seed ${seed}${mutation !== undefined ? ` --mutation ${mutation}` : ''}`);
      if (process.argv.includes('--stop-on-fail')) {
        console.log(`first failure after ${i + 1} seeds`);
        break;
      }
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`ran ${ran} seeds (${from}..${from + ran - 1}) in ${secs.toFixed(1)}s (${(ran / secs).toFixed(1)} seeds/s); ${failed.length} failed${failed.length ? `: ${failed.join(' ')}` : ''}`);
  return failed.length ? 1 : 0;
}

process.exitCode = main();
