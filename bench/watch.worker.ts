/**
 * Worker thread of the watch workloads: opens its share of the watch streams, creates
 * the watchers, then counts delivered events and records put-to-event latency from the
 * timestamp each put carries in its value (keys.ts stampedValue). Shared counters:
 * [W_EVENTS] events delivered over all workers, [W_STOP] set by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { EtcdConn, type WatchResponse } from './etcd-client.js';
import { keyBytes, readStamp } from './keys.js';
import { encodeHistogram, newHistogram, recordMs } from './stats.js';
import { W_EVENTS, W_STOP, watchedKeyOf, type WatchWorkerInput, type WatchWorkerMessage } from './watch-protocol.js';

const nowAbsMs = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const input = workerData as WatchWorkerInput;
  const ctr = new Int32Array(input.counters);
  const h = newHistogram();
  const errors: Record<string, number> = {};
  let events = 0;
  let lastEventMs = 0;
  const conns: EtcdConn[] = [];
  const created: Promise<void>[] = [];
  const streams = input.streamEndpoints.map((ep, i) => {
    const conn = new EtcdConn(ep);
    conns.push(conn);
    const s = conn.watchStream();
    const sIndex = input.firstStreamIndex + i;
    let pending = input.watchPerStream;
    created.push(
      new Promise<void>((resolve, reject) => {
        s.on('error', (e: Error) => {
          if (Atomics.load(ctr, W_STOP) !== 0) return; // our own cancel at the end
          reject(e);
          errors[e.message] = (errors[e.message] ?? 0) + 1;
        });
        s.on('data', (r: WatchResponse) => {
          if (r.created) {
            if (--pending === 0) resolve();
            return;
          }
          const n = r.events.length;
          if (n === 0) return;
          const now = nowAbsMs();
          for (const ev of r.events) {
            const v = ev.kv?.value;
            if (v) recordMs(h, now - readStamp(v));
          }
          events += n;
          lastEventMs = now;
          Atomics.add(ctr, W_EVENTS, n);
        });
      }),
    );
    for (let j = 0; j < input.watchPerStream; j++) {
      const key = keyBytes(watchedKeyOf(sIndex, j, input.watchPerStream, input.watchedKeyTotal), input.keySize);
      s.write({ createRequest: { key } });
    }
    return s;
  });
  await Promise.all(created);
  parentPort!.postMessage({ type: 'ready' } satisfies WatchWorkerMessage);
  await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));
  for (const s of streams) s.cancel();
  for (const c of conns) c.close();
  parentPort!.postMessage({
    type: 'done',
    result: { histogram: encodeHistogram(h), events, lastEventMs, errors },
  } satisfies WatchWorkerMessage);
}

main().catch((e: unknown) => {
  parentPort!.postMessage({ type: 'fatal', message: e instanceof Error ? e.message : String(e) } satisfies WatchWorkerMessage);
});
