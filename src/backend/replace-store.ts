/**
 * Replaces the whole content of the writer's LMDB environment with another LMDB store file (a
 * Raft snapshot received from the leader: docs/cluster.md, "Snapshots to lagging followers").
 *
 * One write transaction empties every dbi and copies the file's dbis in, so a reader (or a
 * crash) sees the old store or the new one, never a mix; readers keep their environment
 * handles. The caller syncs afterwards (`LmdbBackend.flush`). The source is opened read-only and
 * closed (its lock file removed) before returning.
 *
 * Memory: LMDB spills dirty pages of a large transaction to the file, so the copy does not have
 * to fit in memory; it does need free space for both stores until the old pages are reused.
 */
import { rmSync } from 'node:fs';
import { LmdbBackend, type Dbi } from './backend.js';
import { readMeta } from './meta.js';

/** What the store holds after the replacement. */
export interface ReplacedStore {
  readonly appliedIndex: number;
  readonly consistentTerm: number;
  readonly currentRevision: number;
}

/** The applied index, term and revision a store file records (opened read-only, then closed). */
export async function readStorePoint(path: string): Promise<ReplacedStore> {
  const src = LmdbBackend.open({ path, writable: false });
  try {
    const m = readMeta(src.meta);
    return { appliedIndex: m.appliedIndex, consistentTerm: m.consistentTerm, currentRevision: m.currentRev };
  } finally {
    await src.close();
    rmSync(`${path}-lock`, { force: true });
  }
}

export async function replaceStore(target: LmdbBackend, sourcePath: string): Promise<ReplacedStore> {
  if (!target.writable) throw new Error('replaceStore: the target must be the writer');
  const src = LmdbBackend.open({ path: sourcePath, writable: false });
  try {
    const pairs: [Dbi, Dbi][] = [
      [target.meta, src.meta], [target.rev, src.rev], [target.kidx, src.kidx], [target.latest, src.latest],
      [target.tombs, src.tombs], [target.leaseKeys, src.leaseKeys], [target.leases, src.leases],
    ];
    target.write(() => {
      for (const [to, from] of pairs) {
        to.clearSync();
        // The source yields keys in the dbi's order and the target is empty: MDB_APPEND.
        for (const { key, value } of from.getRange({})) to.putSync(key, value, { append: true });
      }
    });
  } finally {
    await src.close();
    rmSync(`${sourcePath}-lock`, { force: true });
  }
  const m = readMeta(target.meta);
  return { appliedIndex: m.appliedIndex, consistentTerm: m.consistentTerm, currentRevision: m.currentRev };
}
