/**
 * The storage pipeline end to end in one process: EtcdServer -> WAL -> apply worker ->
 * LMDB, through startMember (no gRPC). Process-level tests live in test/e2e.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, readdirSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { parseServerConfig } from '../../../src/config/config.js';
import { startMember, type Member } from '../../../src/server/bootstrap.js';
import { ONE_THREAD, WORKER_THREADS } from '../../../src/server/openers.js';
import type { LogOpener } from '../../../src/server/bootstrap.js';
import { InlineWalWriter } from '../../../src/threads/wal-writer.js';
import { WorkerWalWriter } from '../../../src/threads/worker-wal-writer.js';
import { nopLogger } from '../../../src/util/logger.js';
import { spawnSync } from 'node:child_process';
import { EtcdError } from '../../../src/errors/errors.js';

const b = (s: string) => Buffer.from(s);

function config(dataDir: string, extra: string[] = []) {
  return parseServerConfig(['--data-dir', dataDir, ...extra], {}, { dataDirInitialized: false });
}

const MODES = [
  ['one thread', ONE_THREAD],
  ['worker threads', WORKER_THREADS],
] as const;

for (const [mode, threads] of MODES) {

async function withMember<T>(dataDir: string, fn: (m: Member) => Promise<T>, extra: string[] = []): Promise<T> {
  const m = await startMember(config(dataDir, extra), nopLogger(), threads);
  try {
    return await fn(m);
  } finally {
    await m.close();
  }
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'etcd-ts-member-'));
}

test(`${mode}: ` + 'concurrent puts get distinct revisions, headers are filled, reads see acknowledged writes', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      const s = m.server;
      const N = 200;
      const answers = await Promise.all(
        Array.from({ length: N }, (_, i) => s.put({ key: b(`k${i}`), value: b(`v${i}`) })),
      );
      const revs = answers.map((a) => Number(etcdserverpb.PutResponse.decode(a).header!.revision));
      assert.equal(new Set(revs).size, N, 'every put has its own revision');
      const h = etcdserverpb.PutResponse.decode(answers[0]!).header!;
      assert.equal(h.clusterId, m.identity.clusterId);
      assert.equal(h.memberId, m.identity.memberId);
      assert.equal(h.raftTerm, s.term);
      const all = await s.range({ key: b('k'), rangeEnd: b('l') });
      assert.equal(all.count, N);
      assert.equal(all.header!.revision, Math.max(...revs));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'restart: data, revisions and the compaction point survive; the term moves on', async () => {
  const dir = tmp();
  try {
    const before = await withMember(dir, async (m) => {
      for (let i = 0; i < 20; i++) await m.server.put({ key: b('a'), value: b(`v${i}`) });
      await m.server.compact({ revision: 10 });
      return { term: m.server.term, rev: (await m.server.range({ key: b('a') })).header!.revision, id: m.identity.memberId };
    });
    await withMember(dir, async (m) => {
      assert.equal(m.identity.memberId, before.id, 'member ID is kept in the data dir');
      assert.ok(m.server.term > before.term, 'a restart is a new term');
      const r = await m.server.range({ key: b('a') });
      assert.equal(r.header!.revision, before.rev);
      assert.equal(Buffer.from(r.kvs![0]!.value!).toString(), 'v19');
      assert.equal(r.kvs![0]!.version, 20);
      await assert.rejects(Promise.resolve().then(() => m.server.range({ key: b('a'), revision: 5 })), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_COMPACTED');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'a request over --max-request-bytes is refused and changes nothing', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      const rev = (await m.server.range({ key: b('x') })).header!.revision;
      await assert.rejects(m.server.put({ key: b('x'), value: Buffer.alloc(2048) }), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
      assert.equal((await m.server.range({ key: b('x') })).header!.revision, rev);
      await m.server.put({ key: b('x'), value: Buffer.alloc(512) });
    }, ['--max-request-bytes', '1024']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'writes past --quota-backend-bytes are refused with NO_SPACE and change nothing; deletes still work', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      const value = Buffer.alloc(16 * 1024, 7);
      let refused: unknown;
      let i = 0;
      for (; i < 1000 && refused === undefined; i++) {
        try {
          await m.server.put({ key: b(`big${i}`), value });
        } catch (e) {
          refused = e;
        }
      }
      assert.ok(refused instanceof EtcdError && refused.code === 'ETCD_ERR_MVCC_NO_SPACE', `expected NO_SPACE, got ${String(refused)}`);
      assert.equal(refused.message, 'etcdserver: mvcc: database space exceeded');
      const rev = (await m.server.range({ key: b('big0') })).header!.revision;
      await assert.rejects(m.server.put({ key: b('one-more'), value }), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_NO_SPACE');
      assert.equal((await m.server.range({ key: b('big0') })).header!.revision, rev, 'a refused put changes nothing');
      await m.server.deleteRange({ key: b('big'), rangeEnd: b('bih') });
      assert.equal((await m.server.range({ key: b('big'), rangeEnd: b('bih') })).count, 0);
    }, ['--quota-backend-bytes', String(512 * 1024)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'a txn whose reads return more than a ring frame holds is answered whole', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      const value = Buffer.alloc(1000 * 1000, 'x');
      for (let i = 0; i < 12; i++) await m.server.put({ key: b(`big${i}`), value });
      const res = etcdserverpb.TxnResponse.decode(
        await m.server.txn({ success: [{ requestRange: { key: b('big'), rangeEnd: b('bih') } }] }),
      );
      assert.equal(res.succeeded, true);
      const kvs = res.responses[0]!.responseRange!.kvs!;
      assert.equal(kvs.length, 12);
      for (const kv of kvs) assert.equal(kv.value!.length, value.length);
      // and the pipeline still works afterwards
      await m.server.put({ key: b('after'), value: b('ok') });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'large ranges run in the read pool and answer exactly what the main thread answers', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      const puts = [];
      for (let i = 0; i < 1500; i++) puts.push(m.server.put({ key: b(`k${String(i).padStart(5, '0')}`), value: b(`v${i}`) }));
      await Promise.all(puts);
      await m.server.compact({ revision: 10 });
      const req = { key: b('k'), rangeEnd: b('l') };
      const pooled = await m.server.serveRange(req);
      assert.ok(pooled instanceof Uint8Array, 'a range of 1,500 keys goes to the pool');
      const viaPool = etcdserverpb.RangeResponse.decode(pooled);
      const inline = await m.server.range(req);
      assert.equal(viaPool.count, 1500);
      assert.equal(viaPool.kvs.length, 1500);
      assert.deepEqual(viaPool.kvs.map((kv) => Buffer.from(kv.key!).toString()), inline.kvs!.map((kv) => Buffer.from(kv.key!).toString()));
      assert.equal(viaPool.header!.revision, inline.header!.revision);
      assert.equal(viaPool.header!.memberId, m.identity.memberId);
      assert.equal(viaPool.header!.raftTerm, m.server.term);
      // small requests stay on the main thread
      assert.ok(!((await m.server.serveRange({ key: b('k'), rangeEnd: b('l'), limit: 10 })) instanceof Uint8Array));
      // errors cross the pool as EtcdErrors
      await assert.rejects(m.server.serveRange({ ...req, revision: 3 }), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_COMPACTED');
      await assert.rejects(m.server.serveRange({ ...req, revision: 1e9 }), (e: unknown) => e instanceof EtcdError && e.code === 'ETCD_ERR_MVCC_FUTURE_REV');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'a data dir from something else is refused, naming the file and offset, and left as it was', async () => {
  const dir = tmp();
  try {
    // etcd's bbolt file where our LMDB file belongs
    mkdirSync(join(dir, 'member', 'snap'), { recursive: true });
    const bolt = Buffer.alloc(4096);
    bolt.writeUInt32LE(0xed0cdaed, 16);
    writeFileSync(join(dir, 'member', 'snap', 'db'), bolt);
    await assert.rejects(startMember(config(dir), nopLogger(), threads), /snap\/db: not an etcd-ts data file: no LMDB magic at offset 24 \(it looks like an etcd\/bbolt data file\)/);
    assert.deepEqual(readdirSync(join(dir, 'member', 'snap')), ['db'], 'no lock file or anything else was created');
    assert.deepEqual(readFileSync(join(dir, 'member', 'snap', 'db')), bolt, 'the file is untouched');
    // a WAL segment that is not ours
    const dir2 = tmp();
    try {
      mkdirSync(join(dir2, 'member', 'wal'), { recursive: true });
      writeFileSync(join(dir2, 'member', 'wal', '0000000000000000-0000000000000000.wal'), Buffer.alloc(8192, 0x5a));
      await assert.rejects(startMember(config(dir2), nopLogger(), threads), /0000000000000000-0000000000000000\.wal.*offset 0/);
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'one member per data dir: a live owner refuses a second start, a stale lock is taken over', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async () => {
      await assert.rejects(startMember(config(dir), nopLogger(), threads), /already open in this process/);
    });
    // another live process owns it (our parent is alive)
    const startTime = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    };
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(join(dir, 'member', 'lock'), `${process.ppid} ${startTime(process.ppid)} ${boot}\n`);
    await assert.rejects(startMember(config(dir), nopLogger(), threads), new RegExp(`in use by process ${process.ppid}`));
    // a lock whose pid now belongs to another process (reused pid: the start time differs)
    writeFileSync(join(dir, 'member', 'lock'), `${process.ppid} 1 ${boot}\n`);
    await withMember(dir, async () => undefined);
    // a lock left by a process that is gone
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!;
    writeFileSync(join(dir, 'member', 'lock'), `${dead}\n`);
    await withMember(dir, async (m) => {
      assert.equal(readFileSync(join(dir, 'member', 'lock'), 'utf8').split(' ')[0], String(process.pid));
      await m.server.put({ key: b('k'), value: b('v') });
    });
    assert.ok(!readdirSync(join(dir, 'member')).includes('lock'), 'a clean stop releases the lock');
    // two members cannot share one --wal-dir
    const dir2 = tmp();
    const walDir = join(dir, 'member', 'wal');
    try {
      await withMember(dir, async () => {
        await assert.rejects(
          startMember(config(dir2, ['--wal-dir', walDir]), nopLogger(), threads),
          /WAL directory .* is already open in this process/,
        );
      });
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'checkpoints every --snapshot-count entries sync LMDB and release old WAL segments; restart keeps everything', async () => {
  const dir = tmp();
  const smallSegmentLog: LogOpener = ({ dir: walDir, fromIndex, cfg }) =>
    (mode.startsWith('worker') ? WorkerWalWriter : InlineWalWriter).open({ dir: walDir, segmentBytes: 64 * 1024, maxBatchBytes: cfg.walBatchMaxBytes }, fromIndex);
  const start = () => startMember(config(dir, ['--snapshot-count', '100']), nopLogger(), { ...threads, openLog: smallSegmentLog });
  try {
    const segments = () => readdirSync(join(dir, 'member', 'wal')).filter((f) => f.endsWith('.wal'));
    let m = await start();
    try {
      for (let round = 0; round < 20; round++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => m.server.put({ key: b(`c${round * 100 + i}`), value: Buffer.alloc(256, 1) })));
      }
      // 2,000 entries of ~300 bytes fill ~10 segments of 64 KiB; the periodic checkpoints
      // (every 100 applied entries) release the first ones while the member runs.
      // A bounded wait on a state (the bound only catches a hang; it is generous on purpose).
      const deadline = Date.now() + 60_000;
      while (segments().some((f) => f.startsWith('0000000000000000-')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(!segments().some((f) => f.startsWith('0000000000000000-')), `a running member released the first segment (${segments().join(' ')})`);
    } finally {
      await m.close();
    }
    // A clean stop ends with a checkpoint: only the segment being written remains (and its spare).
    assert.ok(segments().length <= 2, `after a clean stop ${segments().length} segments remain: ${segments().join(' ')}`);
    m = await start();
    try {
      const all = await m.server.range({ key: b('c'), rangeEnd: b('d'), countOnly: true });
      assert.equal(all.count, 2000);
      await m.server.put({ key: b('after'), value: b('restart') });
    } finally {
      await m.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'mixed concurrent writes: every answered revision is the one the store holds', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      const s = m.server;
      const ops: Promise<{ key: string; rev: number } | undefined>[] = [];
      for (let i = 0; i < 400; i++) {
        const key = `mix${i % 37}`;
        switch (i % 5) {
          case 0:
          case 1:
          case 2: // plain puts: answered at durability with a predicted revision
            ops.push(s.put({ key: b(key), value: b(`v${i}`) }).then((r) => ({ key, rev: Number(etcdserverpb.PutResponse.decode(r).header!.revision) })));
            break;
          case 3: // a delete that may or may not delete: the revision is unknown until applied
            ops.push(s.deleteRange({ key: b(`mix${(i * 7) % 37}`) }).then(() => undefined));
            break;
          default: // a txn, and a put with prev_kv
            ops.push(s.txn({ compare: [{ key: b(key), target: 0, result: 1, version: 0 }], success: [{ requestPut: { key: b(`t${i}`), value: b('x') } }] }).then(() => undefined));
            ops.push(s.put({ key: b(`p${i}`), value: b('y'), prevKv: true }).then(() => undefined));
        }
      }
      const answers = (await Promise.all(ops)).filter((a): a is { key: string; rev: number } => a !== undefined);
      const revs = answers.map((a) => a.rev);
      assert.equal(new Set(revs).size, revs.length, 'no revision was answered twice');
      // Every answered put is in the store at the revision it was told (read it at that revision).
      for (const a of answers) {
        const r = await s.range({ key: b(a.key), revision: a.rev });
        assert.equal(r.kvs![0]?.modRevision, a.rev, `${a.key} at ${a.rev}`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'a clean stop right after answered puts applies them all: the restart replays nothing', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      await Promise.all(Array.from({ length: 300 }, (_, i) => m.server.put({ key: b(`s${i}`), value: b('v') })));
      // no waiting for the apply worker: stop now
    });
    await withMember(dir, async (m) => {
      assert.equal(m.replayed, 0, 'every answered put was applied before the stop');
      assert.equal((await m.server.range({ key: b('s'), rangeEnd: b('t'), countOnly: true })).count, 300);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(`${mode}: ` + 'a WAL missing entries the store has applied is refused with a message naming it', async () => {
  const dir = tmp();
  try {
    await withMember(dir, async (m) => {
      for (let i = 0; i < 5; i++) await m.server.put({ key: b('a'), value: b('v') });
    });
    const walDir = join(dir, 'member', 'wal');
    for (const f of readdirSync(walDir)) rmSync(join(walDir, f));
    // An empty WAL dir is a fresh log starting at the applied index: that is allowed.
    await withMember(dir, async (m) => {
      assert.equal((await m.server.range({ key: b('a') })).kvs![0]!.version, 5);
    });
    // Now cut the new log's segment short of what LMDB has applied: refuse.
    const seg = readdirSync(walDir)[0]!;
    truncateSync(join(walDir, seg), 0);
    await assert.rejects(startMember(config(dir), nopLogger(), threads), /WAL|wal/);
    assert.ok(statSync(join(dir, 'member', 'snap', 'db')).size > 0, 'the store is left as it was');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
}
