/**
 * The watch workloads. `watch`: --streams gRPC watch streams with --watch-per-stream
 * watchers each, over --watched-key-total keys; puts on those keys at --put-rate
 * (--total puts, or for --duration). Reports events delivered per second (from the first
 * put to the last event), delivered / expected, and put-to-event latency.
 * `watch-latency`: the same with every watcher on one key (etcd's watch-latency).
 * Watchers live in worker threads (watch-worker.ts); puts come from the main thread.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './args.js';
import { EtcdConn, errorCode } from './etcd-client.js';
import { keyBytes, stampedValue } from './keys.js';
import { ProgressBar } from './progress.js';
import { RateSchedule, sleep, splitEven } from './rate.js';
import type { BenchResult } from './result.js';
import { mergeCounts, mergeEncoded, newHistogram, summarize } from './stats.js';
import { W_EVENTS, W_STOP, watchedKeyOf, type WatchWorkerInput, type WatchWorkerMessage, type WatchWorkerResult } from './watch-protocol.js';

const WORKER_URL = new URL('./watch.worker.js', import.meta.url);
/** How long to wait for the last events after the last put. */
const DRAIN_MS_MAX = 10_000;

/** Events each put of key k should produce: the number of watchers on k. */
export function watchersPerKey(streams: number, watchPerStream: number, watchedKeyTotal: number): number[] {
  const n = new Array<number>(watchedKeyTotal).fill(0);
  for (let s = 0; s < streams; s++) for (let j = 0; j < watchPerStream; j++) n[watchedKeyOf(s, j, watchPerStream, watchedKeyTotal)]!++;
  return n;
}

export async function runWatch(opts: BenchOptions, endpoints: string[]): Promise<BenchResult> {
  const keyTotal = opts.workload === 'watch-latency' ? 1 : opts.watchedKeyTotal;
  const threads = Math.max(1, Math.min(opts.threads > 0 ? opts.threads : availableParallelism(), opts.streams));
  const counters = new SharedArrayBuffer(8);
  const ctr = new Int32Array(counters);
  let first = 0;
  const workers = splitEven(opts.streams, threads).map((n, t) => {
    const firstStreamIndex = first;
    first += n;
    const input: WatchWorkerInput = {
      streamEndpoints: Array.from({ length: n }, (_, i) => endpoints[(firstStreamIndex + i) % endpoints.length]!),
      firstStreamIndex, watchPerStream: opts.watchPerStream, watchedKeyTotal: keyTotal, keySize: opts.keySize, counters,
    };
    void t;
    return new Worker(WORKER_URL, { workerData: input });
  });
  const ready: Promise<void>[] = [];
  const done = workers.map((w) => {
    let r!: () => void;
    ready.push(new Promise<void>((res) => (r = res)));
    return new Promise<WatchWorkerResult>((resolve, reject) => {
      w.on('message', (m: WatchWorkerMessage) => (m.type === 'ready' ? r() : m.type === 'done' ? resolve(m.result) : reject(new Error(m.message))));
      w.on('error', reject);
    });
  });
  const conn = new EtcdConn(endpoints[0]!, opts.timeoutMs);
  try {
    await Promise.race([Promise.all(ready), ...done.map((p) => p.then(() => { throw new Error('watch worker ended early'); }))]);
    await conn.status();
    const perKey = watchersPerKey(opts.streams, opts.watchPerStream, keyTotal);
    let puts = 0;
    let expected = 0;
    const putErrors: Record<string, number> = {};
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const startAbs = performance.timeOrigin + t0;
    const schedule = new RateSchedule(opts.putRate, t0);
    const deadline = opts.durationS > 0 ? t0 + opts.durationS * 1000 : Infinity;
    const bar = new ProgressBar(opts.progress && !opts.json, () => ({
      done: Atomics.load(ctr, W_EVENTS), errors: 0,
      fraction: opts.total > 0 ? puts / opts.total : (performance.now() - t0) / (opts.durationS * 1000),
    }));
    bar.start();
    const putter = async (): Promise<void> => {
      for (;;) {
        if (opts.total > 0 ? puts >= opts.total : performance.now() >= deadline) return;
        const k = puts++ % keyTotal;
        const delay = schedule.nextDelayMs(performance.now());
        if (delay > 0) await sleep(delay);
        try {
          await conn.put({ key: keyBytes(k, opts.keySize), value: stampedValue(opts.valSize, performance.timeOrigin + performance.now()) });
          expected += perKey[k]!;
        } catch (e) {
          const c = `put ${errorCode(e)}`;
          putErrors[c] = (putErrors[c] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.clients, 64)) }, putter));
    const drainUntil = performance.now() + DRAIN_MS_MAX;
    while (Atomics.load(ctr, W_EVENTS) < expected && performance.now() < drainUntil) await sleep(20);
    bar.stop();
    Atomics.store(ctr, W_STOP, 1);
    for (const w of workers) w.postMessage('stop');
    const results = await Promise.all(done);
    const cpu = process.cpuUsage(cpu0);
    const h = newHistogram();
    const errors: Record<string, number> = { ...putErrors };
    let events = 0;
    let last = startAbs;
    for (const r of results) {
      mergeEncoded(h, r.histogram);
      mergeCounts(errors, r.errors);
      events += r.events;
      if (r.lastEventMs > last) last = r.lastEventMs;
    }
    const elapsedS = (last - startAbs) / 1000;
    return {
      workload: opts.workload,
      params: { streams: opts.streams, watchPerStream: opts.watchPerStream, watchers: opts.streams * opts.watchPerStream, watchedKeyTotal: keyTotal, putRate: opts.putRate, valSize: opts.valSize, threads },
      count: events,
      errors,
      errorCount: Object.values(errors).reduce((a, b) => a + b, 0),
      elapsedS,
      throughput: elapsedS > 0 ? events / elapsedS : 0,
      latency: summarize(h),
      generatorCpuS: (cpu.user + cpu.system) / 1e6,
      extra: { puts: puts - Object.values(putErrors).reduce((a, b) => a + b, 0), expectedEvents: expected, delivered: expected > 0 ? events / expected : 0 },
    };
  } finally {
    conn.close();
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
