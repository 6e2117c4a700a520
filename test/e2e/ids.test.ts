/**
 * 64-bit member and cluster IDs, as etcd has them (docs/decisions/0003-64-bit-ids.md).
 *
 * A member started with etcd's defaults for everything that makes its ID (name `default`,
 * --initial-advertise-peer-urls http://localhost:2380, --initial-cluster-token etcd-cluster)
 * is member 8e9e05c52164694d of cluster cdf818194e3a8c32, exactly as `etcd` with no flags
 * is. Only the listen URLs are moved to free ports (they do not enter the IDs), so the test
 * runs on a machine where 2379/2380 are taken; it passes against the real etcd too
 * (ETCD_TEST_SERVER=real).
 *
 * Checked: Status and MemberList over gRPC, the JSON gateway, our bin/etcdctl (simple and
 * JSON: uint64 printed exactly), the real etcdctl when installed, /metrics and the start-up
 * log (ours), and that a restart keeps the IDs (data dir identity, WAL hard state vote).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { RawEtcdClient } from './framework/raw.js';
import { READY_TIMEOUT_MS, serverEnv, waitReady } from './framework/cluster.js';
import { etcdctlUnavailableReason, runEtcdctl, type EtcdctlKind } from './framework/clients.js';
import {
  freePort,
  makeTempDir,
  serverCommand,
  serverKind,
  serverUnavailableReason,
  startProcess,
  SUITE_TIMEOUT_MS,
  type ServerProcess,
} from './framework/process.js';

const MEMBER_ID = 0x8e9e05c52164694dn;
const CLUSTER_ID = 0xcdf818194e3a8c32n;
const ours = serverKind() === 'ours';

function post(port: number, path: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', timeout: 5000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) as Record<string, any> }));
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${path} timed out`)));
    req.on('error', reject);
    req.end(text);
  });
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 5000 }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve(data));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('member and cluster IDs as etcd derives them', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  let dir = '';
  let clientPort = 0;
  let peerPort = 0;
  let proc: ServerProcess | undefined;
  let endpoint = '';

  const start = async (): Promise<void> => {
    const url = `http://127.0.0.1:${clientPort}`;
    proc = startProcess(
      [...serverCommand(), '--data-dir', join(dir, 'default.etcd'), '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', `http://127.0.0.1:${peerPort}`],
      { cwd: dir, env: serverEnv(), logFile: join(dir, 'server.log') },
    );
    try {
      await waitReady(endpoint, proc, READY_TIMEOUT_MS);
    } catch (err) {
      await proc.kill9();
      throw err;
    }
  };

  before(async () => {
    dir = makeTempDir('etcd-ts-ids-');
    clientPort = await freePort();
    peerPort = await freePort();
    endpoint = `127.0.0.1:${clientPort}`;
    await start();
  });
  after(async () => {
    await proc?.stop();
  });

  const checkGrpc = async (): Promise<void> => {
    const raw = new RawEtcdClient(endpoint);
    try {
      const st = await raw.status();
      if (!st.ok) assert.fail(`Status: ${st.error.details}`);
      assert.equal(st.value.header?.memberId, MEMBER_ID, `member ID ${st.value.header?.memberId?.toString(16)}`);
      assert.equal(st.value.header?.clusterId, CLUSTER_ID, `cluster ID ${st.value.header?.clusterId?.toString(16)}`);
      assert.equal(st.value.leader, MEMBER_ID);
      const list = await raw.memberList();
      if (!list.ok) assert.fail(`MemberList: ${list.error.details}`);
      assert.equal(list.value.header?.clusterId, CLUSTER_ID);
      assert.deepEqual(list.value.members.map((m) => [m.ID, m.name, m.peerURLs]), [[MEMBER_ID, 'default', ['http://localhost:2380']]]);
      const put = await raw.put({ key: Buffer.from('k'), value: Buffer.from('v') });
      if (!put.ok) assert.fail(`Put: ${put.error.details}`);
      assert.deepEqual([put.value.header?.memberId, put.value.header?.clusterId], [MEMBER_ID, CLUSTER_ID], 'every answer carries the IDs');
    } finally {
      raw.close();
    }
  };

  it('Status and MemberList over gRPC: member 8e9e05c52164694d of cluster cdf818194e3a8c32', checkGrpc);

  it('the JSON gateway prints them as exact decimal strings', async () => {
    const r = await post(clientPort, '/v3/cluster/member/list', {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json['header']['cluster_id'], CLUSTER_ID.toString());
    assert.equal(r.json['members'][0]['ID'], MEMBER_ID.toString());
    const s = await post(clientPort, '/v3/maintenance/status', {});
    assert.equal(s.json['leader'], MEMBER_ID.toString());
  });

  for (const kind of ['our-etcdctl', 'etcdctl'] as const satisfies readonly EtcdctlKind[]) {
    it(`${kind}: member list and endpoint status, hex in simple output, exact uint64 in JSON`, { skip: etcdctlUnavailableReason(kind) ?? false }, async () => {
      const ml = await runEtcdctl([endpoint], ['member', 'list'], { kind });
      assert.equal(ml.code, 0, ml.stderr);
      assert.equal(ml.stdout, `8e9e05c52164694d, started, default, http://localhost:2380, http://${endpoint}, false\n`);
      const mj = await runEtcdctl([endpoint], ['member', 'list', '-w', 'json'], { kind });
      assert.equal(mj.code, 0, mj.stderr);
      assert.match(mj.stdout, /"cluster_id":14841639068965178418,"member_id":10276657743932975437,/);
      assert.match(mj.stdout, /"members":\[\{"ID":10276657743932975437,"name":"default",/);
      const es = await runEtcdctl([endpoint], ['endpoint', 'status'], { kind });
      assert.equal(es.code, 0, es.stderr);
      assert.match(es.stdout, new RegExp(`^${endpoint.replace(/\./g, '\\.')}, 8e9e05c52164694d, `));
      const ej = await runEtcdctl([endpoint], ['endpoint', 'status', '-w', 'json'], { kind });
      assert.equal(ej.code, 0, ej.stderr);
      assert.match(ej.stdout, /"header":\{"cluster_id":14841639068965178418,"member_id":10276657743932975437,/);
      assert.match(ej.stdout, /"leader":10276657743932975437,/);
    });
  }

  it('/metrics labels the member ID in hex; the start-up log names it as etcd does', { skip: ours ? false : 'our server only' }, async () => {
    const metrics = await get(clientPort, '/metrics');
    assert.match(metrics, /^etcd_server_id\{server_id="8e9e05c52164694d"\} 1$/m);
    const log = readFileSync(join(dir, 'server.log'), 'utf8');
    assert.match(log, /"local-member-id":"8e9e05c52164694d"/);
    assert.match(log, /"cluster-id":"cdf818194e3a8c32"/);
  });

  it('a restart keeps the IDs (identity file, WAL hard state)', async () => {
    await proc!.stop();
    await start();
    await checkGrpc();
    if (ours) {
      const identity = JSON.parse(readFileSync(join(dir, 'default.etcd', 'member', 'identity.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual([identity['memberId'], identity['clusterId']], ['8e9e05c52164694d', 'cdf818194e3a8c32']);
    }
    // And once more after kill -9: the WAL (hard state vote = the member ID) is replayed.
    await proc!.kill9();
    await start();
    await checkGrpc();
  });
});
