/**
 * Child process for crash.test.ts: applies deterministic entries in batches forever and
 * prints the applied index after each committed batch ("ack"), until killed with SIGKILL.
 */
import { LmdbBackend } from '../../../src/backend/backend.js';
import { Applier } from '../../../src/apply/applier.js';
import { crashEntry } from './crash-entries.js';

const path = process.argv[2]!;
const backend = LmdbBackend.open({ path, writable: true });
const applier = new Applier({ backend });
let next = applier.appliedIndex() + 1;
for (;;) {
  const batch = [];
  for (let i = 0; i < 10; i++) batch.push(crashEntry(next++));
  applier.applyEntries(batch);
  process.stdout.write(`${applier.appliedIndex()}\n`);
}
