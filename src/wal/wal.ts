/**
 * The write-ahead log: recovery (openWal) and synchronous appends with one fdatasync
 * per sync() (docs/storage-wal.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMPTY_HARD_STATE, type Entry, type HardState } from '../raftpb/types.js';
import { assert } from '../util/pure/assert.js';
import {
  ENTRY_HEADER_BYTES,
  HARD_STATE_BYTES,
  invalidEntryReason,
  invalidHardStateReason,
  writeEntry,
  writeHardState,
} from './codec.js';
import { WalClosedError, WalCorruptError, WalInvalidArgumentError } from './errors.js';
import { scanSegment, type RecoveryState } from './reader.js';
import {
  CRC_PAYLOAD_BYTES,
  METADATA_PAYLOAD_BYTES,
  recordBytes,
  SNAPSHOT_PAYLOAD_BYTES,
  RECORD_HEADER_BYTES,
  RecordType,
  sealRecord,
  WAL_MAGIC,
  WAL_VERSION,
} from './record.js';
import { writeU64 } from './u64.js';
import { createSegment, fsyncDir, listSegments, segmentName, SpareSegment, writeFully, writeZeros, type SegmentName } from './segment.js';
import { SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN, type Wal, type WalOptions, type WalRecovery, type WalSnapshot } from './types.js';

/** save() writes (without syncing) once this many bytes are buffered, to bound memory. */
const PENDING_FLUSH_BYTES = 16 * 1024 * 1024;

/** Growable byte buffer that records are encoded into. */
class PendingBuffer {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  length = 0;
  /** Reserves n zeroed bytes at the end; returns their offset. */
  reserve(n: number): number {
    const need = this.length + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.length));
      this.buf = next;
      this.dv = new DataView(next.buffer);
    } else {
      this.buf.fill(0, this.length, need);
    }
    const at = this.length;
    this.length = need;
    return at;
  }
}

function checkOptions(opts: WalOptions): number {
  const segmentBytes = opts.segmentBytes ?? SEGMENT_BYTES_DEFAULT;
  if (!Number.isInteger(segmentBytes) || segmentBytes < SEGMENT_BYTES_MIN || segmentBytes > SEGMENT_BYTES_MAX || segmentBytes % 8 !== 0) {
    throw new RangeError(`wal: segmentBytes ${segmentBytes} must be a multiple of 8 in [${SEGMENT_BYTES_MIN}, ${SEGMENT_BYTES_MAX}]`);
  }
  return segmentBytes;
}

/**
 * Opens the WAL in opts.dir for recovery and writing. Creates it (one empty segment whose
 * first index is fromIndex + 1) when the directory holds no segment. Cuts a torn last
 * record; throws WalCorruptError for any other damage.
 */

/** Zeros of the next segment written before the pace of `nextSegmentBehind` applies. */
const SPARE_HEAD_START_BYTES = 1 << 20;

export async function openWal(opts: WalOptions, fromIndex: number): Promise<{ recovery: WalRecovery; wal: Wal }> {
  return openWalSync(opts, fromIndex);
}

/** Synchronous openWal, for the WAL writer worker. */
export function openWalSync(opts: WalOptions, fromIndex: number): { recovery: WalRecovery; wal: FileWal } {
  if (!Number.isSafeInteger(fromIndex) || fromIndex < 0) throw new RangeError(`wal: fromIndex ${fromIndex} is not a safe integer >= 0`);
  const segmentBytes = checkOptions(opts);
  const dir = opts.dir;
  fs.mkdirSync(dir, { recursive: true });
  const segments = listSegments(dir);
  if (segments.length === 0) {
    const wal = FileWal.create(dir, segmentBytes, fromIndex);
    return { recovery: { hardState: EMPTY_HARD_STATE, entries: [], lastIndex: fromIndex }, wal };
  }
  const first = segments[0]!;
  if (first.firstIndex > fromIndex + 1) {
    // Entries fromIndex+1 .. firstIndex-1 were purged (or never written): state cannot be rebuilt.
    throw new WalCorruptError(
      path.join(dir, first.name),
      0,
      `the WAL begins at index ${first.firstIndex} but recovery needs entries from index ${fromIndex + 1}`,
    );
  }
  const state: RecoveryState = {
    fromIndex,
    entries: [],
    lastIndex: segments[0]!.firstIndex - 1,
    hardState: EMPTY_HARD_STATE,
    snapshot: null,
  };
  let prevCrc: number | null = null;
  let endOffset = 0;
  let repaired: WalRecovery['repaired'];
  for (let i = 0; i < segments.length; i++) {
    const file = path.join(dir, segments[i]!.name);
    const raw = fs.readFileSync(file);
    const buf = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    const isLast = i === segments.length - 1;
    const scan = scanSegment(file, buf, isLast, prevCrc, state);
    prevCrc = scan.finalCrc;
    endOffset = scan.endOffset;
    if (scan.torn) repaired = { file, offset: scan.torn.offset };
  }
  const last = segments[segments.length - 1]!;
  const fd = fs.openSync(path.join(dir, last.name), 'r+');
  if (repaired) {
    // Overwrite the torn record and everything after it with zeros, keeping the preallocation.
    const size = fs.fstatSync(fd).size;
    writeZeros(fd, repaired.offset, Math.max(size, segmentBytes));
    fs.fdatasyncSync(fd);
  }
  const wal = new FileWal(dir, segmentBytes, segments, fd, endOffset, prevCrc!, state.lastIndex, state.hardState);
  const recovery: WalRecovery = { hardState: state.hardState, entries: state.entries, lastIndex: state.lastIndex };
  if (state.snapshot !== null) recovery.snapshot = state.snapshot;
  if (repaired) recovery.repaired = repaired;
  return { recovery, wal };
}

/** Wal over segment files; one instance per directory, used from one thread. */
export class FileWal implements Wal {
  private readonly pending = new PendingBuffer();
  private closed = false;
  private spare: SpareSegment | null = null;
  /** fdatasync calls made (metric). */
  syncCount = 0;
  /**
   * A save since the last sync holds what must be durable before it is acknowledged: entries,
   * a snapshot marker, or a hard state with a new term or vote (Raft's MustSync). A hard state
   * whose only change is the commit index need not be (a restart learns the commit index again
   * from the leader; etcd's WAL does not sync it either): see `syncIfNeeded`.
   */
  private mustSyncPending = false;
  /** Segment rolls, and the slowest one in ms (metric: a high value means prepareNext() is not called enough). */
  rollCount = 0;
  rollMsMax = 0;

  // Invariants: segments is non-empty and ordered by seq; the last one is open as fd;
  // fileOffset + pending.length is where the next record goes in it; crc is the crc of
  // the last record encoded (written or pending); lastIndex is the last entry's index.
  constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: SegmentName[],
    private fd: number,
    private fileOffset: number,
    private crc: number,
    private lastIndex: number,
    private hardState: HardState,
  ) {
    assert(segments.length > 0, 'wal: no segment');
  }

  /** A new WAL: segment 0 whose first index is fromIndex + 1. */
  static create(dir: string, segmentBytes: number, fromIndex: number): FileWal {
    const { head, crc } = segmentHead(0, EMPTY_HARD_STATE);
    const seg = { seq: 0, firstIndex: fromIndex + 1, name: segmentName(0, fromIndex + 1) };
    const fd = createSegment(dir, seg.name, segmentBytes, head);
    return new FileWal(dir, segmentBytes, [seg], fd, head.length, crc, fromIndex, EMPTY_HARD_STATE);
  }

  save(hardState: HardState | null, entries: readonly Entry[], snapshot?: WalSnapshot | null): void {
    if (this.closed) throw new WalClosedError();
    // Validate everything first (gateway): a refused call persists nothing.
    const bad = snapshot ? invalidSnapshotReason(snapshot) : undefined;
    if (bad) throw new WalInvalidArgumentError(`wal: ${bad}`);
    let last = snapshot ? snapshot.index : this.lastIndex;
    for (const e of entries) {
      const bad = invalidEntryReason(e);
      if (bad) throw new WalInvalidArgumentError(`wal: ${bad}`);
      if (e.index > last + 1) throw new WalInvalidArgumentError(`wal: entry index ${e.index} leaves a gap after ${last}`);
      last = e.index;
    }
    if (hardState) {
      const bad = invalidHardStateReason(hardState);
      if (bad) throw new WalInvalidArgumentError(`wal: ${bad}`);
    }
    if (entries.length > 0 || snapshot || (hardState && (hardState.term !== this.hardState.term || hardState.vote !== this.hardState.vote))) {
      this.mustSyncPending = true;
    }
    if (snapshot) {
      // The marker: the log now ends at the snapshot's index (older entries are void).
      const at = this.reserveRecord(SNAPSHOT_PAYLOAD_BYTES, snapshot.index + 1);
      writeU64(this.pending.dv, at + RECORD_HEADER_BYTES, snapshot.index);
      writeU64(this.pending.dv, at + RECORD_HEADER_BYTES + 8, snapshot.term);
      this.crc = sealRecord(this.pending.buf, this.pending.dv, at, RecordType.Snapshot, SNAPSHOT_PAYLOAD_BYTES, this.crc);
      this.lastIndex = snapshot.index;
    }
    for (const e of entries) {
      const n = ENTRY_HEADER_BYTES + e.data.length;
      const at = this.reserveRecord(n, e.index);
      writeEntry(this.pending.buf, this.pending.dv, at + RECORD_HEADER_BYTES, e);
      this.crc = sealRecord(this.pending.buf, this.pending.dv, at, RecordType.Entry, n, this.crc);
      this.lastIndex = e.index;
    }
    if (hardState) {
      const at = this.reserveRecord(HARD_STATE_BYTES, this.lastIndex + 1);
      writeHardState(this.pending.dv, at + RECORD_HEADER_BYTES, hardState);
      this.crc = sealRecord(this.pending.buf, this.pending.dv, at, RecordType.HardState, HARD_STATE_BYTES, this.crc);
      this.hardState = hardState;
    }
    if (this.pending.length >= PENDING_FLUSH_BYTES) this.flush();
  }

  sync(): void {
    if (this.closed) throw new WalClosedError();
    this.flush();
    fs.fdatasyncSync(this.fd);
    this.syncCount++;
    this.mustSyncPending = false;
  }

  /**
   * `sync()` when a save since the last sync must be durable (mustSyncPending); otherwise
   * nothing: commit-only hard states stay buffered and reach the disk, in order, with the next
   * sync (or flush). Returns whether it synced.
   */
  syncIfNeeded(): boolean {
    if (this.closed) throw new WalClosedError();
    if (!this.mustSyncPending) return false;
    this.sync();
    return true;
  }

  releaseTo(index: number): void {
    if (this.closed) throw new WalClosedError();
    let removed = 0;
    while (this.segments.length > 1 && this.segments[1]!.firstIndex <= index) {
      const seg = this.segments.shift()!;
      fs.unlinkSync(path.join(this.dir, seg.name));
      removed++;
    }
    if (removed > 0) fsyncDir(this.dir);
  }

  close(): void {
    if (this.closed) return;
    this.sync();
    fs.closeSync(this.fd);
    this.spare?.discard();
    this.spare = null;
    this.closed = true;
  }

  /**
   * Preallocates part of the next segment (at most `sliceBytes` of zeros, fdatasynced),
   * so the next roll only renames a ready file. The WAL writer calls this between
   * batches. Returns true when the next segment is ready.
   */
  get nextSegmentReady(): boolean {
    return this.spare?.ready ?? false;
  }

  /**
   * True when the current segment is at least half full and the next one is not ready:
   * the time to call prepareNext(). Waiting for half keeps the spare's writes away from a
   * young WAL's fdatasyncs and still leaves half a segment of appends to finish it.
   */
  get wantsNextSegment(): boolean {
    return !this.closed && !this.nextSegmentReady && this.tailOffset >= this.segmentBytes / 2;
  }

  /**
   * True while the next segment's preparation is behind its pace: zeros written in step with
   * the appends after the half-way point (3 bytes of zeros per byte appended, plus a head start
   * of one slice), so the spare is ready at about five sixths of the segment and the zeros
   * never reach the disk as one burst that would sit in front of the appends' fdatasyncs
   * (an idle writer that zero-filled the whole spare at once showed in the fdatasync tail).
   */
  get nextSegmentBehind(): boolean {
    if (!this.wantsNextSegment) return false;
    const appended = this.tailOffset - this.segmentBytes / 2;
    const due = Math.min(this.segmentBytes, appended * 3 + SPARE_HEAD_START_BYTES);
    return (this.spare?.prepared ?? 0) < due;
  }

  prepareNext(sliceBytes: number): boolean {
    if (this.closed) throw new WalClosedError();
    this.spare ??= new SpareSegment(this.dir, this.segmentBytes);
    return this.spare.prepare(sliceBytes);
  }

  /** Index of the last entry saved. */
  get lastSavedIndex(): number {
    return this.lastIndex;
  }

  /** Offset in the current segment where the next record will go (tests, metrics). */
  get tailOffset(): number {
    return this.fileOffset + this.pending.length;
  }

  /** Path of the segment being written. */
  get currentFile(): string {
    return path.join(this.dir, this.segments[this.segments.length - 1]!.name);
  }

  /** Current segment names, oldest first (for tests and metrics). */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  /** Writes the pending buffer at the current offset (no sync). */
  private flush(): void {
    if (this.pending.length === 0) return;
    writeFully(this.fd, this.pending.buf.subarray(0, this.pending.length), this.fileOffset);
    this.fileOffset += this.pending.length;
    this.pending.length = 0;
  }

  /**
   * Reserves space for a record with `payloadBytes` in the pending buffer, rolling to a
   * new segment (whose first index is `nextIndex`) when it does not fit in this one.
   */
  private reserveRecord(payloadBytes: number, nextIndex: number): number {
    const size = recordBytes(payloadBytes);
    const used = this.fileOffset + this.pending.length;
    const segmentHasBody = used > SEGMENT_HEAD_BYTES;
    if (used + size > this.segmentBytes && segmentHasBody) this.roll(nextIndex);
    return this.pending.reserve(size);
  }

  /** Flushes and syncs the current segment, then creates and switches to the next. */
  private roll(firstIndex: number): void {
    this.flush();
    fs.fdatasyncSync(this.fd);
    this.syncCount++;
    fs.closeSync(this.fd);
    const prev = this.segments[this.segments.length - 1]!;
    const seq = prev.seq + 1;
    const seg = { seq, firstIndex, name: segmentName(seq, firstIndex) };
    const { head, crc } = segmentHead(this.crc, this.hardState);
    const t0 = performance.now();
    if (this.spare) {
      this.fd = this.spare.install(seg.name, head);
      this.spare = null;
    } else {
      this.fd = createSegment(this.dir, seg.name, this.segmentBytes, head);
    }
    this.rollCount++;
    this.rollMsMax = Math.max(this.rollMsMax, performance.now() - t0);
    this.segments.push(seg);
    this.fileOffset = head.length;
    this.crc = crc;
  }
}

/** Bytes of the three records every segment starts with. */
const SEGMENT_HEAD_BYTES = recordBytes(METADATA_PAYLOAD_BYTES) + recordBytes(CRC_PAYLOAD_BYTES) + recordBytes(HARD_STATE_BYTES);

/** The three records every segment starts with: metadata, crc (carried), hard state. */
function segmentHead(carriedCrc: number, hs: HardState): { head: Uint8Array; crc: number } {
  const size = SEGMENT_HEAD_BYTES;
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  let at = 0;
  buf.set(WAL_MAGIC, at + RECORD_HEADER_BYTES);
  dv.setUint32(at + RECORD_HEADER_BYTES + 8, WAL_VERSION, true);
  // cluster id and member id (u64 each) stay 0 until membership is wired in.
  let crc = sealRecord(buf, dv, at, RecordType.Metadata, METADATA_PAYLOAD_BYTES, 0);
  at += recordBytes(METADATA_PAYLOAD_BYTES);
  dv.setUint32(at + RECORD_HEADER_BYTES, carriedCrc, true);
  crc = sealRecord(buf, dv, at, RecordType.Crc, CRC_PAYLOAD_BYTES, crc);
  at += recordBytes(CRC_PAYLOAD_BYTES);
  writeHardState(dv, at + RECORD_HEADER_BYTES, hs);
  crc = sealRecord(buf, dv, at, RecordType.HardState, HARD_STATE_BYTES, crc);
  at += recordBytes(HARD_STATE_BYTES);
  assert(at === size, 'wal: segment head size');
  return { head: buf, crc };
}

/** Why a snapshot marker cannot be written, or undefined. */
export function invalidSnapshotReason(s: WalSnapshot): string | undefined {
  if (!Number.isSafeInteger(s.index) || s.index < 1) return `snapshot index ${s.index} is not a safe integer >= 1`;
  if (!Number.isSafeInteger(s.term) || s.term < 1) return `snapshot term ${s.term} is not a safe integer >= 1`;
  return undefined;
}
