/**
 * Key events from the applied-batch stream, for the lock and election services (docs/leases.md,
 * "Lock and election"): wait until a key is deleted, or be told of every event under a prefix.
 * Events are decoded only while someone listens, so the stream costs nothing otherwise; batches
 * handed over while nobody listened carry none (eventsOmitted), and listeners resync instead.
 *
 * Race-free use: register first, then read the store. The store is committed before its batch
 * is published, so an event not yet published is seen by the later read or arrives afterwards.
 */
import { mvccpb } from '../proto/pb.js';
import type { AppliedBatch } from './apply-loop.js';

type Listener = (ev: mvccpb.Event) => void;

export class KeyEvents {
  readonly #prefixes = new Map<string, Set<Listener>>();
  readonly #resyncs = new Set<() => void>();
  #count = 0;

  /** Feed from ApplyLoop.subscribe. */
  onApplied(batch: AppliedBatch): void {
    if (batch.snapshot !== undefined) {
      // A Raft snapshot replaced the store: its events are not known one by one; everyone reads again.
      for (const fn of [...this.#resyncs]) fn();
      return;
    }
    if (this.#count === 0) return;
    for (const o of batch.outcomes) {
      if (o.eventsOmitted === true) {
        // Handed over before anyone listened (ApplyLoop): the listeners read the store again.
        for (const fn of [...this.#resyncs]) fn();
        return;
      }
      if (o.events === undefined) continue;
      for (const bytes of o.events) {
        const ev = mvccpb.Event.decode(bytes);
        const key = Buffer.from(ev.kv?.key ?? []).toString('latin1');
        for (const [prefix, set] of this.#prefixes) {
          if (!key.startsWith(prefix)) continue;
          for (const l of [...set]) l(ev);
        }
      }
    }
  }

  /** Whether anyone listens (the apply loop then makes applied batches visible at once). */
  get listening(): boolean {
    return this.#count > 0;
  }

  /** Every event of a key starting with `prefix` (bytes), until the returned function is called. */
  listen(prefix: Uint8Array, fn: Listener): () => void {
    const p = Buffer.from(prefix).toString('latin1');
    let set = this.#prefixes.get(p);
    if (set === undefined) this.#prefixes.set(p, (set = new Set()));
    set.add(fn);
    this.#count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      set.delete(fn);
      this.#count--;
      if (set.size === 0) this.#prefixes.delete(p);
    };
  }

  /**
   * `fn` runs when the store jumped without events (a Raft snapshot was installed): what a
   * listener waits for may have happened inside the jump. Returns the function that stops it.
   */
  onResync(fn: () => void): () => void {
    this.#resyncs.add(fn);
    return () => this.#resyncs.delete(fn);
  }

  /**
   * Resolves when `key` is deleted (a DELETE event, or `gone()` true right after registering),
   * rejects with the signal's reason when aborted.
   */
  async waitDeleted(key: Uint8Array, gone: () => Promise<boolean>, signal?: AbortSignal): Promise<void> {
    const k = Buffer.from(key);
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const p = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const stop = this.listen(k, (ev) => {
      if (ev.type === mvccpb.Event.EventType.DELETE && k.equals(Buffer.from(ev.kv?.key ?? []))) resolve();
    });
    const stopResync = this.onResync(() => {
      gone().then((g) => g && resolve(), reject);
    });
    const onAbort = () => reject(signal?.reason ?? new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw signal.reason ?? new Error('aborted');
      if (await gone()) return;
      await p;
    } finally {
      stop();
      stopResync();
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
