/** The WAL's public shapes (docs/storage-wal.md). The server and the WAL writer use exactly these. */
import type { Entry, HardState } from '../raftpb/types.js';

export interface WalOptions {
  /** WAL directory (created if missing). */
  dir: string;
  /** Preallocated size of each segment file; 4 KiB ..= 1 GiB, multiple of 8. Default 64 MiB. */
  segmentBytes?: number;
  /** Group commit: most bytes of requests in one write + fdatasync (WAL writer worker). Default 8 MiB. */
  maxBatchBytes?: number;
  /** Group commit: extra wait for a batch to fill before syncing; 0 = none. Default 0, max 100. */
  maxBatchDelayMs?: number;
}

/**
 * A snapshot marker (record type 5): the store was replaced by a snapshot at `index` (term
 * `term`); every entry written before the marker is void and the log continues at index + 1.
 */
export interface WalSnapshot {
  readonly index: number;
  readonly term: number;
}

export interface WalRecovery {
  hardState: HardState;
  /**
   * All entries after fromIndex, in order; a later entry with index <= earlier ones
   * replaced the tail. openWal refuses (WalCorruptError) a WAL whose first segment
   * starts after fromIndex + 1, so the entries always continue from fromIndex.
   */
  entries: Entry[];
  /** Index of the last entry in the log, or firstIndex - 1 of the first segment if there is none. */
  lastIndex: number;
  /**
   * The last snapshot marker read (its entries before it were dropped): `entries` then continue
   * at `snapshot.index + 1` (when that is above the recovery start).
   */
  snapshot?: WalSnapshot;
  /** Set when a torn last record was cut off: the segment file and the offset where the log now ends. */
  repaired?: { file: string; offset: number };
}

/** Synchronous file I/O: runs inside the WAL writer worker (or inline in tests). */
export interface Wal {
  /**
   * Buffers records: the snapshot marker (if any: the log then ends at its index), the entries,
   * then the hard state. Entry i must have index <= last index + 1.
   */
  save(hardState: HardState | null, entries: readonly Entry[], snapshot?: WalSnapshot | null): void;
  /** Writes what save() buffered and fdatasyncs once. */
  sync(): void;
  /** Segments wholly below index may be deleted. */
  releaseTo(index: number): void;
  close(): void;
}

/** Default segment size: 64 MiB, as etcd's SegmentSizeBytes. */
export const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
export const SEGMENT_BYTES_MIN = 4096;
export const SEGMENT_BYTES_MAX = 1 << 30;
/** Default group-commit byte bound; the metric `avgBatchBytes` pinned here means raise it. */
export const MAX_BATCH_BYTES_DEFAULT = 8 * 1024 * 1024;
export const MAX_BATCH_DELAY_MS_DEFAULT = 0;
export const MAX_BATCH_DELAY_MS_LIMIT = 100;
