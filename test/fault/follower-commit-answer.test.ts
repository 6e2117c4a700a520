/**
 * A follower answers the plain puts it forwarded to the leader once their entries are committed
 * and durable in its own WAL, before it has applied them (docs/cluster.md, "A follower answers
 * plain puts at commit"; src/server/commit-revision.ts). Such an answer must never be taken back:
 *
 *   - apply fails after the answer: the follower runs with ETCD_TS_FAULT_APPLY_PUT_KEY=poison
 *     (src/server/apply-fault.ts), so its apply of `poison` fails and it stops. The put is
 *     acknowledged all the same (only an answer at commit can be: the apply never succeeds
 *     there), and after a restart without the fault the follower, like the others, holds it at
 *     the acknowledged revision;
 *   - kill -9 right after answers: writers put (and now and then delete or txn, which make the
 *     revision unknown until applied) through the follower; it is killed -9 the moment a number
 *     of puts were acknowledged; restarted, every member has every acknowledged put at its
 *     acknowledged revision, and they converge;
 *   - partitioned after the commit: a put acknowledged by the follower, which is then cut off
 *     from both others, is read from the majority (linearizably) at its revision; after the heal
 *     all members agree.
 *
 * The follower's counter etcd_ts_server_forwarded_answered_at_commit_total shows the early path
 * was taken (a test that passed with answers at apply would prove nothing). etcd-ts only: the
 * fault injection and the counter do not exist in etcd.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cluster, serverEnv, type Member } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { SUITE_TIMEOUT_MS, serverKind, serverUnavailableReason } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';
import { agreedLeader, assertConverged, waitFor } from './cluster-checks.js';

const FAULT_ENV = 'ETCD_TS_FAULT_APPLY_PUT_KEY';
const COUNTER = 'etcd_ts_server_forwarded_answered_at_commit_total';
/** Bound on each wait for a state: catches a hang, never decides a pass. */
const WAIT_BOUND_MS = 60_000;
/** Sequential puts tried at most before the follower answers one at commit. */
const WARMUP_PUTS_MAX = 200;
const WRITERS = 16;
/** Acknowledged puts through the follower before it is killed -9. */
const ACKS_BEFORE_KILL = 400;
/** Every this many ops a writer deletes or txns instead (the revision is unknown until applied). */
const OTHER_EVERY = 7;

const b = (s: string): Buffer => Buffer.from(s);

interface Put {
  key: string;
  value: string;
  revision?: number;
}

async function answeredAtCommit(m: Member): Promise<number> {
  const res = await fetch(`${m.clientUrl}/metrics`);
  const text = await res.text();
  const line = text.split('\n').find((l) => l.startsWith(`${COUNTER} `));
  assert.ok(line !== undefined, `${m.name} /metrics has ${COUNTER}`);
  return Number(line.slice(COUNTER.length + 1));
}

/** Every put in `puts` with a revision is in `m`'s store at that revision with its value. */
async function assertHasPuts(m: Member, puts: readonly Put[]): Promise<void> {
  const raw = new RawEtcdClient(m.endpoint, { 'grpc.use_local_subchannel_pool': 1 });
  try {
    for (const p of puts) {
      if (p.revision === undefined) continue;
      const r = await raw.range({ key: b(p.key), revision: p.revision });
      if (!r.ok) assert.fail(`${m.name}: read of ${p.key} at ${p.revision} failed: ${r.error.details}`);
      assert.equal(r.value.kvs.length, 1, `${m.name}: acknowledged ${p.key} missing at its revision ${p.revision}`);
      assert.equal(Buffer.from(r.value.kvs[0]!.value ?? []).toString(), p.value, `${m.name}: ${p.key}`);
      assert.equal(Number(r.value.kvs[0]!.modRevision), p.revision, `${m.name}: ${p.key} mod revision`);
    }
  } finally {
    raw.close();
  }
}

/** Sequential puts through `m` until one is answered at commit; returns them. */
async function warmUp(m: Member, prefix: string): Promise<Put[]> {
  const raw = new RawEtcdClient(m.endpoint, { 'grpc.use_local_subchannel_pool': 1 });
  const puts: Put[] = [];
  try {
    const before = await answeredAtCommit(m);
    for (let i = 0; i < WARMUP_PUTS_MAX; i++) {
      const p: Put = { key: `${prefix}/${i}`, value: `w${i}` };
      const r = await raw.put({ key: b(p.key), value: b(p.value) });
      if (!r.ok) assert.fail(`warm-up put ${p.key}: ${r.error.details}`);
      p.revision = Number(r.value.header?.revision);
      puts.push(p);
      if ((await answeredAtCommit(m)) > before) return puts;
    }
  } finally {
    raw.close();
  }
  assert.fail(`${m.name} answered none of ${WARMUP_PUTS_MAX} forwarded puts at commit`);
}

const skip = serverUnavailableReason() ?? (serverKind() === 'real' ? 'answers at commit and the fault injection exist only in etcd-ts' : false);

describe('a follower answers forwarded plain puts at commit; the answers are never taken back', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  const env: NodeJS.ProcessEnv = { ...serverEnv() };
  after(async () => {
    await cluster?.close();
  });

  async function follower(c: Cluster): Promise<{ leader: Member; follower: Member }> {
    const { leader } = await waitFor(() => 'no agreed leader', WAIT_BOUND_MS, () => agreedLeader(c.members));
    return { leader, follower: c.members.find((m) => m !== leader)! };
  }

  it('its apply of the put fails after the answer: restarted, it and the others hold the put at the answered revision', async () => {
    cluster = await Cluster.start({ name: 'fca', size: 3, env, peerProxy: true });
    const c = cluster;
    try {
      const { leader, follower: f } = await follower(c);
      // The fault on this follower only: members read the shared env object when spawned.
      await f.stop();
      const published = (): number => readFileSync(f.logFile, 'utf8').split('\n').filter((l) => l.includes('published local member to cluster through raft')).length;
      const publishedBefore = published();
      env[FAULT_ENV] = 'poison';
      try {
        await f.restart();
      } finally {
        delete env[FAULT_ENV];
      }
      // Its attributes go through the log after a restart: that entry, once applied, is the last
      // one that is not a plain put before the test's puts (so the poison put's revision is known).
      await waitFor(() => `${f.name} did not publish its attributes`, WAIT_BOUND_MS, () => (published() > publishedBefore ? true : undefined));
      const warm = await warmUp(f, 'fca-warm');
      const raw = new RawEtcdClient(f.endpoint, { 'grpc.use_local_subchannel_pool': 1 });
      let poison: Put;
      try {
        poison = { key: 'poison', value: 'p' };
        const r = await raw.put({ key: b(poison.key), value: b(poison.value) });
        if (!r.ok) assert.fail(`the poison put through the follower failed (answered at apply, which fails): ${r.error.code} ${r.error.details}`);
        poison.revision = Number(r.value.header?.revision);
      } finally {
        raw.close();
      }
      const exit = await f.process!.exited;
      assert.equal(exit.signal, null, 'the follower exited by itself');
      assert.notEqual(exit.code, 0, 'the follower exited with a failure code');
      assert.match(readFileSync(f.logFile, 'utf8'), /injected apply failure/, 'its log names the apply failure');
      // The majority has it (it was committed before the answer).
      await assertHasPuts(leader, [...warm, poison]);
      await f.restart();
      await waitFor(() => `${f.name} did not catch up`, WAIT_BOUND_MS, async () => {
        const rf = new RawEtcdClient(f.endpoint, { 'grpc.use_local_subchannel_pool': 1 });
        try {
          const r = await rf.range({ key: b('poison') });
          return r.ok && r.value.kvs.length === 1 ? true : undefined;
        } finally {
          rf.close();
        }
      });
      await assertHasPuts(f, [...warm, poison]);
      await assertConverged(c);
    } catch (err) {
      reportServerLog(c, 'follower commit answer: apply failure');
      throw err;
    }
  });

  it('killed -9 right after answering puts (mixed with deletes and txns): every acknowledged put survives on every member', async () => {
    const c = cluster!;
    const { follower: f } = await follower(c);
    await warmUp(f, 'fck-warm');
    const before = await answeredAtCommit(f);
    const clients = Array.from({ length: 4 }, () => new RawEtcdClient(f.endpoint, { 'grpc.use_local_subchannel_pool': 1 }));
    const puts: Put[] = [];
    let acks = 0;
    let killed: Promise<void> | undefined;
    let countedBeforeKill = 0;
    try {
      const writer = async (w: number): Promise<void> => {
        const client = clients[w % clients.length]!;
        for (let seq = 0; killed === undefined; seq++) {
          if (seq % OTHER_EVERY === OTHER_EVERY - 1) {
            // A delete or a txn: their revision effect is known only once applied.
            const r = w % 2 === 0
              ? await client.deleteRange({ key: b(`fck/${w}/${seq - 1}`) })
              : await client.txn({ success: [{ requestPut: { key: b(`fck/${w}/t${seq}`), value: b('t') } }] });
            if (!r.ok) return;
            continue;
          }
          const p: Put = { key: `fck/${w}/${seq}`, value: `v${w}-${seq}` };
          puts.push(p);
          const r = await client.put({ key: b(p.key), value: b(p.value) });
          if (!r.ok) return;
          p.revision = Number(r.value.header?.revision);
          if (++acks === ACKS_BEFORE_KILL) {
            countedBeforeKill = await answeredAtCommit(f).catch(() => 0);
            killed = f.kill9();
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      await killed;
    } finally {
      for (const cl of clients) cl.close();
    }
    try {
      assert.ok(killed !== undefined, `the follower was killed after ${ACKS_BEFORE_KILL} acknowledgements (got ${acks})`);
      assert.ok(countedBeforeKill > before, `the follower answered puts at commit before the kill (${before} -> ${countedBeforeKill})`);
      // Overwritten keys: the txn writes other keys, deletes remove keys whose put was acknowledged
      // earlier; check each put at its own revision (history), which deletes do not change.
      await f.restart();
      await assertConverged(c);
      for (const m of c.members) await assertHasPuts(m, puts);
    } catch (err) {
      reportServerLog(c, 'follower commit answer: kill -9');
      throw err;
    }
  });

  it('partitioned right after the commit: the majority holds the answered put; after the heal all agree', async () => {
    const c = cluster!;
    const net = c.net!;
    const { leader, follower: f } = await follower(c);
    try {
      const warm = await warmUp(f, 'fcp-warm');
      const last = warm[warm.length - 1]!;
      net.isolate(f.name);
      try {
        await assertHasPuts(leader, warm);
        const raw = new RawEtcdClient(leader.endpoint, { 'grpc.use_local_subchannel_pool': 1 });
        try {
          const r = await raw.put({ key: b('fcp/majority'), value: b('m') });
          if (!r.ok) assert.fail(`the majority takes writes: ${r.error.details}`);
          assert.ok(Number(r.value.header?.revision) > last.revision!, 'the majority goes on after the answered put');
        } finally {
          raw.close();
        }
      } finally {
        net.heal();
      }
      await assertConverged(c);
      await assertHasPuts(f, warm);
    } catch (err) {
      reportServerLog(c, 'follower commit answer: partition');
      throw err;
    }
  });
});
