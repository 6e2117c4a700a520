/**
 * /health (with ?serializable and ?exclude), /livez, /readyz and /metrics of a real bin/etcd,
 * as etcd 3.6 serves them; /metrics parsed by a Prometheus text-format parser and checked for
 * etcd's metric names. An active NOSPACE alarm makes /health fail unless excluded, and leaves
 * /readyz ready.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { useCluster } from './framework/hooks.js';
import { runEtcdctl, etcdctlUnavailableReason } from './framework/etcdctl.js';
import { SUITE_TIMEOUT_MS, serverKind, serverUnavailableReason, sleep } from './framework/process.js';

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; count?: string; buckets?: Record<string, string> }[];
}[];

const skip = serverKind() === 'real'
  ? 'etcd 3.4 has no /livez, /readyz, ?exclude and fewer metrics; etcd-ts serves etcd 3.6\'s'
  : (serverUnavailableReason() ?? etcdctlUnavailableReason() ?? false);

function http(port: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('health endpoints and /metrics', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'healthm', extraFlags: ['--quota-backend-bytes', String(4 * 1024 * 1024)] });

  it('healthy: /health, ?serializable, /livez, /readyz (verbose, excluded, single checks); bad paths and methods', async () => {
    const port = cluster.c.clientPort;
    assert.deepEqual(JSON.parse((await http(port, '/health')).body), { health: 'true', reason: '' });
    assert.deepEqual(JSON.parse((await http(port, '/health?serializable=true')).body), { health: 'true', reason: '' });
    assert.deepEqual(await http(port, '/livez'), { status: 200, body: 'ok\n' });
    assert.deepEqual(await http(port, '/readyz?verbose'), {
      status: 200,
      body: '[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n',
    });
    assert.deepEqual(await http(port, '/readyz?verbose&exclude=linearizable_read&exclude=non_learner'), {
      status: 200,
      body: '[+]data_corruption ok\n[+]serializable_read ok\nok\n',
    });
    assert.deepEqual(await http(port, '/livez/serializable_read'), { status: 200, body: 'ok\n' });
    assert.equal((await http(port, '/livez/no_such_check')).status, 404);
    assert.equal((await http(port, '/health', 'POST')).status, 405);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => http(port, i % 2 ? '/readyz' : '/health')));
    assert.ok(many.every((r) => r.status === 200), JSON.stringify(many.filter((r) => r.status !== 200)));
  });

  it('/metrics parses as Prometheus text and carries etcd\'s names', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await runEtcdctl([cluster.c.endpoint], ['put', `m/${i}`, 'v'])).code, 0);
    const text = (await http(cluster.c.clientPort, '/metrics')).body;
    const families = new Map(parsePrometheus(text).map((f) => [f.name, f]));
    const value = (name: string, labels: Record<string, string> = {}): number => {
      const f = families.get(name);
      assert.ok(f !== undefined, `metric ${name} missing`);
      const m = f.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
      assert.ok(m !== undefined, `metric ${name}${JSON.stringify(labels)} missing`);
      return Number(m.value ?? m.count);
    };
    assert.equal(value('etcd_server_has_leader'), 1);
    assert.ok(value('etcd_server_leader_changes_seen_total') >= 1);
    assert.ok(value('etcd_mvcc_db_total_size_in_bytes') > 0);
    assert.ok(value('etcd_mvcc_db_total_size_in_use_in_bytes') > 0);
    assert.ok(value('etcd_debugging_mvcc_keys_total') >= 20);
    assert.ok(value('etcd_debugging_mvcc_current_revision') >= 21);
    assert.equal(value('etcd_server_quota_backend_bytes'), 4 * 1024 * 1024);
    assert.equal(families.get('etcd_disk_wal_fsync_duration_seconds')?.type, 'HISTOGRAM');
    assert.ok(value('etcd_disk_wal_fsync_duration_seconds') > 0);
    assert.equal(families.get('etcd_disk_backend_commit_duration_seconds')?.type, 'HISTOGRAM');
    assert.ok(value('etcd_disk_backend_commit_duration_seconds') > 0);
    assert.ok(value('etcd_server_health_success') >= 1);
    assert.equal(value('etcd_server_healthcheck', { type: 'readyz', name: 'linearizable_read' }), 1);
    assert.ok(value('etcd_server_healthchecks_total', { type: 'livez', name: 'serializable_read', status: 'success' }) >= 1);
  });

  it('NOSPACE: /health fails with ALARM NOSPACE unless excluded; /readyz stays ready; the alarm shows in /metrics', async () => {
    const port = cluster.c.clientPort;
    for (let i = 0; i < 200; i++) {
      const r = await runEtcdctl([cluster.c.endpoint], ['put', `fill/${i}`], { stdin: 'z'.repeat(100_000) });
      if (r.code !== 0) break;
    }
    let h = await http(port, '/health');
    for (let i = 0; i < 50 && h.status === 200; i++) {
      await sleep(100);
      h = await http(port, '/health');
    }
    assert.equal(h.status, 503);
    assert.deepEqual(JSON.parse(h.body), { health: 'false', reason: 'ALARM NOSPACE' });
    assert.deepEqual(JSON.parse((await http(port, '/health?exclude=NOSPACE')).body), { health: 'true', reason: '' });
    assert.equal((await http(port, '/readyz')).status, 200);
    const families = parsePrometheus((await http(port, '/metrics')).body);
    const alarms = families.find((f) => f.name === 'etcd_debugging_server_alarms');
    assert.ok(alarms?.metrics.some((m) => m.labels?.['alarm_type'] === 'NOSPACE' && m.value === '1'), JSON.stringify(alarms));
    assert.ok(Number(families.find((f) => f.name === 'etcd_server_health_failures')?.metrics[0]?.value) >= 1);
  });
});

// etcd 3.4 serves these three metrics too: this suite runs against it as well.
describe('leader metrics on 3 members', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'leaderm', size: 3 });

  it('etcd_server_is_leader is 1 on the leader only; has_leader 1 and leader_changes_seen_total >= 1 everywhere', async () => {
    const read = async (port: number): Promise<Map<string, number>> => {
      const families = parsePrometheus((await http(port, '/metrics')).body);
      const out = new Map<string, number>();
      for (const f of families) if (f.metrics[0]?.value !== undefined) out.set(f.name, Number(f.metrics[0].value));
      return out;
    };
    const members = cluster.c.members;
    // A new cluster may still be settling its first election: wait (bounded) for one leader.
    let values: Map<string, number>[] = [];
    for (let i = 0; i < 100; i++) {
      values = await Promise.all(members.map((m) => read(m.clientPort)));
      if (values.reduce((n, v) => n + (v.get('etcd_server_is_leader') ?? 0), 0) === 1) break;
      await sleep(100);
    }
    assert.equal(values.reduce((n, v) => n + (v.get('etcd_server_is_leader') ?? 0), 0), 1, 'exactly one member says it leads');
    for (const [i, v] of values.entries()) {
      assert.equal(v.get('etcd_server_has_leader'), 1, `${members[i]!.name}: has_leader`);
      assert.ok((v.get('etcd_server_leader_changes_seen_total') ?? 0) >= 1, `${members[i]!.name}: leader_changes_seen_total`);
    }
    // The one that says it leads is the leader every member's Status names.
    const leaderIndex = values.findIndex((v) => v.get('etcd_server_is_leader') === 1);
    // IDs are 64-bit: read them from the JSON text, not through JSON.parse's doubles.
    const field = (text: string, name: string): bigint => BigInt(new RegExp(`"${name}":(\\d+)`).exec(text)?.[1] ?? '0');
    const status = (await runEtcdctl([members[0]!.endpoint], ['endpoint', 'status', '-w', 'json'])).stdout;
    const self = (await runEtcdctl([members[leaderIndex]!.endpoint], ['endpoint', 'status', '-w', 'json'])).stdout;
    assert.notEqual(field(status, 'leader'), 0n, status);
    assert.equal(field(self, 'member_id'), field(status, 'leader'), `${self}\n${status}`);
  });
});
