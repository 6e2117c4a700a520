/**
 * RaftNode's leader-side asynchronous append (docs/cluster.md, "What is durable before which
 * message"): a leader's MsgApps leave while its own WAL append is still in flight, and nothing is
 * delivered as committed on the leader before its own append is durable. Three bare RaftNodes on
 * a LocalPeerHub, each with a log writer whose appends can be held.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RaftNode } from '../../../src/server/node/raft-node.js';
import { LocalPeerHub } from '../../../src/server/peer/local-hub.js';
import { SeededRng } from '../../../src/raft/index.js';
import type { Entry, HardState } from '../../../src/raftpb/types.js';
import type { LogWriter } from '../../../src/server/ports.js';
import { waitFor } from './raft-cluster.js';

/** A log writer whose appends resolve at once, or, while held, only on release (in call order). */
class GatedLog implements LogWriter {
  held = false;
  readonly entries: Entry[] = [];
  #waiting: (() => void)[] = [];
  append(_hs: HardState | null, entries: readonly Entry[]): Promise<void> {
    this.entries.push(...entries);
    if (!this.held) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
  release(): void {
    this.held = false;
    for (const w of this.#waiting.splice(0)) w();
  }
  get waiting(): number {
    return this.#waiting.length;
  }
  releaseTo(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const ids = [1n, 2n, 3n];
const has = (log: GatedLog, data: string) => log.entries.some((e) => Buffer.from(e.data).toString() === data);

async function cluster(asyncLeaderAppend: boolean) {
  const hub = new LocalPeerHub();
  const logs = ids.map(() => new GatedLog());
  const delivered = ids.map(() => [] as string[]);
  const nodes = ids.map(
    (id, i) =>
      new RaftNode({
        id,
        voters: ids,
        log: logs[i]!,
        transport: hub.join(id),
        recovered: { appliedIndex: 0, appliedTerm: 0, hardState: { term: 0, vote: 0n, commit: 0 }, entries: [] },
        appliedIndex: 0,
        tickMs: 10,
        electionTicks: 10,
        rng: new SeededRng(i + 7),
        asyncLeaderAppend,
      }),
  );
  nodes.forEach((n, i) => n.onCommitted((es) => delivered[i]!.push(...es.filter((e) => e.data.length > 0).map((e) => Buffer.from(e.data).toString()))));
  await Promise.all(nodes.map((n) => n.start()));
  const li = await waitFor('a leader', () => {
    const l = nodes.findIndex((n) => n.isLeader());
    return l >= 0 && nodes.every((n) => n.leaderId === ids[l]) ? l : undefined;
  });
  // The leader's empty entry committed everywhere first.
  await waitFor('the first entries committed', () => nodes.every((n) => n.committedIndex >= nodes[li]!.lastIndex));
  const close = async () => {
    for (const l of logs) l.release();
    for (const n of nodes) await n.close();
  };
  return { hub, logs, nodes, delivered, li, close };
}

test('async leader append: the MsgApp leaves while the leader append is in flight; the leader delivers the entry only once its own append is durable', async () => {
  const c = await cluster(true);
  try {
    const leaderLog = c.logs[c.li]!;
    const followers = [0, 1, 2].filter((i) => i !== c.li);
    leaderLog.held = true;
    const idx = c.nodes[c.li]!.propose(Buffer.from('p1'));
    assert.equal(typeof idx, 'number');
    // The followers append it (they got the MsgApp) while the leader's append has not resolved.
    await waitFor('the followers appended p1', () => followers.every((i) => has(c.logs[i]!, 'p1')));
    assert.ok(leaderLog.waiting > 0, "the leader's own append is still in flight");
    assert.ok(has(leaderLog, 'p1'), 'the leader handed it to its WAL');
    // Both followers acked: a quorum without the leader. Still nothing is delivered on the
    // leader (its Ready waits for its own append; it never applies what is not durable here).
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(c.delivered[c.li], [], 'not delivered on the leader before its own append is durable');
    assert.ok(c.nodes[c.li]!.committedIndex < idx!);
    leaderLog.release();
    await waitFor('p1 delivered on every member', () => c.delivered.every((d) => d.includes('p1')));
    // Many proposals with the leader's appends slow: all are delivered in order everywhere.
    leaderLog.held = true;
    for (let k = 0; k < 50; k++) c.nodes[c.li]!.propose(Buffer.from(`q${k}`));
    await waitFor('the followers appended q49', () => followers.every((i) => has(c.logs[i]!, 'q49')));
    leaderLog.release();
    const want = ['p1', ...Array.from({ length: 50 }, (_, k) => `q${k}`)];
    await waitFor('q0..q49 delivered everywhere', () => c.delivered.every((d) => d.length === want.length));
    for (const d of c.delivered) assert.deepEqual(d, want);
  } finally {
    await c.close();
  }
});

test('async leader append: a leader whose append is in flight and with one follower cut off commits nothing until its append is durable', async () => {
  const c = await cluster(true);
  try {
    const leaderLog = c.logs[c.li]!;
    const [f1, f2] = [0, 1, 2].filter((i) => i !== c.li) as [number, number];
    c.hub.isolate(ids[f2]!);
    leaderLog.held = true;
    const idx = c.nodes[c.li]!.propose(Buffer.from('half'))!;
    await waitFor('follower 1 appended it', () => has(c.logs[f1]!, 'half'));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(c.delivered[c.li], []);
    assert.deepEqual(c.delivered[f1], [], 'one follower of three is no quorum: not committed, not delivered');
    leaderLog.release();
    await waitFor('committed with the leader durable + follower 1', () => c.nodes[c.li]!.committedIndex >= idx && c.delivered[f1]!.includes('half'));
    assert.deepEqual(c.delivered[c.li], ['half']);
    assert.deepEqual(c.delivered[f2], [], 'the cut-off follower has nothing');
    c.hub.heal();
    await waitFor('the cut-off follower catches up', () => c.delivered[f2]!.includes('half'));
  } finally {
    await c.close();
  }
});

test('synchronous leader append (asyncLeaderAppend false): nothing leaves the leader before its own append is durable', async () => {
  const c = await cluster(false);
  try {
    const leaderLog = c.logs[c.li]!;
    const followers = [0, 1, 2].filter((i) => i !== c.li);
    leaderLog.held = true;
    c.nodes[c.li]!.propose(Buffer.from('s1'));
    await waitFor('the leader handed s1 to its WAL', () => has(leaderLog, 's1'));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(followers.every((i) => !has(c.logs[i]!, 's1')), 'no follower has s1 before the leader append is durable');
    leaderLog.release();
    await waitFor('s1 delivered everywhere', () => c.delivered.every((d) => d.includes('s1')));
  } finally {
    await c.close();
  }
});
