/**
 * The store revision of committed plain puts, known at commit on any member (leader or
 * follower), before the apply worker has applied them.
 *
 * The leader's RevisionPredictor (revision-predictor.ts) knows a revision at propose time, but
 * only for what this member proposed. A follower proposes nothing itself: its puts go to the
 * leader, and their entries come back to it in the log. It sees every committed entry in log
 * order, though, and the committed prefix of the log never changes, so it can count the same
 * way over committed entries: the store revision after committed entry c is the revision
 * after the last applied entry plus one for each plain put in between, as long as every entry
 * in between is a plain put (docs/cluster.md, "A follower answers plain puts at commit").
 *
 *   committed:  ... a (applied, rev R) | p p p x p p   <- x: not a plain put (unknown effect)
 *                                        R+1 R+2 R+3 ?  ? ?   until x is applied at rev X:
 *                                                    then X+1 X+2 for the plain puts after it
 *
 * Invariant: while `#known`, `#rev` is the store revision after the last entry fed to
 * `committed` (every entry after the last unknown one, up to it, is a plain put).
 *
 * Every revision handed out here is sent to the applier with its entry (PromisedRevisions),
 * which stops the member before a mismatching batch commits, as for the leader's answers.
 */

/** What a committed entry's InternalRaftRequest says about its revision, read without decoding it. */
export interface EntryScan {
  /** header.ID (0n when absent). */
  readonly id: bigint;
  /**
   * A put with no lease, prev_kv, ignore_value or ignore_lease, no other request in the entry,
   * and no user name in its header (auth off when proposed): it writes exactly one revision.
   */
  readonly plainPut: boolean;
}

const NOT_PLAIN: EntryScan = { id: 0n, plainPut: false };

/** InternalRaftRequest fields (proto/etcdserverpb/raft_internal.proto). */
const F_PUT = 4;
const F_HEADER = 100;
/** RequestHeader.ID, username. */
const F_HEADER_ID = 1;
const F_HEADER_USERNAME = 2;
/** PutRequest.lease, prev_kv, ignore_value, ignore_lease (key 1 and value 2 change nothing here). */
const F_PUT_LEASE = 3;
const F_PUT_PREV_KV = 4;
const F_PUT_IGNORE_VALUE = 5;
const F_PUT_IGNORE_LEASE = 6;

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

/**
 * Scans an entry's InternalRaftRequest bytes: its request ID and whether it is a plain put.
 * Anything it does not understand (unknown wire type, truncated bytes, another request field)
 * is "not a plain put": the worst that does is an answer at apply instead of at commit.
 */
export function scanEntry(data: Uint8Array): EntryScan {
  // Numbers, not bigints, for tags, lengths and flags: this runs for every committed entry on
  // every member (a bigint per varint byte was a quarter of the main thread's allocations).
  const r = { pos: 0 };
  let id = 0n;
  let put = false;
  let plain = true;
  try {
    while (r.pos < data.length) {
      const tag = varint(data, r);
      const field = Math.floor(tag / 8);
      const wt = tag % 8;
      if (field === F_HEADER && wt === WT_LEN) {
        const end = lenEnd(data, r);
        while (r.pos < end) {
          const t = varint(data, r);
          const f = Math.floor(t / 8);
          const w = t % 8;
          if (f === F_HEADER_ID && w === WT_VARINT) id = varintU64(data, r);
          else if (f === F_HEADER_USERNAME && w === WT_LEN) {
            const e = lenEnd(data, r);
            if (e > r.pos) plain = false;
            r.pos = e;
          } else skip(data, r, w);
        }
        if (r.pos !== end) return NOT_PLAIN;
      } else if (field === F_PUT && wt === WT_LEN) {
        if (put) return NOT_PLAIN;
        put = true;
        const end = lenEnd(data, r);
        while (r.pos < end) {
          const t = varint(data, r);
          const f = Math.floor(t / 8);
          const w = t % 8;
          if ((f === F_PUT_LEASE || f === F_PUT_PREV_KV || f === F_PUT_IGNORE_VALUE || f === F_PUT_IGNORE_LEASE) && w === WT_VARINT) {
            if (varint(data, r) !== 0) plain = false;
          } else if (f === F_PUT_LEASE || f === F_PUT_PREV_KV || f === F_PUT_IGNORE_VALUE || f === F_PUT_IGNORE_LEASE) {
            return NOT_PLAIN;
          } else skip(data, r, w);
        }
        if (r.pos !== end) return NOT_PLAIN;
      } else {
        // Any other request (or a field this scan does not know): not a plain put.
        return { id, plainPut: false };
      }
    }
  } catch {
    return NOT_PLAIN;
  }
  return { id, plainPut: put && plain };
}

/**
 * A varint as a number: exact below 2^53 (tags, lengths); above, only "zero or not" is
 * meaningful (every nonzero 7-bit group keeps the sum nonzero), which is all a flag needs.
 */
function varint(b: Uint8Array, r: { pos: number }): number {
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (r.pos >= b.length) throw new RangeError('truncated varint');
    const byte = b[r.pos++]!;
    v += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return v;
    scale *= 128;
  }
  throw new RangeError('varint too long');
}

/** A varint as a full u64 (the request ID): three 28-bit-or-less groups, one bigint each. */
function varintU64(b: Uint8Array, r: { pos: number }): bigint {
  const groups = [0, 0, 0];
  for (let i = 0; i < 10; i++) {
    if (r.pos >= b.length) throw new RangeError('truncated varint');
    const byte = b[r.pos++]!;
    const g = i >> 2; // bytes 0-3: bits 0-27, 4-7: 28-55, 8-9: 56-69 (cut to 64)
    groups[g]! += (byte & 0x7f) * 2 ** (7 * (i & 3));
    if ((byte & 0x80) === 0) {
      return BigInt.asUintN(64, BigInt(groups[0]!) | (BigInt(groups[1]!) << 28n) | (BigInt(groups[2]!) << 56n));
    }
  }
  throw new RangeError('varint too long');
}

function lenEnd(b: Uint8Array, r: { pos: number }): number {
  const len = varint(b, r);
  const end = r.pos + len;
  if (len > b.length || end > b.length) throw new RangeError('length past the end');
  return end;
}

function skip(b: Uint8Array, r: { pos: number }, wt: number): void {
  if (wt === WT_VARINT) varint(b, r);
  else if (wt === WT_LEN) r.pos = lenEnd(b, r);
  else if (wt === WT_I64) r.pos += 8;
  else if (wt === WT_I32) r.pos += 4;
  else throw new RangeError(`wire type ${wt}`);
  if (r.pos > b.length) throw new RangeError('field past the end');
}

export class CommittedRevisions {
  /** Store revision after the last committed entry, when `#known`. */
  #rev = 0;
  #known = false;
  /** Index of the last committed entry whose effect on the revision is unknown until applied. */
  #lastUnknownIndex: number;
  /**
   * While unknown: indexes of the plain puts committed after `#lastUnknownIndex`, in order (at
   * most the entries between applied and committed, which the intake gate bounds).
   */
  #plainAfterUnknown: number[] = [];

  /**
   * `committedIndex`: the last entry committed (and handed to the applier) before this tracker
   * sees entries; the revision is unknown until an entry at or after it is applied.
   */
  constructor(committedIndex: number) {
    this.#lastUnknownIndex = committedIndex;
  }

  /** The next committed entry, at `index`, is a plain put: the revision it will get, or undefined while unknown. */
  plainPut(index: number): number | undefined {
    if (!this.#known) {
      this.#plainAfterUnknown.push(index);
      return undefined;
    }
    this.#rev += 1;
    return this.#rev;
  }

  /** Any other committed entry (or a run of entries nobody asked about) ending at `index`. */
  other(index: number): void {
    this.#known = false;
    this.#lastUnknownIndex = index;
    this.#plainAfterUnknown = [];
  }

  /**
   * The entry at `index` was applied and left the store at revision `rev`. Once an entry at or
   * after the last unknown one is applied, everything committed after it is a plain put (+1 each).
   */
  applied(index: number, rev: number): void {
    if (this.#known || index < this.#lastUnknownIndex) return;
    const after = this.#plainAfterUnknown.filter((i) => i > index).length;
    this.#rev = rev + after;
    this.#known = true;
    this.#plainAfterUnknown = [];
  }
}
