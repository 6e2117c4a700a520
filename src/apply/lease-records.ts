/**
 * The `leases` dbi (docs/leases.md, docs/storage-lmdb.md dbi 7):
 *   key   lease ID as its u64 two's complement, big-endian (same order as `lease_keys`)
 *   value LeaseRecord, 16 bytes: u64 BE granted TTL (s) | u64 BE checkpointed remaining TTL (s, 0 = none)
 * Written only by the applier; read by the applier (lease lookups) and the main thread (the lessor).
 */
import type { Dbi, ReadOpts } from '../backend/backend.js';
import { readI64Big, readU64, writeU64, writeU64Big } from '../util/pure/u64be.js';
import { assert } from '../util/pure/assert.js';
import type { LeaseId } from '../util/pure/id64.js';

export const LEASE_RECORD_BYTES = 16;

export interface LeaseRecord {
  readonly id: LeaseId;
  /** Granted TTL in seconds (already raised to the minimum). */
  readonly ttl: number;
  /** Remaining TTL in seconds from the last checkpoint; 0: none (use `ttl`). */
  readonly remainingTtl: number;
}

export function leaseIdKey(id: LeaseId): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeU64Big(b, 0, BigInt.asUintN(64, id));
  return b;
}

export function encodeLeaseRecord(ttl: number, remainingTtl: number): Buffer {
  const b = Buffer.allocUnsafe(LEASE_RECORD_BYTES);
  writeU64(b, 0, ttl);
  writeU64(b, 8, remainingTtl);
  return b;
}

export function decodeLeaseRecord(key: Uint8Array, value: Uint8Array): LeaseRecord {
  assert(key.length === 8 && value.length === LEASE_RECORD_BYTES, `leases: bad record (key ${key.length} bytes, value ${value.length} bytes)`);
  return { id: readI64Big(key, 0), ttl: readU64(value, 0), remainingTtl: readU64(value, 8) };
}

export function getLease(leases: Dbi, id: LeaseId, opts: ReadOpts = {}): LeaseRecord | undefined {
  const k = leaseIdKey(id);
  const v = leases.get(k, opts);
  return v === undefined ? undefined : decodeLeaseRecord(k, v);
}

/** Every lease record, in the order of their u64 bit patterns. */
export function* allLeases(leases: Dbi, opts: ReadOpts = {}): Generator<LeaseRecord> {
  for (const { key, value } of leases.getRange({ ...opts })) yield decodeLeaseRecord(key as Buffer, value as Buffer);
}
