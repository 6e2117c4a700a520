import * as fs from 'node:fs';
import { PROP_SEED } from '../../prop-seed.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';

const kDirs: string[] = [];
let cleanupHooked = false;

/** A fresh temp dir, removed when the test process exits (kept with ETCD_TEST_KEEP=1, and named on failure). */
export function tmpDir(prefix = 'wal-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  kDirs.push(dir);
  if (!cleanupHooked) {
    cleanupHooked = true;
    process.on('exit', (code) => {
      if (process.env['ETCD_TEST_KEEP'] === '1' || code !== 0) {
        if (kDirs.length > 0) console.error(`WAL test dirs kept: ${kDirs.join(' ')}`);
        return;
      }
      for (const d of kDirs) fs.rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

/** Deterministic entry: data bytes derived from index and term. */
export function entry(index: number, term = 1, size = 16): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type: EntryType.Normal, data };
}

export function entries(from: number, to: number, term = 1, size = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

export function segmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.endsWith('.wal')).sort().map((n) => path.join(dir, n));
}

/** The file's property seed (test/prop-seed.ts: FC_SEED or SEED to replay, printed on failure). */
export function seedFor(name: string): number {
  process.on('exit', (code) => {
    if (code !== 0) console.error(`${name}: reproduce with FC_SEED=${PROP_SEED}`);
  });
  return PROP_SEED;
}
