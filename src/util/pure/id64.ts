/**
 * 64-bit IDs (docs/decisions/0003-64-bit-ids.md): member, cluster, lease and request IDs
 * are full uint64/int64 values, held as bigint. Pure: raft and the storage codecs import it.
 *
 * - Member, cluster and request IDs are uint64 (0 = none).
 * - Lease IDs are int64 on the wire (etcd's LeaseID); stores keep their 64-bit two's
 *   complement, so every int64 survives a round trip.
 * - Text form, as etcd prints them: lower-case hex without leading zeros (Go's %x) in logs,
 *   metrics labels and etcdctl's simple/table output; decimal in etcdctl's JSON output.
 */

/** A member (raft node) ID: uint64, 0 = none. */
export type MemberId = bigint;
/** A cluster ID: uint64, derived from the member IDs (src/server/identity.ts). */
export type ClusterId = bigint;
/** A lease ID: int64 on the wire, 0 = no lease. */
export type LeaseId = bigint;
/** A request ID (InternalRaftRequest header.ID): uint64, 0 = none. */
export type RequestId = bigint;

export const U64_MAX = (1n << 64n) - 1n;
export const I64_MIN = -(1n << 63n);
export const I64_MAX = (1n << 63n) - 1n;

export function isU64(v: bigint): boolean {
  return v >= 0n && v <= U64_MAX;
}

export function isI64(v: bigint): boolean {
  return v >= I64_MIN && v <= I64_MAX;
}

/** Go's %x of a uint64 (an int64 is printed as its unsigned bit pattern, as etcd's types.ID does). */
export function idToHex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16);
}

/** Parses an ID written as hex (etcd's types.IDFromString); throws RangeError on anything else. */
export function idFromHex(s: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(s)) throw new RangeError(`not a 64-bit hex ID: ${JSON.stringify(s)}`);
  return BigInt(`0x${s}`);
}

/** Fixed-width form for files and fixtures: 16 lower-case hex digits. */
export function idToHex16(id: bigint): string {
  return idToHex(id).padStart(16, '0');
}
