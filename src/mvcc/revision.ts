/**
 * Revisions and their byte layout (docs/storage-lmdb.md, "Revision").
 *
 * A revision is (main, sub): main is the store revision of one write request, sub orders the
 * writes inside it. On disk: main u64 BE ++ sub u64 BE, so byte order = numeric order.
 */

/** Store revision (main). Below 2^53. */
export type Revision = number;

export const REV_BYTES = 16;

export { assert } from '../util/pure/assert.js';
import { assert } from '../util/pure/assert.js';
import { writeU64, readU64 } from '../util/pure/u64be.js';
export { writeU64, readU64, u64Bytes } from '../util/pure/u64be.js';

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
