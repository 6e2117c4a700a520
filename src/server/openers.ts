/**
 * How a member's thread boundaries are implemented (style rule 4): the WAL writer and the
 * applier each in a worker thread (production), or both on the calling thread (tests, the
 * simulator). Both behind the same contracts (LogWriter, ApplyPipe).
 */
import { InlineWalWriter } from '../threads/wal-writer.js';
import { WorkerWalWriter } from '../threads/worker-wal-writer.js';
import type { ApplyOpener, LogOpener, ThreadModel } from './bootstrap.js';
import { InlineApplyPipe } from './inline-apply-pipe.js';
import { applyRingBytes, WorkerApplyPipe } from './worker-apply-pipe.js';

/**
 * Tests only: WAL segment size from ETCD_TS_WAL_SEGMENT_BYTES (the power-loss test uses small
 * segments so that rolls and checkpoint releases happen within seconds). Unset: the WAL's default.
 */
function testSegmentBytes(): { segmentBytes?: number } {
  const v = process.env['ETCD_TS_WAL_SEGMENT_BYTES'];
  return v === undefined || v === '' ? {} : { segmentBytes: Number(v) };
}

export const openWorkerLog: LogOpener = ({ dir, fromIndex, cfg }) =>
  WorkerWalWriter.open(
    // The same ring size rule as the apply channel: small, but one request always fits a frame.
    { dir, maxBatchBytes: cfg.walBatchMaxBytes, maxBatchDelayMs: cfg.walBatchMaxDelayMs, toWorkerBytes: applyRingBytes(cfg.maxRequestBytes), ...testSegmentBytes() },
    fromIndex,
  );

export const openInlineLog: LogOpener = ({ dir, fromIndex, cfg }) =>
  InlineWalWriter.open({ dir, maxBatchBytes: cfg.walBatchMaxBytes, maxBatchDelayMs: cfg.walBatchMaxDelayMs, ...testSegmentBytes() }, fromIndex);

export const openWorkerApply: ApplyOpener = ({ dbPath, cfg }) =>
  WorkerApplyPipe.start(dbPath, cfg.maxRequestBytes, { batchIntervalMs: cfg.backendBatchInterval, batchLimit: cfg.backendBatchLimit });

export const openInlineApply: ApplyOpener = ({ dbPath }) => InlineApplyPipe.open(dbPath);

/** Production: a WAL writer thread and an apply thread. */
export const WORKER_THREADS: ThreadModel = { openLog: openWorkerLog, openApply: openWorkerApply };
/** Everything on the calling thread. */
export const ONE_THREAD: ThreadModel = { openLog: openInlineLog, openApply: openInlineApply };
