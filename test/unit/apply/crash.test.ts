import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Harness, s } from './helpers.js';
import { crashEntry, expectedAfter } from './crash-entries.js';

test('kill -9 during applies: LMDB is a consistent prefix at its applied index; WAL replay completes it', async () => {
  const h = new Harness();
  await h.backend.close();
  const child = spawn(process.execPath, [fileURLToPath(new URL('./crash-child.js', import.meta.url)), h.path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let acked = 0;
  let partial = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  // Wait for a state (3000 acknowledged applies), not a time; a child that dies first fails the test at once.
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      if (lines.length > 0) acked = Number(lines[lines.length - 1]);
      if (acked >= 3000) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`crash child exited (code ${code}, signal ${signal}) after ${acked} acknowledged applies, before the kill`)));
  });
  const end = await exited;
  assert.equal(end.signal, 'SIGKILL', 'the child must end by our kill -9');
  h.open();
  const applied = h.applier.appliedIndex();
  assert.ok(applied >= acked, `applied ${applied} < acked ${acked}`);
  const state = () => new Map((h.reader.range({ key: Buffer.from('k'), rangeEnd: Buffer.from('l') }).kvs ?? []).map((kv) => [s(kv.key), s(kv.value)]));
  assert.deepEqual(state(), expectedAfter(applied));
  // Replay "the WAL" from the start: already-applied entries are skipped.
  const replay = [];
  for (let i = 1; i <= applied + 100; i++) replay.push(crashEntry(i));
  const rs = h.applier.applyEntries(replay);
  assert.equal(rs.length, 100);
  assert.deepEqual(state(), expectedAfter(applied + 100));
  await h.close();
});
