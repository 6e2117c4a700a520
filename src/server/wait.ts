import type { RequestId } from '../util/pure/id64.js';

/**
 * Registry of requests in flight, keyed by request ID (etcd's pkg/wait; a full uint64).
 * A request registers before its proposal enters the log and is triggered exactly once,
 * when its entry is applied (or when the server stops).
 */
export interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

export class WaitRegistry<T> {
  readonly #pending = new Map<RequestId, Waiter<T>>();

  register(id: RequestId): Promise<T> {
    if (this.#pending.has(id)) throw new Error(`request ID ${id} registered twice`);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
  }

  has(id: RequestId): boolean {
    return this.#pending.has(id);
  }

  /** Returns false when nobody waits for `id` (e.g. replay after a restart). */
  trigger(id: RequestId, value: T): boolean {
    const w = this.#pending.get(id);
    if (w === undefined) return false;
    this.#pending.delete(id);
    w.resolve(value);
    return true;
  }

  fail(id: RequestId, err: Error): boolean {
    const w = this.#pending.get(id);
    if (w === undefined) return false;
    this.#pending.delete(id);
    w.reject(err);
    return true;
  }

  failAll(err: Error): void {
    for (const w of this.#pending.values()) w.reject(err);
    this.#pending.clear();
  }

  get size(): number {
    return this.#pending.size;
  }
}

/**
 * Waits for an index to be reached (etcd's wait.WaitTime over the applied index).
 * Indexes only grow; waiters are kept sorted by index (mostly they arrive in order: read
 * indexes come from a growing commit index), so `advance` pops from the front.
 */
export class IndexWaiter {
  #current: number;
  readonly #queue: { index: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(current: number) {
    this.#current = current;
  }

  get current(): number {
    return this.#current;
  }

  wait(index: number): Promise<void> | undefined {
    if (index <= this.#current) return undefined;
    return new Promise<void>((resolve, reject) => {
      const w = { index, resolve, reject };
      const q = this.#queue;
      if (q.length === 0 || q[q.length - 1]!.index <= index) {
        q.push(w);
        return;
      }
      // Out of order (a read index taken before a serializable read's index resolved after it):
      // keep the queue sorted, after the waiters of the same index.
      let lo = 0;
      let hi = q.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (q[mid]!.index <= index) lo = mid + 1;
        else hi = mid;
      }
      q.splice(lo, 0, w);
    });
  }

  advance(index: number): void {
    if (index < this.#current) throw new Error(`IndexWaiter: index went back from ${this.#current} to ${index}`);
    this.#current = index;
    let n = 0;
    while (n < this.#queue.length && this.#queue[n]!.index <= index) {
      this.#queue[n]!.resolve();
      n++;
    }
    if (n > 0) this.#queue.splice(0, n);
  }

  failAll(err: Error): void {
    for (const w of this.#queue) w.reject(err);
    this.#queue.length = 0;
  }
}
