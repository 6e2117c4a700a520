/** The lease API over a fake member: TTL limits, server-chosen IDs, leader-only reads and the forwarding seam. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { EtcdError } from '../../../src/errors/errors.js';
import { LeaseServer, type LeaseHost } from '../../../src/server/lease-server.js';
import type { LeaseProposal } from '../../../src/server/etcd-server.js';
import type { AppliedBatch } from '../../../src/server/apply-loop.js';

function setup(leader: boolean, forward = false) {
  const proposed: LeaseProposal[] = [];
  let subscriber: ((b: AppliedBatch) => void) | undefined;
  let isLeader = leader;
  const host: LeaseHost = {
    proposeLease: async (p) => {
      proposed.push(p);
      return new Uint8Array();
    },
    newLeaseId: () => 0x1234n,
    isLeader: () => isLeader,
    header: (revision) => ({ revision }),
  };
  const s = new LeaseServer({
    host,
    store: { leaseRecords: () => [], leaseRecord: () => undefined, keysOfLease: () => [], currentRevision: () => 7 },
    minTtl: 2,
    subscribe: (fn) => { subscriber = fn; },
    onLeaderChange: () => undefined,
    timers: false,
    ...(forward
      ? { forwarder: { keepAlive: async (id: bigint) => ({ ID: id, TTL: 99 }), timeToLive: async () => ({ TTL: 98 }), leases: async () => ({ leases: [] }) } }
      : {}),
  });
  s.start();
  return { s, proposed, apply: (b: AppliedBatch) => subscriber?.(b), setLeader: (v: boolean) => { isLeader = v; } };
}

test('grant: TTL raised to the minimum, too large refused before proposing, ID chosen when 0', async () => {
  const { s, proposed } = setup(true);
  await s.leaseGrant({ TTL: 1 });
  await s.leaseGrant({ TTL: 60, ID: 5n });
  await assert.rejects(s.leaseGrant({ TTL: 9_000_000_001 }), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_LEASE_TTL_TOO_LARGE');
  assert.deepEqual(proposed, [{ leaseGrant: { ID: 0x1234n, TTL: 2 } }, { leaseGrant: { ID: 5n, TTL: 60 } }]);
});

test('keep-alive and reads on the leader use the lessor; header revision from the applied stream', async () => {
  const { s, apply } = setup(true);
  apply({ firstIndex: 1, lastIndex: 1, outcomes: [{ index: 1, requestId: 1n, revision: 9, lease: { id: 5n, ttl: 60 } }] });
  const ka = s.leaseKeepAlive(5n) as etcdserverpb.ILeaseKeepAliveResponse;
  assert.deepEqual([ka.ID, ka.TTL, ka.header?.revision], [5n, 60, 9]);
  assert.deepEqual((await s.leaseLeases()).leases, [{ ID: 5n }]);
  assert.equal((await s.leaseTimeToLive({ ID: 6n })).TTL, -1);
});

test('a follower answers not leader, or forwards when it has a forwarder', async () => {
  const plain = setup(false);
  assert.throws(() => plain.s.leaseKeepAlive(5n), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_RAFT_NOT_LEADER');
  await assert.rejects(plain.s.leaseLeases(), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_RAFT_NOT_LEADER');
  const fwd = setup(false, true);
  assert.equal((await fwd.s.leaseKeepAlive(5n)).TTL, 99);
  assert.equal((await fwd.s.leaseTimeToLive({ ID: 5n })).TTL, 98);
});
