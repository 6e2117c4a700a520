/**
 * Lease calls forwarded from a follower to the leader (src/server/peer/lease-forwarding.ts):
 * the follower's forwarder and the leader's handler joined by a fake peer link, then each way
 * it can go wrong: no leader known, the leader unreachable, a member that stopped leading, an
 * unknown lease (the leader's error comes back as itself), malformed and unknown calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdError } from '../../../src/errors/errors.js';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { peerLeaseForwarder, serveLeaseCall, type LeasePeer, type LocalLeases } from '../../../src/server/peer/lease-forwarding.js';

function leaderLeases(leading = true): LocalLeases & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    isLeader: () => leading,
    leaseKeepAlive: (id) => {
      calls.push(`keepalive ${id}`);
      if (id === 404n) throw new EtcdError('ETCD_ERR_LEASE_NOT_FOUND');
      return { header: { revision: 7 }, ID: id, TTL: 30 };
    },
    leaseTimeToLive: async (req) => {
      calls.push(`ttl ${req.ID} ${req.keys === true}`);
      return { header: { revision: 7 }, ID: req.ID ?? 0n, TTL: 12, grantedTTL: 30, keys: req.keys ? [Buffer.from('k')] : [] };
    },
    leaseLeases: async () => {
      calls.push('leases');
      return { header: { revision: 7 }, leases: [{ ID: 1n }, { ID: 0x7fff_ffff_ffff_fff0n }] };
    },
  };
}

/** A peer link straight into `serve`, recording where calls went. */
function link(serve: (op: string, body: Buffer) => Promise<{ status: number; body: Uint8Array }>, sent: bigint[] = []): LeasePeer {
  return {
    requestLease: async (to, op, body) => {
      sent.push(to);
      const r = await serve(op, Buffer.from(body));
      return { status: r.status, body: Buffer.from(r.body) };
    },
  };
}

test('keep-alive, TimeToLive and Leases reach the leader and come back whole (64-bit IDs exact)', async () => {
  const leader = leaderLeases();
  const sent: bigint[] = [];
  const f = peerLeaseForwarder(link(serveLeaseCall(leader), sent), () => 0xabcn, 1000);
  const ka = await f.keepAlive(0x694d_7a1c_2e3f_4b05n);
  assert.deepEqual([ka.ID, Number(ka.TTL), Number(ka.header?.revision)], [0x694d_7a1c_2e3f_4b05n, 30, 7]);
  const t = await f.timeToLive({ ID: 5n, keys: true });
  assert.deepEqual([t.ID, Number(t.TTL), Number(t.grantedTTL), (t.keys ?? []).map((k) => Buffer.from(k).toString())], [5n, 12, 30, ['k']]);
  const l = await f.leases();
  assert.deepEqual((l.leases ?? []).map((x) => x.ID), [1n, 0x7fff_ffff_ffff_fff0n]);
  assert.deepEqual(leader.calls, [`keepalive ${0x694d_7a1c_2e3f_4b05n}`, 'ttl 5 true', 'leases']);
  assert.deepEqual(sent, [0xabcn, 0xabcn, 0xabcn], 'every call went to the leader');
});

test("the leader's errors come back as the same EtcdError", async () => {
  const f = peerLeaseForwarder(link(serveLeaseCall(leaderLeases())), () => 2n, 1000);
  await assert.rejects(f.keepAlive(404n), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_LEASE_NOT_FOUND');
});

test('no leader known, an unreachable leader, a member that no longer leads: clear errors, nothing forwarded twice', async () => {
  let reached = 0;
  const noLeader = peerLeaseForwarder({ requestLease: async () => { reached++; return { status: 200, body: Buffer.alloc(0) }; } }, () => 0n, 1000);
  await assert.rejects(noLeader.keepAlive(1n), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_RAFT_NO_LEADER');
  assert.equal(reached, 0);

  const down = peerLeaseForwarder({ requestLease: () => Promise.reject(new Error('ECONNREFUSED')) }, () => 3n, 1000);
  await assert.rejects(down.timeToLive({ ID: 1n }), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_RAFT_LEADER_CHANGED');

  const formerLeader = leaderLeases(false);
  const stale = peerLeaseForwarder(link(serveLeaseCall(formerLeader)), () => 3n, 1000);
  await assert.rejects(stale.leases(), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_RAFT_NOT_LEADER');
  assert.deepEqual(formerLeader.calls, [], 'a member that does not lead answers nothing from its lessor');
});

test('malformed, unknown and concurrent calls at the serving side', async () => {
  const leader = leaderLeases();
  const serve = serveLeaseCall(leader);
  const bad = await serve('keepalive', Buffer.from([0x0f, 0xff, 0xff]));
  assert.equal(bad.status, 400);
  assert.equal((await serve('grant', Buffer.alloc(0))).status, 404, 'only keep-alive, TimeToLive and Leases are forwarded');
  // a status the forwarder does not know is a transport failure to the caller
  const odd = peerLeaseForwarder({ requestLease: async () => ({ status: 500, body: Buffer.from('boom') }) }, () => 9n, 1000);
  await assert.rejects(odd.keepAlive(1n), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_RAFT_LEADER_CHANGED');
  // 200 keep-alives at once, each answered with its own ID
  const f = peerLeaseForwarder(link(serve), () => 1n, 1000);
  const ids = Array.from({ length: 200 }, (_, i) => BigInt(i + 1) << 40n);
  const got = await Promise.all(ids.map((id) => f.keepAlive(id)));
  assert.deepEqual(got.map((r) => r.ID), ids);
  const enc = etcdserverpb.LeaseKeepAliveRequest.encode({ ID: 1n }).finish();
  assert.equal((await serve('keepalive', Buffer.from(enc))).status, 200);
});
