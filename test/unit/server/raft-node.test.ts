/**
 * Three members in one process, each a full member (EtcdServer, WAL, LMDB in a temp dir, ONE_THREAD)
 * on a RaftNode, connected by the in-process LocalPeerHub (docs/cluster.md). No sockets.
 * The harness (bounded waits on states, never a sleep that decides) is in raft-cluster.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRng, MessageType } from '../../../src/raft/index.js';
import { Cluster, b, get, isCode, putRevision, waitFor } from './raft-cluster.js';


test('3 members: a leader is elected; writes on the leader are committed and applied on all three; Status names the leader', async () => {
  const c = new Cluster(3);
  try {
    await c.startAll();
    const li = await c.leader();
    const leader = c.slots[li]!.member!;
    const revs = await Promise.all(Array.from({ length: 50 }, (_, i) => leader.server.put({ key: b(`k${i}`), value: b(`v${i}`) })));
    assert.equal(new Set(revs.map(putRevision)).size, 50, 'distinct revisions');
    await leader.server.txn({ success: [{ requestPut: { key: b('t'), value: b('txn') } }] });
    await leader.server.deleteRange({ key: b('k0') });
    await c.waitApplied(leader.server.committedIndex);
    for (const s of c.slots) {
      const m = s.member!;
      assert.equal(await get(m, 'k1', true), 'v1', `${s.name} has k1`);
      assert.equal(await get(m, 't', true), 'txn', `${s.name} has t`);
      assert.equal(await get(m, 'k0', true), undefined, `${s.name} applied the delete`);
      const all = await m.server.range({ key: b('k'), rangeEnd: b('l'), serializable: true });
      assert.equal(all.count, 49);
      assert.equal(all.header!.revision, (await leader.server.range({ key: b('k1'), serializable: true })).header!.revision, 'same revision everywhere');
      assert.equal(m.identity.clusterId, leader.identity.clusterId, 'one cluster ID');
    }
    const follower = c.slots[(li + 1) % 3]!.member!;
    assert.equal(follower.server.status().leader, c.slots[li]!.id, 'Status names the leader on a follower');
  } finally {
    await c.close();
  }
});

test('3 members: a linearizable read on a follower sees a write acknowledged by the leader; concurrent reads share read-index rounds', async () => {
  const c = new Cluster(3);
  try {
    await c.startAll();
    const li = await c.leader();
    const leader = c.slots[li]!.member!;
    const follower = c.slots[(li + 1) % 3]!.member!;
    // Slow the follower's log down: it would serve stale data if reads did not go through ReadIndex.
    for (let round = 0; round < 20; round++) {
      await leader.server.put({ key: b('lin'), value: b(`v${round}`) });
      assert.equal(await get(follower, 'lin'), `v${round}`, `round ${round}: the follower's linearizable read sees the acknowledged write`);
    }
    const rounds = { before: 0 };
    let readIndexMsgs = 0;
    c.hub.setDrop((m) => {
      if (m.type === MessageType.MsgReadIndex) readIndexMsgs++;
      return false;
    });
    rounds.before = readIndexMsgs;
    const reads = await Promise.all(Array.from({ length: 100 }, () => get(follower, 'lin')));
    assert.ok(reads.every((v) => v === 'v19'));
    assert.ok(readIndexMsgs - rounds.before < 100, `100 concurrent reads took ${readIndexMsgs - rounds.before} read-index rounds`);
    c.hub.heal();
    // On the leader too.
    assert.equal(await get(leader, 'lin'), 'v19');
  } finally {
    await c.close();
  }
});

test('3 members: the leader stops, a new one is elected and takes writes; the old one restarts from its WAL and catches up by log', async () => {
  const c = new Cluster(3);
  try {
    await c.startAll();
    const first = await c.leader();
    const l1 = c.slots[first]!.member!;
    for (let i = 0; i < 30; i++) await l1.server.put({ key: b(`a${i}`), value: b(`one${i}`) });
    const termBefore = l1.server.term;
    await c.stop(first);

    const second = await c.leader();
    assert.notEqual(second, first);
    const l2 = c.slots[second]!.member!;
    assert.ok(l2.server.term > termBefore, 'a new term');
    assert.equal(await get(l2, 'a29'), 'one29', 'the new leader has every acknowledged write');
    for (let i = 0; i < 30; i++) await l2.server.put({ key: b(`b${i}`), value: b(`two${i}`) });
    await l2.server.put({ key: b('a0'), value: b('changed') });

    const restarted = await c.start(first);
    assert.ok(restarted.replayed >= 0);
    await c.leader();
    await c.waitApplied(l2.server.committedIndex);
    assert.equal(await get(restarted, 'b29', true), 'two29', 'caught up by log');
    assert.equal(await get(restarted, 'a0', true), 'changed');
    const revs = await Promise.all(c.slots.map(async (s) => (await s.member!.server.range({ key: b('a0'), serializable: true })).header!.revision));
    assert.equal(new Set(revs).size, 1, `one revision everywhere: ${revs.join(', ')}`);
  } finally {
    await c.close();
  }
});

test('3 members: a leader cut off from the others fails its uncommitted writes with "leader changed" and never answers them; the write is not applied anywhere', async () => {
  const c = new Cluster(3);
  try {
    await c.startAll();
    const li = await c.leader();
    const old = c.slots[li]!;
    await old.member!.server.put({ key: b('before'), value: b('1') });
    c.hub.isolate(old.id);
    // Plain puts are answered at commit, others at apply: both kinds must fail, not hang or succeed.
    const plain = old.member!.server.put({ key: b('lost'), value: b('plain') });
    const other = old.member!.server.put({ key: b('lost2'), value: b('prev'), prevKv: true });
    await assert.rejects(plain, isCode('ETCD_ERR_RAFT_LEADER_CHANGED'));
    await assert.rejects(other, isCode('ETCD_ERR_RAFT_LEADER_CHANGED'));
    // The other two elect a leader and go on.
    const others = c.slots.filter((s) => s !== old);
    const newLeader = await waitFor('a leader among the other two', () => others.find((s) => s.node!.isLeader()));
    await newLeader.member!.server.put({ key: b('after'), value: b('2') });
    c.hub.heal();
    await c.leader();
    await c.waitApplied(newLeader.member!.server.committedIndex);
    for (const s of c.slots) {
      assert.equal(await get(s.member!, 'after', true), '2', `${s.name} has the new leader's write`);
      assert.equal(await get(s.member!, 'lost', true), undefined, `${s.name} never applied the lost write`);
      assert.equal(await get(s.member!, 'lost2', true), undefined, `${s.name} never applied the lost write`);
    }
  } finally {
    await c.close();
  }
});

test('3 members: the whole cluster restarts from its WALs with every acknowledged write', async () => {
  const c = new Cluster(3);
  try {
    await c.startAll();
    const li = await c.leader();
    for (let i = 0; i < 20; i++) await c.slots[li]!.member!.server.put({ key: b(`r${i}`), value: b(`${i}`) });
    const rev = Number((await c.slots[li]!.member!.server.range({ key: b('r19') })).header!.revision);
    for (let i = 0; i < 3; i++) await c.stop(i);
    await c.startAll();
    const l = await c.leader();
    const m = c.slots[l]!.member!;
    assert.equal(await get(m, 'r19'), '19');
    assert.equal(Number((await m.server.range({ key: b('r19') })).header!.revision), rev, 'the same store revision after the restart');
    await m.server.put({ key: b('r20'), value: b('20') });
    await c.waitApplied(m.server.committedIndex);
    for (const s of c.slots) assert.equal(await get(s.member!, 'r20', true), '20');
  } finally {
    await c.close();
  }
});

test('3 members: checkpoints release the WAL and trim the in-memory Raft log; a follower behind by less than the catch-up entries catches up by log', async () => {
  const c = new Cluster(3, ['--snapshot-count', '20'], 50);
  try {
    await c.startAll();
    const li = await c.leader();
    const leader = c.slots[li]!;
    for (let i = 0; i < 200; i++) await leader.member!.server.put({ key: b(`c${i % 10}`), value: b(`${i}`) });
    await c.waitApplied(leader.member!.server.committedIndex);
    await waitFor('the leader trimmed its in-memory log', () => leader.node!.firstLogIndex > 100);
    const fi = (li + 1) % 3;
    await c.stop(fi);
    for (let i = 200; i < 230; i++) await leader.member!.server.put({ key: b(`c${i % 10}`), value: b(`${i}`) });
    const back = await c.start(fi);
    await c.waitApplied(leader.member!.server.committedIndex);
    assert.equal(await get(back, 'c9', true), '229');
    assert.ok(leader.node!.firstLogIndex > 100);
  } finally {
    await c.close();
  }
});

test('3 members on a lossy network (seeded: 15% of messages dropped, leaders come and go): every acknowledged write is on every member, the members agree', async () => {
  const seed = Number(process.env.RAFT_NODE_SEED ?? 7);
  const rng = new SeededRng(seed);
  const c = new Cluster(3);
  try {
    await c.startAll();
    // Every 20 writes the leader is cut off until another one is elected.
    let cut: bigint | undefined;
    c.hub.setDrop((m) => m.from === cut || m.to === cut || rng.float() < 0.15);
    const acked: string[] = [];
    const terms = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const key = `lossy${i}`;
      if (i > 0 && i % 20 === 0) {
        const old = c.running().find((s) => s.node!.isLeader());
        cut = old?.id;
        await waitFor(`a leader other than the cut one (seed ${seed})`, () => c.running().find((s) => s.id !== cut && s.node!.isLeader()));
        cut = undefined;
      }
      await waitFor(`put ${key} acknowledged (seed ${seed})`, async () => {
        const leader = c.running().find((s) => s.node!.isLeader());
        if (leader === undefined) return undefined;
        try {
          await leader.member!.server.put({ key: b(key), value: b(String(i)), ...(i % 3 === 0 ? { prevKv: true } : {}) });
          terms.add(leader.member!.server.term);
          return true;
        } catch (e) {
          if (isCode('ETCD_ERR_RAFT_NOT_LEADER')(e) || isCode('ETCD_ERR_RAFT_LEADER_CHANGED')(e)) return undefined;
          throw e;
        }
      });
      acked.push(key);
    }
    assert.ok(terms.size >= 3, `writes were acknowledged in ${terms.size} terms`);
    c.hub.heal();
    const li = await c.leader();
    const leader = c.slots[li]!.member!;
    // A write through the healed cluster: once applied everywhere, everything before it is too.
    await leader.server.put({ key: b('done'), value: b('1') });
    await c.waitApplied(leader.server.committedIndex);
    const revs = new Set<number>();
    for (const s of c.slots) {
      for (const key of acked) assert.notEqual(await get(s.member!, key, true), undefined, `${s.name} has ${key} (seed ${seed})`);
      revs.add(Number((await s.member!.server.range({ key: b('done'), serializable: true })).header!.revision));
    }
    assert.equal(revs.size, 1, `one store revision on every member (seed ${seed})`);
  } finally {
    await c.close();
  }
});

test('3 members: writes through followers are forwarded to the leader and answered when applied; mixed with the leader\'s own plain puts (answered at commit), every revision is right', async () => {
  const c = new Cluster(3);
  try {
    await c.startAll();
    const li = await c.leader();
    const N = 60;
    // Every member writes at once: the leader's plain puts are answered at commit from predicted
    // revisions, so forwarded entries landing between them must make the prediction unknown
    // (the applier would stop the member on a wrong promise).
    // Each member: 4 writers, each one put after the other, so forwarded entries interleave with
    // the leader's own puts in its log.
    const writer = async (mi: number, w: number): Promise<{ key: string; rev: number }[]> => {
      const out: { key: string; rev: number }[] = [];
      for (let i = 0; i < N / 4; i++) {
        const key = `f${mi}-${w}-${i}`;
        const r = await c.slots[mi]!.member!.server.put({ key: b(key), value: b(`${mi}:${i}`), ...(i % 10 === 9 ? { prevKv: true } : {}) });
        out.push({ key, rev: putRevision(r) });
      }
      return out;
    };
    const acked = (await Promise.all(c.slots.flatMap((_, mi) => [0, 1, 2, 3].map((w) => writer(mi, w))))).flat();
    assert.equal(new Set(acked.map((a) => a.rev)).size, acked.length, 'distinct revisions');
    const leader = c.slots[li]!.member!;
    await c.waitApplied(leader.server.committedIndex);
    for (const s of c.slots) {
      for (const a of acked) {
        const r = await s.member!.server.range({ key: b(a.key), serializable: true });
        assert.equal(Number(r.kvs![0]!.modRevision), a.rev, `${s.name}: ${a.key} at its acknowledged revision`);
      }
    }
  } finally {
    await c.close();
  }
});

test('5 members: writes go on with two members stopped, and stop with three; the stopped ones restart and catch up', async () => {
  const c = new Cluster(5);
  try {
    await c.startAll();
    let li = await c.leader();
    await c.slots[li]!.member!.server.put({ key: b('five'), value: b('1') });
    // Stop two followers: a quorum of three remains.
    const followers = [1, 2, 3, 4].map((d) => (li + d) % 5);
    await c.stop(followers[0]!);
    await c.stop(followers[1]!);
    await c.slots[li]!.member!.server.put({ key: b('five'), value: b('2') });
    // Stop the leader too: two of five cannot elect anyone, and a follower's write times out or finds no leader.
    await c.stop(li);
    const survivor = c.slots[followers[2]!]!.member!;
    await waitFor('the survivors notice the leader is gone', () => c.running().every((s) => !s.node!.isLeader() && s.node!.leaderId === 0n));
    await assert.rejects(survivor.server.put({ key: b('five'), value: b('lost') }), isCode('ETCD_ERR_RAFT_NO_LEADER'));
    // Everyone back: one leader, every acknowledged write everywhere.
    await Promise.all([c.start(followers[0]!), c.start(followers[1]!), c.start(li)]);
    li = await c.leader();
    await c.slots[li]!.member!.server.put({ key: b('five'), value: b('3') });
    await c.waitApplied(c.slots[li]!.member!.server.committedIndex);
    for (const s of c.slots) assert.equal(await get(s.member!, 'five', true), '3', s.name);
  } finally {
    await c.close();
  }
});
