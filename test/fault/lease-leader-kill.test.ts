/**
 * Three members, kill -9 of the leader (docs/leases.md, "Leader changes and restarts"):
 *
 *   - a lease does not expire early: after the failover the new leader gives it at least the
 *     TTL it had left, and its key is still there;
 *   - two lockers never hold one lock at once across the leader change, checked from a recorded
 *     history: a hold runs from the Lock answer to the Unlock call, and no two holds overlap.
 *
 * Pending until etcd-ts runs more than one member; proven against the real etcd.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { v3lockpb } from '../../src/proto/pb.js';
import { Cluster, type Member } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason, sleep } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';
import { pending } from '../e2e/framework/pending.js';

const b = (s: string): Buffer => Buffer.from(s);
/** Lock acquisitions before the leader is killed, and per surviving locker after it. */
const HOLDS_BEFORE_KILL = 12;
const HOLDS_AFTER_KILL = 4;
const ATTEMPTS_MAX = 400;

async function findLeader(members: readonly Member[]): Promise<Member> {
  for (let i = 0; i < 300; i++) {
    const byId = new Map<bigint, Member>();
    let leader = 0n;
    for (const m of members) {
      const raw = new RawEtcdClient(m.endpoint);
      try {
        const st = await raw.status();
        if (!st.ok) continue;
        byId.set(st.value.header?.memberId ?? 0n, m);
        if (st.value.leader !== 0n) leader = st.value.leader;
      } finally {
        raw.close();
      }
    }
    const m = byId.get(leader);
    if (m !== undefined) return m;
    await sleep(100);
  }
  throw new Error('no leader');
}

interface Hold {
  locker: string;
  acquiredAt: number;
  releasedAt: number;
}

/** A monotonic logical time (one process records every event). */
let ticks = 0;
const tick = (): number => ++ticks;

describe('3 members: leases and locks across a leader kill', { skip: serverUnavailableReason() ?? false, todo: pending('multi-member'), timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    await cluster?.close();
  });

  it('a lease does not expire early when the leader is killed', async (t) => {
    cluster = await Cluster.start({ name: 'll', size: 3 });
    const c = cluster;
    try {
      const leader = await findLeader(c.members);
      const survivor = c.members.find((m) => m !== leader)!;
      const raw = new RawEtcdClient(survivor.endpoint);
      try {
        assert.ok((await raw.leaseGrant({ ID: 9001n, TTL: 10 })).ok);
        assert.ok((await raw.put({ key: b('lease-held'), value: b('v'), lease: 9001n })).ok);
        let before = 10;
        for (let i = 0; i < 600 && before > 7; i++) {
          const r = await raw.leaseTimeToLive({ ID: 9001n });
          if (r.ok) before = Number(r.value.TTL);
          await sleep(100);
        }
        await leader.kill9();
        const next = await findLeader(c.members.filter((m) => m !== leader));
        const raw2 = new RawEtcdClient(next.endpoint);
        try {
          let left = -1;
          for (let i = 0; i < 100 && left < 0; i++) {
            const r = await raw2.leaseTimeToLive({ ID: 9001n });
            if (r.ok) left = Number(r.value.TTL);
            else await sleep(100);
          }
          assert.ok(left >= before, `after the failover the lease has at least what it had left (${left} s >= ${before} s)`);
          const kv = await raw2.range({ key: b('lease-held') });
          assert.ok(kv.ok && kv.value.kvs.length === 1, 'its key is still there');
        } finally {
          raw2.close();
        }
      } finally {
        raw.close();
      }
      await leader.restart();
    } catch (err) {
      reportServerLog(c, t.name);
      throw err;
    } finally {
      await c.close();
      cluster = undefined;
    }
  });

  it('two lockers never hold one lock at once across a leader change (from a recorded history)', async (t) => {
    cluster = await Cluster.start({ name: 'lk', size: 3 });
    const c = cluster;
    const holds: Hold[] = [];
    try {
      const leader = await findLeader(c.members);
      let killed: Promise<void> | undefined;
      const locker = async (name: string, first: number): Promise<number> => {
        // Every locker talks to any live member, moving on when one fails.
        let at = first;
        let raw = new RawEtcdClient(c.members[at]!.endpoint);
        const next = () => {
          raw.close();
          at = (at + 1) % c.members.length;
          raw = new RawEtcdClient(c.members[at]!.endpoint);
        };
        const lease = BigInt(0x4c00 + first);
        for (let i = 0; i < 50 && !(await raw.leaseGrant({ ID: lease, TTL: 30 })).ok; i++) next();
        let after = 0;
        try {
          for (let n = 0; n < ATTEMPTS_MAX && after < HOLDS_AFTER_KILL; n++) {
            const r = await raw.call('/v3lockpb.Lock/Lock', v3lockpb.LockRequest.encode({ name: b('hist-lock'), lease }).finish(), 5000);
            if (!r.ok) {
              next();
              await sleep(50);
              continue;
            }
            const acquiredAt = tick();
            const key = v3lockpb.LockResponse.decode(r.bytes).key;
            await sleep(10);
            const releasedAt = tick();
            holds.push({ locker: name, acquiredAt, releasedAt });
            if (holds.length === HOLDS_BEFORE_KILL) killed = leader.kill9();
            if (killed !== undefined) after++;
            for (let i = 0; i < 50; i++) {
              if ((await raw.call('/v3lockpb.Lock/Unlock', v3lockpb.UnlockRequest.encode({ key }).finish(), 5000)).ok) break;
              next();
              await sleep(50);
            }
          }
        } finally {
          raw.close();
        }
        return after;
      };
      const afters = await Promise.all(c.members.map((_, i) => locker(`locker${i}`, i)));
      assert.ok(killed !== undefined, `fewer than ${HOLDS_BEFORE_KILL} holds before the kill`);
      await killed;
      t.diagnostic(`${holds.length} holds; after the kill: ${afters.join(', ')}`);
      assert.ok(afters.some((n) => n > 0), 'the lock went on being granted after the failover');
      for (const h of holds) {
        for (const o of holds) {
          if (h === o) continue;
          const overlap = h.acquiredAt < o.releasedAt && o.acquiredAt < h.releasedAt;
          assert.ok(!overlap, `${h.locker} [${h.acquiredAt}, ${h.releasedAt}] and ${o.locker} [${o.acquiredAt}, ${o.releasedAt}] held the lock at once`);
        }
      }
      await leader.restart();
    } catch (err) {
      reportServerLog(c, t.name);
      throw err;
    } finally {
      await c.close();
      cluster = undefined;
    }
  });
});
