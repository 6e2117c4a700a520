/**
 * Runs a request/response workload: spawns the worker threads (worker.ts), starts them
 * together once all channels are connected, stops them at --total or --duration, and
 * merges their histograms.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './args.js';
import { planWorkers, threadCount } from './plan.js';
import { ProgressBar } from './progress.js';
import { loadModRevisions } from './prefill.js';
import type { BenchResult } from './result.js';
import { mergeCounts, mergeEncoded, newHistogram, summarize, throughput, type Histogram } from './stats.js';
import { DONE, ERRORS, STOP, type WorkerInput, type WorkerMessage, type WorkerResult } from './request-protocol.js';

const WORKER_URL = new URL('./request.worker.js', import.meta.url);

export async function runRequests(opts: BenchOptions, endpoints: string[]): Promise<BenchResult> {
  const threads = threadCount(opts.threads, opts.clients, opts.conns, availableParallelism());
  const shares = planWorkers(threads, opts.clients, opts.conns, endpoints, opts.rate);
  const counters = new SharedArrayBuffer(4 * 4);
  const ctr = new Int32Array(counters);
  const modRevisions = opts.workload === 'txn-put' ? await loadModRevisions(endpoints[0]!, opts.keySpaceSize, opts.keySize) : undefined;
  const workers = shares.map((s) => {
    const input: WorkerInput = { opts, ...s, counters, ...(modRevisions ? { modRevisions } : {}) };
    return new Worker(WORKER_URL, { workerData: input });
  });
  const ready: Promise<void>[] = [];
  const done: Promise<WorkerResult>[] = [];
  for (const w of workers) {
    let readyResolve!: () => void;
    ready.push(new Promise<void>((r) => (readyResolve = r)));
    done.push(
      new Promise<WorkerResult>((resolve, reject) => {
        w.on('message', (m: WorkerMessage) => {
          if (m.type === 'ready') readyResolve();
          else if (m.type === 'done') resolve(m.result);
          else reject(new Error(m.message));
        });
        w.on('error', reject);
        w.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
      }),
    );
  }
  const failed = Promise.race(done.map((p) => p.then(() => new Promise<never>(() => {}))));
  try {
    await Promise.race([Promise.all(ready), failed]);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (const w of workers) w.postMessage({ startMs: t0 });
    const bar = new ProgressBar(opts.progress && !opts.json, () => ({
      done: Atomics.load(ctr, DONE),
      errors: Atomics.load(ctr, ERRORS),
      fraction: opts.total > 0 ? Atomics.load(ctr, DONE) / opts.total : (performance.now() - t0) / (opts.durationS * 1000),
    }));
    bar.start();
    let stopTimer: NodeJS.Timeout | undefined;
    if (opts.durationS > 0) stopTimer = setTimeout(() => Atomics.store(ctr, STOP, 1), opts.durationS * 1000);
    const results = await Promise.all(done);
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearTimeout(stopTimer);
    bar.stop();
    return { ...merge(opts, results, elapsedMs, threads), generatorCpuS: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function merge(opts: BenchOptions, results: WorkerResult[], elapsedMs: number, threads: number): BenchResult {
  const hs = new Map<string, Histogram>();
  const errors: Record<string, number> = {};
  const extra: Record<string, number> = {};
  for (const r of results) {
    for (const [label, enc] of Object.entries(r.histograms)) {
      let h = hs.get(label);
      if (!h) hs.set(label, (h = newHistogram()));
      mergeEncoded(h, enc);
    }
    mergeCounts(errors, r.errors);
    mergeCounts(extra, r.extra);
  }
  const all = hs.get('all') ?? newHistogram();
  const byOp: Record<string, ReturnType<typeof summarize>> = {};
  for (const [label, h] of hs) if (label !== 'all') byOp[label] = summarize(h);
  const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    workload: opts.workload,
    params: paramsOf(opts, threads),
    count: all.totalCount,
    errors,
    errorCount,
    elapsedS: elapsedMs / 1000,
    throughput: throughput(all.totalCount, elapsedMs),
    latency: summarize(all),
    ...(Object.keys(byOp).length > 0 ? { byOp } : {}),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}

export function paramsOf(opts: BenchOptions, threads: number): Record<string, unknown> {
  const p: Record<string, unknown> = {
    clients: opts.clients, conns: opts.conns, threads, keySize: opts.keySize, valSize: opts.valSize,
    keySpaceSize: opts.keySpaceSize,
  };
  if (opts.rate > 0) p['rate'] = opts.rate;
  if (opts.workload === 'range' || opts.workload === 'txn-mixed') p['consistency'] = opts.consistency;
  if (opts.workload === 'txn-mixed') p['rwRatio'] = opts.rwRatio;
  return p;
}
