/**
 * Bounded window of in-flight MsgApp messages to one follower (etcd: tracker/inflights.go).
 * A ring buffer of (last index, bytes) pairs, full when either the count or the byte
 * budget is reached.
 *
 *   start          start+count
 *     v                v
 *   [ i1 i2 i3 ...... ]       buffer grows up to `size` slots, then wraps
 */
import { assert } from './messages.js';
import type { Index } from '../raftpb/types.js';

export class Inflights {
  private start = 0;
  private count = 0;
  private bytes = 0;
  private idx: Index[] = [];
  private sizes: number[] = [];

  constructor(
    /** Max number of in-flight messages. */
    readonly size: number,
    /** Max in-flight payload bytes; 0 = no limit. */
    readonly maxBytes: number,
  ) {}

  clone(): Inflights {
    const c = new Inflights(this.size, this.maxBytes);
    c.start = this.start;
    c.count = this.count;
    c.bytes = this.bytes;
    c.idx = this.idx.slice();
    c.sizes = this.sizes.slice();
    return c;
  }

  add(index: Index, bytes: number): void {
    assert(!this.full(), 'cannot add into a full inflights');
    let next = this.start + this.count;
    if (next >= this.size) next -= this.size;
    this.idx[next] = index;
    this.sizes[next] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees all messages whose last index is <= to. */
  freeLE(to: Index): void {
    if (this.count === 0 || to < this.idx[this.start]!) return;
    let i = 0;
    let idx = this.start;
    let bytes = 0;
    for (; i < this.count; i++) {
      if (to < this.idx[idx]!) break;
      bytes += this.sizes[idx]!;
      idx++;
      if (idx >= this.size) idx -= this.size;
    }
    this.count -= i;
    this.bytes -= bytes;
    this.start = idx;
    if (this.count === 0) this.start = 0;
  }

  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.idx[this.start]!);
  }

  full(): boolean {
    return this.count === this.size || (this.maxBytes !== 0 && this.bytes >= this.maxBytes);
  }

  length(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
