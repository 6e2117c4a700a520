import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadServerConfig } from '../../../../src/cli/etcd/startup.js';
import { MemorySink } from '../../../../src/util/logger.js';

function run(argv: string[], env: Record<string, string> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const boot = new MemorySink();
  const sink = new MemorySink();
  const s = loadServerConfig(argv, env, { stdout: (t) => void stdout.push(t), stderr: (t) => void stderr.push(t), bootstrapSinks: [boot], sinks: [sink] });
  return { s, stdout: stdout.join(''), stderr: stderr.join(''), boot: boot.entries(), log: sink.entries() };
}

test('--help prints every flag on stdout, exit 0', () => {
  const r = run(['--help']);
  assert.deepEqual(r.s, { kind: 'exit', code: 0 });
  assert.match(r.stdout, /--initial-cluster-token 'etcd-cluster'/);
  assert.equal(r.stderr, '');
});

test('--version prints the emulated version first, exit 0', () => {
  const r = run(['--version', '--emulated-etcd-version=3.5.13']);
  assert.deepEqual(r.s, { kind: 'exit', code: 0 });
  assert.match(r.stdout, /^etcd Version: 3\.5\.13\n/);
});

test('unknown flag: message and usage on stderr, exit 2', () => {
  const r = run(['--bad-flag']);
  assert.deepEqual(r.s, { kind: 'exit', code: 2 });
  assert.match(r.stderr, /^flag provided but not defined: -bad-flag\nUsage:\n/);
});

test('verification error: "failed to verify flags" log line, exit 1', () => {
  const r = run(['--listen-client-urls', 'http://127.0.0.1:2379']);
  assert.deepEqual(r.s, { kind: 'exit', code: 1 });
  assert.deepEqual(r.boot.map((e) => e['msg']), ['failed to verify flags', 'advertise client URLs are not set']);
  assert.equal(r.boot[0]?.['error'], '--advertise-client-urls is required when --listen-client-urls is set explicitly');
});

test('bootstrap error: "failed to start etcd" then fatal "discovery failed", exit 1', () => {
  const r = run(['--name', 'n1', '--initial-cluster', 'n2=http://localhost:2380']);
  assert.deepEqual(r.s, { kind: 'exit', code: 1 });
  assert.deepEqual(r.boot.map((e) => [e['level'], e['msg']]), [['warn', 'failed to start etcd'], ['fatal', 'discovery failed']]);
});

test('success: logger at --log-level, notices logged', () => {
  const r = run(['--log-level', 'debug', '--enable-pprof'], { ETCD_NAME: 'n9', ETCD_NOPE: '1' });
  assert.equal(r.s.kind, 'run');
  if (r.s.kind !== 'run') return;
  assert.equal(r.s.config.name, 'n9');
  assert.equal(r.s.logger.enabled('debug'), true);
  const msgs = r.log.map((e) => e['msg']);
  assert.ok(msgs.includes('unrecognized environment variable'));
  assert.ok(msgs.includes('recognized and used environment variable'));
  assert.ok(msgs.includes('flag is accepted but not yet effective in etcd-ts; its value is ignored'));
  assert.equal(r.log[0]?.['caller'], 'cli/etcd/startup.ts');
});
