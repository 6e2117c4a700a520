/**
 * The simulator's command line (npm run sim).
 *   node dist/test/sim/vopr.js --seed N      replay one seed with a readable trace
 *   node dist/test/sim/vopr.js --seeds K     run K seeds (from --from, default a random base)
 *                                           --stop-on-fail: stop at the first failing seed
 */
import { runSeed, swarmOptions } from './simulator.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): number {
  const seedArg = arg('--seed');
  if (seedArg !== undefined) {
    const seed = Number(seedArg);
    const opts = swarmOptions(seed, { trace: true });
    const r = runSeed(seed, { trace: true });
    const { trace: _t, ...printable } = opts;
    console.log(`seed ${seed}: ${JSON.stringify(printable)}`);
    if (!r.ok) {
      const tail = Number(arg('--tail') ?? 400);
      console.log((r.trace ?? []).slice(-tail).join('\n'));
      console.log(`\nFAILED seed ${seed}: ${r.error}`);
      console.log(`reproduce with: npm run sim -- --seed ${seed}`);
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
    const r = runSeed(seed);
    if (!r.ok) {
      failed.push(seed);
      console.log(`FAILED seed ${seed}: ${r.error?.split('\n')[0]}`);
      console.log(`  reproduce with: npm run sim -- --seed ${seed}`);
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
