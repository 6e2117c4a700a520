/**
 * The Raft flags, through real processes (three members behind the test's peer proxies):
 *
 * --pre-vote: a follower is cut off from both others until it gives up on its leader (Status
 * names no leader). With pre-vote it is only a pre-candidate: after the heal all three follow
 * the same leader in the same term. Without pre-vote it campaigned in ever higher terms, and
 * after the heal its higher term deposes the healthy leader (the cluster's term rises), which is
 * what pre-vote exists to prevent.
 *
 * --initial-election-tick-advance (on in the pre-vote cluster, off in the other): every member
 * logs, in etcd's words, whether it fast-forwarded its election clock at start ("initialized peer connections; fast-forwarding election ticks"
 * with the ticks it advanced, two short of the election timeout in ticks) or skipped it
 * ("skipping initial election tick advance"). The logic itself (when, how far) is unit-tested
 * in test/unit/server/tick-advance.test.ts. Both servers run with --logger zap (etcd 3.4 logs
 * these lines only through zap).
 *
 * Both pass against the real etcd 3.4 (ETCD_TEST_SERVER=real).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cluster, type Member } from '../e2e/framework/cluster.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';
import { agreedLeader, statusOf, waitFor } from './cluster-checks.js';

const WAIT_BOUND_MS = 60_000;

describe('Raft flags through real processes', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    await cluster?.close();
  });

  // Two clusters: pre-vote and the advance on, both off (a cluster start costs seconds).
  for (const preVote of [true, false]) {
    const advance = preVote;
    it(`--pre-vote=${preVote}: a cut-off follower ${preVote ? 'does not disturb the leader' : 'deposes the leader after the heal'}; --initial-election-tick-advance=${advance}: every member ${advance ? 'fast-forwards its election ticks once its peers answer' : 'skips the advance'}`, async (t) => {
      // --heartbeat-interval 100 --election-timeout 1000: 10 election ticks, an advance of 8.
      cluster = await Cluster.start({
        name: preVote ? 'pv' : 'nv',
        size: 3,
        peerProxy: true,
        extraFlags: [`--pre-vote=${preVote}`, '--logger=zap', `--initial-election-tick-advance=${advance}`, '--heartbeat-interval=100', '--election-timeout=1000'],
      });
      const c = cluster;
      try {
        await checkTickAdvanceLog(c, advance);
        const before = await waitFor(() => 'no agreed leader', WAIT_BOUND_MS, () => agreedLeader(c.members));
        const follower = c.members.find((m) => m !== before.leader)!;
        c.net!.isolate(follower.name);
        const cut = await waitFor(() => `${follower.name} still names a leader`, WAIT_BOUND_MS, async () => {
          const s = await statusOf(follower);
          return s !== undefined && s.leader === 0n ? s : undefined;
        });
        t.diagnostic(`leader ${before.leader.name} term ${before.term}; cut-off ${follower.name} gave up at term ${cut.term}`);
        // The majority is undisturbed while the follower is away.
        const during = await agreedLeader(c.members.filter((m) => m !== follower));
        assert.equal(during?.leader, before.leader, 'the leader of the majority did not change during the cut');
        // (Status.raftTerm is etcd's applied term, not Raft's: a candidate's new term shows only
        // once an entry of that term is applied, so the cut-off member's term is not asserted.)
        c.net!.heal();
        if (preVote) {
          const healed = await waitFor(() => 'the three members do not agree on a leader after the heal', WAIT_BOUND_MS, () => agreedLeader(c.members));
          t.diagnostic(`after the heal: leader ${healed.leader.name}, term ${healed.term}`);
          assert.equal(healed.leader, before.leader, 'the same leader');
          assert.equal(healed.term, before.term, 'in the same term');
        } else {
          const healed = await waitFor(() => 'the rejoining member never deposed the leader', WAIT_BOUND_MS, async () => {
            const l = await agreedLeader(c.members);
            return l !== undefined && l.term > before.term ? l : undefined;
          });
          t.diagnostic(`after the heal: leader ${healed.leader.name}, term ${healed.term}`);
        }
      } catch (err) {
        reportServerLog(c, `--pre-vote=${preVote}`);
        throw err;
      } finally {
        await c.close();
        cluster = undefined;
      }
    });
  }
});

/** Every member logged, in etcd's words, that it fast-forwarded its election ticks (or skipped it). */
async function checkTickAdvanceLog(c: Cluster, advance: boolean): Promise<void> {
  const decided = (l: Record<string, unknown>): boolean =>
    l['msg'] === 'initialized peer connections; fast-forwarding election ticks' || l['msg'] === 'skipping initial election tick advance';
  for (const m of c.members) {
    // The advance waits for the peers (up to 5 s) and may be logged after the member is ready.
    const lines = await waitFor(() => `${m.name} logged no tick-advance decision`, WAIT_BOUND_MS, () => {
      const ls = zapLines(m);
      return ls.some(decided) ? ls : undefined;
    });
    const advanced = lines.filter((l) => l['msg'] === 'initialized peer connections; fast-forwarding election ticks');
    const skipped = lines.filter((l) => l['msg'] === 'skipping initial election tick advance');
    if (advance) {
      assert.equal(advanced.length, 1, `${m.name} logged one advance`);
      assert.equal(advanced[0]!['forward-ticks'], 8, 'two ticks short of the 10-tick election timeout');
      assert.equal(advanced[0]!['active-remote-members'], 2);
      assert.equal(skipped.length, 0);
    } else {
      assert.equal(skipped.length, 1, `${m.name} logged that it skipped the advance`);
      assert.equal(skipped[0]!['election-ticks'], 10);
      assert.equal(advanced.length, 0);
    }
  }
}

/** The JSON log lines a member wrote (non-JSON lines skipped). */
function zapLines(m: Member): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(m.logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      /* a partial line */
    }
  }
  return out;
}
