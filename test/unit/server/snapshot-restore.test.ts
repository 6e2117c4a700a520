// Snapshot in etcd's format -> restore: the restored LMDB store equals the original byte for
// byte in every dbi (rev, kidx, latest, tombs, lease_keys, leases) and in its revisions, for a
// history with overwrites, deletes, txns, leases moving keys, and a finished compaction; and a
// restore that fails half-way leaves nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness, b } from '../apply/helpers.js';
import { BoltWriter } from '../../../src/backend/bbolt/writer.js';
import { etcdBuckets } from '../../../src/mvcc/etcd-buckets.js';
import { readMeta } from '../../../src/backend/meta.js';
import { allLeases } from '../../../src/apply/lease-records.js';
import { LmdbBackend, type Dbi } from '../../../src/backend/backend.js';
import { restoreSnapshot, snapshotStatus } from '../../../src/server/snapshot-file.js';
import { hashKv } from '../../../src/mvcc/hash.js';
import { LmdbKvReader } from '../../../src/mvcc/kvstore.js';

function history(h: Harness): void {
  h.apply({ leaseGrant: { ID: 0x1234n, TTL: 600 } });
  h.apply({ leaseGrant: { ID: -5n, TTL: 900 } });
  for (let i = 0; i < 300; i++) h.put(`k/${i % 37}`, `v${i}`.repeat(1 + (i % 7)));
  h.put('leased', 'a', { lease: 0x1234n });
  h.put('leased', 'b', { lease: -5n });
  h.put('leased2', 'c', { lease: 0x1234n });
  h.del('k/1', 'k/2');
  h.txn({ success: [{ requestPut: { key: b('t1'), value: b('x') } }, { requestDeleteRange: { key: b('k/3') } }, { requestPut: { key: b('t2'), value: Buffer.alloc(9000, 1) } }] });
  h.compact(200);
  h.applier.compactor.runToCompletion(50);
  for (let i = 0; i < 40; i++) h.put(`after/${i % 5}`, `w${i}`);
  h.del('after/1');
}

function dump(db: Dbi): string[] {
  return [...db.getRange({})].map(({ key, value }) => `${Buffer.from(key as Buffer).toString('hex')}=${Buffer.from(value as Buffer).toString('hex')}`);
}

test('snapshot -> restore gives the same store, byte for byte', async () => {
  const h = new Harness();
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-restore-'));
  try {
    history(h);
    const file = join(dir, 'snap.db');
    const meta = readMeta(h.backend.meta);
    h.reader.view((v) => {
      const w = BoltWriter.create(file);
      for (const [name, entries] of etcdBuckets(v, {
        members: [{ memberId: 1n, name: 'x', peerUrls: ['http://127.0.0.1:2380'], clientUrls: [] }],
        clusterVersion: '3.6.0', alarms: [], appliedIndex: meta.appliedIndex, term: 1,
        scheduledCompactRev: meta.scheduledCompactRev, leases: allLeases(h.backend.leases, v.opts),
      })) w.bucket(name, entries);
      w.finish();
    });
    appendFileSync(file, createHash('sha256').update(readFileSync(file)).digest());
    const st = snapshotStatus(file);
    assert.equal(st.revision, meta.currentRev);
    const r = await restoreSnapshot({
      snapshotPath: file, dataDir: join(dir, 'restored'), walDir: '', name: 'default',
      initialCluster: 'default=http://localhost:2380', initialClusterToken: 'etcd-cluster',
      initialAdvertisePeerUrls: ['http://localhost:2380'], skipHashCheck: false,
    });
    assert.equal(r.revision, meta.currentRev);
    assert.equal(r.compactedRevision, 200);
    assert.equal(r.leasesRestored, 2);
    const restored = LmdbBackend.open({ path: join(dir, 'restored', 'member', 'snap', 'db'), writable: false });
    try {
      for (const name of ['rev', 'kidx', 'latest', 'tombs', 'leaseKeys', 'leases'] as const) {
        assert.deepEqual(dump(restored[name]), dump(h.backend[name]), name);
      }
      const m = readMeta(restored.meta);
      assert.equal(m.currentRev, meta.currentRev);
      assert.equal(m.compactedRev, meta.compactedRev);
      assert.equal(m.finishedCompactRev, meta.finishedCompactRev);
    } finally {
      await restored.close();
    }
    // A second restore into the same (now non-empty) dir is refused and changes nothing.
    await assert.rejects(() => restoreSnapshot({
      snapshotPath: file, dataDir: join(dir, 'restored'), walDir: '', name: 'default',
      initialCluster: 'default=http://localhost:2380', initialClusterToken: 'etcd-cluster',
      initialAdvertisePeerUrls: ['http://localhost:2380'], skipHashCheck: false,
    }), /not empty/);
    // A key the store cannot hold (over the key limit) fails the restore half-way: nothing is left.
    const bad = join(dir, 'bad.db');
    const w = BoltWriter.create(bad);
    const kv = (key: Buffer, main: number): [Buffer, Buffer] => {
      const k = Buffer.alloc(17);
      k.writeBigUInt64BE(BigInt(main));
      k[8] = 0x5f;
      return [k, Buffer.concat([Buffer.from([0x0a, 0xd0, 0x0f]), key, Buffer.from([0x10, main, 0x18, main, 0x20, 1])])];
    };
    w.bucket(b('key') as Buffer, [kv(Buffer.from('ok'), 2), kv(Buffer.alloc(2000, 0x61), 3)].map(([k, v], i) => (i === 0 ? [k, Buffer.from([0x0a, 2, 0x6f, 0x6b, 0x10, 2, 0x18, 2, 0x20, 1])] : [k, v])));
    w.bucket(b('meta') as Buffer, []);
    w.finish();
    await assert.rejects(() => restoreSnapshot({
      snapshotPath: bad, dataDir: join(dir, 'bad-out'), walDir: '', name: 'default',
      initialCluster: 'default=http://localhost:2380', initialClusterToken: 'etcd-cluster',
      initialAdvertisePeerUrls: ['http://localhost:2380'], skipHashCheck: true,
    }), /cannot be stored/);
    assert.equal(existsSync(join(dir, 'bad-out')), false);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot taken while a compaction is still being carried out holds what it will keep', async () => {
  const h = new Harness();
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-restore-'));
  try {
    for (let i = 0; i < 400; i++) h.put(`k/${i % 23}`, `v${i}`);
    h.del('k/1', 'k/3');
    h.compact(300); // logical now; physical deletion not run
    assert.ok(readMeta(h.backend.meta).scheduledCompactRev === 300);
    for (let i = 0; i < 10; i++) h.put(`k/${i}`, `after${i}`);
    const file = join(dir, 'snap.db');
    const meta = readMeta(h.backend.meta);
    const want = h.reader.view((v) => {
      const w = BoltWriter.create(file);
      for (const [name, entries] of etcdBuckets(v, {
        members: [], clusterVersion: '3.6.0', alarms: [], appliedIndex: meta.appliedIndex, term: 1,
        scheduledCompactRev: meta.scheduledCompactRev, leases: [],
      })) w.bucket(name, entries);
      w.finish();
      return [hashKv(v, 0), hashKv(v, 305)];
    });
    appendFileSync(file, createHash('sha256').update(readFileSync(file)).digest());
    await restoreSnapshot({
      snapshotPath: file, dataDir: join(dir, 'r'), walDir: '', name: 'default',
      initialCluster: 'default=http://localhost:2380', initialClusterToken: 'etcd-cluster',
      initialAdvertisePeerUrls: ['http://localhost:2380'], skipHashCheck: false,
    });
    const restored = LmdbBackend.open({ path: join(dir, 'r', 'member', 'snap', 'db'), writable: false });
    try {
      const got = new LmdbKvReader(restored).view((v) => [hashKv(v, 0), hashKv(v, 305)]);
      assert.deepEqual(got, want);
      // The original, once its compaction finishes, holds exactly what the snapshot held.
      h.applier.compactor.runToCompletion(50);
      assert.deepEqual(dump(restored.rev), dump(h.backend.rev));
    } finally {
      await restored.close();
    }
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
