/**
 * Disaster recovery, as an etcd operator does it (docs/cluster.md, "Disaster recovery"): a cluster
 * that is gone for good comes back from a snapshot. `etcdctl snapshot save` of a member, then
 * `snapshot restore` into three new data dirs (each with its --name, --initial-cluster,
 * --initial-cluster-token, --initial-advertise-peer-urls), then three members started on them.
 * Checked on every member: the same keys at the same revisions as the source, the same HashKV,
 * the lease and its key, a membership of the three new members with their names and client URLs,
 * and then concurrent writes through every member that all converge.
 *
 * The restore tool follows the server under test: our bin/etcdutl for etcd-ts, the real etcdctl
 * 3.4's `snapshot restore` for the real etcd (ETCD_TEST_SERVER=real), which proves the test.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Cluster, type Member } from './framework/cluster.js';
import { runEtcdctl, runCommand, etcdctlUnavailableReason, etcdctlEnv } from './framework/etcdctl.js';
import { REPO_ROOT, SUITE_TIMEOUT_MS, makeTempDir, serverKind, serverUnavailableReason, sleep } from './framework/process.js';

const skip = serverUnavailableReason() ?? etcdctlUnavailableReason() ?? false;
const TOKEN = 'dr-token';

async function ctl(endpoints: string | string[], args: string[]): Promise<string> {
  const r = await runEtcdctl(Array.isArray(endpoints) ? endpoints : [endpoints], args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

type Kv = { key: string; value?: string; create_revision: number; mod_revision: number; version: number; lease?: number };

async function everything(endpoint: string, consistency: 'l' | 's' = 's'): Promise<{ kvs: Kv[]; revision: number }> {
  const j = JSON.parse(await ctl(endpoint, ['get', '', '--from-key', '--consistency', consistency, '-w', 'json'])) as { kvs?: Kv[]; header: { revision: number } };
  return { kvs: j.kvs ?? [], revision: j.header.revision };
}

async function hashAt(endpoint: string, rev: number): Promise<number> {
  const j = JSON.parse(await ctl(endpoint, ['endpoint', 'hashkv', '--rev', String(rev), '-w', 'json'])) as { HashKV: { hash: number } }[];
  return j[0]!.HashKV.hash;
}

/** `snapshot restore` of `snap` into the member's data dir, with the tool of the server under test. */
async function restore(snap: string, m: Member, initialCluster: string): Promise<void> {
  const flags = ['--data-dir', m.dataDir, '--name', m.name, '--initial-cluster', initialCluster, '--initial-cluster-token', TOKEN, '--initial-advertise-peer-urls', m.peerUrl];
  const r =
    serverKind() === 'real'
      ? await runEtcdctl([], ['snapshot', 'restore', snap, ...flags])
      : await runCommand(process.execPath, [join(REPO_ROOT, 'bin', 'etcdutl'), 'snapshot', 'restore', snap, ...flags], undefined, 120_000, etcdctlEnv());
  assert.equal(r.code, 0, `snapshot restore into ${m.dataDir} failed: ${r.stderr}`);
}

describe('disaster recovery: one snapshot restored into a new 3-member cluster', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  let source: Cluster | undefined;
  let restored: Cluster | undefined;
  let snap: string;
  let want: { kvs: Kv[]; revision: number };
  let wantHash: number;
  let leaseHex = '';

  before(async () => {
    snap = join(makeTempDir('etcd-ts-dr-'), 'snap.db');
    source = await Cluster.start({ name: 'dr-src' });
    for (let i = 0; i < 200; i++) await ctl(source.endpoint, ['put', `k/${i % 70}`, `v-${i}`]);
    await ctl(source.endpoint, ['del', 'k/1', '--prefix']);
    const granted = /lease ([0-9a-f]+) granted/.exec(await ctl(source.endpoint, ['lease', 'grant', '3600']));
    leaseHex = granted![1]!;
    await ctl(source.endpoint, ['put', 'leased', 'yes', '--lease', leaseHex]);
    want = await everything(source.endpoint);
    wantHash = await hashAt(source.endpoint, want.revision);
    await ctl(source.endpoint, ['snapshot', 'save', snap]);
    // The old cluster is gone for good.
    await source.close();
    source = undefined;
    restored = await Cluster.start({
      name: 'dr',
      size: 3,
      extraFlags: ['--initial-cluster-token', TOKEN],
      prepare: async (members, initialCluster) => {
        for (const m of members) await restore(snap, m, initialCluster);
      },
    });
  });

  after(async () => {
    await source?.close();
    await restored?.close();
  });

  it('every member holds the snapshot: same keys, values and revisions, same HashKV', async () => {
    for (const m of restored!.members) {
      const got = await everything(m.endpoint);
      assert.equal(got.revision, want.revision, `${m.name}: revision`);
      assert.deepEqual(
        got.kvs.map(({ key, value, create_revision, mod_revision, version }) => ({ key, value, create_revision, mod_revision, version })),
        want.kvs.map(({ key, value, create_revision, mod_revision, version }) => ({ key, value, create_revision, mod_revision, version })),
        `${m.name}: keys`,
      );
      assert.equal(await hashAt(m.endpoint, want.revision), wantHash, `${m.name}: HashKV at ${want.revision}`);
    }
  });

  it('the lease came back with its key', async () => {
    const ttl = JSON.parse(await ctl(restored!.endpoints, ['lease', 'timetolive', leaseHex, '--keys', '-w', 'json'])) as { ttl: number; keys?: string[] };
    assert.ok(ttl.ttl > 0, `lease ${leaseHex} TTL ${ttl.ttl}`);
    assert.deepEqual((ttl.keys ?? []).map((k) => Buffer.from(k, 'base64').toString()), ['leased']);
  });

  it('the membership is the three new members, with their names and client URLs', async () => {
    const want3 = restored!.members.map((m) => ({ name: m.name, peer: m.peerUrl, client: m.clientUrl })).sort((a, b) => a.name.localeCompare(b.name));
    let got: typeof want3 = [];
    // Each member publishes its name and client URLs through the log once it runs.
    for (let i = 0; i < 100; i++) {
      const j = JSON.parse(await ctl(restored!.endpoints, ['member', 'list', '-w', 'json'])) as { members: { name?: string; peerURLs: string[]; clientURLs?: string[] }[] };
      got = j.members.map((x) => ({ name: x.name ?? '', peer: x.peerURLs[0] ?? '', client: x.clientURLs?.[0] ?? '' })).sort((a, b) => a.name.localeCompare(b.name));
      if (got.every((x) => x.client !== '' && x.name !== '')) break;
      await sleep(100);
    }
    assert.deepEqual(got, want3);
  });

  it('concurrent writes through every member converge on every member', async () => {
    const members = restored!.members;
    await Promise.all(
      members.map(async (m, w) => {
        for (let i = 0; i < 25; i++) await ctl(m.endpoint, ['put', `after/${w}/${i}`, `x${i}`]);
      }),
    );
    const last = await everything(members[0]!.endpoint, 'l');
    assert.equal(last.revision, want.revision + members.length * 25);
    for (const m of members) {
      // Serializable reads on a follower may trail the commit for a moment: wait for the revision.
      let got = await everything(m.endpoint);
      for (let i = 0; i < 100 && got.revision < last.revision; i++) {
        await sleep(50);
        got = await everything(m.endpoint);
      }
      assert.equal(got.revision, last.revision, `${m.name}: revision`);
      assert.equal(got.kvs.length, last.kvs.length, `${m.name}: key count`);
    }
    const hashes = await Promise.all(members.map((m) => hashAt(m.endpoint, last.revision)));
    assert.equal(new Set(hashes).size, 1, `HashKV at ${last.revision}: ${hashes.join(', ')}`);
  });
});
