import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { openWalWriter } from '../../../src/threads/open-wal-writer.js';
import { WorkerWalWriter } from '../../../src/threads/worker-wal-writer.js';
import { WalClosedError, WalCorruptError, WalInvalidArgumentError } from '../../../src/wal/errors.js';
import { openWalSync } from '../../../src/wal/wal.js';
import { entries, entry, segmentFiles, tmpDir } from '../wal/helpers.js';

// One body, both implementations (style rule 14).
for (const useWorker of [false, true]) {
  const mode = useWorker ? 'WorkerWalWriter' : 'InlineWalWriter';

  test(`${mode}: appends resolve in call order and recovery sees them all`, async () => {
    const dir = tmpDir();
    const { recovery, writer } = await openWalWriter({ dir, segmentBytes: 16 * 1024, useWorker }, 0);
    assert.equal(recovery.lastIndex, 0);
    const order: number[] = [];
    const calls: Promise<void>[] = [];
    const n = 2000;
    for (let i = 1; i <= n; i++) {
      calls.push(writer.append({ term: 1, vote: 1n, commit: i - 1 }, [entry(i, 1, 20)]).then(() => void order.push(i)));
    }
    await Promise.all(calls);
    assert.deepEqual(order, Array.from({ length: n }, (_, i) => i + 1));
    const stats = (writer as unknown as { stats: { appends: number; syncs: number; durableIndex: number } }).stats;
    assert.equal(stats.appends, n);
    assert.equal(stats.durableIndex, n);
    assert.ok(stats.syncs < n, `group commit: ${stats.syncs} syncs for ${n} appends`);
    await writer.close();
    await assert.rejects(writer.append(null, [entry(n + 1)]), WalClosedError);
    const r = openWalSync({ dir, segmentBytes: 16 * 1024 }, 0);
    assert.deepEqual(r.recovery.entries, entries(1, n, 1, 20));
    assert.deepEqual(r.recovery.hardState, { term: 1, vote: 1n, commit: n - 1 });
    assert.ok(segmentFiles(dir).length > 1, 'rolled over segments');
    r.wal.close();
  });

  test(`${mode}: refused input fails alone; the writer keeps going`, async () => {
    const dir = tmpDir();
    const { writer } = await openWalWriter({ dir, segmentBytes: 8192, useWorker }, 10);
    const a = writer.append(null, [entry(11)]);
    const bad = assert.rejects(writer.append(null, [entry(13)]), WalInvalidArgumentError);
    const b = writer.append({ term: 1, vote: 0n, commit: 11 }, [entry(12)]);
    await a;
    await bad;
    await b;
    await writer.close();
    const r = openWalSync({ dir, segmentBytes: 8192 }, 10);
    assert.deepEqual(r.recovery.entries, [entry(11), entry(12)]);
    r.wal.close();
  });

  test(`${mode}: releaseTo purges old segments after earlier appends are durable`, async () => {
    const dir = tmpDir();
    const { writer } = await openWalWriter({ dir, segmentBytes: 4096, useWorker }, 0);
    await writer.append({ term: 1, vote: 1n, commit: 300 }, entries(1, 300, 1, 40));
    const before = segmentFiles(dir).length;
    (writer as unknown as { releaseTo(i: number): void }).releaseTo(200);
    await writer.append(null, [entry(301, 1, 40)]);
    await writer.close();
    const after = segmentFiles(dir).length;
    assert.ok(after < before, `${after} segments after purge, ${before} before`);
    const r = openWalSync({ dir, segmentBytes: 4096 }, 199);
    assert.deepEqual(r.recovery.entries, entries(200, 301, 1, 40));
    assert.deepEqual(r.recovery.hardState, { term: 1, vote: 1n, commit: 300 });
    r.wal.close();
  });

  test(`${mode}: opening a corrupt WAL rejects with WalCorruptError naming file and offset`, async () => {
    const dir = tmpDir();
    const { writer } = await openWalWriter({ dir, segmentBytes: 8192, useWorker }, 0);
    await writer.append(null, entries(1, 20));
    await writer.close();
    const f = segmentFiles(dir)[0]!;
    const b = fs.readFileSync(f);
    b[200]! ^= 0x40;
    fs.writeFileSync(f, b);
    await assert.rejects(openWalWriter({ dir, segmentBytes: 8192, useWorker }, 0), (e: unknown) => {
      return e instanceof WalCorruptError && e.file === f && e.message.includes(f) && e.offset > 0 && e.offset <= 200;
    });
  });
}

test('WorkerWalWriter: an I/O failure in the worker rejects pending and later appends (no silent loss)', async () => {
  const dir = tmpDir();
  const { writer } = await WorkerWalWriter.open({ dir, segmentBytes: 4096 }, 0);
  await writer.append(null, entries(1, 5));
  fs.rmSync(dir, { recursive: true }); // the next segment cannot be created
  await assert.rejects(writer.append(null, entries(6, 400, 1, 40)), /ENOENT/);
  await assert.rejects(writer.append(null, [entry(401)]), /ENOENT/);
  await assert.rejects(writer.close(), /ENOENT/);
});

test('WorkerWalWriter: maxBatchDelayMs holds a batch open for later appends; maxBatchBytes caps it', async () => {
  const dir = tmpDir();
  const { writer } = await WorkerWalWriter.open({ dir, segmentBytes: 65536, maxBatchDelayMs: 100 }, 0);
  const a = writer.append(null, [entry(1)]);
  await new Promise((r) => setTimeout(r, 10));
  const b = writer.append(null, [entry(2)]);
  await Promise.all([a, b]);
  assert.equal(writer.stats.syncs, 1, 'both appends in one fdatasync');
  await writer.close();
  const dir2 = tmpDir();
  const w2 = (await WorkerWalWriter.open({ dir: dir2, segmentBytes: 65536, maxBatchBytes: 1 }, 0)).writer;
  await Promise.all(Array.from({ length: 10 }, (_, i) => w2.append(null, [entry(i + 1)])));
  assert.equal(w2.stats.syncs, 10, 'a 1-byte cap makes every request its own batch');
  await w2.close();
});

test('WorkerWalWriter: requests larger than the ring frame are split; hard state lands last', async () => {
  const dir = tmpDir();
  const { writer } = await WorkerWalWriter.open({ dir, segmentBytes: 64 * 1024, toWorkerBytes: 4096, fromWorkerBytes: 1024 }, 0);
  const big = entries(1, 40, 1, 500); // ~20 KB through a 4 KiB ring
  const p1 = writer.append({ term: 1, vote: 1n, commit: 40 }, big);
  const p2 = writer.append(null, entries(41, 45, 1, 1500));
  await Promise.all([p1, p2]);
  assert.ok(writer.stats.ringFullWaits > 0, 'backpressure exercised');
  await assert.rejects(writer.append(null, [entry(46, 1, 5000)]), RangeError);
  await writer.close();
  const r = openWalSync({ dir, segmentBytes: 64 * 1024 }, 0);
  assert.deepEqual(r.recovery.entries, [...big, ...entries(41, 45, 1, 1500)]);
  assert.deepEqual(r.recovery.hardState, { term: 1, vote: 1n, commit: 40 });
  r.wal.close();
});

test('WorkerWalWriter: many concurrent appenders, acks carry batch seq and durable index', async () => {
  const dir = tmpDir();
  const { writer } = await WorkerWalWriter.open({ dir }, 0);
  let next = 1;
  const acked: number[] = [];
  async function appender(k: number): Promise<void> {
    for (let j = 0; j < 50; j++) {
      const i = next++;
      await writer.append(null, [entry(i, 1, 64 + k)]);
      acked.push(i);
    }
  }
  await Promise.all(Array.from({ length: 20 }, (_, k) => appender(k)));
  assert.equal(acked.length, 1000);
  assert.equal(writer.stats.durableIndex, 1000);
  assert.equal(writer.stats.lastBatchSeq, writer.stats.syncs);
  await writer.close();
  const r = openWalSync({ dir }, 0);
  assert.equal(r.recovery.entries.length, 1000);
  assert.deepEqual(r.recovery.entries.map((e) => e.index), Array.from({ length: 1000 }, (_, i) => i + 1));
  r.wal.close();
});

test('WorkerWalWriter: a process with nothing else to do finishes its appends and close, then exits', async () => {
  const { spawnSync } = await import('node:child_process');
  const mod = new URL('../../../src/threads/worker-wal-writer.js', import.meta.url).href;
  const dir = tmpDir();
  const script = `
    const { WorkerWalWriter } = await import(${JSON.stringify(mod)});
    const { writer } = await WorkerWalWriter.open({ dir: ${JSON.stringify(dir)}, segmentBytes: 65536 }, 0);
    for (let i = 1; i <= 50; i++) await writer.append(null, [{ index: i, term: 1, type: 0, data: new Uint8Array(8) }]);
    await writer.close();
    console.log('closed');`;
  const file = `${dir}-main.mjs`;
  fs.writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000 }); // a hang bound, not a timing claim
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'closed');
  const rec = openWalSync({ dir, segmentBytes: 65536 }, 0);
  assert.equal(rec.recovery.lastIndex, 50);
  rec.wal.close();
});
