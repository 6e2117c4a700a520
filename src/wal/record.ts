/**
 * WAL record encoder and decoder (docs/storage-wal.md "Record").
 *
 *   0 crc u32 | 4 payloadBytes u32 | 8 type u8 | 9 reserved x3 | 12 ~payloadBytes u32 | 16 payload | pad to 8
 *   crc = crc32c(bytes 4 .. 16 + payloadBytes, prevCrc)
 */
import { crc32c } from '@node-rs/crc32';
import { assert } from '../util/pure/assert.js';

export const RECORD_HEADER_BYTES = 16;

export enum RecordType {
  Metadata = 1,
  Crc = 2,
  HardState = 3,
  Entry = 4,
  Snapshot = 5,
}
const RECORD_TYPE_MAX = RecordType.Snapshot;

export const WAL_MAGIC = new TextEncoder().encode('ETCDTSWL');
export const WAL_VERSION = 1;
export const METADATA_PAYLOAD_BYTES = 32;
export const CRC_PAYLOAD_BYTES = 8;
export const SNAPSHOT_PAYLOAD_BYTES = 16;

export function align8(n: number): number {
  return n + ((8 - (n & 7)) & 7);
}

/** Bytes a record with this payload takes on disk. */
export function recordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + align8(payloadBytes);
}

/**
 * Writes the header for a record whose payload is already at offset + 16 (and padding
 * zeroed by the caller), computes the chained crc, and returns it.
 */
export function sealRecord(buf: Uint8Array, dv: DataView, offset: number, type: RecordType, payloadBytes: number, prevCrc: number): number {
  assert(payloadBytes >= 0 && payloadBytes <= 0xffff_ffff, 'record: payload size out of range');
  dv.setUint32(offset + 4, payloadBytes, true);
  dv.setUint32(offset + 8, type, true); // type byte + 3 zero reserved bytes
  dv.setUint32(offset + 12, ~payloadBytes >>> 0, true);
  const crc = crc32c(buf.subarray(offset + 4, offset + RECORD_HEADER_BYTES + payloadBytes), prevCrc);
  dv.setUint32(offset, crc, true);
  return crc;
}

export type ParsedRecord =
  | { readonly kind: 'end' }
  | { readonly kind: 'ok'; readonly type: RecordType; readonly payloadOffset: number; readonly payloadBytes: number; readonly crc: number; readonly next: number }
  /** `trustedEnd`: where the bad record ends when its length field passed the check (else undefined). */
  | { readonly kind: 'bad'; readonly reason: string; readonly trustedEnd?: number };

/** True if the 16 bytes at offset look like a record header that fits in the buffer (crc not checked). */
export function isWellFormedHeader(buf: Uint8Array, dv: DataView, offset: number): boolean {
  if (offset + RECORD_HEADER_BYTES > buf.length) return false;
  const n = dv.getUint32(offset + 4, true);
  const typeWord = dv.getUint32(offset + 8, true);
  const check = dv.getUint32(offset + 12, true);
  if (typeWord < 1 || typeWord > RECORD_TYPE_MAX) return false;
  if (check !== (~n >>> 0)) return false;
  return offset + recordBytes(n) <= buf.length;
}

/** Decodes the record at `offset` (8-aligned), verifying its crc chained from `prevCrc`. */
export function parseRecord(buf: Uint8Array, dv: DataView, offset: number, prevCrc: number): ParsedRecord {
  assert((offset & 7) === 0, 'record: unaligned offset');
  const left = buf.length - offset;
  if (left === 0) return { kind: 'end' };
  if (left < RECORD_HEADER_BYTES) {
    for (let i = offset; i < buf.length; i++) if (buf[i] !== 0) return { kind: 'bad', reason: 'partial record header at end of file' };
    return { kind: 'end' };
  }
  let zero = true;
  for (let i = offset; i < offset + RECORD_HEADER_BYTES; i += 4) {
    if (dv.getUint32(i, true) !== 0) {
      zero = false;
      break;
    }
  }
  if (zero) return { kind: 'end' };
  const n = dv.getUint32(offset + 4, true);
  const typeWord = dv.getUint32(offset + 8, true);
  if (dv.getUint32(offset + 12, true) !== (~n >>> 0)) return { kind: 'bad', reason: 'length check mismatch' };
  if (typeWord < 1 || typeWord > RECORD_TYPE_MAX) return { kind: 'bad', reason: `invalid type/reserved word 0x${typeWord.toString(16)}` };
  const size = recordBytes(n);
  if (size > left) return { kind: 'bad', reason: `record of ${size} bytes runs past end of file (${left} bytes left)`, trustedEnd: offset + size };
  const crc = crc32c(buf.subarray(offset + 4, offset + RECORD_HEADER_BYTES + n), prevCrc);
  if (crc !== dv.getUint32(offset, true)) return { kind: 'bad', reason: 'crc mismatch', trustedEnd: offset + size };
  for (let i = offset + RECORD_HEADER_BYTES + n; i < offset + size; i++) {
    if (buf[i] !== 0) return { kind: 'bad', reason: 'non-zero padding', trustedEnd: offset + size };
  }
  return { kind: 'ok', type: typeWord as RecordType, payloadOffset: offset + RECORD_HEADER_BYTES, payloadBytes: n, crc, next: offset + size };
}

/** Offset of the first well-formed record header at an 8-aligned offset >= from, or -1. */
export function findWellFormedHeader(buf: Uint8Array, dv: DataView, from: number): number {
  for (let i = align8(from); i + RECORD_HEADER_BYTES <= buf.length; i += 8) {
    if (buf[i + 8] !== 0 && isWellFormedHeader(buf, dv, i)) return i;
  }
  return -1;
}
