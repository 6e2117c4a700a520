/**
 * What must survive a restart on the same data dir, graceful (SIGTERM) or not (kill -9):
 * keys and their metadata, the revision counter, history, and the compaction point (a
 * compacted revision stays compacted; the revision never goes back).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';
import { status as Status } from '@grpc/grpc-js';

const b = (s: string): Buffer => Buffer.from(s);

describe('state survives restarts', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    await cluster?.close();
  });

  for (const how of ['SIGTERM', 'kill -9'] as const) {
    it(`keys, revision, history and compaction survive a restart after ${how}`, async () => {
      cluster = await Cluster.start({ name: 'restart' });
      const c = cluster;
      try {
        let raw = new RawEtcdClient(c.endpoint);
        // revisions 2..11: k0..k4 twice each
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < 5; i++) {
            const r = await raw.put({ key: b(`k${i}`), value: b(`v${round}-${i}`) });
            assert.ok(r.ok);
          }
        }
        const del = await raw.deleteRange({ key: b('k4') }); // 12
        assert.ok(del.ok && Number(del.value.header?.revision) === 12);
        assert.ok((await raw.compact({ revision: 4 })).ok);
        raw.close();

        if (how === 'SIGTERM') await c.stop();
        else await c.kill9();
        await c.restart();

        raw = new RawEtcdClient(c.endpoint);
        try {
          const all = await raw.range({ key: b('k'), rangeEnd: b('l') });
          if (!all.ok) assert.fail(all.error.details);
          assert.equal(Number(all.value.header?.revision), 12, 'the revision survives');
          assert.deepEqual(
            all.value.kvs.map((kv) => [Buffer.from(kv.key ?? []).toString(), Buffer.from(kv.value ?? []).toString(), Number(kv.createRevision), Number(kv.modRevision), Number(kv.version)]),
            [
              ['k0', 'v1-0', 2, 7, 2],
              ['k1', 'v1-1', 3, 8, 2],
              ['k2', 'v1-2', 4, 9, 2],
              ['k3', 'v1-3', 5, 10, 2],
            ],
          );
          // history after the compaction point is still there
          const old = await raw.range({ key: b('k4'), revision: 11 });
          if (!old.ok) assert.fail(old.error.details);
          assert.equal(Buffer.from(old.value.kvs[0]?.value ?? []).toString(), 'v1-4');
          const k2at5 = await raw.range({ key: b('k2'), revision: 5 });
          assert.ok(k2at5.ok && Buffer.from(k2at5.value.kvs[0]?.value ?? []).toString() === 'v0-2');
          // the compaction point survives
          const gone = await raw.range({ key: b('k0'), revision: 3 });
          assert.ok(!gone.ok, 'a compacted revision must stay compacted after a restart');
          assert.equal(gone.error.code, Status.OUT_OF_RANGE);
          assert.equal(gone.error.details, 'etcdserver: mvcc: required revision has been compacted');
          const again = await raw.compact({ revision: 4 });
          assert.ok(!again.ok && again.error.details === 'etcdserver: mvcc: required revision has been compacted');
          // and the next write continues the sequence
          const next = await raw.put({ key: b('k9'), value: b('after') });
          assert.ok(next.ok);
          assert.equal(Number(next.value.header?.revision), 13);
          // a deleted key stays deleted; re-creating it starts a new generation
          const k4 = await raw.put({ key: b('k4'), value: b('new') });
          assert.ok(k4.ok);
          const k4r = await raw.range({ key: b('k4') });
          assert.ok(k4r.ok);
          assert.deepEqual([Number(k4r.value.kvs[0]?.createRevision), Number(k4r.value.kvs[0]?.version)], [14, 1]);
        } finally {
          raw.close();
        }
      } catch (err) {
        reportServerLog(c, `restart after ${how}`);
        throw err;
      } finally {
        await c.close();
        cluster = undefined;
      }
    });
  }
});
