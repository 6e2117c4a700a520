/**
 * The watch hub in one process, on a real member (startMember, one thread): responses are
 * decoded from what the hub hands to a fake transport, which can refuse (send returns false,
 * as a full HTTP/2 buffer does) and drain later.
 *
 * - property: for random workloads, random watchers (key, range, from-key, filters, prev_kv)
 *   and random start revisions (past, 0, future), on streams that randomly stall, the events
 *   delivered equal the MVCC history (order, exactly once, atomic per revision, prev_kv);
 * - a stalled stream gets nothing more while it is stalled (bounded), catches up after, loses
 *   and duplicates nothing, and does not hold back a healthy stream;
 * - progress requests, progress notifications, headers never going down, compaction, bad input,
 *   10,000 watchers on one stream.
 *
 * Waits are bounded (a hang fails the test); nothing passes or fails on timing.
 * Reproduce a property failure with FC_SEED=<seed printed by fast-check>.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { parseServerConfig } from '../../../src/config/config.js';
import { startMember, type Member } from '../../../src/server/bootstrap.js';
import { ONE_THREAD } from '../../../src/server/openers.js';
import { nopLogger } from '../../../src/util/logger.js';
import { WatchHub, type HubStream } from '../../../src/server/watch-hub.js';
import { ERR_DUPLICATE_WATCH_ID, ERR_EMPTY_WATCHER_RANGE } from '../../../src/server/watch-hub.js';

const b = (s: string): Buffer => Buffer.from(s);
const str = (u: Uint8Array | null | undefined): string => Buffer.from(u ?? []).toString();

/** [revision, type, key, value, prev value or null] */
type Ev = [number, 'PUT' | 'DELETE', string, string, string | null];

const WAIT_MS = 20_000;

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A fake transport stream: records decoded responses; may refuse (stall) and drain later. */
class FakeStream {
  readonly responses: etcdserverpb.WatchResponse[] = [];
  readonly events = new Map<number, Ev[]>();
  readonly handle: HubStream;
  /** When true, send() returns false (the buffer is "full") until drain(). */
  stalled = false;
  /** Responses handed over while stalled (the transport would buffer them). */
  sentWhileStalled = 0;
  /** Decides per send whether the buffer fills up (for random stalls). */
  fillsUp: () => boolean = () => false;
  maxHeaderRev = 0;

  constructor(hub: WatchHub) {
    this.handle = hub.openStream((bytes) => {
      const r = etcdserverpb.WatchResponse.decode(bytes);
      this.responses.push(r);
      const hr = Number(r.header?.revision ?? 0);
      assert.ok(hr >= this.maxHeaderRev, `header revision went down: ${this.maxHeaderRev} then ${hr}`);
      this.maxHeaderRev = hr;
      if (this.stalled) this.sentWhileStalled++;
      if (r.events.length > 0) {
        const id = Number(r.watchId);
        const l = this.events.get(id) ?? [];
        const revs = new Set<number>();
        for (const e of r.events) {
          revs.add(Number(e.kv?.modRevision));
          l.push([
            Number(e.kv?.modRevision),
            Number(e.type ?? 0) === 1 ? 'DELETE' : 'PUT',
            str(e.kv?.key),
            str(e.kv?.value),
            e.prevKv ? str(e.prevKv.value) : null,
          ]);
        }
        this.events.set(id, l);
      }
      if (!this.stalled && this.fillsUp()) this.stalled = true;
      return !this.stalled;
    });
  }

  drain(): void {
    this.stalled = false;
    this.sentWhileStalled = 0;
    this.handle.drained();
  }

  created(): etcdserverpb.WatchResponse[] {
    return this.responses.filter((r) => r.created);
  }

  /** Requests progress until a progress response at or above `rev` comes (all synced and fanned out). */
  async progressAt(rev: number): Promise<void> {
    for (;;) {
      const n = this.responses.length;
      this.handle.requestProgress();
      await until('a progress response', () => this.responses.slice(n).some((r) => Number(r.watchId) === -1 && !r.created));
      const p = this.responses.slice(n).find((r) => Number(r.watchId) === -1 && !r.created)!;
      if (Number(p.header?.revision) >= rev) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

let dir: string;
let member: Member;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etcd-ts-watch-hub-'));
  const cfg = parseServerConfig(['--data-dir', dir, '--experimental-watch-progress-notify-interval', '200ms'], {}, { dataDirInitialized: false });
  member = await startMember(cfg, nopLogger(), ONE_THREAD);
});

after(async () => {
  await member?.close();
  rmSync(dir, { recursive: true, force: true });
});

function rev(encoded: Uint8Array, decode: (b: Uint8Array) => { header?: etcdserverpb.IResponseHeader | null }): number {
  return Number(decode(encoded).header?.revision);
}

async function put(k: string, v: string): Promise<number> {
  return rev(await member.server.put({ key: b(k), value: b(v) }), etcdserverpb.PutResponse.decode);
}

async function currentRev(): Promise<number> {
  return Number((await member.server.range({ key: b('\u0000probe') })).header?.revision);
}

type RangeKind = 'key' | 'prefix' | 'from';

test('property: delivered events equal the MVCC history (random workloads, start revisions, stalls)', async () => {
  const seed = process.env['FC_SEED'] ? Number(process.env['FC_SEED']) : undefined;
  let run = 0;
  const keyIdx = fc.integer({ min: 0, max: 4 });
  const op = fc.oneof(
    fc.record({ t: fc.constant('put' as const), k: keyIdx }),
    fc.record({ t: fc.constant('del' as const), k: keyIdx }),
    fc.record({ t: fc.constant('txn' as const), k: keyIdx, k2: keyIdx }),
    fc.record({
      t: fc.constant('watch' as const),
      k: keyIdx,
      range: fc.constantFrom<RangeKind>('key', 'prefix', 'from'),
      start: fc.constantFrom('zero', 'past', 'future'),
      back: fc.nat({ max: 30 }),
      noPut: fc.boolean(),
      noDelete: fc.boolean(),
      prevKv: fc.boolean(),
      stream: fc.integer({ min: 0, max: 1 }),
    }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 3 }), async (ops, stallEvery) => {
      const prefix = `p${run++}/`;
      const key = (i: number) => `${prefix}${i}`;
      const base = await currentRev();
      const model = new Map<string, string>();
      const history: Ev[] = [];
      const streams = [new FakeStream(member.watchHub), new FakeStream(member.watchHub)];
      // stream 1 stalls every `stallEvery` responses (0: never) and drains a turn later
      let count = 0;
      streams[1]!.fillsUp = () => stallEvery > 0 && ++count % stallEvery === 0;
      const drainer = setInterval(() => streams[1]!.stalled && streams[1]!.drain(), 1);
      const watchers: { stream: number; id: number; from: number; k: string; range: RangeKind; noPut: boolean; noDelete: boolean; prevKv: boolean }[] = [];
      let cur = base;
      let v = 0;
      try {
        for (const o of ops) {
          if (o.t === 'put') {
            const value = `v${v++}`;
            cur = await put(key(o.k), value);
            history.push([cur, 'PUT', key(o.k), value, model.get(key(o.k)) ?? null]);
            model.set(key(o.k), value);
          } else if (o.t === 'del') {
            const r = etcdserverpb.DeleteRangeResponse.decode(await member.server.deleteRange({ key: b(key(o.k)) }));
            if (Number(r.deleted) > 0) {
              cur = Number(r.header?.revision);
              history.push([cur, 'DELETE', key(o.k), '', model.get(key(o.k))!]);
              model.delete(key(o.k));
            }
          } else if (o.t === 'txn') {
            const ks = o.k === o.k2 ? [key(o.k)] : [key(o.k), key(o.k2)];
            const vals = ks.map(() => `v${v++}`);
            const r = etcdserverpb.TxnResponse.decode(
              await member.server.txn({ success: ks.map((k, i) => ({ requestPut: { key: b(k), value: b(vals[i]!) } })) }),
            );
            cur = Number(r.header?.revision);
            ks.forEach((k, i) => {
              history.push([cur, 'PUT', k, vals[i]!, model.get(k) ?? null]);
              model.set(k, vals[i]!);
            });
          } else {
            const s = streams[o.stream]!;
            const k = key(o.k);
            const startRevision = o.start === 'zero' ? 0 : o.start === 'past' ? Math.max(base + 1, cur - o.back) : cur + 1 + (o.back % 3);
            const rangeEnd = o.range === 'key' ? undefined : o.range === 'from' ? Buffer.from([0]) : b(`${prefix}${o.k}\u00ff`);
            const n = s.created().length;
            const filters = [...(o.noPut ? [0] : []), ...(o.noDelete ? [1] : [])];
            await s.handle.create({ key: b(k), rangeEnd, startRevision, filters, prevKv: o.prevKv });
            await until('created', () => s.created().length > n);
            const c = s.created()[n]!;
            assert.ok(!c.canceled, `create canceled: ${c.cancelReason}`);
            watchers.push({
              stream: o.stream, id: Number(c.watchId), from: startRevision === 0 ? cur + 1 : startRevision,
              k, range: o.range, noPut: o.noPut, noDelete: o.noDelete, prevKv: o.prevKv,
            });
          }
        }
        for (const s of streams) await s.progressAt(cur);
        for (const w of watchers) {
          const s = streams[w.stream]!;
          const want = history.filter(([r, type, k]) => {
            if (r < w.from) return false;
            if ((type === 'PUT' && w.noPut) || (type === 'DELETE' && w.noDelete)) return false;
            if (w.range === 'key') return k === w.k;
            if (w.range === 'prefix') return k.startsWith(w.k);
            return k >= w.k && k.startsWith(prefix); // from-key: other runs' keys are below or above; compare within the run
          }).map(([r, type, k, value, prev]) => [r, type, k, value, w.prevKv ? prev : null] as Ev);
          const got = (s.events.get(w.id) ?? []).filter((e) => w.range !== 'from' || e[2].startsWith(prefix));
          assert.deepEqual(got, want, `watcher ${w.id} on stream ${w.stream} (${w.range} ${w.k} from ${w.from})`);
        }
      } finally {
        clearInterval(drainer);
        for (const s of streams) s.handle.close();
      }
    }),
    { numRuns: Number(process.env['FC_RUNS'] ?? 25), ...(seed !== undefined ? { seed } : {}) },
  );
  assert.equal(member.watchHub.counters.watchers, 0, 'closed streams leave no watchers behind');
});

test('a stalled stream gets nothing while stalled, then catches up exactly once; a healthy stream is not held back', async () => {
  const slow = new FakeStream(member.watchHub);
  const fast = new FakeStream(member.watchHub);
  try {
    await slow.handle.create({ key: b('slow/'), rangeEnd: b('slow0') });
    await fast.handle.create({ key: b('slow/'), rangeEnd: b('slow0') });
    await until('created', () => slow.created().length === 1 && fast.created().length === 1);
    slow.stalled = true;
    const acked: number[] = [];
    for (let i = 0; i < 300; i++) acked.push(await put(`slow/${i % 7}`, 'x'.repeat(100) + i));
    const last = acked[acked.length - 1]!;
    await fast.progressAt(last);
    assert.deepEqual(fast.events.get(0)!.map((e) => e[0]), acked, 'the healthy stream got every event while the other was stalled');
    // while stalled the hub hands over at most one response after the buffer filled (the one that found it full)
    assert.ok(slow.sentWhileStalled <= 1, `sent ${slow.sentWhileStalled} responses to a stalled stream`);
    assert.ok(member.watchHub.counters.slowed >= 1, 'the slow watcher left the live path');
    slow.drain();
    await slow.progressAt(last);
    const got = slow.events.get(0)!.map((e) => e[0]);
    assert.deepEqual(got, acked, 'caught up: every event once, in order');
  } finally {
    slow.handle.close();
    fast.handle.close();
  }
});

test('progress: request answered once synced (watch_id -1); notifications to idle progress_notify watchers', async () => {
  const s = new FakeStream(member.watchHub);
  try {
    const r0 = await put('prog/a', '1');
    await s.handle.create({ key: b('prog/a'), progressNotify: true });
    await s.handle.create({ key: b('prog/a'), startRevision: 1, watchId: 7 });
    await s.progressAt(r0);
    assert.deepEqual(s.events.get(7)!.map((e) => e[0]), [r0], 'the past watcher caught up before the progress response');
    // a progress_notify watcher with nothing to send gets an empty response with its id
    await until('a progress notification', () => s.responses.some((r) => Number(r.watchId) === 0 && !r.created && r.events.length === 0));
  } finally {
    s.handle.close();
  }
});

test('bad input: duplicate id, empty range, unknown cancel; cancel stops events; ids from 0 and client-chosen', async () => {
  const s = new FakeStream(member.watchHub);
  try {
    await s.handle.create({ key: b('bad/a') });
    await s.handle.create({ key: b('bad/a'), watchId: 5 });
    await s.handle.create({ key: b('bad/a'), watchId: 5 });
    await s.handle.create({ key: b('bad/b'), rangeEnd: b('bad/a') });
    await s.handle.create({ key: b('bad/a') });
    const c = s.created();
    assert.deepEqual(
      c.map((r) => [Number(r.watchId), r.canceled, r.cancelReason]),
      [[0, false, ''], [5, false, ''], [-1, true, ERR_DUPLICATE_WATCH_ID], [-1, true, ERR_EMPTY_WATCHER_RANGE], [1, false, '']],
    );
    const n = s.responses.length;
    s.handle.cancel(99);
    s.handle.cancel(5);
    assert.deepEqual(s.responses.slice(n).map((r) => [Number(r.watchId), r.canceled]), [[5, true]], 'an unknown id is not answered');
    const r = await put('bad/a', 'v');
    await s.progressAt(r);
    assert.equal(s.events.get(5), undefined, 'no events after cancel');
    assert.deepEqual(s.events.get(0)!.map((e) => e[0]), [r]);
    assert.deepEqual(s.events.get(1)!.map((e) => e[0]), [r]);
  } finally {
    s.handle.close();
  }
});

test('a compacted start revision: created, then canceled with compact_revision', async () => {
  const s = new FakeStream(member.watchHub);
  try {
    const r1 = await put('cmp/a', '1');
    await put('cmp/a', '2');
    const r3 = await put('cmp/a', '3');
    await member.server.compact({ revision: r3 });
    await s.handle.create({ key: b('cmp/a'), startRevision: r1 });
    await until('canceled', () => s.responses.some((r) => r.canceled));
    const c = s.responses.find((r) => r.canceled)!;
    assert.deepEqual([Number(c.watchId), Number(c.compactRevision), c.events.length], [0, r3, 0]);
    await s.handle.create({ key: b('cmp/a'), startRevision: r3 });
    await s.progressAt(r3);
    assert.deepEqual(s.events.get(1)!.map((e) => e[0]), [r3], 'the compact revision itself can be watched');
  } finally {
    s.handle.close();
  }
});

test('fragment: a response over --max-request-bytes is split between events', async () => {
  const s = new FakeStream(member.watchHub);
  try {
    // 4 events of 350 KiB, each with a 350 KiB prev_kv: 2.8 MiB in one revision, over the 1.5 MiB limit
    const big = 'x'.repeat(350 * 1024);
    for (let i = 0; i < 4; i++) await put(`frag/${i}`, big);
    await s.handle.create({ key: b('frag/'), rangeEnd: b('frag0'), fragment: true, prevKv: true });
    await s.handle.create({ key: b('frag/'), rangeEnd: b('frag0'), prevKv: true });
    const r = etcdserverpb.TxnResponse.decode(
      await member.server.txn({ success: [0, 1, 2, 3].map((i) => ({ requestPut: { key: b(`frag/${i}`), value: b(big) } })) }),
    );
    await s.progressAt(Number(r.header?.revision));
    const parts = s.responses.filter((x) => Number(x.watchId) === 0 && x.events.length > 0);
    assert.ok(parts.length >= 2, `split into ${parts.length} responses`);
    assert.deepEqual(parts.map((p) => p.fragment), [...parts.slice(1).map(() => true), false]);
    assert.equal(s.events.get(0)!.length, 4);
    const whole = s.responses.filter((x) => Number(x.watchId) === 1 && x.events.length > 0);
    assert.equal(whole.length, 1, 'without fragment the events of a revision stay in one response');
  } finally {
    s.handle.close();
  }
});

test('10,000 watchers on one stream: each gets its event once; closing the stream removes them all', async () => {
  const s = new FakeStream(member.watchHub);
  const before = member.watchHub.counters.watchers;
  try {
    for (let i = 0; i < 10_000; i++) void s.handle.create({ key: b(`many/${i % 100}`), startRevision: 1_000_000_000 });
    await until('10,000 created', () => s.created().length === 10_000);
    assert.equal(member.watchHub.counters.watchers, before + 10_000);
    // future start: nothing yet; a put wakes none of them
    const r = await put('many/5', 'v');
    await s.progressAt(r);
    assert.equal(s.events.size, 0);
  } finally {
    s.handle.close();
  }
  assert.equal(member.watchHub.counters.watchers, before);
  const s2 = new FakeStream(member.watchHub);
  try {
    for (let i = 0; i < 10_000; i++) void s2.handle.create({ key: b(`many2/${i % 100}`), rangeEnd: i % 2 ? b(`many2/${i % 100}\u0000`) : undefined });
    await until('10,000 created', () => s2.created().length === 10_000);
    const r = await put('many2/42', 'v');
    await s2.progressAt(r);
    assert.equal(s2.events.size, 100, 'exactly the watchers of many2/42');
    for (const [, evs] of s2.events) assert.deepEqual(evs.map((e) => e[0]), [r]);
  } finally {
    s2.handle.close();
  }
});

test('hub queue overflow: every synced watcher falls back to LMDB catch-up and still gets every event once, in order', async () => {
  // A second hub on the same member whose queue limit is 1 byte: every applied batch overflows it.
  const hub = new WatchHub({
    dbPath: member.layout.dbPath,
    header: (r) => member.server.header(r),
    storeRevision: currentRev,
    subscribe: (fn) => member.subscribeApplied(fn),
    maxRequestBytes: 1.5 * 1024 * 1024,
    progressNotifyIntervalMs: 0,
    queueBytesMax: 1,
  });
  const s = new FakeStream(hub);
  // A watcher on the member's own hub, so the apply loop hands batches over with their events
  // (without one they would come without: the next test).
  const listener = new FakeStream(member.watchHub);
  try {
    await listener.handle.create({ key: b('ovf-listener') });
    await until('listener created', () => listener.created().length === 1);
    await s.handle.create({ key: b('ovf/'), rangeEnd: b('ovf0'), prevKv: true });
    await until('created', () => s.created().length === 1);
    const want: Ev[] = [];
    const prev = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; i < 30; i++) {
          const k = `ovf/${c}/${i % 3}`;
          const v = `v${i}`;
          const r = await put(k, v);
          want.push([r, 'PUT', k, v, null]);
        }
      }),
    );
    want.sort((x, y) => x[0] - y[0]);
    for (const e of want) {
      e[4] = prev.get(e[2]) ?? null;
      prev.set(e[2], e[3]);
    }
    await s.progressAt(want[want.length - 1]![0]);
    assert.ok(hub.counters.overflows > 0, 'the queue overflowed');
    assert.deepEqual(s.events.get(0), want);
  } finally {
    listener.handle.close();
    s.handle.close();
    await hub.close();
  }
});

test('batches handed over while nobody watched come without events: a watcher created meanwhile catches up from LMDB, every event once, in order', async () => {
  // A second hub the member's apply loop does not consult: every batch is handed over with its
  // events left out (eventsOmitted), as when a first watcher arrives under write load.
  const hub = new WatchHub({
    dbPath: member.layout.dbPath,
    header: (r) => member.server.header(r),
    storeRevision: currentRev,
    subscribe: (fn) => member.subscribeApplied(fn),
    maxRequestBytes: 1.5 * 1024 * 1024,
    progressNotifyIntervalMs: 0,
  });
  assert.equal(member.watchHub.watching, false, 'no watcher on the member hub');
  const s = new FakeStream(hub);
  const late = new FakeStream(hub);
  try {
    await s.handle.create({ key: b('omit/'), rangeEnd: b('omit0'), prevKv: true });
    await until('created', () => s.created().length === 1);
    const want: Ev[] = [];
    const prev = new Map<string, string>();
    let lateStart = 0;
    await Promise.all(
      Array.from({ length: 4 }, async (_, c) => {
        for (let i = 0; i < 25; i++) {
          const k = `omit/${c}/${i % 3}`;
          const v = `v${i}`;
          const r = await put(k, v);
          want.push([r, 'PUT', k, v, null]);
          if (c === 0 && i === 10) {
            // A watcher from a revision in the middle of the load.
            lateStart = r;
            await late.handle.create({ key: b('omit/'), rangeEnd: b('omit0'), prevKv: true, startRevision: r });
          }
        }
      }),
    );
    want.sort((x, y) => x[0] - y[0]);
    for (const e of want) {
      e[4] = prev.get(e[2]) ?? null;
      prev.set(e[2], e[3]);
    }
    const last = want[want.length - 1]![0];
    await s.progressAt(last);
    await late.progressAt(last);
    assert.equal(hub.counters.overflows, 0, 'not the overflow path');
    assert.deepEqual(s.events.get(0), want);
    assert.ok(lateStart > 0);
    assert.deepEqual(late.events.get(0), want.filter((e) => e[0] >= lateStart));
  } finally {
    s.handle.close();
    late.handle.close();
    await hub.close();
  }
});

test('a hot key with 20,000 watchers is delivered in slices; stalls and catch-up in between lose and duplicate nothing', async () => {
  const a = new FakeStream(member.watchHub);
  const s2 = new FakeStream(member.watchHub);
  let n = 0;
  s2.fillsUp = () => ++n % 97 === 0; // stalls often; drained a moment later
  const drainer = setInterval(() => s2.stalled && s2.drain(), 1);
  try {
    const start = (await currentRev()) + 1;
    for (let i = 0; i < 10_000; i++) {
      void a.handle.create({ key: b('hot'), startRevision: start });
      void s2.handle.create({ key: b('hot'), startRevision: start });
    }
    await until('20,000 created', () => a.created().length === 10_000 && s2.created().length === 10_000);
    const revs: number[] = [];
    const yields = member.watchHub.counters.deliveryYields;
    for (let i = 0; i < 5; i++) revs.push(await put('hot', `h${i}`));
    await a.progressAt(revs[4]!);
    await s2.progressAt(revs[4]!);
    for (const s of [a, s2]) {
      assert.equal(s.events.size, 10_000);
      for (const [id, evs] of s.events) assert.deepEqual(evs.map((e) => e[0]), revs, `watcher ${id}`);
    }
    assert.ok(member.watchHub.counters.deliveryYields > yields, 'a revision was delivered in more than one slice');
  } finally {
    clearInterval(drainer);
    a.handle.close();
    s2.handle.close();
  }
});
