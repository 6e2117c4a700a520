/**
 * WAL writer thread entry (docs/threads.md "WAL writer frames"). Opens the WAL,
 * posts the recovery once, then loops: drain every APPEND that arrived (up to
 * maxBatchBytes), save them, one fdatasync (none when the batch holds only commit-only hard
 * states: FileWal.syncIfNeeded), one ACK. Everything that arrives during the fdatasync goes
 * into the next batch (group commit).
 *
 * workerData: { channel, opts: WalOptions, fromIndex: number }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { assert } from '../util/pure/assert.js';
import { MAX_BATCH_BYTES_DEFAULT, MAX_BATCH_DELAY_MS_DEFAULT, MAX_BATCH_DELAY_MS_LIMIT, type WalOptions } from '../wal/types.js';
import { openWalSync, type FileWal } from '../wal/wal.js';
import { decodeAppend, decodeRelease, encodeAck, encodeControl, frameKind, WalFrameKind } from './wal-writer-frames.js';
import { workerChannel, type WorkerSide } from './worker-channel.js';

/** How long one blocking wait lasts before re-checking for close. */
const IDLE_WAIT_MS = 1000;
/**
 * Zeros preallocated for the next segment per slice (page-cache writes, ~0.1-0.3 ms per
 * MiB here), between batches and while idle. Bounds the extra latency one batch can see;
 * the metric `rollMsMax` (FileWal) says whether preparation keeps up with the write rate.
 */
const PREPARE_SLICE_BYTES = 1 << 20;
/** Slices after one batch at most (a batch of large entries moves the pace by several). */
const MAX_SLICES_PER_BATCH = 4;

export interface WalWriterWorkerData {
  opts: WalOptions;
  fromIndex: number;
}

export type WalWriterWorkerMessage =
  | { type: 'ready'; recovery: import('../wal/types.js').WalRecovery }
  | { type: 'error'; name: string; message: string; code?: string; file?: string; offset?: number; reason?: string };

function post(m: WalWriterWorkerMessage): void {
  parentPort!.postMessage(m);
}

function errorMessage(e: unknown): WalWriterWorkerMessage {
  const err = e instanceof Error ? e : new Error(String(e));
  const x = err as Error & { code?: string; file?: string; offset?: number; reason?: string };
  const m: WalWriterWorkerMessage = { type: 'error', name: err.name, message: err.message };
  if (x.code !== undefined) m.code = x.code;
  if (x.file !== undefined) m.file = x.file;
  if (x.offset !== undefined) m.offset = x.offset;
  if (x.reason !== undefined) m.reason = x.reason;
  return m;
}

function run(ch: WorkerSide, wal: FileWal, maxBatchBytes: number, maxBatchDelayMs: number): void {
  let batchSeq = 0;
  let ackedSeq = 0;
  for (;;) {
    if (wal.nextSegmentBehind && ch.rx.isEmpty() && !ch.rx.isClosed()) {
      // Idle: prepare the next segment a slice at a time, at the pace of the appends, checking for work in between.
      wal.prepareNext(PREPARE_SLICE_BYTES);
      continue;
    }
    if (!ch.rx.waitReadable(IDLE_WAIT_MS)) {
      if (ch.rx.isDone()) break; // main thread went away without CLOSE
      continue;
    }
    let batchBytes = 0;
    let completed = 0;
    let closing = false;
    let releaseIndex = 0;
    const visit = (b: Uint8Array, off: number, len: number): boolean => {
      const kind = frameKind(b, off, len);
      if (kind === WalFrameKind.Close) {
        closing = true;
        return false;
      }
      if (kind === WalFrameKind.Release) {
        releaseIndex = Math.max(releaseIndex, decodeRelease(b, off, len));
        return true;
      }
      assert(kind === WalFrameKind.Append, `wal writer: unexpected frame kind ${kind}`);
      const part = decodeAppend(b, off, len);
      wal.save(part.hardState, part.entries, part.snapshot);
      if (part.final) {
        assert(part.seq === ackedSeq + completed + 1, `wal writer: request seq ${part.seq} out of order`);
        completed++;
      }
      batchBytes += len;
      return batchBytes < maxBatchBytes;
    };
    ch.rx.drain(visit);
    if (maxBatchDelayMs > 0 && !closing) {
      const deadline = Date.now() + maxBatchDelayMs;
      for (let left = maxBatchDelayMs; batchBytes < maxBatchBytes && !closing && left > 0; left = deadline - Date.now()) {
        if (ch.rx.waitReadable(left)) ch.rx.drain(visit);
      }
    }
    // Commit-only hard states are not synced (Raft's MustSync; docs/storage-wal.md, "Writing").
    wal.syncIfNeeded();
    if (completed > 0) {
      ackedSeq += completed;
      batchSeq++;
      ch.tx.writeBlocking(encodeAck({ count: completed, seq: ackedSeq, durableIndex: wal.lastSavedIndex, batchSeq }));
    }
    if (releaseIndex > 0) wal.releaseTo(releaseIndex);
    if (closing) {
      assert(ch.rx.isEmpty(), 'wal writer: frames after CLOSE');
      break;
    }
    // One slice per batch under load when behind, after the ack so it adds no latency to this batch.
    for (let slices = 0; slices < MAX_SLICES_PER_BATCH && wal.nextSegmentBehind; slices++) wal.prepareNext(PREPARE_SLICE_BYTES);
  }
  wal.close();
  ch.tx.writeBlocking(encodeControl(WalFrameKind.Closed));
  ch.tx.close();
}

function main(): void {
  const ch = workerChannel(workerData);
  const { opts, fromIndex } = workerData as WalWriterWorkerData;
  let wal: FileWal;
  try {
    const opened = openWalSync(opts, fromIndex);
    wal = opened.wal;
    post({ type: 'ready', recovery: opened.recovery });
  } catch (e) {
    post(errorMessage(e));
    return;
  }
  const maxBatchBytes = opts.maxBatchBytes ?? MAX_BATCH_BYTES_DEFAULT;
  const maxBatchDelayMs = Math.min(opts.maxBatchDelayMs ?? MAX_BATCH_DELAY_MS_DEFAULT, MAX_BATCH_DELAY_MS_LIMIT);
  try {
    run(ch, wal, maxBatchBytes, maxBatchDelayMs);
  } catch (e) {
    // Not trusted after a failed write or sync (etcd panics): report and stop.
    post(errorMessage(e));
  }
}

main();
