/** The lessor against a fake clock and an in-memory store (docs/leases.md, "Expiry"). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lessor, minLeaseTtl, type LeaseStore } from '../../../src/server/lessor.js';
import type { LeaseRecord } from '../../../src/apply/lease-records.js';
import type { AppliedBatch } from '../../../src/server/apply-loop.js';
import { LeaseHeap } from '../../../src/server/lease-heap.js';

class Fake {
  now = 1_000_000;
  readonly records = new Map<bigint, LeaseRecord>();
  readonly revoked: bigint[] = [];
  index = 0;
  readonly store: LeaseStore = {
    leaseRecords: () => [...this.records.values()],
    leaseRecord: (id) => this.records.get(id),
    keysOfLease: () => [],
  };
  lessor(rate?: number): Lessor {
    return new Lessor({
      store: this.store,
      revoke: async (id) => { this.revoked.push(id); },
      now: () => this.now,
      timers: false,
      ...(rate !== undefined ? { revokeRate: rate } : {}),
    });
  }
  /** What the applied-batch stream carries for a grant (and what the store then holds). */
  grant(l: Lessor, id: bigint, ttl: number): void {
    this.records.set(id, { id, ttl, remainingTtl: 0 });
    l.onApplied(batch(++this.index, { id, ttl }));
  }
  revoke(l: Lessor, id: bigint): void {
    this.records.delete(id);
    l.onApplied(batch(++this.index, { id, ttl: -1 }));
  }
}

function batch(index: number, lease: { id: bigint; ttl: number }): AppliedBatch {
  return { firstIndex: index, lastIndex: index, outcomes: [{ index, requestId: 1n, revision: 1, lease }] };
}

test('minimum TTL follows the election timeout as etcd derives it', () => {
  assert.equal(minLeaseTtl(1000, 100), 2); // 15 ticks x 100 ms = 1.5 s -> 2
  assert.equal(minLeaseTtl(5000, 100), 8); // 75 ticks -> 7.5 s -> 8
  assert.equal(minLeaseTtl(500, 100), 1); // 7 ticks (floor 7.5) x 100 ms -> 1
});

test('a lease expires after its TTL, not before; keep-alive pushes the deadline; a revoke drops it', () => {
  const f = new Fake();
  const l = f.lessor();
  l.setLeader(true);
  f.grant(l, 1n, 10);
  f.grant(l, 2n, 10);
  f.now += 9_999;
  assert.equal(l.expire(), 0);
  assert.equal(l.keepAlive(2n), 10);
  assert.equal(l.timeToLive(2n, false)?.ttl, 10);
  assert.equal(l.timeToLive(1n, false)?.ttl, 0);
  f.now += 1;
  assert.equal(l.expire(), 1);
  assert.deepEqual(f.revoked, [1n]);
  assert.equal(l.keepAlive(1n), 0, 'an expired lease whose revoke is on its way is not renewed');
  f.revoke(l, 1n);
  assert.equal(l.timeToLive(1n, false), undefined);
  assert.deepEqual(l.leases(), [2n]);
  f.now += 10_000;
  assert.equal(l.expire(), 1);
  assert.deepEqual(f.revoked, [1n, 2n]);
  assert.equal(l.keepAlive(99n), 0, 'unknown lease: TTL 0');
});

test('a revoke that never applies is proposed again after the retry interval, not before', () => {
  const f = new Fake();
  const l = f.lessor();
  l.setLeader(true);
  f.grant(l, 5n, 2);
  f.now += 2_000;
  assert.equal(l.expire(), 1);
  f.now += 2_999;
  assert.equal(l.expire(), 0);
  f.now += 1;
  assert.equal(l.expire(), 1);
  assert.deepEqual(f.revoked, [5n, 5n]);
});

test('mass expiry is bounded by the revoke rate (token bucket), and every lease is revoked eventually', () => {
  const f = new Fake();
  const l = f.lessor(100);
  l.setLeader(true);
  for (let i = 1n; i <= 350n; i++) f.grant(l, i, 5);
  f.now += 5_000;
  assert.equal(l.expire(), 100, 'a full bucket: one second of revokes');
  assert.equal(l.expire(), 0, 'no time passed: no tokens');
  f.now += 500;
  assert.equal(l.expire(), 50);
  let total = 150;
  for (let i = 0; i < 10 && total < 350; i++) {
    f.now += 1000;
    total += l.expire();
  }
  assert.equal(total, 350);
  assert.equal(new Set(f.revoked).size, 350);
});

test('only the leader expires; promotion restarts every lease from its full (or checkpointed) TTL, never earlier', () => {
  const f = new Fake();
  const l = f.lessor();
  l.setLeader(true);
  f.grant(l, 1n, 10);
  f.grant(l, 2n, 10);
  f.now += 9_000; // 1 s left on both
  l.setLeader(false);
  f.now += 5_000;
  assert.equal(l.expire(), 0, 'a follower proposes nothing');
  f.records.set(2n, { id: 2n, ttl: 10, remainingTtl: 3 }); // a checkpoint was applied
  l.setLeader(true);
  f.now += 2_999;
  assert.equal(l.expire(), 0);
  f.now += 1;
  assert.equal(l.expire(), 1, 'the checkpointed lease after its remaining 3 s');
  assert.deepEqual(f.revoked, [2n]);
  f.revoke(l, 2n); // its revoke applied
  f.now += 6_999;
  assert.equal(l.expire(), 0, 'the other gets its full 10 s after promotion');
  f.now += 1;
  assert.equal(l.expire(), 1);
});

test('grants seen while not leader are picked up from the store at promotion', () => {
  const f = new Fake();
  const l = f.lessor();
  l.setLeader(false);
  f.grant(l, 7n, 4);
  assert.deepEqual(l.leases(), []);
  l.setLeader(true);
  assert.deepEqual(l.leases(), [7n]);
});

test('heap: pops in deadline order (property against a sort)', () => {
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 50; round++) {
    const h = new LeaseHeap();
    const xs = Array.from({ length: Math.floor(rnd() * 200) }, (_, i) => ({ deadline: Math.floor(rnd() * 1000), id: BigInt(i) }));
    for (const x of xs) h.push(x);
    const out: number[] = [];
    for (let it = h.pop(); it !== undefined; it = h.pop()) out.push(it.deadline);
    assert.deepEqual(out, xs.map((x) => x.deadline).sort((a, b) => a - b), `seed round ${round}`);
  }
});

test('checkpoints: the remaining TTL of used leases is proposed; a keep-alive clears it with 0', () => {
  const f = new Fake();
  const proposed: { ID: bigint; remaining_TTL: number }[][] = [];
  const l = new Lessor({
    store: f.store, revoke: async () => undefined, now: () => f.now, timers: false,
    checkpoint: async (cps) => { proposed.push(cps); },
  });
  l.setLeader(true);
  f.grant(l, 1n, 60);
  f.grant(l, 2n, 60);
  assert.equal(l.checkpointNow(), 0, 'nothing used yet: nothing to checkpoint');
  f.now += 20_500;
  assert.equal(l.checkpointNow(), 2);
  assert.deepEqual(proposed.pop()?.map((c) => [c.ID, c.remaining_TTL]), [[1n, 40], [2n, 40]]);
  assert.equal(l.keepAlive(1n), 60);
  assert.deepEqual(proposed.pop(), [{ ID: 1n, remaining_TTL: 0 }]);
  assert.equal(l.keepAlive(1n), 60);
  assert.equal(proposed.length, 0, 'cleared once');
});

test('without checkpoints, promotion ignores nothing and proposes nothing', () => {
  const f = new Fake();
  const l = f.lessor();
  l.setLeader(true);
  f.grant(l, 1n, 60);
  f.now += 30_000;
  assert.equal(l.checkpointNow(), 0);
});
