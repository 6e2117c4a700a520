/**
 * Deferred backend commits (docs/storage-lmdb.md, "Deferred commits"): the apply worker keeps its
 * LMDB write transaction open for up to --backend-batch-interval and answers writes when they
 * are applied. With an interval of an hour, nothing but a reader's request commits: these tests
 * show that every answered write is seen at once by the reads, watches, leases and locks that
 * follow it, from many clients at the same time, and that a kill -9 with the transaction open
 * loses nothing. etcd 3.4 has both flags (its bbolt batch): the same tests run against it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { useCluster } from './framework/hooks.js';
import { READY_TIMEOUT_MS, serverEnv } from './framework/cluster.js';
import { RawEtcdClient, RawWatchStream, type Decoded } from './framework/raw.js';
import { makeTempDir, serverCommand, serverKind, serverUnavailableReason, SUITE_TIMEOUT_MS } from './framework/process.js';

const skip = serverUnavailableReason() ?? false;
const onlyOurs = serverKind() === 'real' ? 'etcd-ts only: etcd 3.4 takes these values' : false;
const LONG = ['--backend-batch-interval', '1h', '--backend-batch-limit', '1000000'];
const b = (s: string): Buffer => Buffer.from(s);

function ok<T>(r: Decoded<T>, what: string): T {
  if (!r.ok) assert.fail(`${what}: ${r.error.code} ${r.error.details}`);
  return r.value;
}

describe('deferred backend commits: answers come before the commit, readers never miss them', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'deferred', extraFlags: LONG });
  let raw: RawEtcdClient;
  before(() => {
    raw = new RawEtcdClient(cluster.c.endpoint);
  });
  after(() => raw?.close());

  it('50 clients at once: each put, txn and delete is seen by the linearizable and serializable read that follows it', async () => {
    const clients = Array.from({ length: 10 }, () => new RawEtcdClient(cluster.c.endpoint));
    try {
      await Promise.all(Array.from({ length: 50 }, async (_, i) => {
        const c = clients[i % clients.length]!;
        for (let round = 0; round < 5; round++) {
          const key = b(`dc/${i}/${round}`);
          const put = ok(await c.put({ key, value: b(`v${round}`) }), 'put');
          const rev = Number(put.header?.revision);
          for (const serializable of [false, true]) {
            const got = ok(await c.range({ key, serializable }), 'range');
            assert.equal(got.kvs.length, 1, `${key} after its put (serializable ${serializable})`);
            assert.equal(Number(got.kvs[0]!.modRevision), rev);
            assert.ok(Number(got.header?.revision) >= rev, 'the header is at or past the answered revision');
          }
          // A txn answered at apply (not a plain put): the read after it sees its write too.
          const txn = ok(await c.txn({
            compare: [{ key, target: 2 /* MOD */, result: 0 /* EQUAL */, modRevision: rev }],
            success: [{ requestPut: { key, value: b(`t${round}`) } }],
          }), 'txn');
          assert.equal(txn.succeeded, true);
          const after = ok(await c.range({ key, serializable: round % 2 === 0 }), 'range after txn');
          assert.equal(Buffer.from(after.kvs[0]!.value ?? []).toString(), `t${round}`);
          if (round === 4) {
            assert.equal(Number(ok(await c.deleteRange({ key }), 'delete').deleted), 1);
            assert.equal(ok(await c.range({ key }), 'range after delete').kvs.length, 0);
          }
        }
      }));
      const count = ok(await raw.range({ key: b('dc/'), rangeEnd: b('dc0'), countOnly: true }), 'count');
      assert.equal(Number(count.count), 50 * 4);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('a watcher gets every event of puts answered while it watches, with prev_kv', async () => {
    const start = await raw.revision();
    const w = new RawWatchStream(raw);
    try {
      w.send({ createRequest: { key: b('dw/'), rangeEnd: b('dw0'), prevKv: true, startRevision: start + 1 } });
      const created = await w.next();
      assert.equal(created.created, true);
      const revs: number[] = [];
      for (let i = 0; i < 20; i++) revs.push(Number(ok(await raw.put({ key: b(`dw/${i % 3}`), value: b(`x${i}`) }), 'put').header?.revision));
      const seen: number[] = [];
      while (seen.length < revs.length) {
        const r = await w.next();
        for (const e of r.events) {
          seen.push(Number(e.kv?.modRevision));
          const i = seen.length - 1;
          if (i >= 3) assert.equal(Buffer.from(e.prevKv?.value ?? []).toString(), `x${i - 3}`, `prev_kv of event ${i}`);
        }
      }
      assert.deepEqual(seen, revs);
    } finally {
      w.close();
    }
  });

  it('leases: a keepalive right after the grant, a key on it, a revoke that deletes the key', async () => {
    const client = new Etcd3({ hosts: cluster.c.endpoint });
    try {
      for (let i = 0; i < 5; i++) {
        const lease = client.lease(30, { autoKeepAlive: false });
        await lease.grant();
        await lease.keepaliveOnce();
        await lease.put(`dl/${i}`).value('v');
        assert.equal(await client.get(`dl/${i}`).string(), 'v');
        await lease.revoke();
        assert.equal(await client.get(`dl/${i}`).string(), null, 'the revoke deleted the key before it was answered');
      }
    } finally {
      client.close();
    }
  });

  it('a lock taken and released across clients hands over at once', async () => {
    const a = new Etcd3({ hosts: cluster.c.endpoint });
    const c = new Etcd3({ hosts: cluster.c.endpoint });
    try {
      for (let i = 0; i < 5; i++) {
        const held = await a.lock('dlock').ttl(30).acquire();
        const waiting = c.lock('dlock').ttl(30).acquire();
        await held.release();
        const got = await waiting;
        await got.release();
      }
    } finally {
      a.close();
      c.close();
    }
  });

  it('kill -9 with the transaction open: every answered write is there after the restart', async () => {
    const answered = new Map<string, number>();
    await Promise.all(Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; i < 40; i++) {
        const key = `dk/${w}/${i}`;
        answered.set(key, Number(ok(await raw.put({ key: b(key), value: b(key) }), 'put').header?.revision));
      }
    }));
    raw.close();
    await cluster.c.kill9();
    await cluster.c.restart();
    raw = new RawEtcdClient(cluster.c.endpoint);
    const got = ok(await raw.range({ key: b('dk/'), rangeEnd: b('dk0') }), 'range');
    assert.equal(got.kvs.length, answered.size);
    for (const kv of got.kvs) {
      const key = Buffer.from(kv.key ?? []).toString();
      assert.equal(Number(kv.modRevision), answered.get(key), key);
      assert.equal(Buffer.from(kv.value ?? []).toString(), key);
    }
  });
});

describe('an entry that fails after it wrote, inside the open transaction', { skip: skip || onlyOurs, timeout: SUITE_TIMEOUT_MS }, () => {
  // The apply worker aborts its whole transaction and applies it again without that entry's
  // writes (apply-fault.ts makes a put to this key fail after writing, as a bug caught mid-entry).
  const cluster = useCluster({ name: 'midway', extraFlags: LONG, env: { ETCD_TS_FAULT_APPLY_MIDWAY_KEY: 'poison' } });

  it('only that entry is undone and answered by its error; the answered writes before it stay, at their revisions', async () => {
    const raw = new RawEtcdClient(cluster.c.endpoint);
    try {
      const answered = new Map<string, number>();
      for (let round = 0; round < 3; round++) {
        // Writes answered in the open transaction, then the failing entry (prev_kv: not a plain
        // put, so it is answered at apply), then more writes at the same time.
        await Promise.all(Array.from({ length: 10 }, async (_, i) => {
          const key = `mw/${round}/${i}`;
          answered.set(key, Number(ok(await raw.put({ key: b(key), value: b(key) }), 'put').header?.revision));
        }));
        const [poison, ...later] = await Promise.all([
          raw.put({ key: b('poison'), value: b('x'), prevKv: true }),
          ...Array.from({ length: 5 }, (_, i) => raw.put({ key: b(`mw/${round}/later${i}`), value: b(`mw/${round}/later${i}`) })),
        ]);
        assert.ok(!poison.ok, 'the failing put is refused');
        assert.equal(poison.error.details, 'etcdserver: requested lease not found');
        later.forEach((r, i) => answered.set(`mw/${round}/later${i}`, Number(ok(r, 'later put').header?.revision)));
      }
      const check = async (): Promise<void> => {
        assert.equal(ok(await raw.range({ key: b('poison') }), 'get poison').kvs.length, 0, 'nothing of the failed entry is stored');
        const got = ok(await raw.range({ key: b('mw/'), rangeEnd: b('mw0') }), 'range');
        assert.equal(got.kvs.length, answered.size);
        for (const kv of got.kvs) {
          const key = Buffer.from(kv.key ?? []).toString();
          assert.equal(Number(kv.modRevision), answered.get(key), key);
        }
        // Revisions have no gap: the failed entry took none.
        const revs = [...answered.values()].sort((x, y) => x - y);
        assert.equal(revs[revs.length - 1]! - revs[0]! + 1, revs.length);
      };
      await check();
      await cluster.c.kill9();
      await cluster.c.restart();
      raw.close();
      const again = new RawEtcdClient(cluster.c.endpoint);
      try {
        assert.equal(ok(await again.range({ key: b('poison') }), 'get poison').kvs.length, 0);
        assert.equal(ok(await again.range({ key: b('mw/'), rangeEnd: b('mw0'), countOnly: true }), 'count').count, answered.size);
      } finally {
        again.close();
      }
    } finally {
      raw.close();
    }
  });
});

describe('--backend-batch-interval and --backend-batch-limit: bad values are refused', { skip: skip || onlyOurs, timeout: SUITE_TIMEOUT_MS }, () => {
  const runOnce = (args: string[]): { code: number | null; err: string } => {
    const [cmd, ...pre] = serverCommand();
    const r = spawnSync(cmd!, [...pre, ...args], { cwd: makeTempDir('etcd-ts-batch-flags-'), env: serverEnv(), encoding: 'utf8', timeout: READY_TIMEOUT_MS });
    return { code: r.status, err: r.stderr };
  };
  for (const [args, pattern] of [
    [['--backend-batch-interval', 'soon'], /backend-batch-interval/],
    [['--backend-batch-interval', '-5ms'], /backend-batch-interval/],
    [['--backend-batch-limit', '-1'], /backend-batch-limit/],
    [['--backend-batch-limit', '10k'], /backend-batch-limit/],
  ] as const) {
    it(`${args.join(' ')}: refused with the flag named`, () => {
      const r = runOnce([...args]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, pattern);
    });
  }
});
