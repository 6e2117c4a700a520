/**
 * Compaction (docs/storage-lmdb.md, "Compaction"): logical at once, physical in slices.
 *
 * `schedule(C)` runs inside the applier's write transaction: from that commit on, reads
 * below C fail. `step()` then deletes, in its own small write transaction, what no read at
 * a revision >= C can need: per key, every entry at or below C except the newest, and the
 * newest too when it is a tombstone (plus the key's `latest` record if that tombstone is
 * the head). The scan position is stored in meta, so a restart resumes where it stopped.
 */
import type { LmdbBackend } from '../backend/backend.js';
import {
  META_COMPACTED_REV, META_FINISHED_COMPACT_REV, META_SCHEDULED_COMPACT_REV, getCompactCursor, putU64,
  setCompactCursor, type MetaState,
} from '../backend/meta.js';
import { afterPrefix, decodeKeyPrefix, indexKeyPrefix } from './key-index.js';
import { FLAG_TOMBSTONE } from './records.js';
import { REV_BYTES, assert, encodeRevision, readU64 } from './revision.js';

/**
 * kidx entries examined per slice (one LMDB write txn). Bounds how long a slice delays the
 * next apply batch: ~1000 entries is well under a millisecond or two. If the apply latency
 * metric shows spikes during compaction, lower it.
 */
export const COMPACTION_SLICE_ENTRIES = 1000;

interface Item {
  readonly key: Buffer;
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
}

export class Compactor {
  constructor(
    private readonly backend: LmdbBackend,
    private readonly state: MetaState,
    private readonly onFinished: (revision: number) => void = () => {},
  ) {}

  /** Work left? */
  get pending(): boolean {
    return this.state.scheduledCompactRev !== 0;
  }

  /** Inside the caller's write transaction. Caller has checked compactedRev < rev <= currentRev. */
  schedule(rev: number): void {
    assert(rev > this.state.compactedRev && rev <= this.state.currentRev, 'compaction: revision out of range');
    const m = this.backend.meta;
    putU64(m, META_COMPACTED_REV, rev);
    putU64(m, META_SCHEDULED_COMPACT_REV, rev);
    setCompactCursor(m, undefined);
  }

  /** Physical work: one write transaction over at most `maxEntries` kidx entries. Returns `pending`. */
  step(maxEntries = COMPACTION_SLICE_ENTRIES): boolean {
    assert(maxEntries >= 2, 'compaction slice must hold at least 2 entries');
    const c = this.state.scheduledCompactRev;
    if (c === 0) return false;
    let finished = false;
    this.backend.write(() => {
      finished = this.slice(c, maxEntries);
    });
    if (finished) {
      this.state.finishedCompactRev = c;
      this.state.scheduledCompactRev = 0;
      this.onFinished(c);
    }
    return this.pending;
  }

  /** Run slices until done (tests, shutdown, etcdutl). */
  runToCompletion(maxEntries = COMPACTION_SLICE_ENTRIES): void {
    while (this.step(maxEntries));
  }

  private slice(c: number, maxEntries: number): boolean {
    const b = this.backend;
    const cursor = getCompactCursor(b.meta);
    const items: Item[] = [];
    for (const { key, value } of b.kidx.getRange(cursor ? { start: cursor } : {})) {
      items.push({
        key,
        main: readU64(key, key.length - REV_BYTES),
        sub: readU64(key, key.length - 8),
        tombstone: (value[0]! & FLAG_TOMBSTONE) !== 0,
      });
      if (items.length >= maxEntries) break;
    }
    const exhausted = items.length < maxEntries;
    let next: Buffer | undefined;
    let i = 0;
    while (i < items.length) {
      const prefix = indexKeyPrefix(items[i]!.key);
      let j = i;
      while (j < items.length && indexKeyPrefix(items[j]!.key).equals(prefix)) j++;
      const group = items.slice(i, j);
      const complete = exhausted || j < items.length || group[group.length - 1]!.main > c;
      next = this.compactKey(prefix, group, c, complete);
      if (!complete) break;
      i = j;
    }
    if (exhausted) {
      setCompactCursor(b.meta, undefined);
      putU64(b.meta, META_SCHEDULED_COMPACT_REV, 0);
      putU64(b.meta, META_FINISHED_COMPACT_REV, c);
      return true;
    }
    assert(next !== undefined, 'compaction: no progress');
    setCompactCursor(b.meta, next);
    return false;
  }

  /** Compact one key's (possibly partial) run of entries. Returns where the next slice resumes. */
  private compactKey(prefix: Uint8Array, group: Item[], c: number, complete: boolean): Buffer {
    const b = this.backend;
    let last = -1; // newest entry at or below c
    for (let k = 0; k < group.length && group[k]!.main <= c; k++) last = k;
    for (let k = 0; k < last; k++) this.remove(group[k]!);
    if (!complete) {
      // All slice entries are <= c but more may follow: keep the newest seen, resume at it.
      return group[last]!.key;
    }
    if (last >= 0 && group[last]!.tombstone) {
      const t = group[last]!;
      this.remove(t);
      if (last === group.length - 1) {
        const userKey = decodeKeyPrefix(prefix);
        const removed = b.latest.removeSync(userKey);
        assert(removed, 'compaction: tombstone head without latest record');
        assert(b.tombs.removeSync(userKey), 'compaction: tombstone head not listed in tombs');
      }
    }
    return afterPrefix(prefix);
  }

  private remove(it: Item): void {
    const b = this.backend;
    assert(b.kidx.removeSync(it.key), 'compaction: kidx entry vanished');
    assert(b.rev.removeSync(encodeRevision(it.main, it.sub)), 'compaction: rev entry missing');
  }
}
