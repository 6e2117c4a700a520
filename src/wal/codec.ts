/**
 * Entry and HardState binary encodings (docs/storage-wal.md "Entry encoding",
 * "Hard state encoding"). Shared by WAL records, the WAL writer ring frames and the
 * apply frames. Little-endian; u64 = (low u32, high u32): a safe integer, except the hard
 * state's vote, a member ID, which is a full u64 (docs/decisions/0003-64-bit-ids.md).
 */
import { EntryType, type Entry, type HardState } from '../raftpb/types.js';
import { readU64, readU64Big, writeU64, writeU64Big } from './u64.js';

/** Bytes before the data in an entry encoding: index 8, term 8, type 1, length 4. */
export const ENTRY_HEADER_BYTES = 21;
export const HARD_STATE_BYTES = 24;

export class CodecError extends Error {
  override name = 'CodecError';
  readonly code = 'ETCD_ERR_WAL_CODEC';
}

export function entryEncodingBytes(e: Entry): number {
  return ENTRY_HEADER_BYTES + e.data.length;
}

/** Gateway check for an entry about to be persisted. Returns a reason, or null if valid. */
export function invalidEntryReason(e: Entry): string | null {
  if (!Number.isSafeInteger(e.index) || e.index < 1) return `entry index ${e.index} is not a positive safe integer`;
  if (!Number.isSafeInteger(e.term) || e.term < 0) return `entry ${e.index} term ${e.term} is not a safe integer >= 0`;
  if (e.type !== EntryType.Normal && e.type !== EntryType.ConfChange && e.type !== EntryType.ConfChangeV2) {
    return `entry ${e.index} type ${String(e.type)} is unknown`;
  }
  if (!(e.data instanceof Uint8Array)) return `entry ${e.index} data is not a Uint8Array`;
  return null;
}

export function invalidHardStateReason(hs: HardState): string | null {
  for (const k of ['term', 'commit'] as const) {
    if (!Number.isSafeInteger(hs[k]) || hs[k] < 0) return `hard state ${k} ${hs[k]} is not a safe integer >= 0`;
  }
  if (typeof hs.vote !== 'bigint' || hs.vote < 0n || hs.vote > 0xffff_ffff_ffff_ffffn) return `hard state vote ${String(hs.vote)} is not a uint64`;
  return null;
}

/** Writes `e` at `offset` (caller ensured room); returns the offset after it. */
export function writeEntry(buf: Uint8Array, dv: DataView, offset: number, e: Entry): number {
  writeU64(dv, offset, e.index);
  writeU64(dv, offset + 8, e.term);
  dv.setUint8(offset + 16, e.type);
  dv.setUint32(offset + 17, e.data.length, true);
  buf.set(e.data, offset + ENTRY_HEADER_BYTES);
  return offset + ENTRY_HEADER_BYTES + e.data.length;
}

/**
 * Reads one entry at `offset`, at most `limit` bytes; `data` is a copy. Throws
 * CodecError on truncation or invalid fields.
 */
export function readEntry(buf: Uint8Array, dv: DataView, offset: number, limit: number): { entry: Entry; next: number } {
  if (limit < ENTRY_HEADER_BYTES) throw new CodecError(`entry: truncated header (${limit} bytes)`);
  const index = readU64(dv, offset);
  const term = readU64(dv, offset + 8);
  const type = dv.getUint8(offset + 16);
  const n = dv.getUint32(offset + 17, true);
  if (index < 1) throw new CodecError(`entry: index is not a positive safe integer`);
  if (term < 0) throw new CodecError(`entry ${index}: term is not a safe integer`);
  if (type > EntryType.ConfChangeV2) throw new CodecError(`entry ${index}: unknown type ${type}`);
  if (n > limit - ENTRY_HEADER_BYTES) throw new CodecError(`entry ${index}: data of ${n} bytes truncated`);
  const start = offset + ENTRY_HEADER_BYTES;
  const entry: Entry = { index, term, type: type as EntryType, data: buf.slice(start, start + n) };
  return { entry, next: start + n };
}

export function writeHardState(dv: DataView, offset: number, hs: HardState): number {
  writeU64(dv, offset, hs.term);
  writeU64Big(dv, offset + 8, hs.vote);
  writeU64(dv, offset + 16, hs.commit);
  return offset + HARD_STATE_BYTES;
}

export function readHardState(dv: DataView, offset: number): HardState {
  const term = readU64(dv, offset);
  const vote = readU64Big(dv, offset + 8);
  const commit = readU64(dv, offset + 16);
  if (term < 0 || commit < 0) throw new CodecError('hard state: term or commit is not a safe integer');
  return { term, vote, commit };
}

/** Convenience for tests and one-off callers: one entry as its own byte array. */
export function encodeEntry(e: Entry): Uint8Array {
  const buf = new Uint8Array(entryEncodingBytes(e));
  writeEntry(buf, new DataView(buf.buffer), 0, e);
  return buf;
}

export function decodeEntry(buf: Uint8Array): Entry {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const { entry, next } = readEntry(buf, dv, 0, buf.length);
  if (next !== buf.length) throw new CodecError(`entry: ${buf.length - next} trailing bytes`);
  return entry;
}

export function encodeHardState(hs: HardState): Uint8Array {
  const buf = new Uint8Array(HARD_STATE_BYTES);
  writeHardState(new DataView(buf.buffer), 0, hs);
  return buf;
}

export function decodeHardState(buf: Uint8Array): HardState {
  if (buf.length !== HARD_STATE_BYTES) throw new CodecError(`hard state: ${buf.length} bytes, want ${HARD_STATE_BYTES}`);
  return readHardState(new DataView(buf.buffer, buf.byteOffset, buf.byteLength), 0);
}
