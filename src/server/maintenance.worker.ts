/**
 * Piscina tasks of the read pool (src/server/read-pool.ts) for maintenance: HashKV, Hash and
 * snapshots in etcd's bbolt format. Each runs in one LMDB read transaction, so it sees one
 * consistent state while the apply worker goes on writing. Errors come back as their
 * EtcdError code (structured clone drops the class).
 */
import { rmSync } from 'node:fs';
import { crc32c } from '@node-rs/crc32';
import { LmdbBackend } from '../backend/backend.js';
import { readMeta, type MetaState } from '../backend/meta.js';
import { listAlarms } from '../backend/alarms.js';
import { allLeases } from '../apply/lease-records.js';
import { LmdbReadView } from '../mvcc/kvstore.js';
import { hashKv } from '../mvcc/hash.js';
import { etcdBuckets, type EtcdAuthBuckets, type EtcdBucketsInput } from '../mvcc/etcd-buckets.js';
import { META_AUTH_ENABLED, readAuthState } from '../auth/keys.js';
import { authpb } from '../proto/pb.js';
import { BoltWriter } from '../backend/bbolt/writer.js';
import { EtcdError } from '../errors/errors.js';
import type { HashKvResult, SnapshotMeta, StoreCopy } from './ports.js';
import { statSync } from 'node:fs';
import { META_MEMBERS } from '../backend/schema.js';

export type MaintenanceTask =
  | { readonly kind: 'hashKv'; readonly dbPath: string; readonly revision: number }
  | { readonly kind: 'hash'; readonly dbPath: string }
  | { readonly kind: 'snapshot'; readonly dbPath: string; readonly path: string; readonly meta: SnapshotMeta }
  | { readonly kind: 'storeCopy'; readonly dbPath: string; readonly path: string };

export type MaintenanceResult =
  | { readonly errorCode: string }
  | HashKvResult
  | { readonly hash: number; readonly currentRevision: number }
  | { readonly sizeBytes: number; readonly revision: number }
  | StoreCopy;

const backends = new Map<string, LmdbBackend>();

function withView<T>(dbPath: string, fn: (view: LmdbReadView, meta: MetaState, backend: LmdbBackend) => T): T {
  let backend = backends.get(dbPath);
  if (backend === undefined) {
    backend = LmdbBackend.open({ path: dbPath, writable: false });
    backends.set(dbPath, backend);
  }
  const txn = backend.beginRead();
  try {
    const opts = { transaction: txn };
    const m = readMeta(backend.meta, opts);
    return fn(new LmdbReadView(backend, opts, m.currentRev, m.compactedRev), m, backend);
  } finally {
    txn.done();
  }
}

/** The auth store as etcd's buckets hold it (docs/auth.md "Snapshots"). */
function authBuckets(backend: LmdbBackend, opts: { transaction?: never } | object): EtcdAuthBuckets {
  const s = readAuthState(backend.meta, opts);
  const stored = backend.meta.get(META_AUTH_ENABLED, opts as never) !== undefined;
  return {
    enabled: stored ? s.enabled : undefined,
    revision: s.revision,
    users: s.users.map((u) => [u.name ?? new Uint8Array(0), authpb.User.encode(u).finish()] as const),
    roles: s.roles.map((r) => [r.name ?? new Uint8Array(0), authpb.Role.encode(r).finish()] as const),
  };
}

/** Meta keys etcd leaves out of its Hash (they differ between members). */
const HASH_IGNORED_META = new Set(['consistent_index', 'term']);

function bucketsOf(view: LmdbReadView, meta: MetaState, backend: LmdbBackend, m: SnapshotMeta | undefined): ReturnType<typeof etcdBuckets> {
  const input: EtcdBucketsInput = {
    members: m === undefined ? [] : [{ memberId: m.memberId, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls }],
    clusterVersion: m?.clusterVersion ?? '',
    alarms: listAlarms(backend.meta, view.opts),
    leases: allLeases(backend.leases, view.opts),
    appliedIndex: meta.appliedIndex,
    term: meta.consistentTerm,
    scheduledCompactRev: meta.scheduledCompactRev,
    auth: authBuckets(backend, view.opts),
  };
  return etcdBuckets(view, input);
}

/**
 * A compact copy of the whole LMDB environment (a Raft snapshot's body: docs/cluster.md,
 * "Snapshots to lagging followers"): mdb_env_copy2 in one read transaction on a libuv thread,
 * then the copy's own point (applied index, term, membership) read back from it.
 */
async function storeCopy(dbPath: string, path: string): Promise<StoreCopy> {
  let backend = backends.get(dbPath);
  if (backend === undefined) {
    backend = LmdbBackend.open({ path: dbPath, writable: false });
    backends.set(dbPath, backend);
  }
  rmSync(path, { force: true });
  try {
    await backend.env.backup(path, true);
    const copy = LmdbBackend.open({ path, writable: false });
    try {
      const m = readMeta(copy.meta);
      const members = copy.meta.get(META_MEMBERS);
      return {
        path, sizeBytes: statSync(path).size, appliedIndex: m.appliedIndex, consistentTerm: m.consistentTerm, currentRevision: m.currentRev,
        members: members === undefined ? null : new Uint8Array(members),
      };
    } finally {
      await copy.close();
      rmSync(`${path}-lock`, { force: true });
    }
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
}

export default function maintenance(task: MaintenanceTask): MaintenanceResult | Promise<MaintenanceResult> {
  if (task.kind === 'storeCopy') return storeCopy(task.dbPath, task.path);
  try {
    if (task.kind === 'hashKv') {
      return withView(task.dbPath, (view) => ({ ...hashKv(view, task.revision), currentRevision: view.rev }));
    }
    if (task.kind === 'hash') {
      return withView(task.dbPath, (view, meta, backend) => {
        let h = 0;
        for (const [name, entries] of bucketsOf(view, meta, backend, undefined)) {
          if (name.toString() === 'members' || name.toString() === 'cluster') continue;
          h = crc32c(name, h);
          const isMeta = name.toString() === 'meta';
          for (const [k, v] of entries) {
            if (isMeta && HASH_IGNORED_META.has(Buffer.from(k).toString())) continue;
            h = crc32c(Buffer.from(k), h);
            h = crc32c(Buffer.from(v), h);
          }
        }
        return { hash: h >>> 0, currentRevision: view.rev };
      });
    }
    return withView(task.dbPath, (view, meta, backend) => {
      const w = BoltWriter.create(task.path);
      try {
        for (const [name, entries] of bucketsOf(view, meta, backend, task.meta)) w.bucket(name, entries);
        // A staging file, streamed and removed at once: no fsync (a crash leaves a stale file that the next start removes).
        return { sizeBytes: w.finish({ sync: false }), revision: view.rev };
      } catch (err) {
        w.abort();
        rmSync(task.path, { force: true });
        throw err;
      }
    });
  } catch (err) {
    if (err instanceof EtcdError) return { errorCode: err.code };
    throw err;
  }
}
