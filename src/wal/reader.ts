/**
 * Recovery scan of one segment (docs/storage-wal.md "Recovery"): verifies the record
 * chain, applies entries with Raft truncation semantics, and tells a torn tail from
 * corruption.
 */
import type { Entry, HardState } from '../raftpb/types.js';
import { assert } from '../util/pure/assert.js';
import { CodecError, HARD_STATE_BYTES, readEntry, readHardState } from './codec.js';
import { WalCorruptError } from './errors.js';
import {
  CRC_PAYLOAD_BYTES,
  findWellFormedHeader,
  METADATA_PAYLOAD_BYTES,
  parseRecord,
  RecordType,
  SNAPSHOT_PAYLOAD_BYTES,
  WAL_MAGIC,
  WAL_VERSION,
} from './record.js';
import { readU64 } from './u64.js';

/** Accumulated across segments. */
export interface RecoveryState {
  readonly fromIndex: number;
  /** Entries with index > fromIndex, contiguous and ascending. */
  readonly entries: Entry[];
  lastIndex: number;
  hardState: HardState;
  snapshot: { index: number; term: number } | null;
}

export interface SegmentScan {
  /** Offset after the last valid record: where appending resumes. */
  readonly endOffset: number;
  /** crc of the last valid record. */
  readonly finalCrc: number;
  /** Set when the last segment ends in a torn record at this offset. */
  readonly torn: { offset: number; reason: string } | null;
}

const BAD_MAGIC = 'not an etcd-ts WAL (bad magic)';

/**
 * Scans one segment file's bytes. `prevFinalCrc` is the previous segment's final crc,
 * or null when there is no previous segment to check against.
 */
export function scanSegment(file: string, buf: Uint8Array, isLast: boolean, prevFinalCrc: number | null, state: RecoveryState): SegmentScan {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let offset = 0;
  let crc = 0;
  let recordCount = 0;
  const corrupt = (at: number, reason: string): never => {
    throw new WalCorruptError(file, at, reason);
  };
  for (;;) {
    const r = parseRecord(buf, dv, offset, crc);
    if (r.kind === 'end' || r.kind === 'bad') {
      if (recordCount === 0) corrupt(0, BAD_MAGIC);
      if (recordCount < 3) corrupt(offset, `segment ends inside its header records (${r.kind === 'bad' ? r.reason : 'no more records'})`);
      if (!isLast) {
        if (r.kind === 'bad') corrupt(offset, r.reason);
        return { endOffset: offset, finalCrc: crc, torn: null };
      }
      // Last segment: a bad or missing record followed by a well-formed one is corruption.
      const scanFrom = r.kind === 'bad' && r.trustedEnd !== undefined ? r.trustedEnd : offset + 8;
      const later = findWellFormedHeader(buf, dv, scanFrom);
      const reason = r.kind === 'bad' ? r.reason : 'zero header';
      if (later >= 0) corrupt(offset, `${reason}; a well-formed record follows at offset ${later}`);
      return { endOffset: offset, finalCrc: crc, torn: r.kind === 'bad' ? { offset, reason } : null };
    }
    const { type, payloadOffset: p, payloadBytes: n } = r;
    try {
      if (recordCount === 0) {
        if (type !== RecordType.Metadata || n !== METADATA_PAYLOAD_BYTES) corrupt(0, BAD_MAGIC);
        for (let i = 0; i < WAL_MAGIC.length; i++) if (buf[p + i] !== WAL_MAGIC[i]) corrupt(0, BAD_MAGIC);
        const version = dv.getUint32(p + 8, true);
        if (version !== WAL_VERSION) corrupt(0, `unsupported WAL version ${version}`);
      } else if (recordCount === 1) {
        if (type !== RecordType.Crc || n !== CRC_PAYLOAD_BYTES) corrupt(offset, 'second record is not a crc record');
        const carried = dv.getUint32(p, true);
        if (prevFinalCrc !== null && carried !== prevFinalCrc) {
          corrupt(offset, `crc chain broken: previous segment ends with crc ${prevFinalCrc.toString(16)}, this one carries ${carried.toString(16)}`);
        }
      } else if (recordCount === 2 && type !== RecordType.HardState) {
        corrupt(offset, 'third record is not a hard state record');
      } else {
        switch (type) {
          case RecordType.HardState:
            if (n !== HARD_STATE_BYTES) corrupt(offset, `hard state record of ${n} bytes`);
            state.hardState = readHardState(dv, p);
            break;
          case RecordType.Entry: {
            const { entry, next } = readEntry(buf, dv, p, n);
            if (next !== p + n) corrupt(offset, `entry record has ${p + n - next} trailing bytes`);
            applyEntry(state, entry, () => corrupt(offset, `entry index ${entry.index} leaves a gap after ${state.lastIndex}`));
            break;
          }
          case RecordType.Snapshot: {
            if (n !== SNAPSHOT_PAYLOAD_BYTES) corrupt(offset, `snapshot record of ${n} bytes`);
            const index = readU64(dv, p);
            const term = readU64(dv, p + 8);
            if (index < 0 || term < 0) corrupt(offset, 'snapshot record field is not a safe integer');
            // The store was replaced at this point: everything logged before is void, and the
            // log continues at index + 1 (docs/storage-wal.md, "Snapshot marker").
            state.snapshot = { index, term };
            state.entries.length = 0;
            state.lastIndex = index;
            break;
          }
          default:
            corrupt(offset, `unexpected record type ${type} after the segment header`);
        }
      }
    } catch (e) {
      if (e instanceof CodecError) corrupt(offset, e.message);
      throw e;
    }
    crc = r.crc;
    offset = r.next;
    recordCount++;
  }
}

/** Appends with Raft truncation semantics: an index <= lastIndex replaces the tail. */
function applyEntry(state: RecoveryState, e: Entry, gap: () => never): void {
  if (e.index > state.lastIndex + 1) gap();
  const es = state.entries;
  if (e.index <= state.lastIndex && es.length > 0) {
    es.length = Math.max(0, Math.min(es.length, e.index - es[0]!.index));
  }
  state.lastIndex = e.index;
  if (e.index > state.fromIndex) {
    assert(es.length === 0 || es[es.length - 1]!.index + 1 === e.index, 'wal: recovered entries not contiguous');
    es.push(e);
  }
}
