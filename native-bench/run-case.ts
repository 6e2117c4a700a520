/**
 * Runs one case against a running cluster. Request cases run the load generator
 * (dist/bench/main.js) as a child process with --json, and add the server's CPU use over
 * the run (from /proc) next to the generator's own. The memory case loads keys, reads
 * RSS and data dir size, and times a restart to the first read.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { BenchResult } from '../bench/result.js';
import { keyBytes } from '../bench/keys.js';
import { prefill } from '../bench/prefill.js';
import { cpuSeconds, dirBytes, rssBytes } from './procfs.js';
import type { Cluster } from './server.js';
import type { MemoryCase, RequestCase } from './suite.js';

const BENCH_MAIN = fileURLToPath(new URL('../bench/main.js', import.meta.url));

export type Figures = Record<string, number>;

export async function runBench(args: string[], endpoints: string[]): Promise<BenchResult> {
  const child = spawn(process.execPath, [BENCH_MAIN, ...args, '--endpoints', endpoints.join(','), '--json', '--no-progress'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`bench ${args.join(' ')} failed (${code}): ${err.trim() || out.trim()}`);
  return JSON.parse(line) as BenchResult;
}

export async function runRequestCase(c: RequestCase, cluster: Cluster): Promise<{ figures: Figures; result: BenchResult }> {
  const pids = cluster.members.map((_, i) => cluster.pid(i));
  const cpu0 = pids.map(cpuSeconds);
  const t0 = performance.now();
  // Peak RSS of member 0 while the case runs (watch cases hold many watchers only meanwhile).
  let peakRss = rssBytes(pids[0]!);
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssBytes(pids[0]!));
    } catch {
      // the process may be gone; the case reports its error
    }
  }, 200);
  let result: BenchResult;
  try {
    result = await runBench(c.args, cluster.endpoints);
  } finally {
    clearInterval(sampler);
  }
  const wallS = (performance.now() - t0) / 1000;
  const serverCpuS = pids.map(cpuSeconds).reduce((a, x, i) => a + (x - cpu0[i]!), 0);
  const figures: Figures = {
    throughput: result.throughput,
    p50Ms: result.latency.p50Ms,
    p99Ms: result.latency.p99Ms,
    errors: result.errorCount,
    serverCpuPct: (100 * serverCpuS) / wallS,
    generatorCpuPct: (100 * (result.generatorCpuS ?? NaN)) / result.elapsedS,
    peakRssMB: peakRss / 1e6,
  };
  if (result.extra?.['delivered'] !== undefined) figures['delivered'] = result.extra['delivered'];
  return { figures, result };
}

export async function runMemoryCase(c: MemoryCase, cluster: Cluster, log: (s: string) => void): Promise<{ figures: Figures }> {
  const keys = c.keys;
  const t0 = performance.now();
  let lastLog = 0;
  await prefill(cluster.endpoints[0]!, keys, 8, 256, (n) => {
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      log(`    loaded ${n.toLocaleString('en-US')} keys`);
    }
  });
  const loadS = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000)); // let the server settle (GC, snapshot)
  const rss = rssBytes(cluster.pid(0));
  const dataDir = dirBytes(cluster.members[0]!.dataDir);
  const restartMs = await cluster.restartMember(0, keyBytes(keys - 1, 8));
  await new Promise((r) => setTimeout(r, 1000));
  const rssAfterRestart = rssBytes(cluster.pid(0));
  return {
    figures: {
      rssMB: rss / 1e6,
      dataDirMB: dataDir / 1e6,
      restartS: restartMs / 1000,
      rssAfterRestartMB: rssAfterRestart / 1e6,
      loadKeysPerS: keys / loadS,
    },
  };
}
