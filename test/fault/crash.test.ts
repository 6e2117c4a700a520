/**
 * kill -9 under load: several etcd3 clients put concurrently; the member is killed with SIGKILL
 * once a number of puts have been acknowledged (a count, never a time), then restarted on the
 * same data dir. Checked after every restart:
 *
 *   - every ACKNOWLEDGED put is present, with its value, at the revision it was acknowledged
 *     with (unique keys: mod_revision == acknowledged revision, and a read at that revision
 *     returns it);
 *   - revisions respect real-time order: if put A was acknowledged before put B was sent,
 *     rev(A) < rev(B); one writer's revisions strictly increase;
 *   - a put that was NOT acknowledged is either absent or present with exactly its value;
 *   - the member's revision is at least the highest acknowledged one.
 *
 * Cycles: ETCD_TEST_CRASH_CYCLES (default 3).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { Cluster } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';
import { LogicalClock, checkDurable, checkRealTimeOrder, type PutRecord, type StoredKv } from './history.js';

const CYCLES = Number(process.env['ETCD_TEST_CRASH_CYCLES'] ?? 3);
/** Client connections (separate Etcd3 instances). */
const CLIENTS = 4;
/** Concurrent writers per client. */
const WRITERS_PER_CLIENT = 2;
/** Acknowledged puts after which the member is killed, per cycle. */
const ACKS_BEFORE_KILL = (cycle: number): number => 150 + 50 * cycle;
/** Upper bound on puts per writer per cycle, so a server that never dies cannot loop forever. */
const PUTS_PER_WRITER_MAX = 5000;
/** A hang bound on one put, not a timing claim: generous so load never trips it. */
const PUT_DEADLINE_MS = 60_000;


describe('kill -9 under load loses no acknowledged put', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    await cluster?.close();
  });

  it(`${CYCLES} cycles of concurrent puts, kill -9, restart, verify`, async (t) => {
    cluster = await Cluster.start({ name: 'crash' });
    const all: PutRecord[] = [];
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const records = await loadThenKill(cluster, cycle);
        all.push(...records);
        const ackedCount = records.filter((p) => p.ackedAt !== undefined).length;
        t.diagnostic(`cycle ${cycle}: ${ackedCount} puts acknowledged, ${records.length - ackedCount} in flight at kill -9`);
        await cluster.restart();
        await verify(cluster, all, records, cycle);
      }
    } catch (err) {
      reportServerLog(cluster, 'kill -9 under load');
      throw err;
    }
  });
});

async function loadThenKill(cluster: Cluster, cycle: number): Promise<PutRecord[]> {
  const clients = Array.from({ length: CLIENTS }, () => new Etcd3({ hosts: cluster.endpoints.map((e) => `http://${e}`) }));
  const records: PutRecord[] = [];
  const clock = new LogicalClock();
  let acks = 0;
  let killing: Promise<void> | undefined;
  const earlyErrors: string[] = [];
  const target = ACKS_BEFORE_KILL(cycle);

  const writer = async (client: Etcd3, name: string): Promise<void> => {
    for (let seq = 0; seq < PUTS_PER_WRITER_MAX; seq++) {
      const rec: PutRecord = {
        key: `crash/${cycle}/${name}/${String(seq).padStart(5, '0')}`,
        value: `v-${cycle}-${name}-${seq}-${'x'.repeat(seq % 64)}`,
        writer: name,
        sentAt: clock.tick(),
      };
      records.push(rec);
      try {
        // The deadline only bounds a hang; a put that fails before the kill fails the test.
        const r = await client.kv.put({ key: Buffer.from(rec.key), value: Buffer.from(rec.value) }, { deadline: Date.now() + PUT_DEADLINE_MS });
        rec.ackedAt = clock.tick();
        rec.revision = Number(r.header.revision);
      } catch (err) {
        // Only after the kill is an error "the member is gone" (the put is then
        // unacknowledged, and the writer stops). Before it, an error is a bug.
        if (killing === undefined) earlyErrors.push(`${name} put #${seq} failed before the kill: ${(err as Error).message}`);
        return;
      }
      if (++acks === target) {
        killing = cluster.kill9().then(() => {
          // In-flight calls cannot succeed any more: end them now instead of at their deadline.
          for (const c of clients) c.close();
        });
      }
    }
  };

  try {
    await Promise.all(
      clients.flatMap((c, ci) => Array.from({ length: WRITERS_PER_CLIENT }, (_, wi) => writer(c, `c${ci}w${wi}`))),
    );
  } finally {
    for (const c of clients) c.close();
  }
  assert.deepEqual(earlyErrors, [], `cycle ${cycle}: puts failed while the member was up`);
  assert.ok(killing !== undefined, `cycle ${cycle}: fewer than ${target} puts were acknowledged (${acks})`);
  await killing;
  assert.ok(cluster.process?.exit?.signal === 'SIGKILL', 'the member was killed with SIGKILL');
  return records;
}

async function verify(cluster: Cluster, all: PutRecord[], current: PutRecord[], cycle: number): Promise<void> {
  const raw = new RawEtcdClient(cluster.endpoint);
  try {
    // everything under crash/, in one range
    const r = await raw.range({ key: Buffer.from('crash/'), rangeEnd: Buffer.from('crash0') });
    if (!r.ok) assert.fail(`range after restart failed: ${r.error.code} ${r.error.details}`);
    const now = Number(r.value.header?.revision);
    const stored = new Map<string, StoredKv>();
    for (const kv of r.value.kvs) {
      stored.set(Buffer.from(kv.key ?? []).toString(), { value: Buffer.from(kv.value ?? []).toString(), modRevision: Number(kv.modRevision) });
    }

    const acked = all.filter((p) => p.ackedAt !== undefined);
    assert.ok(acked.length > 0);
    const maxAcked = Math.max(...acked.map((p) => p.revision!));
    assert.ok(now >= maxAcked, `cycle ${cycle}: revision ${now} after restart is below the highest acknowledged ${maxAcked}`);
    checkDurable(`cycle ${cycle}`, all, stored);
    checkRealTimeOrder(`cycle ${cycle}`, current);
    const cur = current.filter((p) => p.ackedAt !== undefined);

    // each acknowledged put of this cycle is there when read at its own revision
    for (const p of cur) {
      const at = await raw.range({ key: Buffer.from(p.key), revision: p.revision! });
      if (!at.ok) assert.fail(`read of ${p.key} at ${p.revision} failed: ${at.error.details}`);
      assert.equal(at.value.kvs.length, 1, `${p.key} missing at its revision ${p.revision}`);
      assert.equal(Buffer.from(at.value.kvs[0]!.value ?? []).toString(), p.value);
    }
  } finally {
    raw.close();
  }
}
