/** Chooses the WalWriter implementation (style rule 4: in-thread or worker, by a flag). */
import { InlineWalWriter, type OpenedWalWriter } from './wal-writer.js';
import { WorkerWalWriter, type WorkerWalWriterOptions } from './worker-wal-writer.js';

export interface OpenWalWriterOptions extends WorkerWalWriterOptions {
  /** true (production): the WAL writer thread; false: same thread (tests, simulation). */
  useWorker: boolean;
}

export function openWalWriter(opts: OpenWalWriterOptions, fromIndex: number): Promise<OpenedWalWriter> {
  const { useWorker, ...rest } = opts;
  return useWorker ? WorkerWalWriter.open(rest, fromIndex) : InlineWalWriter.open(rest, fromIndex);
}
