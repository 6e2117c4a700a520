/**
 * Big-endian u64 fields (the LMDB key layouts of docs/storage-lmdb.md): byte order equals
 * numeric order. writeU64/readU64 hold JavaScript safe integers (revisions, versions);
 * writeU64Big/readU64Big/readI64Big hold 64-bit IDs as bigint (a key's lease).
 */
import { assert } from './assert.js';

/** The largest integer we encode; revisions, versions and lease IDs stay below it. */
const U64_SAFE_MAX = Number.MAX_SAFE_INTEGER;
const TWO_32 = 0x1_0000_0000;


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


/**
 * Big-endian u64 of a 64-bit ID (src/util/pure/id64.ts): the full range, as bigint. An int64
 * (a lease ID) is written as its two's complement; read it back with readI64Big. The common
 * values (0 = no lease, and anything below 2^53) take paths without bigint arithmetic.
 */
const scratch = new DataView(new ArrayBuffer(8));
const U64_MAX_BIG = (1n << 64n) - 1n;
const I64_MIN_BIG = -(1n << 63n);

export function writeU64Big(buf: Uint8Array, offset: number, v: bigint): void {
  assert(v >= I64_MIN_BIG && v <= U64_MAX_BIG, `u64 out of range: ${v}`);
  if (v === 0n) {
    buf.fill(0, offset, offset + 8);
    return;
  }
  scratch.setBigUint64(0, v);
  for (let i = 0; i < 8; i++) buf[offset + i] = scratch.getUint8(i);
}

export function readU64Big(buf: Uint8Array, offset: number): bigint {
  const hi = ((buf[offset]! << 24) >>> 0) + (buf[offset + 1]! << 16) + (buf[offset + 2]! << 8) + buf[offset + 3]!;
  const lo = ((buf[offset + 4]! << 24) >>> 0) + (buf[offset + 5]! << 16) + (buf[offset + 6]! << 8) + buf[offset + 7]!;
  if (hi === 0) return lo === 0 ? 0n : BigInt(lo);
  if (hi < 0x20_0000) return BigInt(hi * TWO_32 + lo); // below 2^53: exact as a number
  scratch.setUint32(0, hi);
  scratch.setUint32(4, lo);
  return scratch.getBigUint64(0);
}

/** The int64 whose two's complement writeU64Big wrote. */
export function readI64Big(buf: Uint8Array, offset: number): bigint {
  if (buf[offset]! < 0x80) return readU64Big(buf, offset); // sign bit clear: the same value
  for (let i = 0; i < 8; i++) scratch.setUint8(i, buf[offset + i]!);
  return scratch.getBigInt64(0);
}
