/**
 * `npm run bench:micro [filter...]`: runs every dist/bench/micro/*.bench.js (one
 * standalone script per module measured: ring buffer, WAL, MVCC, Raft ...), one after
 * the other in its own process so they do not disturb each other, and prints their output
 * under a dated header with the machine.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selectBenchFiles } from './select.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);

const files = selectBenchFiles(readdirSync(dir), filters);
console.log(`# micro-benchmarks ${new Date().toISOString()} node ${process.version} ${cpus().length}x ${cpus()[0]?.model ?? '?'} ${(totalmem() / 2 ** 30).toFixed(0)} GiB`);
if (files.length === 0) console.log('no *.bench.js files yet (each module adds bench/micro/<module>.bench.ts as it lands)');
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f}`);
  const r = spawnSync(process.execPath, [join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`(${f} exited with ${r.status ?? r.signal})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
