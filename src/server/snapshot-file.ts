/**
 * Snapshot files in etcd's format (docs/snapshot-format.md): the integrity check of
 * `snapshot restore` (the trailing SHA-256), `snapshot status`, and restoring one into a new
 * etcd-ts data dir. Used by bin/etcdutl; every failure is an error that says what and where,
 * and a failed restore leaves nothing behind.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { BoltReader } from '../backend/bbolt/reader.js';
import { LmdbBackend } from '../backend/backend.js';
import { HistoryLoader } from '../mvcc/restore.js';
import { decodeEtcdKeyValue, parseEtcdRevKey } from '../mvcc/etcd-format.js';
import { decodeLease } from '../mvcc/etcd-buckets.js';
import { encodeLeaseRecord, leaseIdKey } from '../apply/lease-records.js';
import { writeAuthState } from '../auth/keys.js';
import type { AuthState } from '../auth/store.js';
import { authpb } from '../proto/pb.js';
import { layoutOf, writeIdentity } from './data-dir.js';
import { computeClusterId, computeMemberId } from './identity.js';
import { bootstrapEntries } from './node/raft-opener.js';
import { openWalSync } from '../wal/index.js';
import type { MemberRecord } from '../apply/membership.js';

export class SnapshotError extends Error {
  override name = 'SnapshotError';
}

const SHA256_BYTES = 32;

/** etcd's hasChecksum: a saved snapshot is whole pages (512-byte multiples) plus a SHA-256. */
export function hasChecksum(sizeBytes: number): boolean {
  return sizeBytes % 512 === SHA256_BYTES;
}

/**
 * Checks the trailing SHA-256 (unless skipped) and returns the size of the database part.
 * A file without a trailer is accepted only with `skipHashCheck` (a copied db file), as etcd does.
 */
export function verifySnapshot(path: string, skipHashCheck: boolean): { dbBytes: number; hasHash: boolean } {
  if (!existsSync(path)) throw new SnapshotError(`snapshot file ${path} does not exist`);
  const size = statSync(path).size;
  const hasHash = hasChecksum(size);
  if (!hasHash) {
    if (!skipHashCheck) throw new SnapshotError(`snapshot missing hash but --skip-hash-check=false (${path}: ${size} bytes)`);
    return { dbBytes: size, hasHash };
  }
  const dbBytes = size - SHA256_BYTES;
  if (skipHashCheck) return { dbBytes, hasHash };
  const fd = openSync(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    while (pos < dbBytes) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, dbBytes - pos), pos);
      if (n === 0) throw new SnapshotError(`${path}: unexpected end of file at byte ${pos}`);
      h.update(buf.subarray(0, n));
      pos += n;
    }
    const want = Buffer.alloc(SHA256_BYTES);
    readSync(fd, want, 0, SHA256_BYTES, dbBytes);
    const got = h.digest();
    if (!got.equals(want)) throw new SnapshotError(`${path}: expected sha256 ${want.toString('hex')}, got ${got.toString('hex')}: the snapshot is damaged or was tampered with`);
  } finally {
    closeSync(fd);
  }
  return { dbBytes, hasHash };
}

export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

/** etcd's snapshot status: bbolt's consistency check, then a CRC-32C over every bucket's name, keys and values. */
export function snapshotStatus(path: string): SnapshotStatus {
  if (!existsSync(path)) throw new SnapshotError(`snapshot file ${path} does not exist`);
  const r = BoltReader.open(path);
  try {
    const errors = r.check();
    if (errors.length > 0) throw new SnapshotError(`snapshot file integrity check failed. ${errors.length} errors found.\n${errors.join('\n')}`);
    let h = 0;
    let revision = 0;
    let totalKey = 0;
    for (const name of r.bucketNames()) {
      h = crc32c(name, h);
      const isKey = name.toString() === 'key';
      for (const [k, v] of r.entries(name)) {
        h = crc32c(k, h);
        h = crc32c(v, h);
        if (isKey) revision = parseEtcdRevKey(k).main;
        totalKey++;
      }
    }
    return { hash: h >>> 0, revision, totalKey, totalSize: r.sizeBytes };
  } finally {
    r.close();
  }
}

export interface RestoreOptions {
  readonly snapshotPath: string;
  readonly dataDir: string;
  readonly walDir: string;
  readonly name: string;
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly skipHashCheck: boolean;
  /** Called every so many entries with the count written so far. */
  readonly progress?: (entries: number) => void;
}

export interface RestoreResult {
  readonly revision: number;
  readonly compactedRevision: number;
  readonly entries: number;
  readonly memberId: bigint;
  readonly clusterId: bigint;
  readonly leasesRestored: number;
  readonly alarmsSkipped: number;
}

const PROGRESS_EVERY = 100_000;

/** The members of --initial-cluster (name=url,...): their IDs, ours by --name. */
function clusterMembers(o: RestoreOptions): { memberId: bigint; clusterId: bigint; members: MemberRecord[] } {
  const byName = new Map<string, string[]>();
  for (const part of o.initialCluster.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SnapshotError(`--initial-cluster: ${JSON.stringify(part)} is not name=url`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    try {
      new URL(url);
    } catch {
      throw new SnapshotError(`--initial-cluster: ${JSON.stringify(url)} is not a URL`);
    }
    byName.set(name, [...(byName.get(name) ?? []), url]);
  }
  const mine = byName.get(o.name);
  if (mine === undefined) throw new SnapshotError(`--initial-cluster has no member named ${JSON.stringify(o.name)} (--name)`);
  const advertised = [...o.initialAdvertisePeerUrls].sort();
  if (advertised.join(',') !== [...mine].sort().join(',')) {
    throw new SnapshotError(`--initial-cluster must include ${o.name}=${advertised.join(',')} (--initial-advertise-peer-urls), has ${mine.join(',')}`);
  }
  const members = [...byName].map(([name, urls]) => {
    const peerUrls = [...urls].sort();
    return { id: computeMemberId(peerUrls, o.initialClusterToken), name, peerUrls, clientUrls: [], isLearner: false };
  });
  return { memberId: computeMemberId(advertised, o.initialClusterToken), clusterId: computeClusterId(members.map((m) => m.id)), members };
}

/** etcd's auth buckets of a snapshot; malformed records refuse the restore. */
function readSnapshotAuth(reader: BoltReader, path: string): AuthState {
  const auth = new Map(reader.hasBucket(Buffer.from('auth')) ? [...reader.entries(Buffer.from('auth'))].map(([k, v]) => [k.toString(), Buffer.from(v)]) : []);
  const en = auth.get('authEnabled');
  const rev = auth.get('authRevision');
  if (rev !== undefined && rev.length !== 8) throw new SnapshotError(`${path}: auth bucket: authRevision is ${rev.length} bytes, not 8`);
  const decodeAll = <T>(bucket: string, decode: (b: Uint8Array) => T): T[] => {
    if (!reader.hasBucket(Buffer.from(bucket))) return [];
    return [...reader.entries(Buffer.from(bucket))].map(([k, v]) => {
      try {
        return decode(v);
      } catch (err) {
        throw new SnapshotError(`${path}: ${bucket} ${JSON.stringify(k.toString())}: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
  };
  return {
    enabled: en !== undefined && en.length === 1 && en[0] === 1,
    revision: rev === undefined ? 1 : Number(rev.readBigUInt64BE(0)),
    users: decodeAll('authUsers', (b) => authpb.User.decode(b)),
    roles: decodeAll('authRoles', (b) => authpb.Role.decode(b)),
  };
}

/**
 * Restores a snapshot into a new data dir. Refuses a data dir that exists and is not empty; on
 * any failure removes what it created, so nothing is left half-written.
 */
export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  if (existsSync(o.dataDir) && readdirSync(o.dataDir).length > 0) {
    throw new SnapshotError(`data-dir ${JSON.stringify(o.dataDir)} exists and is not empty; refusing to overwrite it`);
  }
  if (o.walDir !== '' && existsSync(o.walDir) && readdirSync(o.walDir).length > 0) {
    throw new SnapshotError(`wal-dir ${JSON.stringify(o.walDir)} exists and is not empty; refusing to overwrite it`);
  }
  const ids = clusterMembers(o);
  const { dbBytes } = verifySnapshot(o.snapshotPath, o.skipHashCheck);
  const reader = BoltReader.open(o.snapshotPath, dbBytes);
  const createdDataDir = !existsSync(o.dataDir);
  const createdWalDir = o.walDir !== '' && !existsSync(o.walDir);
  const layout = layoutOf(o.dataDir, o.walDir);
  let backend: LmdbBackend | undefined;
  try {
    const errors = reader.check();
    if (errors.length > 0) throw new SnapshotError(`${o.snapshotPath}: snapshot file integrity check failed. ${errors.length} errors found.\n${errors.slice(0, 20).join('\n')}`);
    if (!reader.hasBucket(Buffer.from('key')) || !reader.hasBucket(Buffer.from('meta'))) {
      throw new SnapshotError(`${o.snapshotPath}: not an etcd snapshot (no key or meta bucket)`);
    }
    const meta = new Map([...reader.entries(Buffer.from('meta'))].map(([k, v]) => [k.toString(), Buffer.from(v)]));
    const sv = meta.get('storageVersion')?.toString();
    if (sv !== undefined && !/^3\.[0-6](\.\d+)?$/.test(sv)) {
      throw new SnapshotError(`${o.snapshotPath}: storage version ${sv} is newer than this etcd-ts understands (3.6)`);
    }
    const revOf = (k: string): number => (meta.has(k) ? parseEtcdRevKey(meta.get(k)!).main : 0);
    mkdirSync(layout.snapDir, { recursive: true, mode: 0o700 });
    mkdirSync(layout.walDir, { recursive: true, mode: 0o700 });
    backend = LmdbBackend.open({ path: layout.dbPath, writable: true });
    const loader = new HistoryLoader(backend);
    let read = 0;
    for (const [k, v] of reader.entries(Buffer.from('key'))) {
      const rk = parseEtcdRevKey(k);
      loader.add(rk.main, rk.sub, rk.tombstone, decodeEtcdKeyValue(v));
      if (++read % PROGRESS_EVERY === 0) o.progress?.(read);
    }
    const compactedRevision = revOf('finishedCompactRev');
    const revision = loader.finish({ compactedRev: compactedRevision, scheduledCompactRev: revOf('scheduledCompactRev') });
    // Leases: etcd's bucket into the leases dbi (keys were attached above by their lease IDs).
    const leaseDb = backend.leases;
    const leases = [...reader.entries(Buffer.from('lease'))].map(([, v]) => decodeLease(v));
    backend.write(() => {
      for (const l of leases) {
        if (l.ttl <= 0) throw new SnapshotError(`${o.snapshotPath}: lease ${l.id} has TTL ${l.ttl}`);
        leaseDb.putSync(leaseIdKey(l.id), encodeLeaseRecord(l.ttl, l.remainingTtl > 0 ? l.remainingTtl : 0));
      }
    });
    // The auth store (docs/auth.md "Snapshots"): etcd's auth buckets into the meta keys.
    const authState = readSnapshotAuth(reader, o.snapshotPath);
    backend.write(() => writeAuthState(backend!.meta, authState));
    const leasesRestored = leases.length;
    const alarmsSkipped = [...reader.entries(Buffer.from('alarm'))].length;
    const entries = loader.count;
    const closing = backend;
    backend = undefined;
    await closing.close();
    // A cluster of several members starts its log as a new one does (src/server/bootstrap.ts):
    // one committed membership change per member at term 1, so every restored member holds the
    // same membership (with the names of --initial-cluster) before Raft starts, as etcd's restore
    // writes its members and their conf-change entries. One member runs without Raft: no log.
    const raft = ids.members.length > 1;
    if (raft) {
      const { wal } = openWalSync({ dir: layout.walDir }, 0);
      try {
        const entries = bootstrapEntries(ids.members);
        wal.save({ term: 1, vote: 0n, commit: entries.length }, entries);
        wal.sync();
      } finally {
        wal.close();
      }
    }
    writeIdentity(layout, { format: 'etcd-ts/identity/v1', name: o.name, memberId: ids.memberId, clusterId: ids.clusterId, ...(raft ? { consensus: 'raft' as const } : {}) });
    return { revision, compactedRevision, entries, memberId: ids.memberId, clusterId: ids.clusterId, leasesRestored, alarmsSkipped };
  } catch (err) {
    if (backend !== undefined) await backend.close().catch(() => undefined);
    // Leave nothing behind: what this call created goes.
    if (createdDataDir) rmSync(o.dataDir, { recursive: true, force: true });
    else rmSync(layout.memberDir, { recursive: true, force: true });
    if (createdWalDir) rmSync(o.walDir, { recursive: true, force: true });
    throw err;
  } finally {
    reader.close();
  }
}
