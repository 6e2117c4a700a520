/**
 * v3lockpb.Lock and v3electionpb.Election on the client port, over raw gRPC: etcd's semantics
 * (keys `<name>/<lease hex>` with the caller's lease, FIFO by create revision), waiting behind a
 * holder, and the safety check Jepsen asked for: a waiter whose lease expires while it waits
 * must not be told it holds the lock.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { etcdserverpb, v3electionpb, v3lockpb } from '../../src/proto/pb.js';
import { useCluster } from './framework/hooks.js';
import { RawEtcdClient, type RawResult } from './framework/raw.js';
import { SUITE_TIMEOUT_MS, serverKind, serverUnavailableReason, sleep } from './framework/process.js';

const b = (s: string): Buffer => Buffer.from(s);

function ok<T>(r: RawResult, decode: (b: Uint8Array) => T): T {
  if (!r.ok) assert.fail(`expected success, got ${Status[r.error.code]} "${r.error.details}"`);
  return decode(r.bytes);
}

describe('v3lock and v3election services', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'lock-election' });
  let raw: RawEtcdClient;
  before(() => {
    raw = new RawEtcdClient(cluster.c.endpoint);
  });
  after(() => raw?.close());

  const grant = async (ttl: number, id: bigint) => {
    const r = await raw.leaseGrant({ TTL: ttl, ID: id });
    assert.ok(r.ok, 'grant');
    return id;
  };
  const lock = (name: string, lease: bigint, deadlineMs = 20_000) =>
    raw.call('/v3lockpb.Lock/Lock', v3lockpb.LockRequest.encode({ name: b(name), lease }).finish(), deadlineMs);
  const unlock = (key: Uint8Array) => raw.call('/v3lockpb.Lock/Unlock', v3lockpb.UnlockRequest.encode({ key }).finish());

  it('Lock: key name/<lease hex> carrying the lease; a second locker waits until Unlock; the lock is FIFO', async () => {
    const l1 = await grant(60, 0x1a2bn);
    const l2 = await grant(60, 0x3c4dn);
    const first = ok(await lock('job', l1), v3lockpb.LockResponse.decode);
    assert.equal(Buffer.from(first.key).toString(), 'job/1a2b');
    const kv = (await raw.range({ key: first.key })) as { ok: true; value: etcdserverpb.RangeResponse };
    assert.equal(kv.value.kvs[0]?.lease, l1, 'the lock key carries the caller lease');
    let secondDone = false;
    const second = lock('job', l2).then((r) => {
      secondDone = true;
      return r;
    });
    await sleep(500);
    assert.equal(secondDone, false, 'the second locker waits while the first holds the lock');
    ok(await unlock(first.key), v3lockpb.UnlockResponse.decode);
    const got = ok(await second, v3lockpb.LockResponse.decode);
    assert.equal(Buffer.from(got.key).toString(), 'job/3c4d');
    ok(await unlock(got.key), v3lockpb.UnlockResponse.decode);
  });

  it('Lock: a revoked holder lets the next one in (its key goes with its lease)', async () => {
    const l1 = await grant(60, 0x51n);
    const l2 = await grant(60, 0x52n);
    ok(await lock('rv', l1), v3lockpb.LockResponse.decode);
    const second = lock('rv', l2);
    await sleep(200);
    assert.ok((await raw.leaseRevoke({ ID: l1 })).ok);
    assert.equal(Buffer.from(ok(await second, v3lockpb.LockResponse.decode).key).toString(), 'rv/52');
  });

  // etcd 3.4.23 fails this (the Jepsen finding: its Lock answers success to a waiter whose key
  // expired while it waited); etcd 3.5's Mutex re-reads its own key after waiting and refuses.
  const unsafeIn34 = serverKind() === 'real' ? 'etcd 3.4 Lock is unsafe here (Jepsen); 3.5 refuses the expired waiter' : false;
  it('Lock: a waiter whose own lease expires while it waits is refused, never told it holds the lock', { skip: unsafeIn34 }, async () => {
    const holder = await grant(60, 0x61n);
    const waiter = await grant(2, 0x62n); // the minimum TTL: expires while waiting
    const h = ok(await lock('safe', holder), v3lockpb.LockResponse.decode);
    const w = lock('safe', waiter);
    // wait (bounded) until the waiter's key is there, then until its lease expired: its key is gone
    let seen = false;
    for (let i = 0; ; i++) {
      const r = (await raw.range({ key: b('safe/62') })) as { ok: true; value: etcdserverpb.RangeResponse };
      if (r.value.kvs.length > 0) seen = true;
      else if (seen) break;
      assert.ok(i < 300, 'the waiter lease never expired');
      await sleep(100);
    }
    ok(await unlock(h.key), v3lockpb.UnlockResponse.decode);
    const r = await w;
    assert.ok(!r.ok, 'a waiter without a live lease must not get the lock');
    assert.deepEqual([r.error.code, r.error.details], [Status.NOT_FOUND, 'etcdserver: requested lease not found']);
    const left = (await raw.range({ key: b('safe/'), rangeEnd: b('safe0') })) as { ok: true; value: etcdserverpb.RangeResponse };
    assert.equal(left.value.kvs.length, 0);
  });

  it('Lock with a lease that does not exist is refused', async () => {
    const r = await lock('nolease', 0x7777n);
    assert.ok(!r.ok);
    assert.match(r.error.details, /requested lease not found/);
  });

  it('Election: Campaign, Leader, Proclaim, a second candidate waits, Resign hands over', async () => {
    const e = v3electionpb;
    const l1 = await grant(60, 0x91n);
    const l2 = await grant(60, 0x92n);
    const c1 = ok(await raw.call('/v3electionpb.Election/Campaign', e.CampaignRequest.encode({ name: b('el'), lease: l1, value: b('alice') }).finish()), e.CampaignResponse.decode);
    assert.deepEqual([Buffer.from(c1.leader!.key ?? []).toString(), c1.leader!.lease], ['el/91', l1]);
    const leader = () => raw.call('/v3electionpb.Election/Leader', e.LeaderRequest.encode({ name: b('el') }).finish());
    assert.equal(Buffer.from(ok(await leader(), e.LeaderResponse.decode).kv!.value ?? []).toString(), 'alice');
    ok(await raw.call('/v3electionpb.Election/Proclaim', e.ProclaimRequest.encode({ leader: c1.leader, value: b('alice2') }).finish()), e.ProclaimResponse.decode);
    assert.equal(Buffer.from(ok(await leader(), e.LeaderResponse.decode).kv!.value ?? []).toString(), 'alice2');
    let done = false;
    const c2 = raw.call('/v3electionpb.Election/Campaign', e.CampaignRequest.encode({ name: b('el'), lease: l2, value: b('bob') }).finish(), 20_000)
      .then((r) => { done = true; return r; });
    await sleep(500);
    assert.equal(done, false, 'the second candidate waits');
    ok(await raw.call('/v3electionpb.Election/Resign', e.ResignRequest.encode({ leader: c1.leader }).finish()), e.ResignResponse.decode);
    const won = ok(await c2, e.CampaignResponse.decode);
    assert.equal(Buffer.from(won.leader!.key ?? []).toString(), 'el/92');
    assert.equal(Buffer.from(ok(await leader(), e.LeaderResponse.decode).kv!.value ?? []).toString(), 'bob');
    // the old leader cannot proclaim any more
    const stale = await raw.call('/v3electionpb.Election/Proclaim', e.ProclaimRequest.encode({ leader: c1.leader, value: b('x') }).finish());
    assert.ok(!stale.ok);
    assert.deepEqual([stale.error.code, stale.error.details], [Status.UNKNOWN, 'election: not leader']);
  });

  it('Election: Leader of an election nobody campaigned in is an error', async () => {
    const r = await raw.call('/v3electionpb.Election/Leader', v3electionpb.LeaderRequest.encode({ name: b('nobody') }).finish());
    assert.ok(!r.ok);
    assert.deepEqual([r.error.code, r.error.details], [Status.UNKNOWN, 'election: no leader']);
  });

  it('Lock without a lease takes a session lease of its own (etcd: a 60 s session)', async () => {
    const got = ok(await lock('nosession', 0n), v3lockpb.LockResponse.decode);
    const key = Buffer.from(got.key).toString();
    assert.match(key, /^nosession\/[0-9a-f]+$/);
    const kv = (await raw.range({ key: got.key })) as { ok: true; value: etcdserverpb.RangeResponse };
    const lease = kv.value.kvs[0]?.lease ?? 0n;
    assert.equal(key, `nosession/${lease.toString(16)}`);
    const ttl = await raw.leaseTimeToLive({ ID: lease });
    assert.ok(ttl.ok && Number(ttl.value.grantedTTL) === 60, 'a 60 s lease');
    ok(await unlock(got.key), v3lockpb.UnlockResponse.decode);
  });
});
