/**
 * python3-etcd3 (Debian's package, the Python client used by many operators' tools) against the
 * server under test: test/e2e/python/etcd3_client.py drives it and reports what it saw as JSON;
 * the assertions are here. KV (get, missing keys, put-if-absent and replace, which are
 * transactions; prefix and range reads; deletes), transactions on both branches, leases (TTL,
 * keys, refresh, revoke), watch, the client's lock recipe, 8 threads doing compare-and-swap
 * increments on one key (none lost), oversized requests (refused, nothing changed), members,
 * alarms, hash, compaction, defragment. The same expectations hold against etcd 3.4.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Cluster } from './framework/cluster.js';
import { runCommand } from './framework/etcdctl.js';
import { REPO_ROOT, SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';
import { skipUnlessRequired } from './framework/required.js';

/** Debian's interpreter, where apt puts python3-etcd3 (not a pyenv one first on PATH). */
const PYTHON = process.env['ETCD_TEST_PYTHON'] ?? '/usr/bin/python3';

function pythonEtcd3Unavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import etcd3'], { encoding: 'utf8' });
  return skipUnlessRequired(r.status === 0 ? undefined : `${PYTHON} cannot import etcd3 (install Debian's python3-etcd3): ${r.error?.message ?? r.stderr.trim()}`);
}

interface Report {
  status: { version: string; db_size_positive: boolean; has_leader: boolean; raft_index_positive: boolean };
  get: { value: string; meta: { key: string; create_revision: number; mod_revision: number; version: number; lease_id: number } };
  missing: unknown[];
  pine_existing: boolean;
  pine_new: boolean;
  replace_ok: boolean;
  replace_stale: boolean;
  prefix: [string, string][];
  range: string[];
  delete_existing: boolean;
  delete_missing: boolean;
  txn_true: { succeeded: boolean; got: string[] };
  txn_false: { succeeded: boolean; value: string };
  lease: { granted_ttl: number; ttl_positive: boolean; keys: string[]; key_lease_matches: boolean };
  lease_refresh_ttl: number;
  lease_revoked_key: unknown[];
  watch: [string, string][];
  watch_once_timeout: { type: string } | null;
  lock: { first: boolean; held: boolean; keys: string[]; released_keys: string[]; second_after_release: boolean };
  counter: number;
  oversized: { type: string; text: string } | null;
  too_large: { type: string; text: string } | null;
  oversized_unchanged: boolean;
  members: string[];
  alarms: unknown[];
  hash_is_int: boolean;
  compacted_read: string;
  defragment: unknown;
}

describe('python3-etcd3 against the server', { skip: serverUnavailableReason() ?? pythonEtcd3Unavailable() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster;
  let r: Report;
  before(async () => {
    cluster = await Cluster.start({ name: 'py' });
    const script = join(REPO_ROOT, 'test', 'e2e', 'python', 'etcd3_client.py');
    const out = await runCommand(PYTHON, [script, '127.0.0.1', String(cluster.clientPort)], undefined, 120_000, process.env);
    assert.equal(out.code, 0, `the python client failed:\n${out.stderr}`);
    r = JSON.parse(out.stdout) as Report;
  });
  after(async () => {
    await cluster?.close();
  });

  it('status', () => {
    assert.deepEqual(r.status, { version: '3', db_size_positive: true, has_leader: true, raft_index_positive: true });
  });

  it('get, a missing key, put-if-absent and replace', () => {
    assert.equal(r.get.value, 'va');
    assert.equal(r.get.meta.key, 'py/a');
    assert.equal(r.get.meta.version, 1);
    assert.equal(r.get.meta.create_revision, r.get.meta.mod_revision);
    assert.equal(r.get.meta.lease_id, 0);
    assert.deepEqual(r.missing, [null, null]);
    assert.equal(r.pine_existing, false);
    assert.equal(r.pine_new, true);
    assert.equal(r.replace_ok, true);
    assert.equal(r.replace_stale, false);
  });

  it('prefix and range reads, deletes', () => {
    assert.deepEqual(r.prefix, [['py/a', 'vb'], ['py/new', 'y']]);
    assert.deepEqual(r.range, ['py/a']);
    assert.equal(r.delete_existing, true);
    assert.equal(r.delete_missing, false);
  });

  it('transactions take the branch their compare says', () => {
    assert.deepEqual(r.txn_true, { succeeded: true, got: ['vb'] });
    assert.deepEqual(r.txn_false, { succeeded: false, value: '2' });
  });

  it('leases: TTL, attached keys, refresh, revoke deletes the key', () => {
    assert.deepEqual(r.lease, { granted_ttl: 60, ttl_positive: true, keys: ['py/leased'], key_lease_matches: true });
    assert.equal(r.lease_refresh_ttl, 60);
    assert.deepEqual(r.lease_revoked_key, [null, null]);
  });

  it('watch delivers the puts in order; watch_once times out on a quiet key', () => {
    assert.deepEqual(r.watch, [['PutEvent', 'w0'], ['PutEvent', 'w1'], ['PutEvent', 'w2']]);
    assert.equal(r.watch_once_timeout?.type, 'WatchTimedOut');
  });

  it("the client's lock recipe", () => {
    assert.deepEqual(r.lock, { first: true, held: true, keys: ['/locks/py-lock'], released_keys: [], second_after_release: true });
  });

  it('8 threads of compare-and-swap increments lose none', () => {
    assert.equal(r.counter, 8 * 25);
  });

  it('oversized requests are refused and change nothing', () => {
    // Over the gRPC message limit (--max-request-bytes + 512 KiB): refused before decoding.
    assert.match(r.oversized?.text ?? '', /RESOURCE_EXHAUSTED/);
    // Under the message limit but over --max-request-bytes (1.5 MiB): etcd's own error.
    assert.match(r.too_large?.text ?? '', /etcdserver: request is too large/);
    assert.equal(r.oversized_unchanged, true);
  });

  it('members, alarms, hash, compaction, defragment', () => {
    assert.deepEqual(r.members, ['py']);
    assert.deepEqual(r.alarms, []);
    assert.equal(r.hash_is_int, true);
    assert.equal(r.compacted_read, 'vb');
    assert.equal(r.defragment, null);
  });
});
