/**
 * LogWriter on the calling thread over a FileWal: each append is one write + fdatasync.
 * For tests and the simulator; production uses the WAL writer worker.
 */
import { openWalSync } from '../wal/wal.js';
import type { Wal } from '../wal/types.js';
import type { Entry, HardState } from '../raft/types.js';
import type { LogOpener } from './bootstrap.js';
import type { LogWriter } from './ports.js';

export class InlineLogWriter implements LogWriter {
  readonly #wal: Wal;

  constructor(wal: Wal) {
    this.#wal = wal;
  }

  async append(hardState: HardState | null, entries: readonly Entry[]): Promise<void> {
    this.#wal.save(hardState, entries);
    this.#wal.sync();
  }

  async close(): Promise<void> {
    this.#wal.close();
  }
}

export const openInlineLog: LogOpener = async ({ dir, fromIndex, cfg }) => {
  const { recovery, wal } = openWalSync({ dir, maxBatchBytes: cfg.walBatchMaxBytes, maxBatchDelayMs: cfg.walBatchMaxDelayMs }, fromIndex);
  return { recovery, writer: new InlineLogWriter(wal) };
};
