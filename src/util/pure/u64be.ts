/**
 * Big-endian u64 fields holding JavaScript safe integers (the LMDB key layouts of docs/storage-lmdb.md):
 * byte order equals numeric order.
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
 * (a lease ID) is written as its two's complement; read it back with readI64Big.
 */
export function writeU64Big(buf: Uint8Array, offset: number, v: bigint): void {
  assert(v >= -(1n << 63n) && v < 1n << 64n, `u64 out of range: ${v}`);
  const hi = Number((v >> 32n) & 0xffffffffn);
  const lo = Number(v & 0xffffffffn);
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

export function readU64Big(buf: Uint8Array, offset: number): bigint {
  const hi = ((buf[offset]! << 24) >>> 0) + (buf[offset + 1]! << 16) + (buf[offset + 2]! << 8) + buf[offset + 3]!;
  const lo = ((buf[offset + 4]! << 24) >>> 0) + (buf[offset + 5]! << 16) + (buf[offset + 6]! << 8) + buf[offset + 7]!;
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/** The int64 whose two's complement writeU64Big wrote. */
export function readI64Big(buf: Uint8Array, offset: number): bigint {
  return BigInt.asIntN(64, readU64Big(buf, offset));
}
