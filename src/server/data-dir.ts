/**
 * The data directory: <data-dir>/member/{wal,snap/db} as etcd lays it out, plus
 * member/identity.json (name, member ID, cluster ID: fixed at the first start; the IDs as
 * 16 hex digits, `{"format":"etcd-ts/identity/v1","name":"default","memberId":"8e9e05c52164694d",
 * "clusterId":"cdf818194e3a8c32"}`; earlier versions wrote them as JSON numbers below 2^53,
 * which are still read).
 * Every failure here is a clear message naming the path; nothing is rewritten silently.
 */
import { fsyncDir } from '../util/fsync-dir.js';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { idFromHex, idToHex16, type ClusterId, type MemberId } from '../util/pure/id64.js';

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

/**
 * Creates the directories (0700, as etcd) and checks they are writable. Each directory created
 * is made durable (its parent fsynced, from the deepest up), so a power loss soon after the first
 * start cannot take the data dir's entries away (docs/storage.md, "Directory entries").
 */
export function prepare(l: DataDirLayout): void {
  const created = new Set<string>();
  for (const dir of [l.dataDir, l.memberDir, l.snapDir, l.walDir]) {
    try {
      const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (let d = dir; first !== undefined; d = dirname(d)) {
        created.add(d);
        if (d === first || dirname(d) === d) break;
      }
      accessSync(dir, constants.W_OK | constants.R_OK | constants.X_OK);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new DataDirError(`cannot access data directory ${dir}: ${reason}`);
    }
  }
  const parents = new Set([...created].map((d) => dirname(d)));
  for (const p of [...parents].sort((a, b) => b.length - a.length)) fsyncDir(p);
}

export interface StoredIdentity {
  readonly format: 'etcd-ts/identity/v1';
  readonly name: string;
  readonly memberId: MemberId;
  readonly clusterId: ClusterId;
  /**
   * 'raft': a member of a multi-member cluster whose membership is stored in the store (it
   * restarts as one without the bootstrap flags). Absent: one member (or a cluster data dir from
   * before membership was stored, which restarts from its flags).
   */
  readonly consensus?: 'raft';
}

/** An ID as identity.json holds it: 16 hex digits, or (written before 64-bit IDs) a safe integer. */
function storedId(v: unknown): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? BigInt(v) : undefined;
  if (typeof v !== 'string' || v.length !== 16) return undefined;
  try {
    const id = idFromHex(v);
    return id === 0n ? undefined : id;
  } catch {
    return undefined;
  }
}

export function readIdentity(l: DataDirLayout): StoredIdentity | undefined {
  if (!existsSync(l.identityPath)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(l.identityPath, 'utf8'));
  } catch (err) {
    throw new DataDirError(`${l.identityPath}: not an etcd-ts member identity file (${err instanceof Error ? err.message : String(err)}); refusing to start`);
  }
  const id = (parsed ?? {}) as { format?: unknown; name?: unknown; memberId?: unknown; clusterId?: unknown; consensus?: unknown };
  const memberId = storedId(id.memberId);
  const clusterId = storedId(id.clusterId);
  if (id.format !== 'etcd-ts/identity/v1' || typeof id.name !== 'string' || memberId === undefined || clusterId === undefined) {
    throw new DataDirError(`${l.identityPath}: not an etcd-ts member identity file (want format etcd-ts/identity/v1, a name, and member and cluster IDs as 16 hex digits); refusing to start`);
  }
  if (id.consensus !== undefined && id.consensus !== 'raft') {
    throw new DataDirError(`${l.identityPath}: unknown consensus ${JSON.stringify(id.consensus)} (want "raft" or none); refusing to start`);
  }
  return { format: 'etcd-ts/identity/v1', name: id.name, memberId, clusterId, ...(id.consensus === 'raft' ? { consensus: 'raft' as const } : {}) };
}

/** Written once, atomically (temp file, fsync, rename). */
export function writeIdentity(l: DataDirLayout, id: StoredIdentity): void {
  const tmp = `${l.identityPath}.tmp`;
  const text = JSON.stringify({
    format: id.format, name: id.name, memberId: idToHex16(id.memberId), clusterId: idToHex16(id.clusterId),
    ...(id.consensus !== undefined ? { consensus: id.consensus } : {}),
  });
  writeFileSync(tmp, text + '\n', { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, l.identityPath);
  const dfd = openSync(l.memberDir, 'r');
  fsyncSync(dfd);
  closeSync(dfd);
}

/** Lock files held by this process (a pid cannot tell us: it may be reused). */
const heldLocks = new Set<string>();

/** Who holds a lock: pid, when that process started, and which boot it belongs to. */
interface LockOwner {
  readonly pid: number;
  readonly startTime: string;
  readonly bootId: string;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), '' if unknown. */
function processStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function parseOwner(text: string): LockOwner | undefined {
  const [pid, startTime, id] = text.trim().split(/\s+/);
  const n = Number.parseInt(pid ?? '', 10);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return { pid: n, startTime: startTime ?? '', bootId: id ?? '' };
}

/** The recorded owner is this very process incarnation, still running. */
function ownerIsAlive(o: LockOwner): boolean {
  try {
    process.kill(o.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (o.bootId !== '' && o.bootId !== bootId()) return false; // recorded before a reboot
  if (o.startTime !== '' && processStartTime(o.pid) !== o.startTime) return false; // pid reused
  return true;
}

/**
 * One process per data dir, and per WAL dir (etcd takes a file lock on its WAL). Node has
 * no flock, so a lock is a file naming its owner (pid, start time, boot ID): a lock whose
 * owner still runs refuses the start; one left by a process that died (kill -9), even if
 * its pid was reused since (pid 1 in a container), is taken over.
 * Returns the function that releases it.
 */
export function lockDir(lockPath: string, what: string): () => void {
  if (heldLocks.has(lockPath)) throw new DataDirError(`${what} is already open in this process (${lockPath})`);
  const me = `${process.pid} ${processStartTime(process.pid)} ${bootId()}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, me);
      closeSync(fd);
      heldLocks.add(lockPath);
      return () => {
        heldLocks.delete(lockPath);
        try {
          if (readFileSync(lockPath, 'utf8') === me) unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(`cannot lock ${what}: ${lockPath}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const seen = readFileSync(lockPath, 'utf8');
    const owner = parseOwner(seen);
    if (owner !== undefined && ownerIsAlive(owner)) {
      throw new DataDirError(`${what} is in use by process ${owner.pid} (${lockPath}); refusing to start a second member on it`);
    }
    // Stale. Remove it only if it is still the lock we judged (another starter may have
    // taken it over meanwhile); then race for it with O_EXCL.
    if (readFileSync(lockPath, 'utf8') === seen) unlinkSync(lockPath);
  }
  throw new DataDirError(`cannot lock ${what}: ${lockPath}: another process took it`);
}

/** Locks the data dir and the WAL dir; returns the function that releases both. */
export function lockDataDir(l: DataDirLayout): () => void {
  const unlockData = lockDir(l.lockPath, `data directory ${l.dataDir}`);
  try {
    const unlockWal = lockDir(join(l.walDir, 'lock'), `WAL directory ${l.walDir}`);
    return () => {
      unlockWal();
      unlockData();
    };
  } catch (err) {
    unlockData();
    throw err;
  }
}
