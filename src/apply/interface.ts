/**
 * The applier's contract with the server (declared next to its consumer's needs: the apply
 * worker calls `applyEntries`, the server resolves waiters from the results).
 */
import type { mvccpb } from '../proto/pb.js';
import type { LmdbBackend } from '../backend/backend.js';
import type { LeaseId, RequestId } from '../util/pure/id64.js';

/** Lease table hook (the applier's default reads the `leases` dbi: src/apply/lease-apply.ts). */
export interface LeaseLookup {
  exists(id: LeaseId): boolean;
}

/**
 * What a lease entry did, for the lessor (docs/leases.md): `ttl > 0` a grant of that TTL in
 * seconds, `ttl === -1` a revoke.
 */
export interface LeaseEffect {
  readonly id: LeaseId;
  readonly ttl: number;
}

export const NO_LEASES: LeaseLookup = { exists: () => false };

export interface ApplierOptions {
  readonly backend: LmdbBackend;
  /** --bcrypt-cost, for entries of old logs that carry a plain password (default 10). */
  readonly bcryptCost?: number;
  readonly leases?: LeaseLookup;
  /**
   * Called after the slice that completes a physical compaction commits (answer the
   * `physical: true` compactions at or below `revision`).
   */
  readonly onCompactionFinished?: (revision: number) => void;
}

export type ApplyKind =
  | 'noop' | 'put' | 'deleteRange' | 'txn' | 'compaction' | 'range' | 'leaseGrant' | 'leaseRevoke' | 'leaseCheckpoint' | 'alarm' | 'membership' | 'auth' | 'unsupported';

/** Not (yet) in the error catalogue: a request type this applier does not handle (lease, auth, alarm...). */
export const ERR_APPLY_UNSUPPORTED = 'ETCD_ERR_APPLY_UNSUPPORTED_REQUEST';
/** Entry index -> the store revision a client was already told that entry has (plain puts answered early). */
export type PromisedRevisions = ReadonlyMap<number, number>;

/** The promises of `entries[from, to)`, or undefined when there are none. */
export function promisesOf(
  promised: PromisedRevisions | undefined,
  entries: readonly { readonly index: number }[],
  from = 0,
  to = entries.length,
): Map<number, number> | undefined {
  if (promised === undefined || promised.size === 0) return undefined;
  let out: Map<number, number> | undefined;
  for (let i = from; i < to; i++) {
    const r = promised.get(entries[i]!.index);
    if (r !== undefined) (out ??= new Map()).set(entries[i]!.index, r);
  }
  return out;
}

/**
 * Applying a batch cannot go on without taking back an answer or skipping an entry: the
 * batch's transaction is aborted and the member must stop (etcd panics here).
 */
export class ApplyFatalError extends Error {
  override readonly name = 'ApplyFatalError';
}

export interface ApplyResult {
  /** Raft index of the entry. */
  readonly index: number;
  /** InternalRaftRequest header.ID (0n for no-ops and undecodable entries). */
  readonly requestId: RequestId;
  /** Store revision after this entry. */
  readonly revision: number;
  readonly kind: ApplyKind;
  /**
   * Encoded PutResponse | DeleteRangeResponse | TxnResponse | CompactionResponse |
   * RangeResponse; header carries only `revision` (the server fills the rest). For a membership
   * entry (kind 'membership'): encodeMembershipOutcome (src/apply/membership.ts).
   */
  readonly response?: Uint8Array;
  /** An EtcdError code (or one of the ERR_APPLY_* codes above); nothing was written. */
  readonly errorCode?: string;
  /**
   * Watch events in revision order (mvccpb.Event shapes, prev_kv not filled). PUT events'
   * key/value are views into the entry's `data`: encode them before that memory is reused.
   */
  readonly events: mvccpb.Event.$Properties[];
  /** A compaction with physical=true: answer once the store's finished compaction >= revision requested. */
  readonly compactPhysical?: boolean;
  /** A lease granted or revoked by this entry (for the lessor). */
  readonly lease?: LeaseEffect;
  /** The entry activated or deactivated an alarm: readers should list the alarms again. */
  readonly alarmsChanged?: boolean;
  /** The entry changed the auth store (docs/auth.md). */
  readonly authChanged?: boolean;
  /** An applied Authenticate: `response` is an AuthenticateResponse with the user name in field 15. */
  readonly authToken?: boolean;
}
