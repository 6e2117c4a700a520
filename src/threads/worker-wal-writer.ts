/**
 * Main-thread proxy for the WAL writer thread (wal-writer.worker.ts). append() encodes
 * APPEND frames onto the to-worker ring (waiting, never blocking, when it is full) and
 * resolves from ACK frames on the from-worker ring, strictly in call order.
 */
import type { Worker } from 'node:worker_threads';
import type { Entry, HardState } from '../raftpb/types.js';
import { assert } from '../util/pure/assert.js';
import { invalidEntryReason, invalidHardStateReason } from '../wal/codec.js';
import { WalClosedError, WalCorruptError, WalInvalidArgumentError } from '../wal/errors.js';
import type { WalOptions, WalSnapshot } from '../wal/types.js';
import { invalidSnapshotReason } from '../wal/wal.js';
import type { RingConsumer, RingProducer } from './ring.js';
import type { OpenedWalWriter, WalWriter, WalWriterStats } from './wal-writer.js';
import type { WalWriterWorkerData, WalWriterWorkerMessage } from './wal-writer.worker.js';
import { decodeAck, encodeAppend, encodeControl, encodeRelease, frameKind, WalFrameKind } from './wal-writer-frames.js';
import { startWorkerChannel } from './worker-channel.js';

/** Compiled worker entry, next to this file (dist/src/threads/wal-writer.worker.js). */
export const WAL_WRITER_WORKER_URL = new URL('./wal-writer.worker.js', import.meta.url);

export interface WorkerWalWriterOptions extends WalOptions {
  /** main -> worker ring capacity, power of two. Default 16 MiB (max frame 8 MiB). */
  toWorkerBytes?: number;
  /** worker -> main ring capacity, power of two. Default 64 KiB. */
  fromWorkerBytes?: number;
}

export const TO_WORKER_BYTES_DEFAULT = 16 * 1024 * 1024;
export const FROM_WORKER_BYTES_DEFAULT = 64 * 1024;
/** Longest single wait on a ring before re-checking for failure. */
const WAIT_SLICE_MS = 1000;

interface Pending {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

function toError(m: Extract<WalWriterWorkerMessage, { type: 'error' }>): Error {
  if (m.name === 'WalCorruptError' && m.file !== undefined && m.offset !== undefined) {
    return new WalCorruptError(m.file, m.offset, m.reason ?? m.message);
  }
  const e = new Error(`wal writer: ${m.message}`) as Error & { code?: string };
  e.name = m.name;
  if (m.code !== undefined) e.code = m.code;
  return e;
}

export class WorkerWalWriter implements WalWriter {
  private seq = 0;
  private readonly pending: Pending[] = [];
  /** Frames not yet on the ring (it was full), in order. */
  private readonly outbox: Uint8Array[] = [];
  private pumping = false;
  private reading = false;
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  /** Set before the CLOSE frame is sent (closing is assigned only after its executor ran). */
  private closeRequested = false;
  private lastIndex: number;
  readonly stats: WalWriterStats & { ringFullWaits: number; lastBatchSeq: number } = {
    appends: 0,
    syncs: 0,
    durableIndex: 0,
    ringFullWaits: 0,
    lastBatchSeq: 0,
  };

  private constructor(
    private readonly worker: Worker,
    private readonly tx: RingProducer,
    private readonly rx: RingConsumer,
    lastIndex: number,
  ) {
    this.lastIndex = lastIndex;
    this.stats.durableIndex = lastIndex;
    worker.unref();
    worker.on('message', (m: WalWriterWorkerMessage) => {
      if (m.type === 'error') this.fail(toError(m));
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', (code) => {
      if (this.pending.length > 0 || !this.closeRequested) this.fail(new Error(`wal writer: worker exited (code ${code})`));
    });
  }

  /** Starts the WAL writer thread, which opens and recovers the WAL in opts.dir. */
  static async open(opts: WorkerWalWriterOptions, fromIndex: number): Promise<OpenedWalWriter<WorkerWalWriter>> {
    const { toWorkerBytes = TO_WORKER_BYTES_DEFAULT, fromWorkerBytes = FROM_WORKER_BYTES_DEFAULT, ...walOpts } = opts;
    const data: WalWriterWorkerData = { opts: walOpts, fromIndex };
    const ch = startWorkerChannel(WAL_WRITER_WORKER_URL, {
      toWorkerBytes,
      fromWorkerBytes,
      workerData: data as unknown as Record<string, unknown>,
      name: 'wal-writer',
    });
    let onMessage!: (m: WalWriterWorkerMessage) => void;
    let onError!: (e: Error) => void;
    let onExit!: (code: number) => void;
    const first = await new Promise<WalWriterWorkerMessage>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`wal writer: worker exited during open (code ${code})`));
      ch.worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    }).finally(() => {
      ch.worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    });
    if (first.type === 'error') {
      await ch.worker.terminate();
      throw toError(first);
    }
    const writer = new WorkerWalWriter(ch.worker, ch.tx, ch.rx, first.recovery.lastIndex);
    return { recovery: first.recovery, writer };
  }

  append(hardState: HardState | null, entries: readonly Entry[], snapshot: WalSnapshot | null = null): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new WalClosedError());
    // Gateway: the worker treats any error as fatal, so refuse bad input here.
    const badSnap = snapshot && invalidSnapshotReason(snapshot);
    if (badSnap) return Promise.reject(new WalInvalidArgumentError(`wal: ${badSnap}`));
    let last = snapshot ? snapshot.index : this.lastIndex;
    for (const e of entries) {
      const bad = invalidEntryReason(e);
      if (bad) return Promise.reject(new WalInvalidArgumentError(`wal: ${bad}`));
      if (e.index > last + 1) return Promise.reject(new WalInvalidArgumentError(`wal: entry index ${e.index} leaves a gap after ${last}`));
      last = e.index;
    }
    const badHs = hardState && invalidHardStateReason(hardState);
    if (badHs) return Promise.reject(new WalInvalidArgumentError(`wal: ${badHs}`));
    let frames: Uint8Array[];
    try {
      frames = encodeAppend(this.seq + 1, hardState, entries, this.tx.maxPayloadBytes, snapshot);
    } catch (e) {
      return Promise.reject(e);
    }
    this.lastIndex = last;
    const seq = ++this.seq;
    const p = new Promise<void>((resolve, reject) => this.pending.push({ seq, resolve, reject }));
    if (this.pending.length === 1) this.worker.ref();
    this.send(frames);
    this.startReading();
    return p;
  }

  /**
   * Lets the writer delete segments wholly below `index` (purge), after the appends
   * made before this call are durable. Fire and forget.
   */
  releaseTo(index: number): void {
    if (this.failure || this.closeRequested) return;
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`wal writer: release index ${index} is not a safe integer >= 0`);
    this.send([encodeRelease(index)]);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve, reject) => {
      if (this.failure) {
        void this.worker.terminate().then(() => reject(this.failure));
        return;
      }
      this.closeRequested = true;
      this.worker.ref();
      this.worker.once('exit', () => (this.failure ? reject(this.failure) : resolve()));
      this.send([encodeControl(WalFrameKind.Close)]);
      this.startReading();
    });
    return this.closing;
  }

  private send(frames: Uint8Array[]): void {
    if (this.outbox.length === 0) {
      let i = 0;
      if (frames.length === 1) {
        if (this.tx.tryWrite(frames[0]!)) return;
      } else {
        i = this.tx.tryWriteBatch(frames);
        if (i === frames.length) return;
      }
      for (; i < frames.length; i++) this.outbox.push(frames[i]!);
    } else {
      for (const f of frames) this.outbox.push(f);
    }
    void this.pump();
  }

  /** Moves outbox frames onto the ring as space frees up, in order. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.outbox.length > 0 && !this.failure) {
        const n = this.tx.tryWriteBatch(this.outbox);
        if (n > 0) {
          this.outbox.splice(0, n);
          continue;
        }
        this.stats.ringFullWaits++;
        await this.tx.waitSpaceAsync(WAIT_SLICE_MS);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Reads ACK frames while there is anything to wait for. */
  private startReading(): void {
    if (this.reading) return;
    this.reading = true;
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    try {
      while (!this.failure && (this.pending.length > 0 || this.closeRequested)) {
        let closed = false;
        this.rx.drain((b, off, len) => {
          const kind = frameKind(b, off, len);
          if (kind === WalFrameKind.Closed) {
            closed = true;
            return;
          }
          assert(kind === WalFrameKind.Ack, `wal writer: unexpected frame kind ${kind} from worker`);
          this.onAck(decodeAck(b, off, len));
        });
        if (closed) return;
        // No timeout: a timer per wait costs a put at one client several per cent of the main
        // thread; fail() wakes this wait, and the worker's last frame or exit ends it otherwise.
        if (this.pending.length > 0 || this.closeRequested) await this.rx.waitReadableAsync(Infinity);
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.reading = false;
      if (this.pending.length === 0 && !this.closeRequested) this.worker.unref();
    }
  }

  private onAck(a: { count: number; seq: number; durableIndex: number; batchSeq: number }): void {
    assert(a.batchSeq === this.stats.lastBatchSeq + 1, 'wal writer: ack batch out of order');
    this.stats.lastBatchSeq = a.batchSeq;
    this.stats.syncs++;
    this.stats.appends += a.count;
    this.stats.durableIndex = a.durableIndex;
    let n = 0;
    while (this.pending.length > 0 && this.pending[0]!.seq <= a.seq) {
      this.pending.shift()!.resolve();
      n++;
    }
    assert(n === a.count, `wal writer: ack for ${a.count} requests resolved ${n}`);
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    this.rx.wakeReader();
    for (const p of this.pending.splice(0)) p.reject(e);
    this.outbox.length = 0;
    void this.worker.terminate();
  }
}
