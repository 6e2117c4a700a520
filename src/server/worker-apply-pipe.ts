/**
 * The main thread's side of the apply worker (ApplyPipe over the apply channel rings).
 * Batches go out in call order; outcome frames come back in the same order and resolve
 * the oldest pending call.
 */
import type { Worker } from 'node:worker_threads';
import { startWorkerChannel } from '../threads/worker-channel.js';
import { ByteWriter } from '../threads/frame.js';
import type { RingConsumer, RingProducer } from '../threads/ring.js';
import type { Entry } from '../raft/types.js';
import { decodeOutcomes, encodeEntryBatch } from './apply-frames.js';
import type { ApplyOutcome, ApplyPipe } from './ports.js';

/** Ring sizes: a batch of 1,000 puts of 1 KiB is about 1 MiB; 16 MiB each way leaves room for bursts. */
const TO_WORKER_BYTES = 16 * 1024 * 1024;
const FROM_WORKER_BYTES = 16 * 1024 * 1024;

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
  #closed = false;
  #exited: Promise<void>;

  private constructor(worker: Worker, tx: RingProducer, rx: RingConsumer) {
    this.#tx = tx;
    this.#rx = rx;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'fatal') this.#fail(new Error(`apply worker failed: ${m.message}`));
    });
    worker.on('error', (err) => this.#fail(err));
    worker.once('exit', (code) => {
      if (!this.#closed) this.#fail(new Error(`apply worker exited with code ${code}`));
    });
  }

  /** Starts the worker on `dbPath` and waits until LMDB is open. */
  static start(dbPath: string): Promise<ApplyWorkerStart> {
    const ch = startWorkerChannel(new URL('./apply.worker.js', import.meta.url), {
      toWorkerBytes: TO_WORKER_BYTES,
      fromWorkerBytes: FROM_WORKER_BYTES,
      workerData: { dbPath },
      name: 'etcd-apply',
    });
    const pipe = new WorkerApplyPipe(ch.worker, ch.tx, ch.rx);
    return new Promise((resolve, reject) => {
      const onMessage = (m: { type: string; appliedIndex?: number; consistentTerm?: number; message?: string }): void => {
        if (m.type === 'ready') {
          ch.worker.off('message', onMessage);
          resolve({ pipe, appliedIndex: m.appliedIndex!, consistentTerm: m.consistentTerm! });
        } else if (m.type === 'fatal') {
          reject(new Error(`apply worker could not start: ${m.message}`));
        }
      };
      ch.worker.on('message', onMessage);
      ch.worker.once('error', reject);
      ch.worker.once('exit', (code) => reject(new Error(`apply worker exited with code ${code} before it was ready`)));
    });
  }

  async apply(entries: readonly Entry[]): Promise<ApplyOutcome[]> {
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new Error('apply pipe closed');
    const done = new Promise<ApplyOutcome[]>((resolve, reject) => this.#pending.push({ resolve, reject }));
    const frame = encodeEntryBatch(entries, this.#frame);
    if (this.#blockedCount > 0 || !this.#tx.tryWrite(frame)) this.#queueWrite(frame.slice());
    if (!this.#reading) void this.#readLoop();
    return done;
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
      while (this.#pending.length > 0 && !this.#failed) {
        const n = this.#rx.drain((bytes, offset, length) => {
          const outcomes = decodeOutcomes(bytes, offset, length);
          this.#pending.shift()!.resolve(outcomes);
        });
        if (n === 0) await this.#rx.waitReadableAsync(1000);
      }
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#reading = false;
    }
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#tx.close();
    await this.#exited;
  }
}
