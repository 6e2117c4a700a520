/**
 * The watch hub in one process (a member on one thread, in a temp dir): heap per idle watcher,
 * the cost a put pays for N idle watchers (fan-out matching through the index), and the time to
 * fan one event out to N watchers on one key. Numbers only; run with --expose-gc for steadier heaps
 * (`node --expose-gc dist/bench/micro/watch-hub.bench.js`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseServerConfig } from '../../src/config/config.js';
import { startMember } from '../../src/server/bootstrap.js';
import { ONE_THREAD } from '../../src/server/openers.js';
import { nopLogger } from '../../src/util/logger.js';

const N = Number(process.env['WATCHERS'] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;

function heap(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-watch-bench-'));
  const m = await startMember(parseServerConfig(['--data-dir', dir], {}, { dataDirInitialized: false }), nopLogger(), ONE_THREAD);
  try {
    const hub = m.watchHub;
    const putMs = async (count: number): Promise<number> => {
      const t0 = performance.now();
      for (let i = 0; i < count; i++) await m.server.put({ key: Buffer.from(`k${i % 100}`), value: Buffer.from('v') });
      return (performance.now() - t0) / count;
    };
    await putMs(200); // warm up
    const base = await putMs(1000);
    const h0 = heap();
    let sent = 0;
    const streams = Array.from({ length: 100 }, () => hub.openStream(() => (sent++, true)));
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      // idle: ranges and keys nobody writes (half single keys, half prefixes)
      const key = Buffer.from(`idle/${i}`);
      void streams[i % 100]!.create(i % 2 === 0 ? { key, startRevision: 1e12 } : { key, rangeEnd: Buffer.from(`idle/${i}0`), startRevision: 1e12 });
    }
    const createMs = performance.now() - t0;
    const h1 = heap();
    const withIdle = await putMs(1000);
    console.log(`watchers: ${N.toLocaleString('en-US')} idle (100 streams), created in ${createMs.toFixed(0)} ms`);
    console.log(`heap per idle watcher: ${((h1 - h0) / N).toFixed(0)} bytes${gc ? '' : ' (no --expose-gc: approximate)'}`);
    console.log(`put (one thread, fsync per batch): ${base.toFixed(3)} ms without watchers, ${withIdle.toFixed(3)} ms with ${N.toLocaleString('en-US')} idle (${((withIdle / base - 1) * 100).toFixed(1)}%)`);
    for (const s of streams) s.close();
    const after = await putMs(1000);
    const withIdle2 = await (async () => {
      const again = Array.from({ length: 100 }, () => hub.openStream(() => true));
      for (let i = 0; i < N; i++) void again[i % 100]!.create({ key: Buffer.from(`idle/${i}`), startRevision: 1e12 });
      const ms = await putMs(1000);
      for (const s of again) s.close();
      return ms;
    })();
    const after2 = await putMs(1000);
    console.log(`put, alternating (A B A B): ${after.toFixed(3)} ms none, ${withIdle2.toFixed(3)} ms idle, ${after2.toFixed(3)} ms none`);
    // fan-out: N watchers on one key, over 100 streams
    const fan = Array.from({ length: 100 }, () => hub.openStream(() => (sent++, true)));
    for (let i = 0; i < N; i++) void fan[i % 100]!.create({ key: Buffer.from('hot'), startRevision: 1e12 - 1 });
    for (let i = 0; i < N; i++) void fan[i % 100]!.cancel(i);
    for (let i = 0; i < N; i++) void fan[i % 100]!.create({ key: Buffer.from('hot'), watchId: 1_000_000 + i });
    await new Promise((r) => setTimeout(r, 100));
    sent = 0;
    const t1 = performance.now();
    await m.server.put({ key: Buffer.from('hot'), value: Buffer.from('x') });
    while (sent < N) await new Promise((r) => setImmediate(r));
    const fanMs = performance.now() - t1;
    console.log(`one put to ${N.toLocaleString('en-US')} watchers on its key: ${fanMs.toFixed(0)} ms to the last response handed to the transport (${((N / fanMs) * 1000).toFixed(0)} responses/s)`);
    for (const s of fan) s.close();
    // prev_kv: read in the hub at rev-1 (never on the put path). Hub time per event replayed from LMDB, with and without it.
    for (const prevKv of [false, true, false, true]) {
      const from = (await m.server.range({ key: Buffer.from('pk/'), rangeEnd: Buffer.from('pk0'), countOnly: true })).header!.revision as number;
      for (let i = 0; i < 2000; i++) await m.server.put({ key: Buffer.from(`pk/${i % 50}`), value: Buffer.from('v'.repeat(256)) });
      // replay the same 2,000 revisions through catch-up (the LMDB path) and time it
      let n = 0;
      const st2 = hub.openStream(() => (n++, true));
      const t = performance.now();
      void st2.create({ key: Buffer.from('pk/'), rangeEnd: Buffer.from('pk0'), startRevision: from + 1, prevKv });
      const before = n;
      while (n - before < 2) await new Promise((r) => setImmediate(r));
      const until = performance.now() + 30_000;
      // created + catch-up responses; wait until the stream is synced again
      while (hub.counters.unsynced > 0 && performance.now() < until) await new Promise((r) => setImmediate(r));
      const ms = performance.now() - t;
      st2.close();
      console.log(`catch-up of 2,000 events ${prevKv ? 'with' : 'without'} prev_kv: ${ms.toFixed(1)} ms (${((ms * 1000) / 2000).toFixed(1)} us per event)`);
    }
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
