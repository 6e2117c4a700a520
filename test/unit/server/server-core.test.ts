/**
 * The server core in one thread (ONE_THREAD), with the apply pipe held back on purpose:
 * backpressure instead of errors, and reads that never see a state older than an answer given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { parseServerConfig } from '../../../src/config/config.js';
import { startMember, type Member, type ThreadModel } from '../../../src/server/bootstrap.js';
import { ONE_THREAD } from '../../../src/server/openers.js';
import { MAX_GAP_BETWEEN_APPLY_AND_COMMIT } from '../../../src/server/etcd-server.js';
import type { ApplyOutcome, ApplyPipe, PromisedRevisions } from '../../../src/server/ports.js';
import type { Entry } from '../../../src/raftpb/types.js';
import { nopLogger } from '../../../src/util/logger.js';

const b = (s: string) => Buffer.from(s);

/** An apply pipe that holds every batch while `hold()` is in force, then applies them in order. */
class HeldPipe implements ApplyPipe {
  #held = false;
  #waiting: (() => void)[] = [];
  held = 0;
  constructor(private readonly inner: ApplyPipe) {}
  hold(): void {
    this.#held = true;
  }
  release(): void {
    this.#held = false;
    for (const w of this.#waiting.splice(0)) w();
  }
  apply(entries: readonly Entry[], promised?: PromisedRevisions): Promise<ApplyOutcome[]> {
    if (!this.#held) return this.inner.apply(entries, promised);
    this.held += entries.length;
    return new Promise<void>((r) => this.#waiting.push(r)).then(() => this.inner.apply(entries, promised));
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  installSnapshot(path: string): ReturnType<ApplyPipe['installSnapshot']> {
    return this.inner.installSnapshot(path);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function withHeldMember(fn: (m: Member, pipe: HeldPipe) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-core-'));
  let pipe: HeldPipe | undefined;
  const threads: ThreadModel = {
    openLog: ONE_THREAD.openLog,
    openApply: async (o) => {
      const opened = await ONE_THREAD.openApply(o);
      pipe = new HeldPipe(opened.pipe);
      return { ...opened, pipe };
    },
  };
  const cfg = parseServerConfig(['--data-dir', dir], {}, { dataDirInitialized: false });
  const m = await startMember(cfg, nopLogger(), threads);
  try {
    await fn(m, pipe!);
  } finally {
    pipe!.release();
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Lets the event loop run `n` turns (WAL appends, commits, hand-offs). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

test('overload: with applies held, proposals past the apply gap wait instead of failing; all succeed once applies resume', async () => {
  await withHeldMember(async (m, pipe) => {
    const s = m.server;
    pipe.hold();
    const N = MAX_GAP_BETWEEN_APPLY_AND_COMMIT + 1500;
    let settled = 0;
    const puts = Array.from({ length: N }, (_, i) => {
      // Half plain puts (answered at commit), half with prev_kv (answered at apply).
      const p = s.put({ key: b(`k${i}`), value: b(`v${i}`), prevKv: i % 2 === 1 });
      void p.then(() => settled++, () => settled++);
      return p;
    });
    // Wait until the gate is the only thing holding requests back.
    for (let i = 0; i < 1000 && s.committedIndex - s.appliedIndex < MAX_GAP_BETWEEN_APPLY_AND_COMMIT; i++) await turns(1);
    await turns(20);
    const gap = s.committedIndex - s.appliedIndex;
    assert.ok(gap >= MAX_GAP_BETWEEN_APPLY_AND_COMMIT, `the gap reached the limit (${gap})`);
    assert.ok(gap <= MAX_GAP_BETWEEN_APPLY_AND_COMMIT + 1, `the gap stays at the limit (${gap})`);
    assert.ok(settled < N, 'requests past the gap wait');
    assert.ok(s.proposalsPending >= N - MAX_GAP_BETWEEN_APPLY_AND_COMMIT - 1 - settled, 'waiting requests are counted as pending');
    pipe.release();
    const answers = await Promise.all(puts); // rejects on any error
    const revs = answers.map((a) => Number(etcdserverpb.PutResponse.decode(a).header!.revision));
    assert.equal(new Set(revs).size, N, 'every put has its own revision');
    const all = await s.range({ key: b('k'), rangeEnd: b('l'), countOnly: true });
    assert.equal(Number(all.count), N);
  });
});

test('a serializable read after a put answered at commit waits until the put is applied, then sees it', async () => {
  await withHeldMember(async (m, pipe) => {
    const s = m.server;
    pipe.hold();
    const ack = etcdserverpb.PutResponse.decode(await s.put({ key: b('x'), value: b('1') }));
    assert.ok(s.appliedIndex < s.committedIndex, 'the put was answered before it was applied');
    let read: etcdserverpb.IRangeResponse | undefined;
    const serializable = s.range({ key: b('x'), serializable: true }).then((r) => (read = r));
    let linRead: etcdserverpb.IRangeResponse | undefined;
    const linearizable = s.range({ key: b('x') }).then((r) => (linRead = r));
    await turns(20);
    assert.equal(read, undefined, 'the serializable read did not answer from a store without the acknowledged put');
    assert.equal(linRead, undefined, 'nor did the linearizable one');
    pipe.release();
    await Promise.all([serializable, linearizable]);
    for (const r of [read!, linRead!]) {
      assert.equal(r.kvs?.length, 1);
      assert.equal(Number(r.kvs![0]!.modRevision), Number(ack.header!.revision));
    }
  });
});

test('a serializable read with nothing answered early is served at once', async () => {
  await withHeldMember(async (m, pipe) => {
    const s = m.server;
    await s.put({ key: b('y'), value: b('1'), prevKv: true }); // answered at apply
    pipe.hold();
    const r = await s.range({ key: b('y'), serializable: true });
    assert.equal(r.kvs?.length, 1);
  });
});

test('an apply failure stops the server: later requests fail, nothing else is answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-core-'));
  let fail = false;
  const threads: ThreadModel = {
    openLog: ONE_THREAD.openLog,
    openApply: async (o) => {
      const opened = await ONE_THREAD.openApply(o);
      const inner = opened.pipe;
      const pipe: ApplyPipe = {
        apply: (e, p) => (fail ? Promise.reject(new Error('disk on fire')) : inner.apply(e, p)),
        flush: () => inner.flush(),
        installSnapshot: (path) => inner.installSnapshot(path),
        close: () => inner.close(),
      };
      return { ...opened, pipe };
    },
  };
  const m = await startMember(parseServerConfig(['--data-dir', dir], {}, { dataDirInitialized: false }), nopLogger(), threads);
  try {
    const fatal: Error[] = [];
    m.server.onFatal((e) => fatal.push(e));
    await m.server.put({ key: b('a'), value: b('1') });
    fail = true;
    const txn = m.server.txn({ success: [{ requestPut: { key: b('b'), value: b('2') } }] });
    await assert.rejects(txn, /server stopped/);
    assert.deepEqual(fatal.map((e) => e.message), ['disk on fire']);
    await assert.rejects(m.server.put({ key: b('c'), value: b('3') }), /server stopped/);
    await assert.rejects(m.server.range({ key: b('a'), serializable: true }), /server stopped/);
  } finally {
    await m.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
