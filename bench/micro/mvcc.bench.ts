/**
 * Micro benchmark of the MVCC store and applier (numbers only, never pass/fail).
 * Run: npx tsc -p . && node dist/bench/micro/mvcc.bench.js [--puts N] [--json out.json]
 *
 * - apply: puts/s when each applyEntries call carries 1, 100 or 1000 put entries
 *   (one LMDB write txn per call, noSync as in production);
 * - range: ranges/s for a single-key get, a 100-key range, a count-only range over all keys,
 *   and a single-key get at an old revision (one kidx seek).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdserverpb } from '../../src/proto/pb.js';
import { LmdbBackend } from '../../src/backend/backend.js';
import { Applier } from '../../src/apply/applier.js';
import { LmdbKvReader } from '../../src/mvcc/kvstore.js';
import { EntryType, type Entry } from '../../src/raftpb/types.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1]! : dflt; };
const TOTAL_PUTS = Number(arg('--puts', '100000'));
const KEYSPACE = 10000;
const VALUE = Buffer.alloc(256, 0x61);

/** Request IDs as a member makes them (src/server/request-ids.ts): 64-bit, 9-10 byte varints. */
const REQUEST_ID_BASE = 0x694d_0191_2345_0000n;

function entries(from: number, n: number, id: { next: number }): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const k = Buffer.from(`/registry/pods/default/pod-${(id.next * 7919) % KEYSPACE}`);
    const data = etcdserverpb.InternalRaftRequest.encode({ header: { ID: REQUEST_ID_BASE + BigInt(id.next++) }, put: { key: k, value: VALUE } }).finish();
    out.push({ term: 1, index: from + i, type: EntryType.Normal, data });
  }
  return out;
}

const results: Record<string, number> = {};
const dir = mkdtempSync(join(tmpdir(), 'mvcc-bench-'));
try {
  const backend = LmdbBackend.open({ path: join(dir, 'member', 'snap', 'db'), writable: true });
  const applier = new Applier({ backend });
  const id = { next: 1 };
  for (const batch of [1, 100, 1000]) {
    const n = batch === 1 ? Math.min(TOTAL_PUTS, 20000) : TOTAL_PUTS;
    const batches: Entry[][] = [];
    let index = applier.appliedIndex() + 1;
    for (let i = 0; i < n; i += batch) { batches.push(entries(index, batch, id)); index += batch; }
    const t0 = process.hrtime.bigint();
    for (const es of batches) applier.applyEntries(es);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    results[`apply_puts_per_s_batch_${batch}`] = Math.round(n / s);
  }
  const reader = new LmdbKvReader(backend);
  const oldRev = Math.floor(applier.currentRevision() / 2);
  const bench = (name: string, iters: number, fn: (i: number) => void) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn(i);
    results[name] = Math.round(iters / (Number(process.hrtime.bigint() - t0) / 1e9));
  };
  const key = (i: number) => Buffer.from(`/registry/pods/default/pod-${(i * 31) % KEYSPACE}`);
  bench('range_single_key_per_s', 50000, (i) => reader.range({ key: key(i) }));
  bench('range_100_keys_per_s', 2000, (i) => reader.range({ key: key(i), rangeEnd: Buffer.from('/registry/pods/default/pod-~'), limit: 100 }));
  bench('range_count_all_per_s', 50, () => reader.range({ key: Buffer.from('/registry/'), rangeEnd: Buffer.from('/registry0'), countOnly: true }));
  bench('range_single_key_old_rev_per_s', 50000, (i) => reader.range({ key: key(i), revision: oldRev }));
  await backend.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const report = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, puts: TOTAL_PUTS, results };
console.log(JSON.stringify(report, null, 2));
const out = arg('--json', '');
if (out) writeFileSync(out, JSON.stringify(report));
