/** Lease entries in the applier (docs/leases.md, "Log entries"). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb, mvccpb } from '../../../src/proto/pb.js';
import { allLeases, getLease } from '../../../src/apply/lease-records.js';
import { Harness, b, s } from './helpers.js';

const BIG = 0x694d_7a1c_2e3f_4b05n;

test('grant stores the record (no revision), a second grant of the ID is refused, the effect names the lease', async () => {
  const h = new Harness();
  const g = h.apply({ leaseGrant: { ID: BIG, TTL: 60 } });
  assert.equal(g.errorCode, undefined);
  assert.equal(g.kind, 'leaseGrant');
  assert.deepEqual(g.lease, { id: BIG, ttl: 60 });
  const resp = etcdserverpb.LeaseGrantResponse.decode(g.response!);
  assert.deepEqual([resp.ID, Number(resp.TTL), resp.header?.revision], [BIG, 60, 1]);
  assert.equal(h.applier.currentRevision(), 1, 'a grant creates no revision');
  const dup = h.apply({ leaseGrant: { ID: BIG, TTL: 30 } });
  assert.equal(dup.errorCode, 'ETCD_ERR_LEASE_EXIST');
  assert.equal(dup.lease, undefined);
  assert.equal(getLease(h.backend.leases, BIG)?.ttl, 60, 'the refused grant changed nothing');
  h.apply({ leaseGrant: { ID: -7n, TTL: 5 } });
  await h.reopen();
  assert.deepEqual([...allLeases(h.backend.leases)].map((r) => [r.id, r.ttl, r.remainingTtl]).sort(),
    [[-7n, 5, 0], [BIG, 60, 0]].sort(), 'records survive a reopen, negative IDs exact');
  await h.close();
});

test('put with a lease attaches; moving a key to another lease or none detaches; unknown lease refused', async () => {
  const h = new Harness();
  h.apply({ leaseGrant: { ID: 1n, TTL: 60 } });
  h.apply({ leaseGrant: { ID: 2n, TTL: 60 } });
  assert.equal(h.apply({ put: { key: b('x'), value: b('v'), lease: 3n } }).errorCode, 'ETCD_ERR_LEASE_NOT_FOUND');
  h.put('a', 'v', { lease: 1n });
  h.put('b', 'v', { lease: 1n });
  h.put('c', 'v', { lease: 1n });
  h.put('b', 'v', { lease: 2n }); // moved
  h.put('c', 'v'); // detached
  const keys = (id: bigint) => h.reader.view((v) => [...v.keysOfLease(id)].map((k) => s(k)));
  assert.deepEqual(keys(1n), ['a']);
  assert.deepEqual(keys(2n), ['b']);
  await h.close();
});

test('revoke deletes every attached key in one revision with DELETE events, then the record; unknown lease refused', async () => {
  const h = new Harness();
  h.apply({ leaseGrant: { ID: BIG, TTL: 60 } });
  h.put('k1', 'v', { lease: BIG });
  h.put('k2', 'v', { lease: BIG });
  h.put('other', 'v');
  const before = h.applier.currentRevision();
  const r = h.apply({ leaseRevoke: { ID: BIG } });
  assert.equal(r.errorCode, undefined);
  assert.deepEqual(r.lease, { id: BIG, ttl: -1 });
  assert.equal(r.revision, before + 1, 'one revision for every key');
  assert.equal(etcdserverpb.LeaseRevokeResponse.decode(r.response!).header?.revision, before + 1);
  assert.deepEqual(r.events.map((e) => [e.type, s(e.kv!.key), e.kv!.modRevision]),
    [[mvccpb.Event.EventType.DELETE, 'k1', before + 1], [mvccpb.Event.EventType.DELETE, 'k2', before + 1]]);
  assert.deepEqual(h.get('k', { rangeEnd: b('l') }).kvs?.map((kv) => s(kv.key)) ?? [], []);
  assert.equal(h.get('other').kvs?.length, 1);
  assert.equal(getLease(h.backend.leases, BIG), undefined);
  assert.equal(h.apply({ leaseRevoke: { ID: BIG } }).errorCode, 'ETCD_ERR_LEASE_NOT_FOUND');
  assert.equal(h.apply({ leaseRevoke: { ID: 0n } }).errorCode, 'ETCD_ERR_LEASE_NOT_FOUND');
  assert.equal(h.apply({ put: { key: b('k3'), value: b('v'), lease: BIG } }).errorCode, 'ETCD_ERR_LEASE_NOT_FOUND');
  assert.equal(h.applier.currentRevision(), before + 1, 'the refused requests wrote nothing');
  // a lease without keys: revoked without a new revision
  h.apply({ leaseGrant: { ID: 9n, TTL: 60 } });
  assert.equal(h.apply({ leaseRevoke: { ID: 9n } }).revision, before + 1);
  await h.close();
});

test('checkpoint stores the remaining TTL of leases that still exist', async () => {
  const h = new Harness();
  h.apply({ leaseGrant: { ID: 1n, TTL: 60 } });
  const r = h.apply({ leaseCheckpoint: { checkpoints: [{ ID: 1n, remaining_TTL: 17 }, { ID: 2n, remaining_TTL: 5 }] } });
  assert.equal(r.errorCode, undefined);
  assert.deepEqual(getLease(h.backend.leases, 1n), { id: 1n, ttl: 60, remainingTtl: 17 });
  assert.equal(getLease(h.backend.leases, 2n), undefined, 'no record made for an unknown lease');
  await h.close();
});
