/**
 * KV semantics through every way in (style rule 14): the same test body runs through the
 * etcd3 npm client, the real etcdctl 3.4 (-w json) and, once built, our bin/etcdctl. Each client
 * gets a fresh member, so revisions are exact: a fresh member is at revision 1.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster } from './framework/hooks.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';
import {
  ALL_KV_CLIENTS,
  ClientError,
  kvClientUnavailableReason,
  makeKvClient,
  type Kv,
  type KvClient,
} from './framework/clients.js';
import { Etcd3 } from 'etcd3';

const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';
const FUTURE = 'etcdserver: mvcc: required revision is a future revision';

function kv(key: string, value: string, createRevision: number, modRevision: number, version: number): Kv {
  return { key, value, createRevision, modRevision, version, lease: 0 };
}

async function rejectsWith(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ClientError, `expected a ClientError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

for (const name of ALL_KV_CLIENTS) {
  const skip = serverUnavailableReason() ?? kvClientUnavailableReason(name) ?? false;
  describe(`KV through ${name}`, { skip, timeout: SUITE_TIMEOUT_MS }, () => {
    const cluster = useCluster({ name: 'kv' });
    let c: KvClient;
    before(() => {
      c = makeKvClient(name, cluster.c.endpoints);
    });
    after(() => c?.close());

    it('a fresh member is at revision 1 and empty', async () => {
      const r = await c.get('', { fromKey: true });
      assert.deepEqual(r, { revision: 1, kvs: [], count: 0, more: false });
    });

    it('put creates a key at the next revision; get returns it', async () => {
      assert.equal((await c.put('a', '1')).revision, 2);
      const r = await c.get('a');
      assert.deepEqual(r, { revision: 2, kvs: [kv('a', '1', 2, 2, 1)], count: 1, more: false });
    });

    it('put --prev-kv returns the previous pair and bumps version', async () => {
      const r = await c.put('a', '2', { prevKv: true });
      assert.equal(r.revision, 3);
      assert.deepEqual(r.prevKv, kv('a', '1', 2, 2, 1));
      assert.deepEqual((await c.get('a')).kvs, [kv('a', '2', 2, 3, 2)]);
    });

    it('range by prefix, limit (more, count), from-key', async () => {
      // values run opposite to keys so sorting by VALUE differs from sorting by KEY
      const vals = ['e', 'd', 'c', 'b', 'a'];
      for (const [i, v] of vals.entries()) assert.equal((await c.put(`p/${i + 1}`, v)).revision, 4 + i);
      const all = await c.get('p/', { prefix: true });
      assert.equal(all.revision, 8);
      assert.equal(all.count, 5);
      assert.equal(all.more, false);
      assert.deepEqual(all.kvs.map((k) => k.key), ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
      assert.deepEqual(all.kvs[0], kv('p/1', 'e', 4, 4, 1));

      const lim = await c.get('p/', { prefix: true, limit: 2 });
      assert.deepEqual(lim.kvs.map((k) => k.key), ['p/1', 'p/2']);
      assert.equal(lim.count, 5, 'count is the whole range, not the page');
      assert.equal(lim.more, true);

      const exact = await c.get('p/', { prefix: true, limit: 5 });
      assert.equal(exact.more, false);
      assert.equal(exact.kvs.length, 5);

      const from = await c.get('p/3', { fromKey: true });
      assert.deepEqual(from.kvs.map((k) => k.key), ['p/3', 'p/4', 'p/5']);
      const everything = await c.get('', { fromKey: true });
      assert.deepEqual(everything.kvs.map((k) => k.key), ['a', 'p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
      assert.equal((await c.get('nope')).count, 0);
    });

    it('sort order and target', async () => {
      const keys = async (o: Parameters<KvClient['get']>[1]): Promise<string[]> =>
        (await c.get('p/', { prefix: true, ...o })).kvs.map((k) => k.key);
      assert.deepEqual(await keys({ sortOrder: 'DESCEND' }), ['p/5', 'p/4', 'p/3', 'p/2', 'p/1']);
      assert.deepEqual(await keys({ sortTarget: 'VALUE', sortOrder: 'ASCEND' }), ['p/5', 'p/4', 'p/3', 'p/2', 'p/1']);
      assert.deepEqual(await keys({ sortTarget: 'VALUE', sortOrder: 'DESCEND' }), ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
      assert.deepEqual(await keys({ sortTarget: 'CREATE', sortOrder: 'DESCEND' }), ['p/5', 'p/4', 'p/3', 'p/2', 'p/1']);
      assert.deepEqual(await keys({ sortTarget: 'MODIFY', sortOrder: 'ASCEND' }), ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
      // equal versions: ties keep key order in both directions
      assert.deepEqual(await keys({ sortTarget: 'VERSION', sortOrder: 'DESCEND' }), ['p/1', 'p/2', 'p/3', 'p/4', 'p/5']);
      // sort then limit: the limit applies to the sorted result
      assert.deepEqual(await keys({ sortTarget: 'VALUE', sortOrder: 'ASCEND', limit: 2 }), ['p/5', 'p/4']);
    });

    it('keys-only and count-only', async () => {
      const ko = await c.get('p/', { prefix: true, keysOnly: true });
      assert.deepEqual(ko.kvs.map((k) => [k.key, k.value, k.modRevision]), [
        ['p/1', '', 4], ['p/2', '', 5], ['p/3', '', 6], ['p/4', '', 7], ['p/5', '', 8],
      ]);
      if (c.supportsCountOnly) {
        const co = await c.get('p/', { prefix: true, countOnly: true });
        assert.deepEqual(co, { revision: 8, kvs: [], count: 5, more: false });
      }
    });

    it('reads at a past revision, serializable reads', async () => {
      assert.deepEqual((await c.get('a', { revision: 2 })).kvs, [kv('a', '1', 2, 2, 1)]);
      assert.deepEqual((await c.get('a', { revision: 3 })).kvs, [kv('a', '2', 2, 3, 2)]);
      const r5 = await c.get('p/', { prefix: true, revision: 5 });
      assert.deepEqual(r5.kvs.map((k) => k.key), ['p/1', 'p/2']);
      assert.equal(r5.revision, 8, 'header revision is the current one, not the one read at');
      assert.deepEqual((await c.get('a', { revision: 1 })).kvs, []);
      const s = await c.get('a', { serializable: true });
      assert.deepEqual(s, { revision: 8, kvs: [kv('a', '2', 2, 3, 2)], count: 1, more: false });
      await rejectsWith(c.get('a', { revision: 9 }), FUTURE);
    });

    it('delete: one key, prefix with prev kvs, missing key (no new revision)', async () => {
      assert.deepEqual(await c.del('p/5'), { revision: 9, deleted: 1, prevKvs: [] });
      const d = await c.del('p/', { prefix: true, prevKv: true });
      assert.equal(d.revision, 10);
      assert.equal(d.deleted, 4);
      assert.deepEqual(d.prevKvs.map((k) => k.key), ['p/1', 'p/2', 'p/3', 'p/4']);
      assert.deepEqual(d.prevKvs[0], kv('p/1', 'e', 4, 4, 1));
      assert.deepEqual(await c.del('p/', { prefix: true }), { revision: 10, deleted: 0, prevKvs: [] });
      // the deleted keys are still readable at an earlier revision
      assert.equal((await c.get('p/', { prefix: true, revision: 9 })).count, 4);
      assert.equal((await c.get('p/', { prefix: true })).count, 0);
      // re-creating a deleted key starts a new generation: version 1, new create revision
      assert.equal((await c.put('p/1', 'again')).revision, 11);
      assert.deepEqual((await c.get('p/1')).kvs, [kv('p/1', 'again', 11, 11, 1)]);
    });

    it('txn: if/then/else, read-only txns do not bump the revision', async () => {
      const t1 = await c.txn([{ key: 'a', target: 'value', result: '=', value: '2' }], [{ put: { key: 'b', value: 'x' } }, { get: { key: 'a' } }], [{ get: { key: 'b' } }]);
      assert.equal(t1.succeeded, true);
      assert.equal(t1.revision, 12);
      assert.deepEqual(t1.gets, [[kv('a', '2', 2, 3, 2)]]);

      const t2 = await c.txn([{ key: 'a', target: 'version', result: '=', value: 5 }], [{ put: { key: 'b', value: 'y' } }], [{ get: { key: 'b' } }]);
      assert.equal(t2.succeeded, false);
      assert.equal(t2.revision, 12, 'a txn that only reads does not create a revision');
      assert.deepEqual(t2.gets, [[kv('b', 'x', 12, 12, 1)]]);

      const t3 = await c.txn(
        [
          { key: 'a', target: 'mod', result: '<', value: 100 },
          { key: 'a', target: 'create', result: '=', value: 2 },
          { key: 'b', target: 'version', result: '>', value: 0 },
        ],
        [{ put: { key: 'c', value: '1' } }, { put: { key: 'd', value: '1' } }, { del: { key: 'b' } }],
        [],
      );
      assert.equal(t3.succeeded, true);
      assert.equal(t3.revision, 13, 'all writes of one txn share one revision');
      const cd = await c.get('c', { rangeEnd: 'e' });
      assert.deepEqual(cd.kvs, [kv('c', '1', 13, 13, 1), kv('d', '1', 13, 13, 1)]);
      assert.equal((await c.get('b')).count, 0);

      // comparing the value of a key that does not exist is false, whatever the operator
      const t4 = await c.txn([{ key: 'missing', target: 'value', result: '!=', value: 'x' }], [{ put: { key: 'e', value: '1' } }], []);
      assert.equal(t4.succeeded, false);
      assert.equal(t4.revision, 13);
      // ...but version/create/mod of a missing key compare as 0
      const t5 = await c.txn([{ key: 'missing', target: 'version', result: '=', value: 0 }], [], []);
      assert.equal(t5.succeeded, true);
      assert.equal(t5.revision, 13);
    });

    it('compaction: old revisions gone, compact revision still readable, errors change nothing', async () => {
      await c.compact(5);
      await rejectsWith(c.get('a', { revision: 4 }), COMPACTED);
      assert.deepEqual((await c.get('a', { revision: 5 })).kvs, [kv('a', '2', 2, 3, 2)]);
      await rejectsWith(c.compact(5), COMPACTED);
      await rejectsWith(c.compact(3), COMPACTED);
      await rejectsWith(c.compact(14), FUTURE);
      await c.compact(10, true);
      await rejectsWith(c.get('p/', { prefix: true, revision: 9 }), COMPACTED);
      assert.equal((await c.get('p/', { prefix: true, revision: 10 })).count, 0);
      const now = await c.get('', { fromKey: true });
      assert.equal(now.revision, 13, 'compaction does not create a revision');
      assert.deepEqual(now.kvs.map((k) => k.key), ['a', 'c', 'd', 'p/1']);
    });
  });
}

describe('etcd3 high-level API', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'etcd3' });
  let client: Etcd3;
  before(() => {
    client = new Etcd3({ hosts: cluster.c.endpoints.map((e) => `http://${e}`) });
  });
  after(() => client?.close());

  it('put/get/getAll/delete/if-else through the builder API', async () => {
    await client.put('cfg/a').value('1');
    await client.put('cfg/b').value('2');
    assert.equal(await client.get('cfg/a').string(), '1');
    assert.equal(await client.get('cfg/none').string(), null);
    assert.deepEqual(await client.getAll().prefix('cfg/').strings(), { 'cfg/a': '1', 'cfg/b': '2' });
    assert.equal(await client.getAll().prefix('cfg/').count(), 2);
    const ok = await client.if('cfg/a', 'Value', '==', '1').then(client.put('cfg/a').value('10')).else(client.put('cfg/c').value('x')).commit();
    assert.equal(ok.succeeded, true);
    const no = await client.if('cfg/a', 'Value', '==', '1').then(client.put('cfg/a').value('11')).else(client.put('cfg/c').value('x')).commit();
    assert.equal(no.succeeded, false);
    assert.deepEqual(await client.getAll().prefix('cfg/').strings(), { 'cfg/a': '10', 'cfg/b': '2', 'cfg/c': 'x' });
    await client.delete().prefix('cfg/');
    assert.equal(await client.getAll().prefix('cfg/').count(), 0);
  });
});
