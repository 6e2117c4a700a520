/**
 * RaftLog: stable storage + unstable tail + commit/apply cursors (etcd: log.go).
 *
 * Invariant: applied <= applying <= committed <= lastIndex.
 * Invariant: firstIndex - 1 <= applied (we never apply compacted entries twice).
 */
import { Unstable } from './log-unstable.js';
import { ErrCompacted, ErrUnavailable, RaftError, assert, type Snapshot } from './messages.js';
import { limitSize, type Storage } from './storage.js';
import type { Entry, Index, Term } from '../raftpb/types.js';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  committed: Index;
  /** Highest index handed to the application in a Ready but not yet reported applied. */
  applying: Index;
  applied: Index;
  /** Max bytes of committed entries per Ready. */
  readonly maxApplyingEntsSize: number;
  /** @internal Mutation 6 (mutations.ts, tests only): commit past the last verified entry. */
  commitBeyondVerified = false;

  constructor(storage: Storage, maxApplyingEntsSize: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
    this.maxApplyingEntsSize = maxApplyingEntsSize;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, applying=${this.applying}, unstable.offset=${this.unstable.offset}, len(unstable.entries)=${this.unstable.entries.length}`;
  }

  /**
   * Appends ents after (index, logTerm) if that entry matches; returns the new last
   * index, or -1 if the log does not contain (index, logTerm).
   */
  maybeAppend(index: Index, logTerm: Term, committed: Index, ents: readonly Entry[]): Index {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, `entry ${ci} conflicts with committed entry [committed(${this.committed})]`);
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, this.commitBeyondVerified ? this.lastIndex() : lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): Index {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** First index in ents whose term differs from ours, or that we do not have; 0 if none. */
  findConflict(ents: readonly Entry[]): Index {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Largest index <= index whose term is <= term (etcd: findConflictByTerm), with that
   * term; [index, 0] if the search reaches compacted entries.
   */
  findConflictByTerm(index: Index, term: Term): [Index, Term] {
    for (; index > 0; index--) {
      const t = this.termOrNull(index);
      if (t === null) return [index, 0];
      if (t <= term) return [index, t];
    }
    return [0, 0];
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }

  /** Committed entries not yet handed out, limited in size. */
  nextCommittedEnts(): Entry[] {
    const lo = this.applying + 1;
    const hi = this.committed + 1;
    if (lo >= hi) return [];
    const off = Math.max(lo, this.firstIndex());
    if (off >= hi) return [];
    return this.slice(off, hi, this.maxApplyingEntsSize);
  }

  hasNextCommittedEnts(): boolean {
    return this.committed > this.applying && this.committed >= this.firstIndex();
  }

  snapshot(): Snapshot {
    if (this.unstable.snapshot) return this.unstable.snapshot;
    return this.storage.snapshot();
  }

  firstIndex(): Index {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): Index {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: Index): void {
    if (this.committed < toCommit) {
      assert(this.lastIndex() >= toCommit, `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]`);
      this.committed = toCommit;
    }
  }

  acceptApplying(i: Index): void {
    assert(i <= this.committed, `applying(${i}) > committed(${this.committed})`);
    if (i > this.applying) this.applying = i;
  }

  appliedTo(i: Index): void {
    if (i === 0) return;
    assert(this.committed >= i && i >= this.applied, `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    this.applied = i;
    if (this.applying < i) this.applying = i;
  }

  stableTo(i: Index, t: Term): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: Index): void {
    this.unstable.stableSnapTo(i);
  }

  lastTerm(): Term {
    const t = this.termOrNull(this.lastIndex());
    assert(t !== null, 'unexpected error when getting the last term');
    return t;
  }

  /** Term of entry i, or null if it is compacted or beyond the last index. */
  termOrNull(i: Index): Term | null {
    const dummy = this.firstIndex() - 1;
    if (i < dummy || i > this.lastIndex()) return null;
    const t = this.unstable.maybeTerm(i);
    if (t !== null) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (e === ErrCompacted || e === ErrUnavailable) return null;
      throw e;
    }
  }

  /** Entries from i on, at most maxSize bytes. Throws ErrCompacted if i is compacted. */
  entries(i: Index, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  allEntries(): Entry[] {
    return this.entries(this.firstIndex(), Number.MAX_SAFE_INTEGER);
  }

  /** Raft §5.4.1: is (lasti, term) at least as up to date as our log? */
  isUpToDate(lasti: Index, term: Term): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  matchTerm(i: Index, term: Term): boolean {
    const t = this.termOrNull(i);
    return t !== null && t === term;
  }

  /** Commit rule: only an entry of the current term is committed by counting replicas. */
  maybeCommit(maxIndex: Index, term: Term): boolean {
    if (maxIndex > this.committed && this.termOrNull(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries in [lo, hi), limited to maxSize (at least one). Throws ErrCompacted. */
  slice(lo: Index, hi: Index, maxSize: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return [];
    let ents: Entry[] = [];
    if (lo < this.unstable.offset) {
      const stored = this.storage.entries(lo, Math.min(hi, this.unstable.offset), maxSize);
      if (stored.length < Math.min(hi, this.unstable.offset) - lo) return stored;
      ents = stored;
    }
    if (hi > this.unstable.offset) {
      const u = this.unstable.slice(Math.max(lo, this.unstable.offset), hi);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }

  private mustCheckOutOfBounds(lo: Index, hi: Index): void {
    assert(lo <= hi, `invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw ErrCompacted;
    const length = this.lastIndex() + 1 - fi;
    if (hi > fi + length) throw new RaftError('ETCD_ERR_RAFT_OUT_OF_BOUND', `slice[${lo},${hi}) out of bound [${fi},${this.lastIndex()}]`);
  }
}
