/** The two ways to open the log for a member: the WAL writer worker (production) or in-thread (tests). */
import { InlineWalWriter } from '../threads/wal-writer.js';
import { WorkerWalWriter } from '../threads/worker-wal-writer.js';
import type { LogOpener } from './bootstrap.js';
import { applyRingBytes } from './worker-apply-pipe.js';

export const openWorkerLog: LogOpener = ({ dir, fromIndex, cfg }) =>
  WorkerWalWriter.open(
    // The same ring size rule as the apply channel: small, but one request always fits a frame.
    { dir, maxBatchBytes: cfg.walBatchMaxBytes, maxBatchDelayMs: cfg.walBatchMaxDelayMs, toWorkerBytes: applyRingBytes(cfg.maxRequestBytes) },
    fromIndex,
  );

export const openInlineLog: LogOpener = ({ dir, fromIndex, cfg }) =>
  InlineWalWriter.open({ dir, maxBatchBytes: cfg.walBatchMaxBytes, maxBatchDelayMs: cfg.walBatchMaxDelayMs }, fromIndex);
