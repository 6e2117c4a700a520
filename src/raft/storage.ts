/**
 * The log storage interface raft reads from, and MemoryStorage, the in-memory
 * implementation (etcd: storage.go). The WAL-backed one comes with the cluster issue.
 *
 * Layout of MemoryStorage.ents:
 *
 *   ents[0]           ents[1] ... ents[n]
 *   dummy (snapshot   first stored entry ... last entry
 *   index and term)   (index = snapshot index + 1)
 */
import {
  ErrCompacted,
  ErrSnapOutOfDate,
  ErrUnavailable,
  EMPTY_CONF_STATE,
  assert,
  type ConfState,
  type Snapshot,
} from './messages.js';
import { EMPTY_HARD_STATE, EntryType, type Entry, type HardState, type Index, type Term } from '../raftpb/types.js';

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

export interface Storage {
  initialState(): InitialState;
  /** Entries in [lo, hi), at least one if any, total size at most maxSize bytes. Throws ErrCompacted / ErrUnavailable. */
  entries(lo: Index, hi: Index, maxSize: number): Entry[];
  /** Term of entry i; i in [firstIndex-1, lastIndex]. Throws ErrCompacted / ErrUnavailable. */
  term(i: Index): Term;
  lastIndex(): Index;
  firstIndex(): Index;
  /** The most recent snapshot. May throw ErrSnapshotTemporarilyUnavailable. */
  snapshot(): Snapshot;
}

/** Payload bytes of an entry, as counted against size limits. */
export function entrySize(e: Entry): number {
  return e.data.length + 16;
}

/** Truncates ents so the total size stays within maxSize (at least one entry is kept). */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  /** ents[0] is a dummy entry holding the snapshot's index and term. */
  private ents: Entry[];

  constructor(confState: ConfState = EMPTY_CONF_STATE) {
    this.snap = { data: new Uint8Array(0), metadata: { confState, index: 0, term: 0 } };
    this.ents = [{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  private offset(): Index {
    return this.ents[0]!.index;
  }

  entries(lo: Index, hi: Index, maxSize: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) throw ErrUnavailable;
    if (this.ents.length === 1) throw ErrUnavailable;
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: Index): Term {
    const offset = this.offset();
    if (i < offset) throw ErrCompacted;
    if (i - offset >= this.ents.length) throw ErrUnavailable;
    return this.ents[i - offset]!.term;
  }

  lastIndex(): Index {
    return this.offset() + this.ents.length - 1;
  }

  firstIndex(): Index {
    return this.offset() + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the contents with a snapshot (a follower installing one). */
  applySnapshot(s: Snapshot): void {
    if (this.snap.metadata.index >= s.metadata.index) throw ErrSnapOutOfDate;
    this.snap = s;
    this.ents = [{ term: s.metadata.term, index: s.metadata.index, type: EntryType.Normal, data: new Uint8Array(0) }];
  }

  /** Records a snapshot at applied index i (i <= lastIndex) without compacting. */
  createSnapshot(i: Index, cs: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw ErrSnapOutOfDate;
    assert(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    const offset = this.offset();
    this.snap = { data, metadata: { index: i, term: this.ents[i - offset]!.term, confState: cs } };
    return this.snap;
  }

  /** Discards entries before compactIndex; compactIndex must be <= the applied index. */
  compact(compactIndex: Index): void {
    const offset = this.offset();
    if (compactIndex <= offset) throw ErrCompacted;
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const dummy = this.ents[i]!;
    this.ents = [{ term: dummy.term, index: dummy.index, type: EntryType.Normal, data: new Uint8Array(0) }, ...this.ents.slice(i + 1)];
  }

  /** Appends entries, truncating any conflicting suffix. Entries must be contiguous. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    let es = entries;
    if (first > entries[0]!.index) es = entries.slice(first - entries[0]!.index);
    const offset = es[0]!.index - this.offset();
    assert(offset <= this.ents.length, `missing log entry [last: ${this.lastIndex()}, append at: ${es[0]!.index}]`);
    // Truncate any conflicting suffix, then append in place (amortized O(len(es))).
    if (offset < this.ents.length) this.ents.length = offset;
    for (const e of es) this.ents.push(e);
  }
}
