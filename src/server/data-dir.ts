/**
 * The data directory: <data-dir>/member/{wal,snap/db} as etcd lays it out, plus
 * member/identity.json (name, member ID, cluster ID: fixed at the first start).
 * Every failure here is a clear message naming the path; nothing is rewritten silently.
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirError extends Error {
  override name = 'DataDirError';
  readonly code = 'ETCD_ERR_DATA_DIR';
}

export interface DataDirLayout {
  readonly dataDir: string;
  readonly memberDir: string;
  readonly walDir: string;
  readonly snapDir: string;
  readonly dbPath: string;
  readonly identityPath: string;
  readonly lockPath: string;
}

export function layoutOf(dataDir: string, walDirFlag: string): DataDirLayout {
  const memberDir = join(dataDir, 'member');
  const snapDir = join(memberDir, 'snap');
  return {
    dataDir,
    memberDir,
    walDir: walDirFlag !== '' ? walDirFlag : join(memberDir, 'wal'),
    snapDir,
    dbPath: join(snapDir, 'db'),
    identityPath: join(memberDir, 'identity.json'),
    lockPath: join(memberDir, 'lock'),
  };
}

/** True when the data dir already holds a member (a restart, not a bootstrap). */
export function isInitialized(l: DataDirLayout): boolean {
  return existsSync(l.identityPath);
}

/** Creates the directories (0700, as etcd) and checks they are writable. */
export function prepare(l: DataDirLayout): void {
  for (const dir of [l.dataDir, l.memberDir, l.snapDir, l.walDir]) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      accessSync(dir, constants.W_OK | constants.R_OK | constants.X_OK);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DataDirError(`cannot access data directory ${dir}: ${reason}`);
    }
  }
}

export interface StoredIdentity {
  readonly format: 'etcd-ts/identity/v1';
  readonly name: string;
  readonly memberId: number;
  readonly clusterId: number;
}

export function readIdentity(l: DataDirLayout): StoredIdentity | undefined {
  if (!existsSync(l.identityPath)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(l.identityPath, 'utf8'));
  } catch (err) {
    throw new DataDirError(`${l.identityPath}: not an etcd-ts member identity file (${err instanceof Error ? err.message : String(err)}); refusing to start`);
  }
  const id = parsed as Partial<StoredIdentity>;
  if (id.format !== 'etcd-ts/identity/v1' || typeof id.name !== 'string' || !Number.isSafeInteger(id.memberId) || !Number.isSafeInteger(id.clusterId)) {
    throw new DataDirError(`${l.identityPath}: not an etcd-ts member identity file; refusing to start`);
  }
  return id as StoredIdentity;
}

/** Written once, atomically (temp file, fsync, rename). */
export function writeIdentity(l: DataDirLayout, id: StoredIdentity): void {
  const tmp = `${l.identityPath}.tmp`;
  writeFileSync(tmp, JSON.stringify(id) + '\n', { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, l.identityPath);
  const dfd = openSync(l.memberDir, 'r');
  fsyncSync(dfd);
  closeSync(dfd);
}

/**
 * One process per data dir (etcd takes a file lock on its WAL). Node has no flock, so the
 * lock is a file holding the owner's pid: an existing lock whose pid is alive refuses the
 * start; a lock left by a process that died (kill -9) is taken over.
 * Returns the function that releases it.
 */
export function lockDataDir(l: DataDirLayout): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(l.lockPath, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(l.lockPath, 'utf8').trim() === String(process.pid)) unlinkSync(l.lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(`cannot lock data directory: ${l.lockPath}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const owner = Number.parseInt(readFileSync(l.lockPath, 'utf8').trim(), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new DataDirError(`data directory ${l.dataDir} is in use by process ${owner} (${l.lockPath}); refusing to start a second member on it`);
    }
    if (owner === process.pid) {
      throw new DataDirError(`data directory ${l.dataDir} is already open in this process (${l.lockPath})`);
    }
    unlinkSync(l.lockPath); // stale: its owner is gone
  }
  throw new DataDirError(`cannot lock data directory: ${l.lockPath}: another process raced for it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
