/**
 * Revisions and their byte layout (docs/storage-lmdb.md, "Revision").
 *
 * A revision is (main, sub): main is the store revision of one write request, sub orders the
 * writes inside it. On disk: main u64 BE ++ sub u64 BE, so byte order = numeric order.
 */

/** Store revision (main). Below 2^53. */
export type Revision = number;

export const REV_BYTES = 16;

/** The largest integer we encode; revisions, versions and lease IDs stay below it. */
const U64_SAFE_MAX = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;

export { assert } from '../util/pure/assert.js';
import { assert } from '../util/pure/assert.js';

export function writeU64(buf: Uint8Array, offset: number, n: number): void {
  assert(Number.isInteger(n) && n >= 0 && n <= U64_SAFE_MAX, `u64 out of range: ${n}`);
  const hi = Math.floor(n / TWO_32);
  const lo = n >>> 0;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

export function readU64(buf: Uint8Array, offset: number): number {
  const hi = ((buf[offset]! << 24) >>> 0) + (buf[offset + 1]! << 16) + (buf[offset + 2]! << 8) + buf[offset + 3]!;
  const lo = ((buf[offset + 4]! << 24) >>> 0) + (buf[offset + 5]! << 16) + (buf[offset + 6]! << 8) + buf[offset + 7]!;
  const n = hi * TWO_32 + lo;
  assert(n <= U64_SAFE_MAX, `stored u64 above 2^53: corrupt store?`);
  return n;
}

export function u64Bytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeU64(b, 0, n);
  return b;
}

export function encodeRevision(main: Revision, sub: number): Buffer {
  const b = Buffer.allocUnsafe(REV_BYTES);
  writeU64(b, 0, main);
  writeU64(b, 8, sub);
  return b;
}

export function writeRevision(buf: Uint8Array, offset: number, main: Revision, sub: number): void {
  writeU64(buf, offset, main);
  writeU64(buf, offset + 8, sub);
}

export interface RevisionPair {
  readonly main: Revision;
  readonly sub: number;
}

export function decodeRevision(buf: Uint8Array, offset = 0): RevisionPair {
  assert(buf.length - offset >= REV_BYTES, 'revision: short buffer');
  return { main: readU64(buf, offset), sub: readU64(buf, offset + 8) };
}

/**
 * An int64 field of a decoded protobuf message as a number. Absent fields of decoded
 * messages are the generated prototype defaults, which are `Long` objects when the
 * generated code loaded before src/api/pb.ts disabled Long; this accepts both.
 */
export function int(x: number | { toNumber(): number } | null | undefined): number {
  if (typeof x === 'number') return x;
  if (x == null) return 0;
  return x.toNumber();
}
