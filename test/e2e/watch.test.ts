/**
 * Watch over the raw gRPC stream: history replay from a start revision, live events exactly
 * once and in revision order under concurrent writers, prev_kv, a compacted start revision,
 * a future start revision, cancel. Expectations are what etcd 3.4.23 answered.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster } from './framework/hooks.js';
import { RawEtcdClient, RawWatchStream } from './framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';
import { pending } from './framework/pending.js';
import type { etcdserverpb, mvccpb } from '../../src/proto/pb.js';

const b = (s: string): Buffer => Buffer.from(s);
const str = (u: Uint8Array | null | undefined): string => Buffer.from(u ?? []).toString();

/** [type, key, value, mod_revision, prev value or null] */
type Ev = [string, string, string, number, string | null];
function ev(e: mvccpb.Event.$Properties): Ev {
  return [
    Number(e.type ?? 0) === 1 ? 'DELETE' : 'PUT',
    str(e.kv?.key),
    str(e.kv?.value),
    Number(e.kv?.modRevision ?? 0),
    e.prevKv ? str(e.prevKv.value) : null,
  ];
}

/** Read responses for `watchId` until `count` events arrived; fail on anything unexpected. */
async function collect(w: RawWatchStream, watchId: number, count: number): Promise<Ev[]> {
  const out: Ev[] = [];
  while (out.length < count) {
    const r = await w.next();
    assert.equal(Number(r.watchId), watchId, 'an event for another watch id');
    assert.ok(!r.canceled, `watch canceled: ${r.cancelReason}`);
    out.push(...r.events.map(ev));
  }
  assert.equal(out.length, count, 'more events than written');
  return out;
}

async function created(w: RawWatchStream): Promise<etcdserverpb.WatchResponse> {
  const r = await w.next();
  assert.equal(r.created, true, 'the first answer to a create request is created=true');
  assert.equal(r.events.length, 0);
  return r;
}

describe('watch', { skip: serverUnavailableReason() ?? false, todo: pending('watch'), timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'watch' });
  let raw: RawEtcdClient;
  before(async () => {
    raw = new RawEtcdClient(cluster.c.endpoint);
    // history: 2 put w/a, 3 put w/b, 4 del w/a, 5 txn put w/c + w/d, 6 put other
    assert.ok((await raw.put({ key: b('w/a'), value: b('a1') })).ok);
    assert.ok((await raw.put({ key: b('w/b'), value: b('b1') })).ok);
    assert.ok((await raw.deleteRange({ key: b('w/a') })).ok);
    assert.ok((await raw.txn({ success: [{ requestPut: { key: b('w/c'), value: b('c1') } }, { requestPut: { key: b('w/d'), value: b('d1') } }] })).ok);
    assert.ok((await raw.put({ key: b('other'), value: b('o') })).ok);
  });
  after(() => raw?.close());

  it('replays history from start_revision with prev_kv, then delivers live events exactly once, in order', async () => {
    const w = new RawWatchStream(raw);
    try {
      w.send({ createRequest: { key: b('w/'), rangeEnd: b('w0'), startRevision: 1, prevKv: true } });
      const c = await created(w);
      assert.equal(Number(c.watchId), 0, 'watch ids start at 0 on a stream');
      assert.deepEqual(await collect(w, 0, 5), [
        ['PUT', 'w/a', 'a1', 2, null],
        ['PUT', 'w/b', 'b1', 3, null],
        ['DELETE', 'w/a', '', 4, 'a1'],
        ['PUT', 'w/c', 'c1', 5, null],
        ['PUT', 'w/d', 'd1', 5, null],
      ]);

      // live: 4 concurrent writers, 25 puts each under w/live/ and 25 outside the range
      const acked = new Map<string, number>();
      await Promise.all(
        Array.from({ length: 4 }, async (_, wi) => {
          for (let i = 0; i < 25; i++) {
            const k = `w/live/${wi}/${i}`;
            const r = await raw.put({ key: b(k), value: b(`v${wi}-${i}`) });
            assert.ok(r.ok);
            acked.set(k, Number(r.value.header?.revision));
            assert.ok((await raw.put({ key: b(`x/${wi}/${i}`), value: b('ignored') })).ok);
          }
        }),
      );
      const live = await collect(w, 0, 100);
      const revs = live.map((e) => e[3]);
      for (let i = 1; i < revs.length; i++) assert.ok(revs[i]! > revs[i - 1]!, `events out of order at ${i}: ${revs[i - 1]} then ${revs[i]}`);
      assert.equal(new Set(live.map((e) => e[1])).size, 100, 'each event exactly once');
      for (const [type, key, value, rev, prev] of live) {
        assert.equal(type, 'PUT');
        assert.equal(acked.get(key), rev, `${key}: event revision differs from the acknowledged one`);
        assert.match(value, /^v\d-\d+$/);
        assert.equal(prev, null);
      }
    } finally {
      w.close();
    }
  });

  it('a compacted start revision: created, then canceled with compact_revision; at the compact revision it works', async () => {
    assert.ok((await raw.compact({ revision: 5 })).ok);
    const w = new RawWatchStream(raw);
    try {
      w.send({ createRequest: { key: b('w/b'), startRevision: 3 } });
      const c = await created(w);
      const r = await w.next();
      assert.equal(Number(r.watchId), Number(c.watchId));
      assert.equal(r.canceled, true);
      assert.equal(Number(r.compactRevision), 5);
      assert.equal(r.events.length, 0);

      w.send({ createRequest: { key: b('w/'), rangeEnd: b('w0'), startRevision: 5 } });
      const c2 = await created(w);
      assert.equal(Number(c2.watchId), Number(c.watchId) + 1, 'ids keep increasing on a stream');
      // w/c and w/d at 5, then the 100 live puts of the first test (they may come in one batch)
      const evs = await collect(w, Number(c2.watchId), 102);
      assert.deepEqual(evs.slice(0, 2).map((e) => [e[1], e[3]]), [['w/c', 5], ['w/d', 5]]);
      assert.ok(evs.slice(2).every((e) => e[1].startsWith('w/live/') && e[3] > 6));
    } finally {
      w.close();
    }
  });

  it('a future start revision waits for it; cancel answers canceled=true and stops events', async () => {
    const rev = await raw.revision();
    const w = new RawWatchStream(raw);
    try {
      w.send({ createRequest: { key: b('f'), startRevision: rev + 2 } });
      const c = await created(w);
      const id = Number(c.watchId);
      assert.ok((await raw.put({ key: b('f'), value: b('first') })).ok); // rev+1: before the start
      assert.ok((await raw.put({ key: b('f'), value: b('second') })).ok); // rev+2
      assert.deepEqual(await collect(w, id, 1), [['PUT', 'f', 'second', rev + 2, null]]);

      w.send({ cancelRequest: { watchId: id } });
      const cr = await w.next();
      assert.deepEqual([Number(cr.watchId), cr.canceled, cr.events.length], [id, true, 0]);
      assert.ok((await raw.put({ key: b('f'), value: b('third') })).ok);
      // the stream is ordered: a new watch's event arriving with nothing before it proves
      // the canceled watch sent nothing for "third"
      w.send({ createRequest: { key: b('g') } });
      const c3 = await created(w);
      assert.ok((await raw.put({ key: b('g'), value: b('g1') })).ok);
      assert.deepEqual(await collect(w, Number(c3.watchId), 1), [['PUT', 'g', 'g1', rev + 4, null]]);
    } finally {
      w.close();
    }
  });
});

describe('watch progress notifications at --experimental-watch-progress-notify-interval', { skip: serverUnavailableReason() ?? false, todo: pending('watch'), timeout: SUITE_TIMEOUT_MS }, () => {
  // 300 ms instead of the default 10 minutes: with the flag ignored no notification would
  // come before the suite's timeout.
  const cluster = useCluster({ name: 'watch-progress', extraFlags: ['--experimental-watch-progress-notify-interval', '300ms'] });

  it('a watch created with progress_notify gets empty responses carrying the current revision', async () => {
    const raw = new RawEtcdClient(cluster.c.endpoint);
    const w = new RawWatchStream(raw);
    try {
      assert.ok((await raw.put({ key: b('p/a'), value: b('1') })).ok);
      const rev = await raw.revision();
      w.send({ createRequest: { key: b('p/'), rangeEnd: b('p0'), progressNotify: true } });
      const c = await created(w);
      const id = Number(c.watchId);
      for (let i = 0; i < 2; i++) {
        const r = await w.next();
        assert.equal(Number(r.watchId), id);
        assert.equal(r.events.length, 0, 'a progress notification has no events');
        assert.equal(Number(r.header?.revision), rev, 'it carries the store revision');
      }
    } finally {
      w.close();
      raw.close();
    }
  });
});
