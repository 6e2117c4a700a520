/**
 * Raft snapshots between full members in one process (EtcdServer, WAL, LMDB, ONE_THREAD) on a
 * LocalPeerHub with the snapshot path (docs/cluster.md, "Snapshots to lagging followers"):
 *
 * - a follower cut off while the leader writes past the catch-up window (and goes on writing
 *   while the snapshot is in flight) catches up by snapshot: every acknowledged write on it at
 *   the leader's revision; a watcher open on it the whole time gets every event once, in order
 *   (the snapshot's jump comes from LMDB history); it then serves linearizable reads and
 *   restarts from its WAL (the snapshot marker) and store;
 * - a snapshot transfer cut off half way fails, nothing is installed, and Raft sends a new one;
 * - a seeded lossy network (10 % of messages dropped, one member cut off for 40 writes at a
 *   time, 20 % of snapshot bodies cut half way; RAFT_NODE_SEED): every acknowledged write on
 *   every member at its revision, one store revision.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalPeerHub } from '../../../src/server/peer/local-hub.js';
import { mvccpb, etcdserverpb } from '../../../src/proto/pb.js';
import { Cluster, b, get, isCode, str, waitFor } from './raft-cluster.js';
import { SeededRng } from '../../../src/raft/index.js';

function snapshotCluster(): { c: Cluster; hub: LocalPeerHub } {
  const hub = new LocalPeerHub({ snapshots: true });
  const c = new Cluster(3, ['--snapshot-count', '20'], 10, (i, cl) => hub.join(cl.slots[i]!.id));
  return { c, hub };
}

test('a follower cut off past the catch-up window catches up by snapshot; its watcher sees every event once; it restarts from the snapshot', async () => {
  const { c, hub } = snapshotCluster();
  try {
    await c.startAll();
    const li = await c.leader();
    const leader = c.slots[li]!;
    const fi = (li + 1) % 3;
    const follower = c.slots[fi]!;
    await leader.member!.server.put({ key: b('w/000'), value: b('first') });
    await c.waitApplied(leader.member!.server.committedIndex);

    // A watcher on the follower, from now on, for the whole test.
    const seen: { key: string; rev: number }[] = [];
    const stream = follower.member!.watchHub.openStream((bytes) => {
      const r = etcdserverpb.WatchResponse.decode(bytes);
      for (const e of r.events) if (e.type === mvccpb.Event.EventType.PUT) seen.push({ key: str(e.kv!.key), rev: Number(e.kv!.modRevision) });
      return true;
    });
    await stream.create({ key: b('w/'), rangeEnd: b('w0') });
    const firstRev = Number((await leader.member!.server.range({ key: b('w/000') })).kvs![0]!.modRevision);

    hub.isolate(follower.id);
    const acked: { key: string; rev: number }[] = [];
    const put = async (i: number): Promise<void> => {
      const key = `w/${String(i).padStart(3, '0')}`;
      const r = await leader.member!.server.put({ key: b(key), value: b(String(i)) });
      acked.push({ key, rev: Number(etcdserverpb.PutResponse.decode(r).header!.revision) });
    };
    for (let i = 1; i <= 200; i++) await put(i);
    await waitFor('the leader released the log past the follower', () => leader.node!.firstLogIndex > follower.member!.server.appliedIndex + 1);
    hub.heal();
    // Writes go on while the snapshot is taken and sent.
    for (let i = 201; i <= 260; i++) await put(i);
    await c.waitApplied(leader.member!.server.committedIndex);
    assert.ok((follower.snapshots?.stats.installed ?? 0) >= 1, `the follower installed a snapshot (${JSON.stringify(follower.snapshots?.stats)})`);
    assert.ok((leader.snapshots?.stats.sendSuccess ?? 0) >= 1, 'the leader sent it');
    assert.deepEqual(readdirSync(join(follower.dir, 'member', 'snap')).filter((f) => f.includes('snap.lmdb') || f.startsWith('raft-')), [], 'no snapshot file left behind');
    for (const a of acked) {
      const r = await follower.member!.server.range({ key: b(a.key), serializable: true });
      assert.equal(Number(r.kvs?.[0]?.modRevision), a.rev, `${a.key} at its acknowledged revision on the follower`);
    }
    // The watcher (created after w/000 was applied there): every later event, once, in order
    // (the snapshot's jump came from LMDB history).
    const want = acked;
    assert.ok(want[0]!.rev === firstRev + 1, 'the first write after the watcher is the next revision');
    await waitFor(
      () => `the follower's watcher got ${want.length} events (has ${seen.length}; missing ${JSON.stringify(want.filter((w) => !seen.some((x) => x.key === w.key)).slice(0, 5))}; first seen ${JSON.stringify(seen.slice(0, 3))})`,
      () => seen.length >= want.length,
    );
    assert.deepEqual(seen, want);

    // Linearizable reads on the follower, and a restart from the snapshot marker.
    assert.equal(await get(follower.member!, 'w/260'), '260');
    await c.stop(fi);
    await leader.member!.server.put({ key: b('w/261'), value: b('261') });
    const back = await c.start(fi);
    await c.waitApplied(leader.member!.server.committedIndex);
    assert.equal(await get(back, 'w/261', true), '261');
    assert.equal(await get(back, 'w/100', true), '100');
  } finally {
    await c.close();
  }
});

test('a snapshot transfer cut off half way installs nothing; Raft sends another, which lands', async () => {
  const { c, hub } = snapshotCluster();
  try {
    await c.startAll();
    const li = await c.leader();
    const leader = c.slots[li]!;
    const fi = (li + 1) % 3;
    const follower = c.slots[fi]!;
    hub.isolate(follower.id);
    for (let i = 0; i < 150; i++) await leader.member!.server.put({ key: b(`cut/${i}`), value: b(`${i}`) });
    await waitFor('the leader released the log past the follower', () => leader.node!.firstLogIndex > follower.member!.server.appliedIndex + 1);
    let cuts = 0;
    hub.setSnapshotCut(() => cuts++ === 0); // the first body ends half way
    hub.heal();
    await c.waitApplied(leader.member!.server.committedIndex);
    assert.equal(cuts >= 2, true, `a second transfer was made (${cuts})`);
    assert.ok((leader.snapshots?.stats.sendFailures ?? 0) >= 1, 'the cut transfer failed on the leader');
    assert.ok((follower.snapshots?.stats.receiveFailures ?? 0) >= 1, 'and was refused by the follower');
    assert.equal(follower.snapshots?.stats.installed, 1, 'one snapshot installed');
    assert.equal(await get(follower.member!, 'cut/149', true), '149');
    assert.deepEqual(readdirSync(join(follower.dir, 'member', 'snap')).filter((f) => f.includes('snap.lmdb') || f.startsWith('raft-')), []);
  } finally {
    await c.close();
  }
});

test('3 members on a lossy network with a small catch-up window (seeded): followers cut off take snapshots while leaders come and go; every acknowledged write on every member', async () => {
  const seed = Number(process.env['RAFT_NODE_SEED'] ?? 11);
  const rng = new SeededRng(seed);
  const { c, hub } = snapshotCluster();
  try {
    await c.startAll();
    // Every 40 writes one member (the leader, or a follower) is cut off for the next 40.
    let cut: bigint | undefined;
    hub.setDrop((m) => m.from === cut || m.to === cut || rng.float() < 0.1);
    hub.setSnapshotCut(() => rng.float() < 0.2);
    const acked: { key: string; rev: number }[] = [];
    for (let i = 0; i < 240; i++) {
      if (i % 40 === 0) cut = c.slots[Math.floor(rng.float() * 3)]!.id;
      const key = `lossy/${i}`;
      await waitFor(`put ${key} acknowledged (seed ${seed}; ${c.describe()})`, async () => {
        const leader = c.running().find((s) => s.node!.isLeader() && s.id !== cut);
        if (leader === undefined) return undefined;
        try {
          const r = await leader.member!.server.put({ key: b(key), value: b(String(i)) });
          acked.push({ key, rev: Number(etcdserverpb.PutResponse.decode(r).header!.revision) });
          return true;
        } catch (e) {
          if (isCode('ETCD_ERR_RAFT_NOT_LEADER')(e) || isCode('ETCD_ERR_RAFT_LEADER_CHANGED')(e) || isCode('ETCD_ERR_SERVER_TIMEOUT')(e)) return undefined;
          throw e;
        }
      });
    }
    cut = undefined;
    hub.heal();
    const li = await c.leader();
    const leader = c.slots[li]!.member!;
    await leader.server.put({ key: b('lossy/done'), value: b('1') });
    await c.waitApplied(leader.server.committedIndex);
    const installed = c.slots.reduce((n, s) => n + (s.snapshots?.stats.installed ?? 0), 0);
    assert.ok(installed >= 1, `snapshots were installed (seed ${seed})`);
    const revs = new Set<number>();
    for (const s of c.slots) {
      for (const a of acked) {
        const r = await s.member!.server.range({ key: b(a.key), serializable: true });
        assert.equal(Number(r.kvs?.[0]?.modRevision), a.rev, `${s.name} has ${a.key} at ${a.rev} (seed ${seed})`);
      }
      revs.add(Number((await s.member!.server.range({ key: b('lossy/done'), serializable: true })).header!.revision));
    }
    assert.equal(revs.size, 1, `one store revision on every member (seed ${seed})`);
  } finally {
    await c.close();
  }
});
