/**
 * Backpressure on new proposals (docs/architecture.md, "Overload"). While more than `limit`
 * entries wait between the log and the store, a new proposal waits here, in arrival order,
 * instead of failing: its client is slowed down, not refused. Applied batches release
 * waiters as the gap closes. Only a queue past `maxWaiting` (memory, not speed) refuses,
 * with etcd's "too many requests".
 */
import { EtcdError } from '../errors/errors.js';

export class IntakeGate {
  readonly #limit: number;
  readonly #maxWaiting: number;
  readonly #gap: () => number;
  readonly #waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #head = 0;
  #closed: Error | undefined;

  /** `gap()`: entries proposed and not yet applied. */
  constructor(opts: { limit: number; maxWaiting: number; gap: () => number }) {
    this.#limit = opts.limit;
    this.#maxWaiting = opts.maxWaiting;
    this.#gap = opts.gap;
  }

  /** Proposals waiting to enter the log. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Undefined when a proposal may go now; else a promise that resolves when it may. */
  admit(): Promise<void> | undefined {
    if (this.#closed) throw this.#closed;
    if (this.waiting === 0 && this.#gap() < this.#limit) return undefined;
    if (this.waiting >= this.#maxWaiting) throw new EtcdError('ETCD_ERR_SERVER_TOO_MANY_REQUESTS');
    return new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Call when the gap may have shrunk: admits as many waiters as fit under the limit, in order. */
  release(): void {
    let room = this.#limit - this.#gap();
    while (room > 0 && this.#head < this.#waiting.length) {
      this.#waiting[this.#head++]!.resolve();
      room--;
    }
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Fails every waiter and every later admit. */
  close(err: Error): void {
    this.#closed = err;
    for (let i = this.#head; i < this.#waiting.length; i++) this.#waiting[i]!.reject(err);
    this.#waiting.length = 0;
    this.#head = 0;
  }
}
