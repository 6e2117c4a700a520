// Child process for crash.test.ts: appends through WorkerWalWriter forever, keeping
// IN_FLIGHT requests outstanding, and prints each acknowledged index on its own line.
// The parent kills it with SIGKILL at a random moment.
import { WorkerWalWriter } from '../../../src/threads/worker-wal-writer.js';
import { entry } from './helpers.js';

const IN_FLIGHT = 64;
const dir = process.argv[2]!;
const segmentBytes = Number(process.argv[3] ?? 1 << 20);

const { recovery, writer } = await WorkerWalWriter.open({ dir, segmentBytes }, 0);
let next = recovery.lastIndex + 1;
process.stdout.write(`ready ${recovery.lastIndex}\n`);

function one(): void {
  const i = next++;
  const hs = i % 7 === 0 ? { term: 3, vote: 1n, commit: i - 1 } : null;
  writer.append(hs, [entry(i, 3, 32 + (i % 200))]).then(
    () => {
      process.stdout.write(`${i}\n`);
      one();
    },
    (e: unknown) => {
      process.stderr.write(`append ${i} failed: ${String(e)}\n`);
      process.exit(2);
    },
  );
}
for (let k = 0; k < IN_FLIGHT; k++) one();
