/**
 * A binary min-heap of (deadline, lease ID) for the lessor's expiry queue.
 *
 *             (3, a)            index i: children 2i+1, 2i+2; parent (i-1)>>1
 *            /      \
 *        (5, b)    (9, c)       push / pop: O(log n); peek: O(1)
 *
 * Stale pairs (a lease renewed or revoked since it was pushed) are not removed: the lessor
 * compares a popped pair with the lease's current deadline and skips it (lazy deletion), so a
 * keep-alive is one push. The heap is rebuilt when stale pairs outnumber live leases 4 to 1.
 */
export interface HeapItem {
  readonly deadline: number;
  readonly id: bigint;
}

export class LeaseHeap {
  #items: HeapItem[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): HeapItem | undefined {
    return this.#items[0];
  }

  clear(): void {
    this.#items = [];
  }

  push(item: HeapItem): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.deadline <= item.deadline) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = item;
  }

  pop(): HeapItem | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && a[r]!.deadline < a[l]!.deadline ? r : l;
      if (a[c]!.deadline >= last.deadline) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = last;
    return top;
  }

  /** Keep only the items `keep` accepts (rebuild, O(n log n)). */
  compact(keep: (item: HeapItem) => boolean): void {
    const items = this.#items.filter(keep);
    this.#items = [];
    for (const it of items) this.push(it);
  }
}
