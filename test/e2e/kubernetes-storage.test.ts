/**
 * The requests kube-apiserver's etcd3 storage layer sends, in the shapes it sends them, and the
 * answers it relies on. Kubernetes is etcd's main user: if one of these answers differs, an
 * apiserver on etcd-ts misbehaves (lost updates, a list that never ends, a watch that skips).
 *
 * Shapes (k8s.io/apiserver/pkg/storage/etcd3, facts only):
 *   create   Txn If(mod_revision(key) = 0) Then(Put(key, lease?))            no Else
 *   update   Txn If(mod_revision(key) = R) Then(Put(key))       Else(Range(key))
 *   delete   Txn If(mod_revision(key) = R) Then(DeleteRange(key)) Else(Range(key))
 *   get      Range(key), linearizable
 *   list     Range(prefix, range_end, limit, revision = the first page's header revision),
 *            next page from last key + "\x00"; `more` and `count` give "remaining items"
 *   count    Range(prefix, range_end, count_only)
 *   compact  Txn If(version("compact_rev_key") = t) Then(Put("compact_rev_key", rev))
 *            Else(Range("compact_rev_key")), then Compact(rev)
 *   watch    Watch(prefix, start_revision = R + 1, prev_kv, progress_notify), and
 *            progress requests on the stream (consistent reads from the watch cache)
 *   leases   LeaseGrant(ttl), then puts with that lease (events with a TTL)
 *
 * Run against etcd-ts and, in CI, the real etcd 3.4 (ETCD_TEST_SERVER=real): same assertions.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { status as Status } from '@grpc/grpc-js';
import { useCluster } from './framework/hooks.js';
import { RawEtcdClient, RawWatchStream } from './framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';
import type { etcdserverpb } from '../../src/proto/pb.js';

const b = (s: string): Buffer => Buffer.from(s);
const str = (u: Uint8Array | null | undefined): string => Buffer.from(u ?? []).toString();

// etcdserverpb.Compare enums: result EQUAL = 0; target VERSION = 0, MOD = 2.
const EQUAL = 0;
const TARGET_VERSION = 0;
const TARGET_MOD = 2;

function ok<T>(r: { ok: true; value: T } | { ok: false; error: { code: number; details: string } }): T {
  if (!r.ok) assert.fail(`expected success, got ${Status[r.error.code]} "${r.error.details}"`);
  return r.value;
}

/** The apiserver's storage calls, over raw gRPC. */
class ApiserverStorage {
  constructor(private readonly raw: RawEtcdClient) {}

  /** create: fails (succeeded=false, no responses) when the key exists. */
  async create(key: string, value: string, lease?: bigint): Promise<{ created: boolean; rev: number }> {
    const r = ok(
      await this.raw.txn({
        compare: [{ key: b(key), result: EQUAL, target: TARGET_MOD, modRevision: 0 }],
        success: [{ requestPut: { key: b(key), value: b(value), ...(lease !== undefined ? { lease } : {}) } }],
      }),
    );
    if (!r.succeeded) {
      assert.equal(r.responses.length, 0, 'a failed create has no responses (no Else)');
      return { created: false, rev: Number(r.header?.revision) };
    }
    assert.equal(r.responses.length, 1);
    const put = r.responses[0]!.responsePut;
    assert.ok(put, 'the create answers with a put response');
    return { created: true, rev: Number(put.header?.revision ?? r.header?.revision) };
  }

  /** GuaranteedUpdate's one attempt: on a conflict, the current object from the Else range. */
  async update(key: string, value: string, origRev: number): Promise<{ ok: true; rev: number } | { ok: false; current: etcdserverpb.IRangeResponse }> {
    const r = ok(
      await this.raw.txn({
        compare: [{ key: b(key), result: EQUAL, target: TARGET_MOD, modRevision: origRev }],
        success: [{ requestPut: { key: b(key), value: b(value) } }],
        failure: [{ requestRange: { key: b(key) } }],
      }),
    );
    assert.equal(r.responses.length, 1);
    if (r.succeeded) return { ok: true, rev: Number(r.header?.revision) };
    const current = r.responses[0]!.responseRange;
    assert.ok(current, 'a conflicting update answers with the Else range');
    return { ok: false, current };
  }

  async conditionalDelete(key: string, origRev: number): Promise<{ deleted: boolean; rev: number; current?: etcdserverpb.IRangeResponse }> {
    const r = ok(
      await this.raw.txn({
        compare: [{ key: b(key), result: EQUAL, target: TARGET_MOD, modRevision: origRev }],
        success: [{ requestDeleteRange: { key: b(key) } }],
        failure: [{ requestRange: { key: b(key) } }],
      }),
    );
    if (r.succeeded) {
      assert.equal(Number(r.responses[0]!.responseDeleteRange?.deleted), 1);
      return { deleted: true, rev: Number(r.header?.revision) };
    }
    return { deleted: false, rev: Number(r.header?.revision), current: r.responses[0]!.responseRange ?? undefined };
  }

  /** GetList with pagination as the apiserver pages: every page at the first page's revision. */
  async list(prefix: string, limit: number): Promise<{ keys: string[]; rev: number; pages: number; remainingAfterFirst: number }> {
    const end = b(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
    let key = b(prefix);
    let rev = 0;
    let pages = 0;
    let remainingAfterFirst = -1;
    const keys: string[] = [];
    for (;;) {
      const r = ok(await this.raw.range({ key, rangeEnd: end, limit, ...(rev !== 0 ? { revision: rev } : {}) }));
      pages++;
      if (rev === 0) {
        rev = Number(r.header?.revision);
        remainingAfterFirst = Number(r.count) - r.kvs.length;
      }
      for (const kv of r.kvs) keys.push(str(kv.key));
      assert.ok(r.kvs.length <= limit, 'a page holds at most `limit` keys');
      if (!r.more) break;
      assert.equal(r.kvs.length, limit, 'a page with more after it is full');
      key = Buffer.concat([Buffer.from(r.kvs[r.kvs.length - 1]!.key!), Buffer.from([0])]);
    }
    return { keys, rev, pages, remainingAfterFirst };
  }

  async count(prefix: string): Promise<number> {
    const end = b(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));
    const r = ok(await this.raw.range({ key: b(prefix), rangeEnd: end, countOnly: true }));
    assert.equal(r.kvs.length, 0, 'count_only returns no kvs');
    return Number(r.count);
  }

  /** The compactor's step: returns the compact_rev_key version it saw and whether it won. */
  async compact(t: number, rev: number): Promise<{ won: boolean; version: number }> {
    const r = ok(
      await this.raw.txn({
        compare: [{ key: b('compact_rev_key'), result: EQUAL, target: TARGET_VERSION, version: t }],
        success: [{ requestPut: { key: b('compact_rev_key'), value: b(String(rev)) } }],
        failure: [{ requestRange: { key: b('compact_rev_key') } }],
      }),
    );
    if (!r.succeeded) return { won: false, version: Number(r.responses[0]!.responseRange?.kvs?.[0]?.version ?? 0) };
    ok(await this.raw.compact({ revision: rev }));
    return { won: true, version: t + 1 };
  }
}

describe('kube-apiserver storage shapes', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'kube' });
  let raw: RawEtcdClient;
  let s: ApiserverStorage;
  before(() => {
    raw = new RawEtcdClient(cluster.c.endpoint);
    s = new ApiserverStorage(raw);
  });
  after(() => raw?.close());

  it('create, get, optimistic update with conflict, conditional delete', async () => {
    const key = '/registry/pods/default/web-0';
    const c = await s.create(key, 'v1');
    assert.ok(c.created);
    const again = await s.create(key, 'v1-dup');
    assert.deepEqual(again, { created: false, rev: c.rev }, 'a second create fails and writes nothing');

    const got = ok(await raw.range({ key: b(key) }));
    assert.equal(Number(got.kvs[0]!.modRevision), c.rev, 'get returns the object at the create revision');

    const u1 = await s.update(key, 'v2', c.rev);
    assert.ok(u1.ok, 'an update at the current revision succeeds');
    const stale = await s.update(key, 'v2-stale', c.rev);
    assert.ok(!stale.ok, 'an update at a stale revision is refused');
    assert.equal(str(stale.current.kvs![0]!.value), 'v2', 'and the Else range carries the current object for the retry');
    assert.equal(Number(stale.current.kvs![0]!.modRevision), u1.rev);
    const retried = await s.update(key, 'v3', Number(stale.current.kvs![0]!.modRevision));
    assert.ok(retried.ok, 'the retry with the returned revision succeeds');

    const badDelete = await s.conditionalDelete(key, c.rev);
    assert.equal(badDelete.deleted, false);
    assert.equal(str(badDelete.current?.kvs?.[0]?.value), 'v3');
    const del = await s.conditionalDelete(key, retried.ok ? retried.rev : 0);
    assert.ok(del.deleted);
    assert.equal(ok(await raw.range({ key: b(key) })).kvs.length, 0);
    // Deleting what is gone: the compare fails (mod_revision 0), the Else range is empty.
    const gone = await s.conditionalDelete(key, del.rev);
    assert.equal(gone.deleted, false);
    assert.equal(gone.current?.kvs?.length ?? 0, 0);
  });

  it('paginated list at one revision: writes between pages do not show; count and remaining items', async () => {
    for (let i = 0; i < 23; i++) assert.ok((await s.create(`/registry/configmaps/ns/cm-${String(i).padStart(2, '0')}`, `d${i}`)).created);
    const first = ok(await raw.range({ key: b('/registry/configmaps/'), rangeEnd: b('/registry/configmaps0'), limit: 10 }));
    assert.equal(first.kvs.length, 10);
    assert.equal(first.more, true);
    assert.equal(Number(first.count), 23, 'count is every key in the range, not the page');

    // A full paged list while other writers add keys: every page at the first page's revision.
    const writing = (async () => {
      for (let i = 0; i < 10; i++) await s.create(`/registry/configmaps/ns/late-${i}`, 'x');
    })();
    const listed = await s.list('/registry/configmaps/', 4);
    await writing;
    assert.equal(listed.keys.length >= 23, true);
    const atRev = ok(await raw.range({ key: b('/registry/configmaps/'), rangeEnd: b('/registry/configmaps0'), revision: listed.rev }));
    assert.deepEqual(listed.keys, atRev.kvs.map((kv) => str(kv.key)), 'the pages together are the range at the first page\'s revision');
    assert.equal(listed.remainingAfterFirst, listed.keys.length - 4);
    assert.equal(listed.pages, Math.ceil(listed.keys.length / 4));
    assert.equal(await s.count('/registry/configmaps/'), 33);
  });

  it('watch from R+1 with prev_kv and progress_notify; progress requests answer with the store revision', async () => {
    const c = await s.create('/registry/secrets/ns/s1', 'one');
    const w = new RawWatchStream(raw);
    try {
      w.send({ createRequest: { key: b('/registry/secrets/'), rangeEnd: b('/registry/secrets0'), startRevision: c.rev + 1, prevKv: true, progressNotify: true } });
      const created = await w.next();
      assert.equal(created.created, true);
      const id = created.watchId;
      const u = await s.update('/registry/secrets/ns/s1', 'two', c.rev);
      assert.ok(u.ok);
      const ev = await w.next();
      assert.equal(ev.watchId, id);
      assert.equal(ev.events.length, 1, 'the create at R is not replayed from R+1');
      assert.equal(str(ev.events[0]!.kv?.value), 'two');
      assert.equal(str(ev.events[0]!.prevKv?.value), 'one', 'prev_kv carries the object before the update');
      assert.equal(Number(ev.events[0]!.kv?.modRevision), u.ok ? u.rev : -1);

      // RequestProgress (kube-apiserver's consistent reads from its watch cache): an empty
      // response whose header revision is at least every revision written before the request.
      const head = await raw.revision();
      w.send({ progressRequest: {} });
      const p = await w.next();
      assert.equal(p.events.length, 0);
      assert.equal(Number(p.watchId), -1, 'a progress response belongs to no single watch (watch_id -1)');
      assert.ok(Number(p.header?.revision) >= head, `progress revision ${p.header?.revision} >= ${head}`);
    } finally {
      w.close();
    }
  });

  it('the compactor: one winner per round among racing apiservers, then Compact; old revisions are gone', async () => {
    const k = await s.create('/registry/events/ns/e1', 'a');
    const u = await s.update('/registry/events/ns/e1', 'b', k.rev);
    assert.ok(u.ok);
    // Three apiservers run the compactor at once with the version they last saw (0).
    const results = await Promise.all([0, 1, 2].map(() => s.compact(0, k.rev)));
    assert.equal(results.filter((r) => r.won).length, 1, 'exactly one compactor wins the round');
    for (const r of results.filter((x) => !x.won)) assert.equal(r.version, 1, 'the losers learn the new version');
    const old = await raw.range({ key: b('/registry/events/ns/e1'), revision: k.rev - 1 });
    assert.ok(!old.ok && old.error.details === 'etcdserver: mvcc: required revision has been compacted');
    // Next round: the one that saw version 1 wins.
    assert.equal((await s.compact(1, u.ok ? u.rev : 0)).won, true);
  });

  it('events with a lease: keys attached to a granted lease vanish when it is revoked', async () => {
    const lease = ok(await raw.leaseGrant({ TTL: 3660 }));
    for (let i = 0; i < 5; i++) assert.ok((await s.create(`/registry/events/ns/ev-${i}`, 'e', lease.ID)).created);
    assert.equal(await s.count('/registry/events/ns/ev-'), 5);
    ok(await raw.leaseRevoke({ ID: lease.ID }));
    assert.equal(await s.count('/registry/events/ns/ev-'), 0);
  });

  it('bad input the apiserver can send: an update whose key was deleted, a list at a future revision', async () => {
    const c = await s.create('/registry/leases/ns/l1', 'x');
    const del = await s.conditionalDelete('/registry/leases/ns/l1', c.rev);
    assert.ok(del.deleted);
    const upd = await s.update('/registry/leases/ns/l1', 'y', c.rev);
    assert.ok(!upd.ok);
    assert.equal(upd.current.kvs?.length ?? 0, 0, 'the Else range of a deleted key is empty');
    const future = await raw.range({ key: b('/registry/'), rangeEnd: b('/registry0'), limit: 1, revision: (await raw.revision()) + 1000 });
    assert.ok(!future.ok, 'a list at a future revision is refused');
    assert.equal(future.error.details, 'etcdserver: mvcc: required revision is a future revision');
  });
});
