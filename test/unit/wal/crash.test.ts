import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openWalSync } from '../../../src/wal/wal.js';
import { entry, seedFor, tmpDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));
const SEGMENT_BYTES = 256 * 1024;

/** Runs the child until it printed `killAfter` acks, SIGKILLs it, returns the acked indexes. */
function runAndKill(dir: string, killAfter: number): Promise<{ acked: number[]; startLast: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(SEGMENT_BYTES)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: number[] = [];
    let startLast = -1;
    let buf = '';
    let killed = false;
    // No timer: the kill happens after a count of acks, never after a time; a hung child is
    // caught by the runner's per-test timeout.
    function kill(): void {
      if (killed) return;
      killed = true;
      child.kill('SIGKILL');
    }
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('ready ')) startLast = Number(line.slice(6));
        else acked.push(Number(line));
      }
      if (acked.length >= killAfter) kill();
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}/${signal} before the kill`));
      else resolve({ acked, startLast });
    });
  });
}

test('crash: kill -9 under load never loses an acknowledged append (3 rounds)', async () => {
  const seed = seedFor('crash');
  const dir = tmpDir('wal-crash-');
  let expectedLast = 0;
  for (let round = 0; round < 3; round++) {
    const killAfter = 200 + ((seed >>> (round * 4)) % 1500);
    const { acked, startLast } = await runAndKill(dir, killAfter);
    assert.equal(startLast, expectedLast, 'child recovered what the previous round left');
    assert.ok(acked.length >= killAfter);
    const { recovery, wal } = openWalSync({ dir, segmentBytes: SEGMENT_BYTES }, 0);
    wal.close();
    const have = new Map(recovery.entries.map((e) => [e.index, e]));
    for (const i of acked) {
      assert.deepEqual(have.get(i), entry(i, 3, 32 + (i % 200)), `acknowledged index ${i} missing after kill -9 (round ${round})`);
    }
    const maxAcked = Math.max(...acked);
    assert.ok(recovery.lastIndex >= maxAcked);
    assert.deepEqual(recovery.entries.map((e) => e.index), Array.from({ length: recovery.lastIndex }, (_, k) => k + 1), 'contiguous log');
    assert.ok(recovery.hardState.commit <= recovery.lastIndex);
    expectedLast = recovery.lastIndex;
  }
});
