/**
 * bin/etcdutl and the way off etcd-ts and back (issue 12): a snapshot saved from etcd-ts with the
 * real etcdctl 3.4 restores into etcd-ts (bin/etcdutl) and into the real etcd 3.4 (etcdctl
 * snapshot restore), with the same keys, revisions and HashKV; etcdutl's status equals etcdctl's;
 * bad snapshots and bad targets are refused with clear errors and change nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from './framework/cluster.js';
import { runEtcdctl, runCommand, etcdctlUnavailableReason, etcdctlEnv } from './framework/etcdctl.js';
import { REPO_ROOT, SUITE_TIMEOUT_MS, makeTempDir, serverUnavailableReason } from './framework/process.js';
import { BoltWriter } from '../../src/backend/bbolt/writer.js';

const skip = serverUnavailableReason('ours') ?? etcdctlUnavailableReason() ?? false;

function etcdutl(args: string[]): ReturnType<typeof runCommand> {
  return runCommand(process.execPath, [join(REPO_ROOT, 'bin', 'etcdutl'), ...args], undefined, 120_000, etcdctlEnv());
}

async function ctl(endpoint: string, args: string[], stdin?: string): Promise<string> {
  const r = await runEtcdctl([endpoint], args, stdin !== undefined ? { stdin } : {});
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

type Kv = { key: string; value?: string; create_revision: number; mod_revision: number; version: number };

async function everything(endpoint: string): Promise<{ kvs: Kv[]; revision: number }> {
  const j = JSON.parse(await ctl(endpoint, ['get', '', '--from-key', '-w', 'json'])) as { kvs?: Kv[]; header: { revision: number } };
  return { kvs: j.kvs ?? [], revision: j.header.revision };
}

async function hashAt(endpoint: string, rev: number): Promise<number> {
  const j = JSON.parse(await ctl(endpoint, ['endpoint', 'hashkv', '--rev', String(rev), '-w', 'json'])) as { HashKV: { hash: number } }[];
  return j[0]!.HashKV.hash;
}

describe('snapshot from etcd-ts restores into etcd-ts and into the real etcd 3.4', { skip: skip || serverUnavailableReason('real') || false, timeout: SUITE_TIMEOUT_MS }, () => {
  let source: Cluster;
  let dir: string;
  let snap: string;
  let want: { kvs: Kv[]; revision: number };
  let wantHash: number;
  let leaseHex = '';
  const started: Cluster[] = [];
  before(async () => {
    dir = makeTempDir('etcd-ts-etcdutl-');
    snap = join(dir, 'snap.db');
    source = await Cluster.start({ name: 'utl-src', kind: 'ours' });
    for (let i = 0; i < 300; i++) await ctl(source.endpoint, ['put', `key/${i % 120}`, `value-${i}`]);
    await ctl(source.endpoint, ['del', 'key/1', '--prefix']);
    await ctl(source.endpoint, ['put', 'bin\u0001ary', 'x'.repeat(10_000)]);
    const rev = (await everything(source.endpoint)).revision;
    await ctl(source.endpoint, ['compaction', String(rev - 50)]);
    await ctl(source.endpoint, ['put', 'after', 'compaction']);
    const granted = /lease ([0-9a-f]+) granted/.exec(await ctl(source.endpoint, ['lease', 'grant', '3600']));
    leaseHex = granted![1]!;
    await ctl(source.endpoint, ['put', 'leased', 'yes', '--lease', leaseHex]);
    want = await everything(source.endpoint);
    wantHash = await hashAt(source.endpoint, want.revision);
    await ctl(source.endpoint, ['snapshot', 'save', snap]);
  });
  after(async () => {
    await Promise.all([source?.close(), ...started.map((c) => c.close())]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('etcdutl snapshot status equals etcdctl 3.4 snapshot status', async () => {
    const a = await etcdutl(['snapshot', 'status', snap, '-w', 'json']);
    assert.equal(a.code, 0, a.stderr);
    const b = await ctl(source.endpoint, ['snapshot', 'status', snap, '-w', 'json']);
    assert.deepEqual(JSON.parse(a.stdout), JSON.parse(b));
    assert.equal(JSON.parse(a.stdout).revision, want.revision);
  });

  it('into etcd-ts: same keys, revisions and HashKV; writes go on from the same revision', async () => {
    const dataDir = join(dir, 'restored-ours');
    const r = await etcdutl(['snapshot', 'restore', snap, '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const hk = await etcdutl(['hashkv', dataDir, '--rev', String(want.revision), '-w', 'json']);
    assert.equal(JSON.parse(hk.stdout).hash, wantHash, hk.stderr);
    const c = await Cluster.start({ name: 'utl-ours', kind: 'ours', dataDir });
    started.push(c);
    assert.deepEqual(await everything(c.endpoint), { ...want, revision: want.revision });
    assert.equal(await hashAt(c.endpoint, want.revision), wantHash);
    assert.match(await ctl(c.endpoint, ['lease', 'list']), new RegExp(leaseHex));
    assert.match(await ctl(c.endpoint, ['lease', 'timetolive', leaseHex, '--keys']), /attached keys\(\[leased\]\)/);
    const put = JSON.parse(await ctl(c.endpoint, ['put', 'new', '1', '-w', 'json'])) as { header: { revision: number } };
    assert.equal(put.header.revision, want.revision + 1);
    const old = await runEtcdctl([c.endpoint], ['get', 'key/5', '--rev', '2']);
    assert.match(old.stderr, /required revision has been compacted/);
  });

  it('into the real etcd 3.4 (etcdctl snapshot restore): same keys, revisions and HashKV', async () => {
    const dataDir = join(dir, 'restored-real');
    const r = await runEtcdctl([], ['snapshot', 'restore', snap, '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const c = await Cluster.start({ name: 'utl-real', kind: 'real', dataDir });
    started.push(c);
    assert.deepEqual((await everything(c.endpoint)).kvs, want.kvs);
    assert.equal(await hashAt(c.endpoint, want.revision), wantHash);
    assert.match(await ctl(c.endpoint, ['lease', 'timetolive', leaseHex, '--keys']), /attached keys\(\[leased\]\)/);
  });

  it('a snapshot of the real etcd restores into etcd-ts with the same HashKV', async () => {
    const real = started.find((c) => c.kind === 'real')!;
    await ctl(real.endpoint, ['put', 'from-real', 'yes']);
    const realSnap = join(dir, 'real.db');
    await ctl(real.endpoint, ['snapshot', 'save', realSnap]);
    const realState = await everything(real.endpoint);
    const dataDir = join(dir, 'from-real');
    const r = await etcdutl(['snapshot', 'restore', realSnap, '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const hk = await etcdutl(['hashkv', dataDir, '-w', 'json']);
    assert.equal(JSON.parse(hk.stdout).hash, await hashAt(real.endpoint, realState.revision));
    const fromFile = await etcdutl(['hashkv', realSnap, '-w', 'json']);
    assert.equal(JSON.parse(fromFile.stdout).hash, JSON.parse(hk.stdout).hash);
  });

  it('etcdutl import takes a stopped real etcd\'s data dir', async () => {
    const real = started.find((c) => c.kind === 'real')!;
    const want = await everything(real.endpoint);
    const wantHash = await hashAt(real.endpoint, want.revision);
    await real.members[0]!.stop();
    const dataDir = join(dir, 'imported');
    const r = await etcdutl(['import', '--etcd-data-dir', real.dataDir, '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    const hk = await etcdutl(['hashkv', dataDir, '--rev', String(want.revision), '-w', 'json']);
    assert.equal(JSON.parse(hk.stdout).hash, wantHash);
    const c = await Cluster.start({ name: 'utl-imported', kind: 'ours', dataDir });
    started.push(c);
    assert.deepEqual((await everything(c.endpoint)).kvs, want.kvs);
    const bad = await etcdutl(['import', '--etcd-data-dir', join(dir, 'nowhere'), '--data-dir', join(dir, 'imp2')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /must be an etcd data dir/);
  });
});

describe('etcdutl refuses bad snapshots and bad targets, and changes nothing', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  let dir: string;
  let snap: string;
  let source: Cluster;
  before(async () => {
    dir = makeTempDir('etcd-ts-etcdutl-bad-');
    snap = join(dir, 'snap.db');
    source = await Cluster.start({ name: 'utl-bad', kind: 'ours' });
    for (let i = 0; i < 100; i++) await ctl(source.endpoint, ['put', `k${i}`, 'v'.repeat(200)]);
    await ctl(source.endpoint, ['snapshot', 'save', snap]);
  });
  after(async () => {
    await source?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const restore = (file: string, dataDir: string, extra: string[] = []) => etcdutl(['snapshot', 'restore', file, '--data-dir', dataDir, ...extra]);

  it('a truncated snapshot: hash missing, or (with --skip-hash-check) a truncated database', async () => {
    const cut = join(dir, 'cut.db');
    writeFileSync(cut, readFileSync(snap));
    truncateSync(cut, readFileSync(snap).length - 4096);
    // Cut by whole pages: the last 32 bytes are taken as the hash, which does not match.
    let r = await restore(cut, join(dir, 'out-cut'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /expected sha256/);
    // Cut anywhere else: no hash at all.
    const odd = join(dir, 'odd.db');
    writeFileSync(odd, readFileSync(snap).subarray(0, 10_000));
    r = await restore(odd, join(dir, 'out-cut'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /snapshot missing hash but --skip-hash-check=false/);
    r = await restore(cut, join(dir, 'out-cut'), ['--skip-hash-check']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /truncated|beyond|end of file/);
    assert.equal(existsSync(join(dir, 'out-cut')), false);
  });

  it('a tampered snapshot: hash mismatch; with --skip-hash-check, a damaged page is found', async () => {
    const bad = join(dir, 'bad.db');
    const bytes = readFileSync(snap);
    bytes.writeBigUInt64LE(12345n, 4 * 4096);
    writeFileSync(bad, bytes);
    let r = await restore(bad, join(dir, 'out-bad'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/);
    r = await restore(bad, join(dir, 'out-bad'), ['--skip-hash-check']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /integrity check failed|page 4/);
    assert.equal(existsSync(join(dir, 'out-bad')), false);
    const st = await etcdutl(['snapshot', 'status', bad]);
    assert.equal(st.code, 1);
    assert.match(st.stderr, /integrity check failed/);
  });

  it('a non-empty data dir is refused and left as it was; a missing file and bad flags are clear errors', async () => {
    const target = join(dir, 'busy');
    mkdirSync(target);
    writeFileSync(join(target, 'precious'), 'keep me');
    const r = await restore(snap, target);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists and is not empty/);
    assert.deepEqual(readdirSync(target), ['precious']);
    assert.equal(readFileSync(join(target, 'precious'), 'utf8'), 'keep me');
    const missing = await restore(join(dir, 'nope.db'), join(dir, 'out-missing'));
    assert.match(missing.stderr, /does not exist/);
    const flag = await etcdutl(['snapshot', 'restore', snap, '--no-such-flag']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown flag/);
    const cluster = await restore(snap, join(dir, 'out-cl'), ['--name', 'a', '--initial-cluster', 'b=http://127.0.0.1:1']);
    assert.match(cluster.stderr, /no member named "a"/);
    assert.equal(existsSync(join(dir, 'out-cl')), false);
  });

  it('a snapshot from a newer storage version, and a file that is not a snapshot', async () => {
    const newer = join(dir, 'newer.db');
    const w = BoltWriter.create(newer);
    w.bucket(Buffer.from('key'), []);
    w.bucket(Buffer.from('meta'), [[Buffer.from('storageVersion'), Buffer.from('3.9.0')]]);
    w.finish();
    let r = await restore(newer, join(dir, 'out-newer'), ['--skip-hash-check']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /storage version 3\.9\.0 is newer/);
    const junk = join(dir, 'junk.db');
    writeFileSync(junk, Buffer.alloc(8192 + 32, 7));
    r = await restore(junk, join(dir, 'out-junk'), ['--skip-hash-check']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a bbolt file/);
  });

  it('concurrent restores into separate dirs all succeed; defrag --data-dir refuses a running member and works on a stopped one', async () => {
    const results = await Promise.all([0, 1, 2].map((i) => restore(snap, join(dir, `par${i}`))));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const running = await etcdutl(['defrag', '--data-dir', source.dataDir]);
    assert.equal(running.code, 1);
    assert.match(running.stderr, /lock|in use|held/i);
    const d = await etcdutl(['defrag', '--data-dir', join(dir, 'par0')]);
    assert.equal(d.code, 0, d.stderr);
    const a = await etcdutl(['hashkv', join(dir, 'par0'), '-w', 'json']);
    const b = await etcdutl(['hashkv', join(dir, 'par1'), '-w', 'json']);
    assert.equal(JSON.parse(a.stdout).hash, JSON.parse(b.stdout).hash);
    const v = await etcdutl(['version']);
    assert.match(v.stdout, /^etcdutl version: 3\.6\.0\nAPI version: 3\.6\n$/);
  });
});
