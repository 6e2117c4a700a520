/**
 * Watch through real clients and raw gRPC, against the server under test (ours, or the real
 * etcd with ETCD_TEST_SERVER=real, which proves the expectations):
 * - the real etcdctl 3.4 `watch`: key, range, prefix, --rev, --prev-kv, interactive `watch -i`;
 * - the etcd3 npm client: key with previous KV, prefix, start revision, filters, cancel;
 * - raw gRPC for what clients cannot send: progress_request, hasleader metadata, duplicate id,
 *   range_end before key, unknown cancel, a far future start, NOPUT, an oversized create,
 *   1,000 streams, a consumer that stops reading while writes go on, clients that disconnect.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { Etcd3 } from 'etcd3';
import { useCluster } from './framework/hooks.js';
import { RawEtcdClient, RawWatchStream } from './framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';
import { etcdctlCommand, etcdctlEnv, etcdctlUnavailableReason } from './framework/etcdctl.js';
import { etcdserverpb } from '../../src/proto/pb.js';

const b = (s: string): Buffer => Buffer.from(s);
const str = (u: Uint8Array | null | undefined): string => Buffer.from(u ?? []).toString();
const WAIT_MS = 15_000;

async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A long-running etcdctl (watch): its output so far; killed by stop(). */
class EtcdctlProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  constructor(endpoint: string, args: string[], stdin?: string) {
    const [bin, ...pre] = etcdctlCommand('etcdctl');
    this.child = spawn(bin!, [...pre, `--endpoints=${endpoint}`, ...args], { env: etcdctlEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    if (stdin !== undefined) this.child.stdin!.write(stdin); // left open: `watch -i` exits at EOF
  }
  async output(expected: string): Promise<string> {
    await until(`etcdctl output ${JSON.stringify(expected)} (got ${JSON.stringify(this.stdout)}, stderr ${JSON.stringify(this.stderr)})`, () => this.stdout.length >= expected.length);
    await new Promise((r) => setTimeout(r, 50)); // anything extra shows up in the comparison
    return this.stdout;
  }
  stop(): void {
    this.child.kill('SIGKILL');
  }
}

describe('watch through clients', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'watchc' });
  let raw: RawEtcdClient;
  let endpoint: string;
  before(() => {
    raw = new RawEtcdClient(cluster.c.endpoint);
    endpoint = cluster.c.endpoint;
  });
  after(() => raw?.close());

  async function put(k: string, v: string): Promise<number> {
    const r = await raw.put({ key: b(k), value: b(v) });
    assert.ok(r.ok, r.ok ? '' : r.error.details);
    return Number(r.value.header?.revision);
  }

  describe('etcdctl 3.4 watch', { skip: etcdctlUnavailableReason('etcdctl') ?? false }, () => {
    it('key from --rev, with --prev-kv, then live', async () => {
      const r1 = await put('ek', 'v1');
      await put('ek', 'v2');
      const p = new EtcdctlProcess(endpoint, ['watch', '--rev', String(r1), '--prev-kv', 'ek']);
      try {
        await p.output('PUT\nek\nv1\nPUT\nek\nv1\nek\nv2\n');
        await put('ek', 'v3');
        assert.equal(await p.output('PUT\nek\nv1\nPUT\nek\nv1\nek\nv2\nPUT\nek\nv2\nek\nv3\n'), 'PUT\nek\nv1\nPUT\nek\nv1\nek\nv2\nPUT\nek\nv2\nek\nv3\n');
      } finally {
        p.stop();
      }
    });

    it('--prefix and a range [key, range_end), deletes included', async () => {
      const r = await put('ep/a', '1');
      await put('eq', 'outside');
      await put('ep/b', '2');
      assert.ok((await raw.deleteRange({ key: b('ep/a') })).ok);
      const pre = new EtcdctlProcess(endpoint, ['watch', '--rev', String(r), '--prefix', 'ep/']);
      const rng = new EtcdctlProcess(endpoint, ['watch', '--rev', String(r), 'ep/b', 'eq0']);
      try {
        assert.equal(await pre.output('PUT\nep/a\n1\nPUT\nep/b\n2\nDELETE\nep/a\n\n'), 'PUT\nep/a\n1\nPUT\nep/b\n2\nDELETE\nep/a\n\n');
        assert.equal(await rng.output('PUT\neq\noutside\nPUT\nep/b\n2\n'), 'PUT\neq\noutside\nPUT\nep/b\n2\n');
      } finally {
        pre.stop();
        rng.stop();
      }
    });

    it('interactive watch -i', async () => {
      const r = await put('ei', 'x1');
      const p = new EtcdctlProcess(endpoint, ['watch', '-i'], `watch --rev ${r} ei\n`);
      try {
        await p.output('PUT\nei\nx1\n');
        await put('ei', 'x2');
        assert.equal(await p.output('PUT\nei\nx1\nPUT\nei\nx2\n'), 'PUT\nei\nx1\nPUT\nei\nx2\n');
      } finally {
        p.stop();
      }
    });
  });

  describe('etcd3 npm client', () => {
    let client: Etcd3;
    before(() => {
      client = new Etcd3({ hosts: `http://${endpoint}` });
    });
    after(() => client?.close());

    it('key with previous KV, prefix from a start revision, put-only filter, cancel', async () => {
      const start = await put('n/a', 'a0');
      // Handlers go on before the watchers connect: a past start revision's events may come at once.
      const w1 = client.watch().key('n/a').withPreviousKV().watcher();
      const w2 = client.watch().prefix('n/').startRevision(String(start)).watcher();
      // etcd3's operationNames map 'put' to NODELETE and 'delete' to NOPUT (inverted in the client):
      // ignore('put') sends filters [NODELETE], so this watcher sees puts only.
      const w3 = client.watch().prefix('n/').ignore('put').startRevision(String(start)).watcher();
      const seen1: string[] = [];
      const seen2: string[] = [];
      const seen3: string[] = [];
      w1.on('put', (kv, prev) => seen1.push(`put ${kv.key} ${kv.value} prev=${prev?.value ?? '-'}`));
      w1.on('delete', (kv, prev) => seen1.push(`delete ${kv.key} prev=${prev?.value ?? '-'}`));
      w2.on('put', (kv) => seen2.push(`put ${kv.key} ${kv.value} ${kv.mod_revision}`));
      w2.on('delete', (kv) => seen2.push(`delete ${kv.key} ${kv.mod_revision}`));
      w3.on('put', (kv) => seen3.push(`put ${kv.key}`));
      w3.on('delete', (kv) => seen3.push(`delete ${kv.key}`));
      const connected = [false, false, false];
      [w1, w2, w3].forEach((w, i) => w.once('connected', () => (connected[i] = true)));
      await until(`every watcher connected (${JSON.stringify(connected)})`, () => connected.every(Boolean));
      try {
        const r2 = await put('n/a', 'a1');
        const r3 = await put('n/b', 'b1');
        const d = await raw.deleteRange({ key: b('n/a') });
        assert.ok(d.ok);
        const r4 = Number(d.value.header?.revision);
        await until(`4 events on the prefix watch (${JSON.stringify([seen1, seen2, seen3])})`, () => seen2.length >= 4);
        await until('2 events on the key watch', () => seen1.length >= 2);
        await until(`3 events on the put-only watch (${JSON.stringify(seen3)})`, () => seen3.length >= 3);
        assert.deepEqual(seen1, ['put n/a a1 prev=a0', 'delete n/a prev=a1']);
        assert.deepEqual(seen2, [`put n/a a0 ${start}`, `put n/a a1 ${r2}`, `put n/b b1 ${r3}`, `delete n/a ${r4}`]);
        assert.deepEqual(seen3, ['put n/a', 'put n/a', 'put n/b']);
        await w1.cancel();
        await put('n/a', 'after-cancel');
        await until('the prefix watch saw it', () => seen2.length >= 5);
        assert.equal(seen1.length, 2, 'a canceled watcher gets nothing more');
      } finally {
        // w1 was canceled above (a second cancel would wait forever: etcd does not answer an unknown id)
        await Promise.all([w2.cancel(), w3.cancel()]);
      }
    });
  });

  describe('raw gRPC', () => {
    async function created(w: RawWatchStream): Promise<etcdserverpb.WatchResponse> {
      const r = await w.next();
      assert.equal(r.created, true, 'created first');
      return r;
    }

    it('progress_request answers watch_id -1 with a revision at or above every acknowledged write; hasleader=true works with a leader', async () => {
      const w = new RawWatchStream(raw, { hasleader: 'true' });
      try {
        w.send({ createRequest: { key: b('pr') } });
        await created(w);
        const rev = await put('other-key', 'x');
        w.send({ progressRequest: {} });
        const p = await w.next();
        assert.deepEqual([Number(p.watchId), p.created, p.canceled, p.events.length], [-1, false, false, 0]);
        assert.ok(Number(p.header?.revision) >= rev, `progress revision ${p.header?.revision} below the acknowledged ${rev}`);
      } finally {
        w.close();
      }
    });

    it('bad input: duplicate id, range_end before key, unknown cancel, far future start; the stream keeps working', async () => {
      const w = new RawWatchStream(raw);
      try {
        w.send({ createRequest: { key: b('bi'), watchId: 3 } });
        assert.equal(Number((await created(w)).watchId), 3, 'a client-chosen id');
        w.send({ createRequest: { key: b('bi'), watchId: 3 } });
        const dup = await created(w);
        assert.deepEqual([Number(dup.watchId), dup.canceled, dup.cancelReason], [-1, true, 'mvcc: duplicate watch ID provided on the WatchStream']);
        w.send({ createRequest: { key: b('z'), rangeEnd: b('a') } });
        const empty = await created(w);
        assert.deepEqual([Number(empty.watchId), empty.canceled, empty.cancelReason], [-1, true, 'mvcc: watcher range is empty']);
        w.send({ cancelRequest: { watchId: 12345 } }); // etcd does not answer this
        w.send({ createRequest: { key: b('bi'), startRevision: 1_000_000_000_000 } });
        const future = await created(w);
        assert.equal(future.canceled, false);
        w.send({ createRequest: { key: b('bi'), filters: [etcdserverpb.WatchCreateRequest.FilterType.NOPUT] } });
        const noput = await created(w);
        const rev = await put('bi', 'v');
        assert.ok((await raw.deleteRange({ key: b('bi') })).ok);
        // the next answers: the put on watcher 3, then the delete on 3 and on the NOPUT watcher; nothing for the future one
        const got: string[] = [];
        while (got.length < 3) {
          const r = await w.next();
          for (const e of r.events) got.push(`${Number(r.watchId)} ${Number(e.type ?? 0) === 1 ? 'DELETE' : 'PUT'} ${Number(e.kv?.modRevision)}`);
        }
        assert.deepEqual(got.sort(), [`3 DELETE ${rev + 1}`, `3 PUT ${rev}`, `${Number(noput.watchId)} DELETE ${rev + 1}`].sort());
      } finally {
        w.close();
      }
    });

    it('a create request over the size limit ends the stream with RESOURCE_EXHAUSTED; the server keeps serving', async () => {
      const w = new RawWatchStream(raw);
      try {
        w.sendBytes(etcdserverpb.WatchRequest.encode({ createRequest: { key: Buffer.alloc(3 * 1024 * 1024, 0x61) } }).finish());
        await assert.rejects(w.next(), (err: Error & { code?: number; details?: string }) => {
          assert.equal(err.code, 8, String(err.message));
          assert.match(err.details ?? '', /grpc: received message larger than max/);
          return true;
        });
      } finally {
        w.close();
      }
      assert.ok((await raw.put({ key: b('still'), value: b('here') })).ok);
    });

    it('10,000 watchers on one stream: created in order, ids 0..9,999, exactly the watchers of the written key get its event', async () => {
      const start = (await raw.revision()) + 1;
      const w = new RawWatchStream(raw);
      try {
        for (let i = 0; i < 10_000; i++) w.send({ createRequest: { key: b(`tw/${i % 100}`), startRevision: start } });
        for (let i = 0; i < 10_000; i++) {
          const c = await w.next();
          assert.deepEqual([c.created, Number(c.watchId)], [true, i]);
        }
        const rev = await put('tw/42', 'x');
        const got = new Set<number>();
        while (got.size < 100) {
          const r = await w.next();
          assert.deepEqual(r.events.map((e) => [str(e.kv?.key), Number(e.kv?.modRevision)]), [['tw/42', rev]]);
          assert.equal(Number(r.watchId) % 100, 42, `watcher ${r.watchId} is not on tw/42`);
          assert.ok(!got.has(Number(r.watchId)), 'once per watcher');
          got.add(Number(r.watchId));
        }
      } finally {
        w.close();
      }
    });

    it('1,000 streams each get the event once', async () => {
      const start = (await raw.revision()) + 1;
      const streams = Array.from({ length: 1000 }, () => new RawWatchStream(raw));
      try {
        for (const w of streams) w.send({ createRequest: { key: b('fan'), startRevision: start } });
        await Promise.all(streams.map((w) => created(w)));
        const rev = await put('fan', 'out');
        const firsts = await Promise.all(streams.map((w) => w.next()));
        for (const r of firsts) assert.deepEqual(r.events.map((e) => Number(e.kv?.modRevision)), [rev]);
      } finally {
        for (const w of streams) w.close();
      }
    });

    it('3,000 watch streams opened and cancelled on one connection: the connection stays usable', async () => {
      // nghttp2's default reset limit (1,000, then 33/s) ended such a connection with GOAWAY
      // INTERNAL_ERROR, failing every call on it; the real etcd keeps it.
      const own = new RawEtcdClient(endpoint);
      try {
        for (let round = 0; round < 3; round++) {
          const streams = Array.from({ length: 1000 }, () => new RawWatchStream(own));
          for (const w of streams) w.send({ createRequest: { key: b(`rst/${round}`) } });
          await Promise.all(streams.map((w) => created(w)));
          for (const w of streams) w.close();
          const r = await own.range({ key: b('rst') });
          assert.ok(r.ok, `round ${round}: a call after the cancels: ${r.ok ? '' : r.error.details}`);
        }
        const last = new RawWatchStream(own);
        try {
          last.send({ createRequest: { key: b('rst/last') } });
          await created(last);
        } finally {
          last.close();
        }
      } finally {
        own.close();
      }
    });

    it('a consumer that stops reading while writes go on catches up with every event once, in order; disconnecting clients harm nobody', async () => {
      const start = (await raw.revision()) + 1;
      const slow = new RawWatchStream(raw);
      const quitters = Array.from({ length: 20 }, () => new RawWatchStream(raw));
      try {
        slow.send({ createRequest: { key: b('sl/'), rangeEnd: b('sl0'), startRevision: start } });
        await created(slow);
        for (const q of quitters) q.send({ createRequest: { key: b('sl/'), rangeEnd: b('sl0'), startRevision: start, prevKv: true } });
        await Promise.all(quitters.map((q) => created(q)));
        slow.pause();
        const value = 'v'.repeat(1024);
        const acked: number[] = [];
        // 2,000 puts of 1 KiB: far beyond HTTP/2's 64 KiB window of the paused stream
        await Promise.all(
          Array.from({ length: 8 }, async (_, c) => {
            for (let i = 0; i < 250; i++) {
              acked.push(await put(`sl/${c}/${i % 10}`, value));
              if (c === 0 && i === 100) for (const q of quitters) q.close(); // disconnect mid-stream
            }
          }),
        );
        slow.resume();
        const revs: number[] = [];
        while (revs.length < acked.length) {
          const r = await slow.next();
          assert.ok(!r.canceled, `canceled: ${r.cancelReason}`);
          for (const e of r.events) revs.push(Number(e.kv?.modRevision));
        }
        acked.sort((x, y) => x - y);
        assert.deepEqual(revs, acked, 'every acknowledged put once, in revision order');
      } finally {
        slow.close();
        for (const q of quitters) q.close();
      }
    });
  });

  describe('JSON gateway', () => {
    it('POST /v3/watch streams {"result": WatchResponse} lines: created, then the events from start_revision', async () => {
      const r1 = await put('gw/a', 'g1');
      await put('gw/a', 'g2');
      const lines: string[] = [];
      let buf = '';
      const req = request(`http://${endpoint}/v3/watch`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
        res.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            if (buf.slice(0, nl).trim() !== '') lines.push(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
        });
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ create_request: { key: b('gw/a').toString('base64'), start_revision: String(r1) } }));
      try {
        type GwEvent = { kv: { key: string; value: string; mod_revision: string } };
        const events = (): GwEvent[] => lines.slice(1).flatMap((l) => (JSON.parse(l).result.events ?? []) as GwEvent[]);
        await until(`created and 2 events (${JSON.stringify(lines)})`, () => lines.length >= 1 && events().length >= 2);
        assert.equal(JSON.parse(lines[0]!).result.created, true);
        const evs = events();
        assert.deepEqual(
          evs.map((e) => [Buffer.from(e.kv.key, 'base64').toString(), Buffer.from(e.kv.value, 'base64').toString(), Number(e.kv.mod_revision)]),
          [['gw/a', 'g1', r1], ['gw/a', 'g2', r1 + 1]],
        );
      } finally {
        req.destroy();
      }
    });
  });
});
