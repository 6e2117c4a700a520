/**
 * Issue 8: three members behind the test's peer proxies (test/e2e/framework/peer-proxy.ts),
 * under a recorded workload (two clients pinned to each member: linearizable gets, puts and
 * compare-and-swap txns on three keys; kv-workload.ts).
 *
 * Partitioned leader: the leader is cut off from both followers (every connection between them,
 * both ways). Checked:
 *   - the minority answers no linearizable read and no write: every op sent to the old leader
 *     after the cut and before the heal fails or times out (writes recorded as unknown);
 *   - the majority elects a new leader in a higher term and keeps acknowledging ops;
 *   - after the heal every client is answered again, and every member holds the same keys at
 *     the same revisions with the same HashKV;
 *   - the whole history is linearizable (test/sim/checkers/linearizability.ts).
 *
 * Follower kill -9 and restart under the same workload (after a spell of 50 ms on every peer
 * link and every peer connection closed mid-stream, through which the cluster must go on): the
 * others go on, the restarted member catches up and serves its clients again; same convergence
 * and linearizability checks.
 *
 * Pass/fail never depends on time: phases end on counts of answered ops and on states
 * (a new leader), each wait bounded only to catch a hang. FAULT_SEED replays an op mix.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';
import { checkHistory } from '../sim/checkers/linearizability.js';
import { KvWorkload, type WorkloadClient } from './kv-workload.js';
import { agreedLeader, assertConverged, waitFor } from './cluster-checks.js';

const KEYS = ['pk/a', 'pk/b', 'pk/c'];
/** Clients per member, each with its own connection pinned to that member. */
const CLIENTS_PER_MEMBER = 2;
/** Deadline of each request: how long a cut-off member holds a client at most. */
const REQUEST_DEADLINE_MS = 1500;
/** Answered ops before the fault. */
const OPS_BEFORE = 60;
/** Ops the majority answers during the fault before it ends. */
const OPS_DURING = 60;
/** Ops each client has answered after the heal (or restart) before the workload stops. */
const OPS_AFTER_PER_CLIENT = 3;
/** Delay on every peer link for a while in the kill test (the members must simply go on). */
const LINK_DELAY_MS = 50;
/** Bound on each wait for a state: catches a hang, never decides a pass. */
const WAIT_BOUND_MS = 60_000;

function openClients(c: Cluster): WorkloadClient[] {
  return c.members.flatMap((m) => Array.from({ length: CLIENTS_PER_MEMBER }, () => ({ member: m.name, raw: new RawEtcdClient(m.endpoint) })));
}

function checkLinearizable(w: KvWorkload, diag: (s: string) => void): void {
  const h = w.history();
  const unknown = h.filter((o) => o.ret === Infinity).length;
  diag(`history: ${h.length} ops (${unknown} writes of unknown outcome), seed ${w.seed}`);
  const r = checkHistory(h);
  assert.ok(r.ok, `history not linearizable${r.budgetExceeded ? ' (search budget exceeded: inconclusive)' : ''} on key ${r.key} (FAULT_SEED=${w.seed})\n${r.explain ?? ''}`);
}

describe('3 members behind peer proxies: partition and kill under a recorded workload', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  let clients: WorkloadClient[] = [];
  after(async () => {
    for (const cl of clients) cl.raw.close();
    await cluster?.close();
  });

  it('a partitioned leader answers nothing; the majority goes on; after the heal all members agree; linearizable', async (t) => {
    cluster = await Cluster.start({ name: 'p', size: 3, peerProxy: true });
    const c = cluster;
    const net = c.net!;
    try {
      const before = await waitFor(() => 'no agreed leader', WAIT_BOUND_MS, () => agreedLeader(c.members));
      const old = before.leader;
      const majority = c.members.filter((m) => m !== old);
      t.diagnostic(`leader ${old.name}, term ${before.term}; peer connections ${JSON.stringify([...net.openConnections()])}`);

      const w = new KvWorkload(KEYS, REQUEST_DEADLINE_MS);
      clients = openClients(c);
      await w.init(clients.find((cl) => cl.member === old.name)!);
      w.start(clients);
      await waitFor(() => `${w.acked()} of ${OPS_BEFORE} ops answered before the cut`, WAIT_BOUND_MS, () => (w.acked() >= OPS_BEFORE ? true : undefined));

      net.isolate(old.name);
      const cutAt = w.tick();
      t.diagnostic(`isolated ${old.name} at stamp ${cutAt}`);
      const onMajority = (op: { member: string; call: number }): boolean => op.call > cutAt && op.member !== old.name;
      const after = await waitFor(() => 'the majority elected no new leader', WAIT_BOUND_MS, async () => {
        const l = await agreedLeader(majority);
        return l !== undefined && l.leader !== old ? l : undefined;
      });
      assert.ok(after.term > before.term, `new term ${after.term} > ${before.term}`);
      t.diagnostic(`new leader ${after.leader.name}, term ${after.term}`);
      await waitFor(() => `the majority answered ${w.acked(onMajority)} of ${OPS_DURING} ops during the cut`, WAIT_BOUND_MS, () =>
        w.acked(onMajority) >= OPS_DURING ? true : undefined,
      );
      // Every client of the cut-off member has seen at least two of its ops fail during the cut.
      await waitFor(() => 'the cut-off member\'s clients did not complete two ops each', WAIT_BOUND_MS, () =>
        clients.every((_, i) => clients[i]!.member !== old.name || w.ops.filter((o) => o.client === i && o.call > cutAt && o.ret !== undefined).length >= 2) ? true : undefined,
      );

      const healAt = w.tick();
      net.heal();
      t.diagnostic(`healed at stamp ${healAt}`);
      const minorityAnswered = w.ops.filter((o) => o.member === old.name && o.call > cutAt && o.ret !== undefined && o.ret < healAt && o.ok);
      assert.deepEqual(
        minorityAnswered.map((o) => `${o.input.kind} ${o.input.key}`),
        [],
        'the cut-off member answered a linearizable read or a write sent after the cut',
      );
      const failedOnMinority = w.ops.filter((o) => o.member === old.name && o.call > cutAt && o.call < healAt && !o.ok).length;
      t.diagnostic(`${failedOnMinority} ops on the cut-off member failed or timed out; ${w.acked(onMajority)} answered by the majority`);

      await waitFor(() => 'not every client was answered again after the heal', WAIT_BOUND_MS, () =>
        clients.every((_, i) => w.acked((o) => o.client === i && o.call > healAt) >= OPS_AFTER_PER_CLIENT) ? true : undefined,
      );
      await w.stop();
      const rev = await assertConverged(c, WAIT_BOUND_MS);
      t.diagnostic(`converged at revision ${rev}; ${w.acked()} ops answered of ${w.ops.length}`);
      checkLinearizable(w, (s) => t.diagnostic(s));
    } catch (err) {
      reportServerLog(c, 'partitioned leader');
      throw err;
    } finally {
      for (const cl of clients) cl.raw.close();
      clients = [];
      await c.close();
      cluster = undefined;
    }
  });

  it('kill -9 of a follower and restart under load: the others go on, it catches up; all agree; linearizable', async (t) => {
    cluster = await Cluster.start({ name: 'f', size: 3, peerProxy: true });
    const c = cluster;
    try {
      const before = await waitFor(() => 'no agreed leader', WAIT_BOUND_MS, () => agreedLeader(c.members));
      const victim = c.members.find((m) => m !== before.leader)!;
      const w = new KvWorkload(KEYS, REQUEST_DEADLINE_MS);
      clients = openClients(c);
      await w.init(clients[0]!);
      w.start(clients);
      await waitFor(() => `${w.acked()} of ${OPS_BEFORE} ops answered before the kill`, WAIT_BOUND_MS, () => (w.acked() >= OPS_BEFORE ? true : undefined));
      // Slow links, then every peer connection closed mid-stream: the members reconnect and go on.
      const net = c.net!;
      net.delay(LINK_DELAY_MS);
      const slowAt = w.tick();
      await waitFor(() => 'too few ops answered over delayed links', WAIT_BOUND_MS, () => (w.acked((o) => o.call > slowAt) >= OPS_BEFORE / 2 ? true : undefined));
      const closed = net.resetConnections();
      const resetAt = w.tick();
      await waitFor(() => 'too few ops answered after the peer connections were closed', WAIT_BOUND_MS, () =>
        w.acked((o) => o.call > resetAt) >= OPS_BEFORE / 2 ? true : undefined,
      );
      net.heal();
      t.diagnostic(`links delayed ${LINK_DELAY_MS} ms, then ${closed} peer connections closed; the cluster went on`);

      const killAt = w.tick();
      await victim.kill9();
      t.diagnostic(`killed follower ${victim.name} (leader ${before.leader.name}) at stamp ${killAt}`);
      const others = (op: { member: string; call: number }): boolean => op.call > killAt && op.member !== victim.name;
      await waitFor(() => `the other members answered ${w.acked(others)} of ${OPS_DURING} ops after the kill`, WAIT_BOUND_MS, () =>
        w.acked(others) >= OPS_DURING ? true : undefined,
      );

      victim.spawn();
      await victim.waitReady();
      const upAt = w.tick();
      await waitFor(() => 'not every client was answered again after the restart', WAIT_BOUND_MS, () =>
        clients.every((_, i) => w.acked((o) => o.client === i && o.call > upAt) >= OPS_AFTER_PER_CLIENT) ? true : undefined,
      );
      await w.stop();
      const rev = await assertConverged(c, WAIT_BOUND_MS);
      t.diagnostic(`converged at revision ${rev}; ${w.acked()} ops answered of ${w.ops.length}`);
      checkLinearizable(w, (s) => t.diagnostic(s));
    } catch (err) {
      reportServerLog(c, 'follower kill');
      throw err;
    } finally {
      for (const cl of clients) cl.raw.close();
      clients = [];
      await c.close();
      cluster = undefined;
    }
  });
});
