/**
 * Applying lease entries (docs/leases.md, "Log entries"). The applier calls these inside its
 * write transaction; they validate before writing, so a failure leaves nothing behind.
 */
import type { LmdbBackend } from '../backend/backend.js';
import { EtcdError } from '../errors/errors.js';
import { etcdserverpb } from '../proto/pb.js';
import type { WriteTxn } from '../mvcc/kvstore-txn.js';
import { int } from '../mvcc/revision.js';
import { assert } from '../util/pure/assert.js';
import type { LeaseId } from '../util/pure/id64.js';
import { encodeLeaseRecord, getLease, leaseIdKey } from './lease-records.js';
import type { LeaseEffect, LeaseLookup } from './interface.js';

const EMPTY = new Uint8Array(0);

/** Lease lookups against the store (inside the applier's write transaction). */
export function backendLeaseLookup(backend: LmdbBackend): LeaseLookup {
  return { exists: (id: LeaseId) => backend.leases.get(leaseIdKey(id)) !== undefined };
}

export interface LeaseApplied {
  readonly response: Uint8Array;
  readonly lease?: LeaseEffect;
}

/** lease_grant: the ID and TTL were settled before proposing (never 0, at least the minimum). */
export function applyLeaseGrant(backend: LmdbBackend, req: etcdserverpb.LeaseGrantRequest.$Properties, revision: number): LeaseApplied {
  const id = req.ID ?? 0n;
  const ttl = int(req.TTL);
  if (id === 0n || ttl <= 0) throw new EtcdError('ETCD_ERR_LEASE_NOT_FOUND'); // never proposed so; refuse rather than store it
  if (getLease(backend.leases, id) !== undefined) throw new EtcdError('ETCD_ERR_LEASE_EXIST');
  backend.leases.putSync(leaseIdKey(id), encodeLeaseRecord(ttl, 0));
  const response = etcdserverpb.LeaseGrantResponse.encode({ header: { revision }, ID: id, TTL: ttl }).finish();
  return { response, lease: { id, ttl } };
}

/** lease_revoke: every attached key is deleted in one revision (tw), then the record. */
export function applyLeaseRevoke(backend: LmdbBackend, tw: WriteTxn, req: etcdserverpb.LeaseRevokeRequest.$Properties): LeaseApplied {
  const id = req.ID ?? 0n;
  if (id === 0n || getLease(backend.leases, id) === undefined) throw new EtcdError('ETCD_ERR_LEASE_NOT_FOUND');
  // Collect first: the scan must not run over entries being deleted.
  const keys = [...tw.keysOfLease(id)].map((k) => Buffer.from(k));
  for (const k of keys) {
    const r = tw.deleteRange(k, EMPTY);
    assert(r.deleted === 1, `lease revoke: attached key not live`);
  }
  assert(backend.leases.removeSync(leaseIdKey(id)), 'leases: record vanished');
  const response = etcdserverpb.LeaseRevokeResponse.encode({ header: { revision: tw.endRev() } }).finish();
  return { response, lease: { id, ttl: -1 } };
}

/** lease_checkpoint: store each existing lease's remaining TTL (leases gone since are skipped). */
export function applyLeaseCheckpoint(backend: LmdbBackend, req: etcdserverpb.LeaseCheckpointRequest.$Properties, revision: number): LeaseApplied {
  for (const cp of req.checkpoints ?? []) {
    const rec = getLease(backend.leases, cp.ID ?? 0n);
    if (rec === undefined) continue;
    backend.leases.putSync(leaseIdKey(rec.id), encodeLeaseRecord(rec.ttl, Math.max(0, int(cp.remaining_TTL))));
  }
  return { response: etcdserverpb.LeaseCheckpointResponse.encode({ header: { revision } }).finish() };
}
