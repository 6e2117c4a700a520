/**
 * WAL micro-benchmark: appends/s and average fdatasync batch size through
 * WorkerWalWriter (and InlineWalWriter for contrast) at 1 and 100 concurrent
 * appenders, plus the raw fdatasync ceiling of the disk. Numbers only.
 *
 *   node dist/bench/micro/wal.bench.js [--seconds 3] [--entry-bytes 256] [--dir /path]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EntryType } from '../../src/raftpb/types.js';
import { InlineWalWriter, type WalWriter, type WalWriterStats } from '../../src/threads/wal-writer.js';
import { WorkerWalWriter } from '../../src/threads/worker-wal-writer.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : def;
}
const seconds = Number(arg('--seconds', '3'));
const entryBytes = Number(arg('--entry-bytes', '256'));
const baseDir = arg('--dir', os.tmpdir());

function rawFdatasync(): number {
  const dir = fs.mkdtempSync(path.join(baseDir, 'wal-bench-raw-'));
  const fd = fs.openSync(path.join(dir, 'f'), 'w+');
  const buf = new Uint8Array(4096);
  fs.writeSync(fd, new Uint8Array(64 << 20), 0, 64 << 20, 0);
  fs.fdatasyncSync(fd);
  let n = 0;
  const end = Date.now() + 1000 * Math.min(seconds, 2);
  const t0 = process.hrtime.bigint();
  while (Date.now() < end) {
    fs.writeSync(fd, buf, 0, buf.length, (n * 4096) % (64 << 20));
    fs.fdatasyncSync(fd);
    n++;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.closeSync(fd);
  fs.rmSync(dir, { recursive: true });
  return n / secs;
}

async function run(kind: 'worker' | 'inline', appenders: number): Promise<{ perSec: number; avgBatch: number; syncs: number }> {
  const dir = fs.mkdtempSync(path.join(baseDir, 'wal-bench-'));
  const opened = kind === 'worker' ? await WorkerWalWriter.open({ dir }, 0) : await InlineWalWriter.open({ dir }, 0);
  const writer: WalWriter & { stats: WalWriterStats } = opened.writer;
  const data = new Uint8Array(entryBytes).fill(7);
  let next = 1;
  let done = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = process.hrtime.bigint();
  async function appender(): Promise<void> {
    while (Date.now() < end) {
      const index = next++;
      await writer.append(index % 10 === 0 ? { term: 1, vote: 1n, commit: index - 1 } : null, [{ index, term: 1, type: EntryType.Normal, data }]);
      done++;
    }
  }
  const s0 = { ...writer.stats };
  await Promise.all(Array.from({ length: appenders }, appender));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const syncs = writer.stats.syncs - s0.syncs;
  await writer.close();
  fs.rmSync(dir, { recursive: true });
  return { perSec: done / secs, avgBatch: (writer.stats.appends - s0.appends) / syncs, syncs };
}

console.log(`wal.bench ${new Date().toISOString()} node ${process.version} ${os.cpus()[0]?.model ?? ''} x${os.cpus().length} dir ${baseDir} entry ${entryBytes} B`);
const raw = rawFdatasync();
console.log(`raw 4 KiB write + fdatasync: ${raw.toFixed(0)}/s (${(1e6 / raw).toFixed(0)} us each)`);
const results: Record<string, unknown> = { rawFdatasyncPerSec: Math.round(raw) };
for (const kind of ['worker', 'inline'] as const) {
  for (const appenders of [1, 100]) {
    const r = await run(kind, appenders);
    results[`${kind}${appenders}`] = { appendsPerSec: Math.round(r.perSec), avgBatch: Number(r.avgBatch.toFixed(1)), syncs: r.syncs };
    console.log(
      `${kind === 'worker' ? 'WorkerWalWriter' : 'InlineWalWriter'} ${String(appenders).padStart(3)} appenders: ${r.perSec.toFixed(0)} appends/s, avg batch ${r.avgBatch.toFixed(1)} appends/fdatasync (${r.syncs} syncs)`,
    );
  }
}
console.log(JSON.stringify(results));

// Segment roll cost at the default 64 MiB: from scratch vs from a prepared spare.
{
  const { openWalSync } = await import('../../src/wal/wal.js');
  const dir = fs.mkdtempSync(path.join(baseDir, 'wal-bench-roll-'));
  const segmentBytes = 64 * 1024 * 1024;
  const { wal } = openWalSync({ dir, segmentBytes }, 0);
  const data = new Uint8Array(1 << 20);
  let index = 0;
  const fill = (): void => {
    const rolls = wal.rollCount;
    while (wal.rollCount === rolls) {
      index++;
      wal.save(null, [{ index, term: 1, type: EntryType.Normal, data }]);
    }
    wal.sync();
  };
  fill();
  const cold = wal.rollMsMax;
  while (!wal.prepareNext(1 << 20));
  const before = wal.rollMsMax;
  wal.rollMsMax = 0;
  fill();
  const warm = wal.rollMsMax;
  wal.close();
  fs.rmSync(dir, { recursive: true });
  console.log(`64 MiB segment roll: from scratch ${cold.toFixed(1)} ms, from prepared spare ${warm.toFixed(1)} ms`);
  console.log(JSON.stringify({ rollColdMs: Number(cold.toFixed(1)), rollSpareMs: Number(warm.toFixed(1)), rollMsMaxBefore: Number(before.toFixed(1)) }));
}
