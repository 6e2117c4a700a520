/**
 * Knows the store revision a plain put will get before it is applied.
 *
 * A plain put (no lease, no prev_kv, no ignore_value/ignore_lease) always writes one new
 * revision: the store revision after it is the one before it plus one, and it cannot fail
 * once validated. Any other entry (delete, txn, compaction, a put with options) changes the
 * revision by an amount known only when it is applied. So the revision after the last
 * proposed entry is known exactly while every entry not yet applied is a plain put.
 *
 * EtcdServer uses it to answer plain puts as soon as they are durable, without waiting for
 * the apply worker, and checks every prediction against the applied revision.
 */
import type { etcdserverpb } from '../proto/pb.js';

export function isPlainPut(req: etcdserverpb.IPutRequest): boolean {
  return !req.prevKv && !req.ignoreValue && !req.ignoreLease && (req.lease ?? 0n) === 0n;
}

export class RevisionPredictor {
  /** Store revision after the last proposed entry, when `#known`. */
  #rev: number;
  #known = true;
  /** Index of the last proposed entry whose effect on the revision is unknown until applied. */
  #lastUnknownIndex = 0;

  /** `currentRev`: the store revision with every proposed entry applied. */
  constructor(currentRev: number) {
    this.#rev = currentRev;
  }

  /** A plain put proposed: the revision it will get, or undefined while that is unknown. */
  plainPut(): number | undefined {
    if (!this.#known) return undefined;
    this.#rev += 1;
    return this.#rev;
  }

  /** Any other entry proposed at `index`. */
  other(index: number): void {
    this.#known = false;
    this.#lastUnknownIndex = index;
  }

  /**
   * The entry at `index` was applied and left the store at revision `rev`; `lastIndex` is
   * the last proposed index. Once the last unknown entry is applied, everything after it is
   * a plain put (+1 each), so the revision is known again.
   */
  applied(index: number, rev: number, lastIndex: number): void {
    if (this.#known || index !== this.#lastUnknownIndex) return;
    this.#rev = rev + (lastIndex - index);
    this.#known = true;
  }
}
