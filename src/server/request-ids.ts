/**
 * Request IDs (InternalRaftRequest header.ID) that never collide across members, with
 * etcd's bit layout (its pkg/idutil; written from the documented layout):
 *
 *     | 16 bits: low bits of the member ID | 40 bits: Unix time in ms at start | 8 bits: counter |
 *
 * The time and counter part is one 48-bit suffix: it starts at (ms & (2^40 - 1)) << 8 and
 * each ID adds 1, so 256 IDs per millisecond of uptime can be issued before the generator
 * runs ahead of the clock, and a restart (a later clock) does not reuse the IDs of the
 * previous run unless it issued more than that. Two members differ in the top 16 bits.
 *
 * Server-chosen lease IDs are the same IDs with the sign bit cleared (leaseIdFrom), as etcd's
 * lessor does, so they are positive int64.
 */
import type { LeaseId, MemberId, RequestId } from '../util/pure/id64.js';

const TIME_BITS = 40;
const COUNTER_BITS = 8;
const SUFFIX_BITS = TIME_BITS + COUNTER_BITS;
/** 2^48: suffixes wrap here (they fit in a JavaScript number exactly). */
const SUFFIX_MODULUS = 2 ** SUFFIX_BITS;
const TIME_MODULUS = 2 ** TIME_BITS;
const INT64_MAX = (1n << 63n) - 1n;

export class RequestIdGenerator {
  /** Low 16 bits of the member ID, shifted to the top of the ID. */
  readonly prefix: bigint;
  /** The last suffix issued (time and counter), 0 <= suffix < 2^48. */
  #suffix: number;

  /** `nowMs`: the wall clock at start (Date.now()). */
  constructor(memberId: MemberId, nowMs: number) {
    this.prefix = BigInt.asUintN(64, memberId << BigInt(SUFFIX_BITS));
    this.#suffix = (Math.floor(nowMs) % TIME_MODULUS) * 2 ** COUNTER_BITS;
  }

  next(): RequestId {
    this.#suffix = (this.#suffix + 1) % SUFFIX_MODULUS;
    return this.prefix | BigInt(this.#suffix);
  }
}

/** A lease ID the server chooses: a request ID with the sign bit cleared (a positive int64). */
export function leaseIdFrom(id: RequestId): LeaseId {
  return id & INT64_MAX;
}
