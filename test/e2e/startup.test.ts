/**
 * Start-up as a user does it, and the HTTP/1.1 side of the client port.
 *
 * - `etcd` with no flags at all, in an empty directory: serves on localhost:2379 (peer 2380)
 *   with the data dir ./default.etcd. Skipped when 2379 or 2380 is taken on this machine.
 * - /health, /version and /metrics answer over HTTP/1.1 on the same port as gRPC.
 * - Maintenance.Status answers (raw gRPC, and `etcdctl endpoint status` when etcdctl is here).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { useCluster } from './framework/hooks.js';
import { waitReady, READY_TIMEOUT_MS, serverEnv } from './framework/cluster.js';
import { RawEtcdClient } from './framework/raw.js';
import { etcdctlUnavailableReason, runEtcdctl } from './framework/clients.js';
import {
  makeTempDir,
  portIsFree,
  serverCommand,
  serverUnavailableReason,
  SUITE_TIMEOUT_MS,
  startProcess,
  type ServerProcess,
} from './framework/process.js';

const skipServer = serverUnavailableReason() ?? false;

function httpGet(port: number, path: string): Promise<{ status: number; body: string; headers: Record<string, unknown>; httpVersion: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, httpVersion: res.httpVersion }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const VERSION_RE = /^\d+\.\d+\.\d+$/;

async function checkHttpAndStatus(port: number): Promise<void> {
  const health = await httpGet(port, '/health');
  assert.equal(health.httpVersion, '1.1');
  assert.equal(health.status, 200, health.body);
  assert.equal((JSON.parse(health.body) as { health?: string }).health, 'true', health.body);

  const version = await httpGet(port, '/version');
  assert.equal(version.status, 200, version.body);
  const v = JSON.parse(version.body) as { etcdserver?: string; etcdcluster?: string };
  assert.match(String(v.etcdserver), VERSION_RE, version.body);
  assert.match(String(v.etcdcluster), /^\d+\.\d+\.0$/, version.body);

  const raw = new RawEtcdClient(`127.0.0.1:${port}`);
  try {
    const st = await raw.status();
    if (!st.ok) assert.fail(`Status failed: ${st.error.code} ${st.error.details}`);
    assert.equal(st.value.version, v.etcdserver, 'Status.version and /version agree');
    assert.ok(Number(st.value.raftTerm) >= 1, 'raft term');
    assert.equal(st.value.leader, st.value.header?.memberId, 'a single member leads itself');
    assert.ok(Number(st.value.raftIndex) >= 1, 'raft index');
    assert.ok(Number(st.value.dbSize) > 0, 'db size');
  } finally {
    raw.close();
  }
}

describe('HTTP/1.1 and Status on the client port', { skip: skipServer, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'startup' });

  it('/health, /version and Maintenance.Status answer', async () => {
    await checkHttpAndStatus(cluster.c.clientPort);
  });

  it('/metrics is Prometheus text with etcd_server_has_leader 1', async () => {
    const m = await httpGet(cluster.c.clientPort, '/metrics');
    assert.equal(m.status, 200);
    assert.match(String(m.headers['content-type']), /^text\/plain/);
    assert.match(m.body, /^etcd_server_has_leader 1$/m);
  });

  it('etcdctl endpoint status and endpoint health', { skip: etcdctlUnavailableReason() ?? false }, async () => {
    const st = await runEtcdctl(cluster.c.endpoints, ['endpoint', 'status', '-w', 'json']);
    assert.equal(st.code, 0, st.stderr);
    const parsed = JSON.parse(st.stdout) as { Endpoint: string; Status: { version: string } }[];
    assert.equal(parsed.length, 1);
    assert.equal(parsed[0]!.Endpoint, cluster.c.endpoint);
    assert.match(parsed[0]!.Status.version, VERSION_RE);
    const h = await runEtcdctl(cluster.c.endpoints, ['endpoint', 'health']);
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout + h.stderr, new RegExp(`^${cluster.c.endpoint.replace(/\./g, '\\.')} is healthy: successfully committed proposal: took = \\S+$`, 'm'));
  });
});

describe('etcd with no flags at all', { skip: skipServer, timeout: SUITE_TIMEOUT_MS }, () => {
  let proc: ServerProcess | undefined;
  let cwd = '';
  let skipReason: string | false = false;

  before(async () => {
    if (!(await portIsFree(2379)) || !(await portIsFree(2380))) {
      skipReason = 'port 2379 or 2380 is in use on this machine';
      return;
    }
    cwd = makeTempDir();
    proc = startProcess(serverCommand(), { cwd, env: serverEnv(), logFile: join(cwd, 'server.log') });
    try {
      await waitReady('127.0.0.1:2379', proc, READY_TIMEOUT_MS);
    } catch (err) {
      await proc.kill9();
      throw err;
    }
  });
  after(async () => {
    await proc?.kill9();
  });

  it('serves on localhost:2379 with the data dir ./default.etcd', async (t) => {
    if (skipReason !== false) {
      t.skip(skipReason);
      return;
    }
    try {
      assert.ok(existsSync(join(cwd, 'default.etcd')), 'default.etcd created in the working directory');
      await checkHttpAndStatus(2379);
      // etcd's IDs for its defaults (docs/decisions/0003-64-bit-ids.md; test/e2e/ids.test.ts checks every way in).
      const raw = new RawEtcdClient('127.0.0.1:2379');
      try {
        const st = await raw.status();
        if (!st.ok) assert.fail(`Status failed: ${st.error.details}`);
        assert.equal(st.value.header?.memberId, 0x8e9e05c52164694dn);
        assert.equal(st.value.header?.clusterId, 0xcdf818194e3a8c32n);
      } finally {
        raw.close();
      }
    } catch (err) {
      if (proc) process.stderr.write(`--- server log tail ---\n${proc.tail(60)}\n`);
      throw err;
    }
  });
});
