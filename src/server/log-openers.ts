/** The two ways to open the log for a member: the WAL writer worker (production) or in-thread (tests). */
import { InlineWalWriter } from '../threads/wal-writer.js';
import { WorkerWalWriter } from '../threads/worker-wal-writer.js';
import type { LogOpener } from './bootstrap.js';

export const openWorkerLog: LogOpener = ({ dir, fromIndex, cfg }) =>
  WorkerWalWriter.open({ dir, maxBatchBytes: cfg.walBatchMaxBytes, maxBatchDelayMs: cfg.walBatchMaxDelayMs }, fromIndex);

export const openInlineLog: LogOpener = ({ dir, fromIndex, cfg }) =>
  InlineWalWriter.open({ dir, maxBatchBytes: cfg.walBatchMaxBytes, maxBatchDelayMs: cfg.walBatchMaxDelayMs }, fromIndex);
