/**
 * u64 fields: two little-endian u32, low word first. writeU64/readU64 hold JavaScript safe
 * integers (indexes, terms); writeU64Big/readU64Big hold a full u64 (a member ID: the vote).
 */
const TWO_32 = 0x1_0000_0000;
/** High word of Number.MAX_SAFE_INTEGER. */
const U64_HIGH_MAX = 0x1f_ffff;

export function writeU64(dv: DataView, offset: number, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`u64 value ${v} is not a non-negative safe integer`);
  dv.setUint32(offset, v >>> 0, true);
  dv.setUint32(offset + 4, Math.floor(v / TWO_32), true);
}

/** Returns the u64 at offset, or -1 if it is not a safe integer. */
export function readU64(dv: DataView, offset: number): number {
  const lo = dv.getUint32(offset, true);
  const hi = dv.getUint32(offset + 4, true);
  if (hi > U64_HIGH_MAX) return -1;
  return hi * TWO_32 + lo;
}

/** A full u64 (a member ID: HardState.vote), same layout: two little-endian u32, low word first. */
export function writeU64Big(dv: DataView, offset: number, v: bigint): void {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`u64 value ${String(v)} is out of range`);
  dv.setBigUint64(offset, v, true);
}

export function readU64Big(dv: DataView, offset: number): bigint {
  return dv.getBigUint64(offset, true);
}
