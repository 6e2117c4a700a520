/**
 * The main thread's side of the apply worker (ApplyPipe over the apply channel rings).
 * Batches go out in call order; outcome frames come back in the same order and resolve
 * the oldest pending call.
 */
import type { Worker } from 'node:worker_threads';
import { startWorkerChannel } from '../threads/worker-channel.js';
import { ByteWriter } from '../threads/frame.js';
import type { RingConsumer, RingProducer } from '../threads/ring.js';
import type { Entry } from '../raftpb/types.js';
import {
  decodeOutcomes, encodeCommitRequest, encodeEntryBatch, encodeInstallFrame, entryBatchOverheadBytes, FLUSH_MARKER, OVERSIZE_MARKER, visibleIndex,
} from './apply-frames.js';
import { entryEncodingBytes } from '../wal/codec.js';
import type { ApplyOutcome, ApplyPipe, InstalledStore, PromisedRevisions } from './ports.js';
import { promisesOf } from '../apply/interface.js';

/**
 * Ring sizes. A ring's largest frame is half its capacity, and one entry (up to
 * --max-request-bytes) must fit a frame; bigger batches are split. Outcome frames too big
 * for their ring come by postMessage (rare: txns that read many megabytes). Every byte of a
 * ring becomes resident as frames cycle through it, so they stay small: 4 MiB unless the
 * request limit needs more. The metric that says they are too small is `fullWaits`.
 */
const RING_BYTES_MIN = 4 * 1024 * 1024;
/** Bytes around one entry in a batch frame: batch count, entry header, slack. */
const ENTRY_FRAME_OVERHEAD_BYTES = 1024;

/** The ring capacity (a power of two) that holds frames of `maxEntryBytes` entries. */
export function applyRingBytes(maxEntryBytes: number): number {
  let size = RING_BYTES_MIN;
  while (size / 2 - 8 < maxEntryBytes + ENTRY_FRAME_OVERHEAD_BYTES) size *= 2;
  return size;
}

interface Pending {
  resolve(o: ApplyOutcome[]): void;
  reject(e: Error): void;
}

export interface ApplyWorkerStart {
  readonly pipe: WorkerApplyPipe;
  /** Applied index stored in LMDB when the worker opened it. */
  readonly appliedIndex: number;
  readonly consistentTerm: number;
}

export class WorkerApplyPipe implements ApplyPipe {
  readonly #tx: RingProducer;
  readonly #rx: RingConsumer;
  readonly #pending: Pending[] = [];
  readonly #frame = new ByteWriter(64 * 1024);
  #reading = false;
  /** Writes waiting for ring space, in order; later frames queue behind them so order holds. */
  #blockedWrites: Promise<void> | undefined;
  #blockedCount = 0;
  #failed: Error | undefined;
  /** Oversized outcome frames that came by postMessage, by sequence number, and who waits for them. */
  readonly #oversize = new Map<number, Uint8Array>();
  readonly #oversizeWaiters = new Map<number, (frame: Uint8Array) => void>();
  readonly #oversizeRejects = new Map<number, (err: Error) => void>();
  #closed = false;
  #exited: Promise<void>;
  /** Last entry index sent to the worker, and the last one its visible frames covered. */
  #sentThrough = 0;
  #visibleThrough = 0;
  #onVisible: ((index: number) => void) | undefined;

  private constructor(worker: Worker, tx: RingProducer, rx: RingConsumer) {
    this.#tx = tx;
    this.#rx = rx;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: { type: string; message?: string; seq?: number; frame?: Uint8Array }) => {
      if (m.type === 'fatal') this.#fail(new Error(`apply worker failed: ${m.message}`));
      if (m.type === 'outcomes') {
        const waiter = this.#oversizeWaiters.get(m.seq!);
        if (waiter) {
          this.#oversizeWaiters.delete(m.seq!);
          this.#oversizeRejects.delete(m.seq!);
          waiter(m.frame!);
        } else {
          this.#oversize.set(m.seq!, m.frame!);
        }
      }
    });
    worker.on('error', (err) => this.#fail(err));
    worker.once('exit', (code) => {
      if (!this.#closed) this.#fail(new Error(`apply worker exited with code ${code}`));
    });
  }

  /**
   * Starts the worker on `dbPath` and waits until LMDB is open. `maxEntryBytes`:
   * --max-request-bytes; `commits`: --backend-batch-interval (ms) and --backend-batch-limit.
   */
  static start(dbPath: string, maxEntryBytes: number, commits: { batchIntervalMs?: number; batchLimit?: number } = {}): Promise<ApplyWorkerStart> {
    const ringBytes = applyRingBytes(maxEntryBytes);
    const ch = startWorkerChannel(new URL('./apply.worker.js', import.meta.url), {
      toWorkerBytes: ringBytes,
      fromWorkerBytes: ringBytes,
      workerData: { dbPath, ...commits },
      name: 'etcd-apply',
    });
    const pipe = new WorkerApplyPipe(ch.worker, ch.tx, ch.rx);
    return new Promise((resolve, reject) => {
      const onMessage = (m: { type: string; appliedIndex?: number; consistentTerm?: number; message?: string }): void => {
        if (m.type === 'ready') {
          ch.worker.off('message', onMessage);
          resolve({ pipe, appliedIndex: m.appliedIndex!, consistentTerm: m.consistentTerm! });
        } else if (m.type === 'fatal') {
          reject(new Error(m.message));
        }
      };
      ch.worker.on('message', onMessage);
      ch.worker.once('error', reject);
      ch.worker.once('exit', (code) => reject(new Error(`apply worker exited with code ${code} before it was ready`)));
    });
  }

  async apply(entries: readonly Entry[], promised?: PromisedRevisions, eventsWanted = true): Promise<ApplyOutcome[]> {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new Error('apply pipe closed');
    let frameBytes = entryBatchOverheadBytes(promised);
    for (const e of entries) frameBytes += entryEncodingBytes(e);
    if (frameBytes > this.#tx.maxPayloadBytes) {
      if (entries.length === 1) {
        throw new Error(`entry ${entries[0]!.index} (${frameBytes} bytes) does not fit the apply ring's largest frame (${this.#tx.maxPayloadBytes} bytes)`);
      }
      // Both halves queue their frames now, in order; outcomes come back in the same order.
      const mid = entries.length >> 1;
      const [a, b] = await Promise.all([
        this.apply(entries.slice(0, mid), promisesOf(promised, entries, 0, mid), eventsWanted),
        this.apply(entries.slice(mid), promisesOf(promised, entries, mid), eventsWanted),
      ]);
      return a.concat(b);
    }
    const done = new Promise<ApplyOutcome[]>((resolve, reject) => this.#pending.push({ resolve, reject }));
    if (entries.length > 0) this.#sentThrough = Math.max(this.#sentThrough, entries[entries.length - 1]!.index);
    // The frame is this.#frame's buffer, reused by the next call: queued, it goes as a copy.
    this.#send(encodeEntryBatch(entries, this.#frame, promised, eventsWanted), false);
    return done;
  }

  async flush(): Promise<void> {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new Error('apply pipe closed');
    const done = new Promise<ApplyOutcome[]>((resolve, reject) => this.#pending.push({ resolve, reject }));
    const frame = new Uint8Array(4);
    new DataView(frame.buffer).setUint32(0, FLUSH_MARKER, true);
    this.#send(frame, true);
    await done;
  }

  onVisible(listener: (index: number) => void): void {
    this.#onVisible = listener;
  }

  /** Sends a commit request (docs/architecture.md, "Deferred commits"); the visible frame answers it. */
  requestVisible(): void {
    if (this.#failed || this.#closed || this.#visibleThrough >= this.#sentThrough) return;
    this.#send(encodeCommitRequest(), true);
  }

  async installSnapshot(path: string): Promise<InstalledStore> {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new Error('apply pipe closed');
    const done = new Promise<ApplyOutcome[]>((resolve, reject) => this.#pending.push({ resolve, reject }));
    this.#send(encodeInstallFrame(path), true);
    const [o] = await done;
    if (o === undefined) throw new Error('apply worker: no answer to a snapshot install');
    this.#sentThrough = this.#visibleThrough = o.index;
    return { appliedIndex: o.index, consistentTerm: Number(o.requestId), currentRevision: o.revision };
  }

  /**
   * Writes `frame` on the ring now, or queues it behind the writes waiting for space (order
   * holds), as is when `owned`, else as a copy; then makes sure the read loop runs.
   */
  #send(frame: Uint8Array, owned: boolean): void {
    if (this.#blockedCount > 0 || !this.#tx.tryWrite(frame)) this.#queueWrite(owned ? frame : frame.slice());
    if (!this.#reading) void this.#readLoop();
  }

  #queueWrite(frame: Uint8Array): void {
    this.#blockedCount++;
    this.#blockedWrites = (this.#blockedWrites ?? Promise.resolve())
      .then(() => this.#tx.write(frame))
      .then(
        () => {
          if (--this.#blockedCount === 0) this.#blockedWrites = undefined;
        },
        (err: unknown) => this.#fail(err instanceof Error ? err : new Error(String(err))),
      );
  }

  async #readLoop(): Promise<void> {
    this.#reading = true;
    try {
      // Outcome frames answer pending calls in order; visible frames follow commits.
      while ((this.#pending.length > 0 || (this.#visibleThrough < this.#sentThrough && !this.#closed)) && !this.#failed) {
        const n = this.#rx.drain((bytes, offset, length) => {
          const visible = visibleIndex(bytes, offset, length);
          if (visible !== undefined) {
            this.#visibleThrough = Math.max(this.#visibleThrough, visible);
            this.#onVisible?.(visible);
            return;
          }
          const p = this.#pending.shift();
          if (p === undefined) throw new Error(`apply worker: an outcome frame (${length} bytes) answers no call`);
          const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, length);
          if (length === 8 && dv.getUint32(0, true) === OVERSIZE_MARKER) {
            this.#oversizeFrame(dv.getUint32(4, true)).then(
              (f) => settle(p, () => decodeOutcomes(f)),
              (err: unknown) => p.reject(err instanceof Error ? err : new Error(String(err))),
            );
          } else {
            settle(p, () => decodeOutcomes(bytes, offset, length));
          }
        });
        if (n === 0) await this.#rx.waitReadableAsync(Infinity); // #fail wakes it (no timer per wait)
      }
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#reading = false;
    }
  }

  #oversizeFrame(seq: number): Promise<Uint8Array> {
    const ready = this.#oversize.get(seq);
    if (ready !== undefined) {
      this.#oversize.delete(seq);
      return Promise.resolve(ready);
    }
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#oversizeWaiters.set(seq, resolve);
      this.#oversizeRejects.set(seq, reject);
    });
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    this.#rx.wakeReader();
    for (const p of this.#pending.splice(0)) p.reject(err);
    for (const reject of this.#oversizeRejects.values()) reject(err);
    this.#oversizeRejects.clear();
    this.#oversizeWaiters.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#tx.close();
    await this.#exited;
    this.#rx.wakeReader(); // a read loop still waiting for a visible frame ends (it sees #closed)
  }
}

/** Resolves `p` with what `decode` returns, or rejects it with what `decode` throws. */
function settle(p: Pending, decode: () => ApplyOutcome[]): void {
  let outcomes: ApplyOutcome[];
  try {
    outcomes = decode();
  } catch (err) {
    p.reject(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  p.resolve(outcomes);
}
