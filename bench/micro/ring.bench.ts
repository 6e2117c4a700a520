/**
 * Ring micro-benchmark: frames/s one way (main thread -> worker) and round-trip latency
 * (main <-> worker with Atomics.waitAsync on the main side; worker <-> worker with
 * Atomics.wait on both sides, the ceiling). Numbers only, never pass/fail.
 *
 *   node dist/bench/micro/ring.bench.js [--seconds 2]
 *
 * The script is also its own worker (roles in workerData).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { once } from 'node:events';
import * as os from 'node:os';
import { createRing, RingConsumer, RingProducer } from '../../src/threads/ring.js';

type Role = { role: 'sink' | 'echo' | 'pinger'; to: SharedArrayBuffer; from: SharedArrayBuffer; count?: number };

function workerMain(d: Role): void {
  const rx = new RingConsumer(d.to);
  const tx = new RingProducer(d.from);
  if (d.role === 'sink') {
    let frames = 0;
    while (!rx.isDone()) {
      if (!rx.waitReadable(1000)) continue;
      frames += rx.drain(() => {});
    }
    parentPort!.postMessage({ frames });
  } else if (d.role === 'echo') {
    const tmp = new Uint8Array(65536);
    while (!rx.isDone()) {
      if (!rx.waitReadable(1000)) continue;
      rx.drain((b, off, len) => {
        tmp.set(b.subarray(off, off + len));
        tx.writeBlocking(tmp.subarray(0, len));
      });
    }
    tx.close();
  } else {
    // pinger: worker <-> worker round trips with blocking waits on both sides
    const frame = new Uint8Array(64);
    const n = d.count!;
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      tx.writeBlocking(frame);
      while (rx.drain(() => {}) === 0) rx.waitReadable(1000);
      lat.push(Number(process.hrtime.bigint() - t0));
    }
    tx.close();
    parentPort!.postMessage({ lat });
  }
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function oneWay(frameBytes: number, seconds: number): Promise<number> {
  const to = createRing(1 << 20);
  const from = createRing(1 << 12);
  const w = new Worker(new URL(import.meta.url), { workerData: { role: 'sink', to, from } satisfies Role });
  const tx = new RingProducer(to);
  const batch = Array.from({ length: 64 }, () => new Uint8Array(frameBytes));
  const end = Date.now() + seconds * 1000;
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    for (let k = 0; k < 64; k++) {
      const n = tx.tryWriteBatch(batch);
      sent += n;
      if (n < batch.length) await tx.waitSpaceAsync(100);
    }
  }
  tx.close();
  const [res] = (await once(w, 'message')) as [{ frames: number }];
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (res.frames !== sent) throw new Error(`sink saw ${res.frames} of ${sent}`);
  await w.terminate();
  return sent / secs;
}

async function roundTripMain(count: number): Promise<number[]> {
  const to = createRing(1 << 16);
  const from = createRing(1 << 16);
  const w = new Worker(new URL(import.meta.url), { workerData: { role: 'echo', to, from } satisfies Role });
  const tx = new RingProducer(to);
  const rx = new RingConsumer(from);
  const frame = new Uint8Array(64);
  const lat: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    tx.tryWrite(frame);
    while (rx.drain(() => {}) === 0) await rx.waitReadableAsync(1000);
    lat.push(Number(process.hrtime.bigint() - t0));
  }
  tx.close();
  await w.terminate();
  return lat;
}

async function roundTripWorkers(count: number): Promise<number[]> {
  const a = createRing(1 << 16);
  const b = createRing(1 << 16);
  const echo = new Worker(new URL(import.meta.url), { workerData: { role: 'echo', to: a, from: b } satisfies Role });
  const pinger = new Worker(new URL(import.meta.url), { workerData: { role: 'pinger', to: b, from: a, count } satisfies Role });
  const [res] = (await once(pinger, 'message')) as [{ lat: number[] }];
  await Promise.all([echo.terminate(), pinger.terminate()]);
  return res.lat;
}

function summary(lat: number[]): string {
  const s = [...lat].sort((x, y) => x - y);
  const avg = s.reduce((a, b) => a + b, 0) / s.length;
  return `avg ${(avg / 1000).toFixed(1)} us, p50 ${(pct(s, 50) / 1000).toFixed(1)} us, p99 ${(pct(s, 99) / 1000).toFixed(1)} us`;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 2;
  console.log(`ring.bench ${new Date().toISOString()} node ${process.version} ${os.cpus()[0]?.model ?? ''} x${os.cpus().length}`);
  const results: Record<string, number | string> = {};
  for (const size of [64, 1024]) {
    const fps = await oneWay(size, seconds);
    results[`oneWay${size}BFramesPerSec`] = Math.round(fps);
    console.log(`one way main->worker, ${size} B frames: ${(fps / 1e6).toFixed(2)} M frames/s (${((fps * size) / 2 ** 20).toFixed(0)} MiB/s)`);
  }
  const rtMain = await roundTripMain(20_000);
  console.log(`round trip main<->worker (waitAsync), 64 B: ${summary(rtMain.slice(1000))}`);
  const rtW = await roundTripWorkers(50_000);
  console.log(`round trip worker<->worker (Atomics.wait), 64 B: ${summary(rtW.slice(1000))}`);
  results.roundTripMain = summary(rtMain.slice(1000));
  results.roundTripWorkers = summary(rtW.slice(1000));
  console.log(JSON.stringify(results));
}

if (isMainThread) await main();
else workerMain(workerData as Role);
