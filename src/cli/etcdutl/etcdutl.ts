/** etcdutl's commands (see main.ts); `run` returns the exit code and never exits itself. */
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, str, bool, int, UsageError, type FlagSpec } from './flags.js';
import { restoreSnapshot, snapshotStatus, SnapshotError } from '../../server/snapshot-file.js';
import { layoutOf, lockDataDir } from '../../server/data-dir.js';
import { LmdbBackend } from '../../backend/backend.js';
import { LmdbKvReader } from '../../mvcc/kvstore.js';
import { hashKv, hashKvOfKeyBucket } from '../../mvcc/hash.js';
import { parseEtcdRevKey } from '../../mvcc/etcd-format.js';
import { BoltReader } from '../../backend/bbolt/reader.js';
import { humanizeBytes } from '../etcdctl/go-format.js';
import { renderTable } from '../etcdctl/printers/table.js';
import { idToHex } from '../../util/pure/id64.js';

export interface Output {
  stdout(s: string): void;
  stderr(s: string): void;
}

/** The etcd version whose etcdutl this one stands in for. */
export const ETCDUTL_VERSION = '3.6.0';

const USAGE = `Usage:
  etcdutl snapshot status <filename> [-w simple|table|json]
  etcdutl snapshot restore <filename> [--data-dir dir] [--wal-dir dir] [--name name]
          [--initial-cluster name=url,...] [--initial-cluster-token token]
          [--initial-advertise-peer-urls urls] [--skip-hash-check]
  etcdutl import --etcd-data-dir <stopped etcd's data dir> --data-dir <new dir> [restore's flags]
  etcdutl defrag --data-dir <dir>
  etcdutl hashkv <db file or data dir> [--rev revision] [-w simple|table|json]
  etcdutl version
`;

const WRITE_OUT: FlagSpec = { name: 'write-out', short: 'w', kind: 'string', default: 'simple' };

function checkFormat(f: string, allowed: readonly string[]): void {
  if (!allowed.includes(f)) throw new UsageError(`unsupported output format ${JSON.stringify(f)} (want ${allowed.join(', ')})`);
}

function log(out: Output, msg: string, fields: Record<string, unknown> = {}): void {
  out.stderr(JSON.stringify({ level: 'info', ts: new Date().toISOString(), caller: 'cli/etcdutl', msg, ...fields }) + '\n');
}

async function snapshotStatusCmd(argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, [WRITE_OUT]);
  if (p.args.length !== 1) throw new UsageError('snapshot status requires exactly one argument: the snapshot file');
  const fmt = str(p, 'write-out');
  checkFormat(fmt, ['simple', 'table', 'json', 'fields']);
  const s = snapshotStatus(p.args[0]!);
  if (fmt === 'json') out.stdout(JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize }) + '\n');
  else if (fmt === 'table') {
    out.stdout(renderTable(['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'], [[s.hash.toString(16), String(s.revision), String(s.totalKey), humanizeBytes(s.totalSize)]]));
  } else if (fmt === 'fields') {
    out.stdout(`"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`);
  } else out.stdout(`${s.hash.toString(16)}, ${s.revision}, ${s.totalKey}, ${humanizeBytes(s.totalSize)}\n`);
  return 0;
}

const RESTORE_FLAGS: FlagSpec[] = [
  { name: 'data-dir', kind: 'string', default: '' },
  { name: 'wal-dir', kind: 'string', default: '' },
  { name: 'name', kind: 'string', default: 'default' },
  { name: 'initial-cluster', kind: 'string', default: 'default=http://localhost:2380' },
  { name: 'initial-cluster-token', kind: 'string', default: 'etcd-cluster' },
  { name: 'initial-advertise-peer-urls', kind: 'string', default: 'http://localhost:2380' },
  { name: 'skip-hash-check', kind: 'bool', default: false },
  { name: 'mark-compacted', kind: 'bool', default: false },
];

async function snapshotRestoreCmd(argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, RESTORE_FLAGS);
  if (p.args.length !== 1) throw new UsageError('snapshot restore requires exactly one argument: the snapshot file');
  return restoreFrom(p, p.args[0]!, out);
}

/**
 * import: a stopped etcd's data dir (its bbolt file, <dir>/member/snap/db, has no SHA-256
 * trailer) into a new etcd-ts data dir, with restore's flags. etcd must have been stopped
 * cleanly, so every committed entry is in that file.
 */
async function importCmd(argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, [...RESTORE_FLAGS, { name: 'etcd-data-dir', kind: 'string', default: '' }]);
  if (p.args.length > 0) throw new UsageError(`import takes no arguments (got ${p.args.join(' ')})`);
  const from = str(p, 'etcd-data-dir');
  if (from === '') throw new UsageError('import needs --etcd-data-dir (the data dir of a stopped etcd)');
  const db = join(from, 'member', 'snap', 'db');
  if (!existsSync(db)) throw new SnapshotError(`${db} does not exist: --etcd-data-dir must be an etcd data dir`);
  p.flags.set('skip-hash-check', true);
  return restoreFrom(p, db, out);
}

async function restoreFrom(p: ReturnType<typeof parseArgs>, snapshotPath: string, out: Output): Promise<number> {
  const name = str(p, 'name');
  const dataDir = str(p, 'data-dir') || `${name}.etcd`;
  const started = process.hrtime.bigint();
  log(out, 'restoring snapshot', { path: snapshotPath, 'data-dir': dataDir, 'wal-dir': str(p, 'wal-dir') || join(dataDir, 'member', 'wal') });
  const r = await restoreSnapshot({
    snapshotPath,
    dataDir,
    walDir: str(p, 'wal-dir'),
    name,
    initialCluster: str(p, 'initial-cluster'),
    initialClusterToken: str(p, 'initial-cluster-token'),
    initialAdvertisePeerUrls: str(p, 'initial-advertise-peer-urls').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    skipHashCheck: bool(p, 'skip-hash-check'),
    progress: (n) => log(out, 'restoring key bucket', { entries: n }),
  });
  if (r.alarmsSkipped > 0) out.stderr(`warning: ${r.alarmsSkipped} alarms in the snapshot were not restored\n`);
  log(out, 'restored snapshot', {
    path: snapshotPath,
    'data-dir': dataDir,
    'member-id': idToHex(r.memberId),
    'cluster-id': idToHex(r.clusterId),
    revision: r.revision,
    'compacted-revision': r.compactedRevision,
    entries: r.entries,
    leases: r.leasesRestored,
    took: `${Number(process.hrtime.bigint() - started) / 1e6}ms`,
  });
  return 0;
}

async function defragCmd(argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, [{ name: 'data-dir', kind: 'string', default: '' }, { name: 'wal-dir', kind: 'string', default: '' }]);
  if (p.args.length > 0) throw new UsageError(`defrag takes no arguments (got ${p.args.join(' ')})`);
  const dataDir = str(p, 'data-dir');
  if (dataDir === '') throw new UsageError('defrag needs --data-dir');
  const layout = layoutOf(dataDir, str(p, 'wal-dir'));
  if (!existsSync(layout.dbPath)) throw new SnapshotError(`${layout.dbPath}: no etcd-ts store here`);
  // The member must be stopped: its lock says whether it runs.
  const unlock = lockDataDir(layout);
  try {
    const before = statSync(layout.dbPath).size;
    const tmp = `${layout.dbPath}.defrag.tmp`;
    rmSync(tmp, { force: true });
    const b = LmdbBackend.open({ path: layout.dbPath, writable: true });
    try {
      await (b.env as unknown as { backup(path: string, compact: boolean): Promise<void> }).backup(tmp, true);
    } finally {
      await b.close();
    }
    rmSync(`${layout.dbPath}-lock`, { force: true });
    renameSync(tmp, layout.dbPath);
    const after = statSync(layout.dbPath).size;
    out.stdout(`Finished defragmenting etcd data[${dataDir}]\n`);
    log(out, 'defragmented', { 'data-dir': dataDir, 'size-before': before, 'size-after': after });
  } finally {
    unlock();
  }
  return 0;
}

async function hashkvCmd(argv: string[], out: Output): Promise<number> {
  const p = parseArgs(argv, [{ name: 'rev', kind: 'int', default: 0 }, WRITE_OUT]);
  if (p.args.length !== 1) throw new UsageError('hashkv requires exactly one argument: a db file, a snapshot or an etcd-ts data dir');
  const fmt = str(p, 'write-out');
  checkFormat(fmt, ['simple', 'table', 'json']);
  const target = p.args[0]!;
  if (!existsSync(target)) throw new SnapshotError(`${target} does not exist`);
  let h: { hash: number; hashRevision: number; compactRevision: number };
  const lmdbPath = statSync(target).isDirectory() ? layoutOf(target, '').dbPath : target;
  let isBolt = false;
  try {
    BoltReader.open(lmdbPath).close();
    isBolt = true;
  } catch {
    isBolt = false;
  }
  if (isBolt) {
    const r = BoltReader.open(lmdbPath);
    try {
      const meta = new Map([...r.entries(Buffer.from('meta'))].map(([k, v]) => [k.toString(), Buffer.from(v)]));
      const c = meta.has('finishedCompactRev') ? parseEtcdRevKey(meta.get('finishedCompactRev')!).main : 0;
      h = hashKvOfKeyBucket(() => r.entries(Buffer.from('key')), c, int(p, 'rev'));
    } finally {
      r.close();
    }
  } else {
    const b = LmdbBackend.open({ path: lmdbPath, writable: false });
    try {
      h = new LmdbKvReader(b).view((v) => hashKv(v, int(p, 'rev')));
    } finally {
      await b.close();
    }
  }
  const compact = h.compactRevision > 0 ? h.compactRevision : -1;
  if (fmt === 'json') out.stdout(JSON.stringify({ hash: h.hash, hashRevision: h.hashRevision, compactRevision: compact }) + '\n');
  else if (fmt === 'table') out.stdout(renderTable(['KV HASH', 'HASH REVISION', 'COMPACT REVISION'], [[String(h.hash), String(h.hashRevision), String(compact)]]));
  else out.stdout(`${h.hash}, ${h.hashRevision}, ${compact}\n`);
  return 0;
}

export async function run(argv: readonly string[], out: Output): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'snapshot': {
        const [sub, ...args] = rest;
        if (sub === 'status') return await snapshotStatusCmd(args, out);
        if (sub === 'restore') return await snapshotRestoreCmd(args, out);
        throw new UsageError(`unknown snapshot subcommand ${JSON.stringify(sub ?? '')} (want status or restore)`);
      }
      case 'defrag':
        return await defragCmd(rest, out);
      case 'import':
        return await importCmd(rest, out);
      case 'hashkv':
        return await hashkvCmd(rest, out);
      case 'version':
        out.stdout(`etcdutl version: ${ETCDUTL_VERSION}\nAPI version: ${ETCDUTL_VERSION.split('.').slice(0, 2).join('.')}\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.stdout(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      out.stderr(`Error: ${err.message}\n${USAGE}`);
      return 2;
    }
    out.stderr(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
