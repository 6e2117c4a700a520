/**
 * The permissions a request needs (etcd's apply/auth.go checkPutAuth, checkTxnPermission):
 * shared by the server's check before proposing or reading and the applier's check at apply.
 */
import type { etcdserverpb } from '../proto/pb.js';
import type { AuthInfo } from './store.js';

/** What the checks need of the auth store (AuthStore, or the RPC layer's view of it). */
export interface PermissionChecker {
  checkRange(ai: AuthInfo | undefined, key: Uint8Array | null | undefined, rangeEnd: Uint8Array | null | undefined, write: boolean): void;
  isAdmin(ai: AuthInfo | undefined): boolean;
}

type AuthStore = PermissionChecker;

/** No lease keys known (the check before proposing: the applier checks a lease's keys). */
export const NO_LEASE_KEYS: LeaseKeysLookup = () => [];

/** The keys attached to a lease (none for an unknown lease). */
export type LeaseKeysLookup = (id: bigint | number | Long) => Iterable<Uint8Array>;
type Long = { toString(): string };

export function checkPutAuth(s: AuthStore, ai: AuthInfo | undefined, leaseKeys: LeaseKeysLookup, r: etcdserverpb.IPutRequest): void {
  s.checkRange(ai, r.key, undefined, true);
  const lease = r.lease ?? 0;
  if (lease !== 0 && lease !== 0n && !s.isAdmin(ai)) {
    for (const k of leaseKeys(lease as bigint)) s.checkRange(ai, k, undefined, true);
  }
  if (r.prevKv) s.checkRange(ai, r.key, undefined, false);
}

export function checkTxnAuth(s: AuthStore, ai: AuthInfo | undefined, leaseKeys: LeaseKeysLookup, t: etcdserverpb.ITxnRequest): void {
  for (const c of t.compare ?? []) s.checkRange(ai, c.key, c.rangeEnd, false);
  checkOps(s, ai, leaseKeys, t.success ?? []);
  checkOps(s, ai, leaseKeys, t.failure ?? []);
}

function checkOps(s: AuthStore, ai: AuthInfo | undefined, leaseKeys: LeaseKeysLookup, ops: readonly etcdserverpb.IRequestOp[]): void {
  for (const op of ops) {
    if (op.requestRange) s.checkRange(ai, op.requestRange.key, op.requestRange.rangeEnd, false);
    else if (op.requestPut) checkPutAuth(s, ai, leaseKeys, op.requestPut);
    else if (op.requestDeleteRange) {
      const d = op.requestDeleteRange;
      if (d.prevKv) s.checkRange(ai, d.key, d.rangeEnd, false);
      s.checkRange(ai, d.key, d.rangeEnd, true);
    } else if (op.requestTxn) checkTxnAuth(s, ai, leaseKeys, op.requestTxn);
  }
}
