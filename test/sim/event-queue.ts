/** A binary min-heap of timed events; ties broken by insertion order (deterministic). */
export interface Timed<T> {
  time: number;
  seq: number;
  ev: T;
}

export class EventQueue<T> {
  private heap: Timed<T>[] = [];
  private seq = 0;

  size(): number {
    return this.heap.length;
  }

  push(time: number, ev: T): void {
    const h = this.heap;
    const item: Timed<T> = { time, seq: this.seq++, ev };
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  peekTime(): number {
    return this.heap.length ? this.heap[0]!.time : Infinity;
  }

  pop(): Timed<T> | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function less<T>(a: Timed<T>, b: Timed<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
