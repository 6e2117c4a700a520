/**
 * Typed access to the meta dbi (docs/storage-lmdb.md, "Meta keys").
 */
import type { Dbi, ReadOpts } from './backend.js';
import {
  META_APPLIED_INDEX, META_COMPACT_CURSOR, META_COMPACTED_REV, META_CONSISTENT_TERM, META_CURRENT_REV,
  META_FINISHED_COMPACT_REV, META_SCHEDULED_COMPACT_REV,
} from './schema.js';
import { assert } from '../util/pure/assert.js';
import { readU64, u64Bytes } from '../util/pure/u64be.js';

/** The revision of a new, empty store (etcd's: the first write gets revision 2). */
export const INITIAL_REVISION = 1;

export interface MetaState {
  appliedIndex: number;
  consistentTerm: number;
  currentRev: number;
  compactedRev: number;
  scheduledCompactRev: number;
  finishedCompactRev: number;
}

function getU64(meta: Dbi, key: Buffer, dflt: number, opts: ReadOpts): number {
  const v = meta.get(key, opts);
  if (v === undefined) return dflt;
  assert(v.length === 8, `meta ${key.toString()}: length ${v.length}`);
  return readU64(v, 0);
}

export function readMeta(meta: Dbi, opts: ReadOpts = {}): MetaState {
  const s: MetaState = {
    appliedIndex: getU64(meta, META_APPLIED_INDEX, 0, opts),
    consistentTerm: getU64(meta, META_CONSISTENT_TERM, 0, opts),
    currentRev: getU64(meta, META_CURRENT_REV, INITIAL_REVISION, opts),
    compactedRev: getU64(meta, META_COMPACTED_REV, 0, opts),
    scheduledCompactRev: getU64(meta, META_SCHEDULED_COMPACT_REV, 0, opts),
    finishedCompactRev: getU64(meta, META_FINISHED_COMPACT_REV, 0, opts),
  };
  // Invariants: compacted <= current; finished <= compacted; scheduled is 0 or compacted.
  assert(s.compactedRev <= s.currentRev, 'meta: compacted_rev > current_rev');
  assert(s.finishedCompactRev <= s.compactedRev, 'meta: finished_compact_rev > compacted_rev');
  assert(s.scheduledCompactRev === 0 || s.scheduledCompactRev === s.compactedRev, 'meta: scheduled compaction is not the latest');
  return s;
}

/** Writer only, inside a write transaction. */
export function putU64(meta: Dbi, key: Buffer, n: number): void {
  meta.putSync(key, u64Bytes(n));
}

export function writeApplied(meta: Dbi, appliedIndex: number, term: number, currentRev: number): void {
  putU64(meta, META_APPLIED_INDEX, appliedIndex);
  putU64(meta, META_CONSISTENT_TERM, term);
  putU64(meta, META_CURRENT_REV, currentRev);
}

export function getCompactCursor(meta: Dbi, opts: ReadOpts = {}): Buffer | undefined {
  return meta.get(META_COMPACT_CURSOR, opts);
}

export function setCompactCursor(meta: Dbi, cursor: Buffer | undefined): void {
  if (cursor === undefined) meta.removeSync(META_COMPACT_CURSOR);
  else meta.putSync(META_COMPACT_CURSOR, cursor);
}

export { META_COMPACTED_REV, META_SCHEDULED_COMPACT_REV, META_FINISHED_COMPACT_REV };
