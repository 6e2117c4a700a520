/**
 * Effective flags that no other process test exercises, each through a real `bin/etcd`
 * (issue 14: every flag marked effective is wired and tested through a process). Each case
 * starts one fresh member with the flag and checks what a user can observe. Cases that exist
 * in etcd 3.4 run against the real etcd too (ETCD_TEST_SERVER=real); etcd-ts's own flags and
 * etcd-ts limits are skipped there with the reason.
 *
 * Covered elsewhere: --name, --data-dir, the URL flags, --initial-cluster (every start,
 * framework/cluster.ts); --max-txn-ops, --max-concurrent-streams, --config-file, ETCD_*
 * (config-sources.test.ts); --max-request-bytes (bad-input.test.ts). --snapshot-count's
 * effect (WAL segments released at checkpoints) is also checked in-process through the same
 * config path (test/unit/server/member.test.ts) and here through a process.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { READY_TIMEOUT_MS, serverEnv, waitReady } from './framework/cluster.js';
import { RawEtcdClient } from './framework/raw.js';
import { freePort, makeTempDir, serverCommand, serverKind, serverUnavailableReason, startProcess, SUITE_TIMEOUT_MS, type ServerProcess } from './framework/process.js';

const skip = serverUnavailableReason() ?? false;
const onlyOurs = serverKind() === 'real' ? 'etcd-ts only (not an etcd 3.4 flag, or an etcd-ts limit)' : false;
const started: ServerProcess[] = [];
after(async () => {
  for (const p of started) await p.kill9();
});

interface Member {
  proc: ServerProcess;
  port: number;
  dir: string;
  dataDir: string;
}

/** Argv for one member on fresh ports and a fresh data dir, plus `extra`. */
async function memberArgs(name: string, dir: string, extra: string[]): Promise<{ args: string[]; port: number; peer: number; dataDir: string }> {
  const port = await freePort();
  const peer = await freePort();
  const dataDir = join(dir, 'data');
  const args = [
    '--name', name, '--data-dir', dataDir,
    '--listen-client-urls', `http://127.0.0.1:${port}`, '--advertise-client-urls', `http://127.0.0.1:${port}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `${name}=http://127.0.0.1:${peer}`,
    ...extra,
  ];
  return { args, port, peer, dataDir };
}

/** Starts a member and waits until it serves; `wrap` can put the argv inside a shell (to split stdout and stderr). */
async function startMember(name: string, extra: string[], wrap?: (argv: string[]) => string[]): Promise<Member> {
  const dir = makeTempDir(`etcd-ts-flags-${name}-`);
  const { args, port, dataDir } = await memberArgs(name, dir, extra);
  const argv = [...serverCommand(), ...args];
  const proc = startProcess(wrap ? wrap(argv) : argv, { cwd: dir, env: serverEnv(), logFile: join(dir, 'server.log') });
  started.push(proc);
  await waitReady(`127.0.0.1:${port}`, proc, READY_TIMEOUT_MS);
  return { proc, port, dir, dataDir };
}

function httpPost(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve(b));
    });
    req.on('error', reject);
    req.end();
  });
}

async function put(port: number, key: string, value: Buffer): Promise<{ ok: true } | { ok: false; details: string }> {
  const raw = new RawEtcdClient(`127.0.0.1:${port}`);
  try {
    const r = await raw.put({ key: Buffer.from(key), value });
    return r.ok ? { ok: true } : { ok: false, details: r.error.details };
  } finally {
    raw.close();
  }
}

/** Polls a state for up to `ms`; false if it never held (how long to look, not a speed claim). */
async function waitForState(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

function walFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.wal')) : [];
}

/** Runs the server command to completion (for --version / --help / refusals). */
function runOnce(args: string[]): { code: number | null; out: string; err: string } {
  const dir = makeTempDir('etcd-ts-flags-once-');
  const [cmd, ...pre] = serverCommand();
  const r = spawnSync(cmd!, [...pre, ...args], { cwd: dir, env: serverEnv(), encoding: 'utf8', timeout: READY_TIMEOUT_MS });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('effective flags through a real process', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  it('--wal-dir: the WAL is written there, not under the data dir', async () => {
    const walDir = join(makeTempDir('etcd-ts-flags-waldir-'), 'wal');
    const m = await startMember('waldir', ['--wal-dir', walDir]);
    assert.ok((await put(m.port, 'k', Buffer.from('v'))).ok);
    assert.ok(walFiles(walDir).length > 0, `no .wal file in ${walDir}`);
    assert.deepEqual(walFiles(join(m.dataDir, 'member', 'wal')), [], 'no WAL under the data dir');
  });

  it('--snapshot-count 10: the log is compacted after 10 entries, and not with the default', async () => {
    // etcd writes a .snap file and may purge old WAL files; etcd-ts has no .snap (LMDB is the
    // snapshot): it syncs LMDB and releases WAL segments below that point (docs/storage-wal.md).
    const walSegments = (m: Member): string[] => walFiles(join(m.dataDir, 'member', 'wal')).sort();
    const snaps = (m: Member): string[] => readdirSync(join(m.dataDir, 'member', 'snap')).filter((f) => f.endsWith('.snap'));
    const compacted = async (extra: string[], lookMs: number): Promise<boolean> => {
      const m = await startMember(`snapcount${extra.length}`, extra);
      if (serverKind() === 'real') {
        for (let i = 0; i < 30; i++) assert.ok((await put(m.port, `s${i}`, Buffer.from('v'))).ok);
        return waitForState(() => snaps(m).length > 0, lookMs);
      }
      // Fill more than one 64 MiB WAL segment, so the first one can be released.
      const first = walSegments(m)[0]!;
      const value = Buffer.alloc(1024 * 1024, 's');
      for (let i = 0; i < 72; i++) assert.ok((await put(m.port, `s${i}`, value)).ok);
      assert.ok(walSegments(m).some((f) => f !== first), `72 MiB roll over to a second segment: ${walSegments(m).join(' ')}`);
      return waitForState(() => !walSegments(m).includes(first), lookMs);
    };
    // Looking for the expected compaction: up to 60 s (a hang bound; it happens within a few
    // applies). Looking for an absence: 5 s, after which a default member has still not compacted.
    assert.equal(await compacted(['--snapshot-count', '10'], 60_000), true, 'compacted with --snapshot-count 10');
    assert.equal(await compacted([], 5000), false, 'not compacted with the default 100000');
  });

  it('--enable-grpc-gateway=false: /v3/kv/range is not served (404), gRPC is', async () => {
    const m = await startMember('nogw', ['--enable-grpc-gateway=false']);
    const r = await httpPost(m.port, '/v3/kv/range', '{"key":"Zm9v"}');
    assert.equal(r.status, 404, r.body);
    assert.ok((await put(m.port, 'k', Buffer.from('v'))).ok);
  });

  it('--quota-backend-bytes: writes beyond the quota are refused with "database space exceeded"', async () => {
    const m = await startMember('quota', ['--quota-backend-bytes', String(1024 * 1024)]);
    const value = Buffer.alloc(200 * 1024, 'x');
    let refused: string | undefined;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      const r = await put(m.port, `big${i}`, value);
      if (!r.ok) refused = r.details;
    }
    assert.equal(refused, 'etcdserver: mvcc: database space exceeded');
  });

  it('--logger zap --log-level error: no info lines', async () => {
    const m = await startMember('loglevel', ['--logger', 'zap', '--log-level', 'error']);
    assert.ok((await put(m.port, 'k', Buffer.from('v'))).ok);
    const lines = readFileSync(m.proc.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{'));
    assert.deepEqual(lines.filter((l) => /"level":"(debug|info|warn)"/.test(l)), []);
  });

  for (const [where, other] of [['stdout', 'stderr'], ['stderr', 'stdout']] as const) {
    it(`--log-outputs ${where}: the JSON log goes to ${where}, nothing to ${other}`, async () => {
      // The shell drops the other stream, so the log file holds only `where`.
      const drop = other === 'stdout' ? '1>/dev/null' : '2>/dev/null';
      const m = await startMember(`logto${where}`, ['--logger', 'zap', '--log-outputs', where], (argv) => ['/bin/sh', '-c', `exec "$@" ${drop}`, 'sh', ...argv]);
      const kept = readFileSync(m.proc.logFile, 'utf8');
      assert.match(kept, /"msg":"starting an etcd server"/);
      const m2 = await startMember(`logto${where}2`, ['--logger', 'zap', '--log-outputs', where], (argv) => ['/bin/sh', '-c', `exec "$@" ${other === 'stdout' ? '2>/dev/null' : '1>/dev/null'}`, 'sh', ...argv]);
      assert.equal(readFileSync(m2.proc.logFile, 'utf8'), '', `nothing is written to ${other}`);
    });
  }

  it('--initial-cluster-token: the cluster ID depends on it (same URLs, same token: same ID)', async () => {
    const dir = makeTempDir('etcd-ts-flags-token-');
    const { args, port } = await memberArgs('tok', join(dir, 'unused'), []);
    const clusterId = async (token: string, n: number): Promise<string> => {
      const a = args.map((x) => (x.endsWith('/data') ? join(dir, `data${n}`) : x));
      const proc = startProcess([...serverCommand(), ...a, '--initial-cluster-token', token], { cwd: dir, env: serverEnv(), logFile: join(dir, `server${n}.log`) });
      started.push(proc);
      try {
        await waitReady(`127.0.0.1:${port}`, proc, READY_TIMEOUT_MS);
        const raw = new RawEtcdClient(`127.0.0.1:${port}`);
        try {
          const st = await raw.status();
          if (!st.ok) assert.fail(st.error.details);
          return String(st.value.header?.clusterId);
        } finally {
          raw.close();
        }
      } finally {
        await proc.kill9();
      }
    };
    const a1 = await clusterId('token-a', 1);
    const b = await clusterId('token-b', 2);
    const a2 = await clusterId('token-a', 3);
    assert.equal(a1, a2, 'same peer URLs and token: same cluster ID');
    assert.notEqual(a1, b, 'another token: another cluster ID');
  });

  it('--version prints "etcd Version: X.Y.Z" and exits 0; --help lists the flags and exits 0', () => {
    const v = runOnce(['--version']);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /^etcd Version: \d+\.\d+\.\d+$/m);
    const h = runOnce(['--help']);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out + h.err, /--max-txn-ops/);
  });

  it('--emulated-etcd-version: /version and Status report it', { skip: onlyOurs }, async () => {
    const m = await startMember('emulated', ['--emulated-etcd-version', '3.5.13']);
    assert.deepEqual(JSON.parse(await httpGet(m.port, '/version')), { etcdserver: '3.5.13', etcdcluster: '3.5.0' });
    const raw = new RawEtcdClient(`127.0.0.1:${m.port}`);
    try {
      const st = await raw.status();
      if (!st.ok) assert.fail(st.error.details);
      assert.equal(st.value.version, '3.5.13');
    } finally {
      raw.close();
    }
  });

  it('--wal-batch-max-bytes 1 --wal-batch-max-delay-ms 5: every write still durable and answered; bad values refused', { skip: onlyOurs }, async () => {
    const m = await startMember('walbatch', ['--wal-batch-max-bytes', '1', '--wal-batch-max-delay-ms', '5']);
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => put(m.port, `w${i}`, Buffer.from('v'))));
    assert.ok(rs.every((r) => r.ok));
    const bad = runOnce(['--wal-batch-max-delay-ms', '5000']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /wal-batch-max-delay-ms/);
  });

  it('--logger capnslog is refused (removed in etcd 3.5)', { skip: onlyOurs }, () => {
    const r = runOnce(['--logger', 'capnslog']);
    assert.equal(r.code, 1);
    assert.match(r.err, /--logger=capnslog is removed in v3\.5/);
  });

  it('--initial-cluster-state existing on an empty data dir with no other member to ask: refused', { skip: onlyOurs }, async () => {
    const dir = makeTempDir('etcd-ts-flags-existing-');
    const { args } = await memberArgs('ex', dir, ['--initial-cluster-state', 'existing']);
    const r = runOnce(args);
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs/);
  });
});
