/**
 * Watchers and lock waiters that arrive while writes flow and nobody else listens
 * (docs/architecture.md, "Events only while someone listens"): the batches handed to the
 * apply worker before they arrived carry no events, so the first watcher catches up from the
 * store and each lock waiter asks the store again. What a client sees must not change:
 *
 * - watchers created one after another on a fresh server under 8 concurrent writers, each from
 *   the revision of a put just answered, get exactly the events at or above it, in order, once
 *   (checked against the answers the writers got);
 * - a lock handed over 10 times while writers run: each waiter gets it once its holder unlocks;
 * - a watch on a key nobody writes, created under the same load, gets nothing.
 *
 * Runs against etcd 3.4 too (ETCD_TEST_SERVER=real): the same answers.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster } from './framework/hooks.js';
import { RawEtcdClient, RawWatchStream } from './framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';
import { v3lockpb, type mvccpb } from '../../src/proto/pb.js';

const b = (s: string): Buffer => Buffer.from(s);
const str = (u: Uint8Array | null | undefined): string => Buffer.from(u ?? []).toString();

/** [revision, key, value] of a put. */
type Put = [number, string, string];

/** Runs `n` writers putting under `prefix` until `stop()`; returns what they were answered. */
function writers(raw: RawEtcdClient, prefix: string, n: number): { puts: Put[]; stop: () => Promise<void>; last: () => number } {
  const puts: Put[] = [];
  let running = true;
  let last = 0;
  const loops = Array.from({ length: n }, async (_, w) => {
    for (let i = 0; running; i++) {
      const key = `${prefix}${w}/${i % 5}`;
      const value = `w${w}-${i}`;
      const r = await raw.put({ key: b(key), value: b(value) });
      assert.ok(r.ok, r.ok ? '' : r.error.details);
      const rev = Number(r.value.header?.revision);
      puts.push([rev, key, value]);
      last = Math.max(last, rev);
    }
  });
  return {
    puts,
    last: () => last,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Events of `watchId` until one at or above `through` arrived; fails on a cancel. */
async function eventsThrough(w: RawWatchStream, through: number): Promise<Put[]> {
  const out: Put[] = [];
  while (out.length === 0 || out[out.length - 1]![0] < through) {
    const r = await w.next(20_000);
    assert.ok(!r.canceled, `watch canceled: ${r.cancelReason}`);
    if (r.created) continue;
    out.push(...r.events.map((e: mvccpb.Event.$Properties): Put => [Number(e.kv?.modRevision), str(e.kv?.key), str(e.kv?.value)]));
  }
  return out;
}

describe('watchers and lock waiters arriving under write load', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'listen-load' });
  let raw: RawEtcdClient;
  before(() => {
    raw = new RawEtcdClient(cluster.c.endpoint);
  });
  after(() => raw?.close());

  it('watchers created one by one under 8 writers get every event from their start revision, once, in order', async () => {
    const load = writers(raw, 'wl/', 8);
    const streams: { w: RawWatchStream; start: number }[] = [];
    const quiet = new RawWatchStream(raw);
    try {
      for (let i = 0; i < 12; i++) {
        await new Promise((r) => setTimeout(r, 40));
        const start = Math.max(1, load.last());
        const w = new RawWatchStream(raw);
        w.send({ createRequest: { key: b('wl/'), rangeEnd: b('wl0'), startRevision: start } });
        streams.push({ w, start });
        if (i === 5) quiet.send({ createRequest: { key: b('nobody-writes-here') } });
      }
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await load.stop();
    }
    try {
      const all = [...load.puts].sort((x, y) => x[0] - y[0]);
      assert.equal(new Set(all.map((p) => p[0])).size, all.length, 'one put per revision');
      const through = all[all.length - 1]![0];
      for (const { w, start } of streams) {
        const got = await eventsThrough(w, through);
        assert.deepEqual(got, all.filter((p) => p[0] >= start), `watcher from revision ${start}`);
      }
      const q = await quiet.next(5_000);
      assert.equal(q.created, true);
      await assert.rejects(quiet.next(300), /no watch response within/, 'no event for a key nobody writes');
    } finally {
      for (const { w } of streams) w.close();
      quiet.close();
    }
  });

  it('a lock handed over 10 times while 8 writers run: each waiter gets it when its holder unlocks', async () => {
    const lock = (lease: bigint) => raw.call('/v3lockpb.Lock/Lock', v3lockpb.LockRequest.encode({ name: b('ll'), lease }).finish(), 20_000);
    const unlock = (key: Uint8Array) => raw.call('/v3lockpb.Lock/Unlock', v3lockpb.UnlockRequest.encode({ key }).finish());
    const decoded = (r: Awaited<ReturnType<typeof lock>>): v3lockpb.LockResponse => {
      assert.ok(r.ok, r.ok ? '' : r.error.details);
      return v3lockpb.LockResponse.decode(r.bytes);
    };
    const leases: bigint[] = [];
    for (let i = 0; i < 11; i++) {
      const id = 0x7100n + BigInt(i);
      const g = await raw.leaseGrant({ TTL: 60, ID: id });
      assert.ok(g.ok, 'lease grant');
      leases.push(id);
    }
    const load = writers(raw, 'll-load/', 8);
    try {
      let holder = decoded(await lock(leases[0]!)).key;
      for (let i = 1; i < leases.length; i++) {
        let got = false;
        const next = lock(leases[i]!).then((r) => {
          got = true;
          return r;
        });
        await new Promise((r) => setTimeout(r, 30));
        assert.equal(got, false, `waiter ${i} must wait while the lock is held`);
        const u = await unlock(holder);
        assert.ok(u.ok, 'unlock');
        holder = decoded(await next).key;
        assert.equal(str(holder), `ll/${leases[i]!.toString(16)}`);
      }
      assert.ok((await unlock(holder)).ok);
    } finally {
      await load.stop();
    }
  });
});
