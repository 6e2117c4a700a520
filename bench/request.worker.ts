/**
 * Worker thread of the load generator: opens its share of the gRPC channels, runs its
 * share of the clients in a closed loop, and sends back an encoded latency histogram per
 * label, error counts by code and extra counters.
 *
 * Coordination with the main thread (runner.ts, request-protocol.ts) goes through a shared Int32Array:
 * [CLAIMED] requests claimed (for --total), [DONE] completed, [ERRORS], [STOP] set by the
 * main thread at the --duration deadline.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { EtcdConn, errorCode, useTls } from './etcd-client.js';
import { makeOp, type Op } from './ops.js';
import { RateSchedule, sleep } from './rate.js';
import { encodeHistogram, newHistogram, recordMs, type Histogram } from './stats.js';
import { DONE, ERRORS, CLAIMED, STOP, type WorkerInput, type WorkerMessage } from './request-protocol.js';

async function main(): Promise<void> {
  const input = workerData as WorkerInput;
  const { opts } = input;
  useTls(opts);
  const ctr = new Int32Array(input.counters);
  const conns = input.connEndpoints.map((e) => new EtcdConn(e, opts.timeoutMs));
  // Connect every channel before the clock starts.
  await Promise.all(conns.map((c) => c.status()));
  const extra: Record<string, number> = {};
  const ops: Op[] = [];
  for (let i = 0; i < input.clients; i++) {
    const conn = conns[i % conns.length]!;
    ops.push(await makeOp({ conn, opts, clientIndex: input.firstClientIndex + i, extra, ...(input.modRevisions ? { modRevisions: input.modRevisions } : {}) }));
  }
  const go = new Promise<number>((resolve) => parentPort!.once('message', (m: { startMs: number }) => resolve(m.startMs)));
  parentPort!.postMessage({ type: 'ready' } satisfies WorkerMessage);
  await go;

  const histograms = new Map<string, Histogram>([['all', newHistogram()]]);
  const errors: Record<string, number> = {};
  const schedule = new RateSchedule(input.rate, performance.now());
  const total = opts.total;

  const loop = async (op: Op): Promise<void> => {
    for (;;) {
      if (Atomics.load(ctr, STOP) !== 0) return;
      if (total > 0 && Atomics.add(ctr, CLAIMED, 1) >= total) return;
      const delay = schedule.nextDelayMs(performance.now());
      if (delay > 0) await sleep(delay);
      const t0 = performance.now();
      try {
        const label = await op();
        const ms = performance.now() - t0;
        recordMs(histograms.get('all')!, ms);
        if (label) {
          let h = histograms.get(label);
          if (!h) histograms.set(label, (h = newHistogram()));
          recordMs(h, ms);
        }
        Atomics.add(ctr, DONE, 1);
      } catch (e) {
        const code = errorCode(e);
        errors[code] = (errors[code] ?? 0) + 1;
        Atomics.add(ctr, ERRORS, 1);
      }
    }
  };
  await Promise.all(ops.map(loop));
  for (const c of conns) c.close();
  const encoded: Record<string, string> = {};
  for (const [k, h] of histograms) encoded[k] = encodeHistogram(h);
  parentPort!.postMessage({ type: 'done', result: { histograms: encoded, errors, extra } } satisfies WorkerMessage);
}

main().catch((e: unknown) => {
  parentPort!.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) } satisfies WorkerMessage);
});
