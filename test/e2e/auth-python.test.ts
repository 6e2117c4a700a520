/**
 * python3-etcd3 with a user and password (etcd3.client(user=..., password=...)) against a server
 * with auth enabled: users and roles are made with the real etcdctl 3.4, then
 * test/e2e/python/etcd3_auth.py reports what the client saw. gRPC's Python runtime sends call
 * credentials (the token) only over TLS, so the member serves https with --client-cert-auth (and
 * plain http beside it for set-up); the client presents root's certificate and logs in as alice:
 * the token wins over the certificate's CN, as in etcd. Then the certificate alone: etcdctl with
 * alice's certificate (CN=alice) and no --user acts as alice. The same expectations hold against
 * etcd 3.4 (ETCD_TEST_SERVER=real).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runCommand, runEtcdctl, etcdctlUnavailableReason } from './framework/etcdctl.js';
import { REPO_ROOT, SUITE_TIMEOUT_MS, freePort, makeTempDir, serverUnavailableReason } from './framework/process.js';
import { makePki, opensslUnavailableReason, type Pki } from './framework/certs.js';
import { startFlagMember, type FlagMember } from './framework/tls-member.js';
import { skipUnlessRequired } from './framework/required.js';

const PYTHON = process.env['ETCD_TEST_PYTHON'] ?? '/usr/bin/python3';

function pythonEtcd3Unavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import etcd3'], { encoding: 'utf8' });
  return skipUnlessRequired(r.status === 0 ? undefined : `${PYTHON} cannot import etcd3 (install Debian's python3-etcd3): ${r.error?.message ?? r.stderr.trim()}`);
}

type Err = { type: string; text: string } | null;
interface Report {
  alice_reads_prefix: string | null;
  alice_prefix: string[];
  alice_other: Err;
  alice_put: Err;
  alice_txn_compare_other: Err;
  wrong_password: Err;
  unchanged: string | null;
}

const skip = serverUnavailableReason() ?? etcdctlUnavailableReason('etcdctl') ?? opensslUnavailableReason() ?? pythonEtcd3Unavailable() ?? false;

describe('python3-etcd3 with a user and password; a certificate CN as the user', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  let m: FlagMember;
  let pki: Pki;
  let tlsPort: number;
  let r: Report;
  before(async () => {
    pki = makePki(makeTempDir('etcd-ts-pki-'));
    tlsPort = await freePort();
    const plainPort = await freePort();
    const peer = await freePort();
    m = await startFlagMember(
      [
        '--listen-client-urls', `https://127.0.0.1:${tlsPort},http://127.0.0.1:${plainPort}`,
        '--advertise-client-urls', `https://127.0.0.1:${tlsPort}`,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `tls=http://127.0.0.1:${peer}`,
        '--cert-file', pki.serverCert, '--key-file', pki.serverKey, '--client-cert-auth', '--trusted-ca-file', pki.caCert,
      ],
      `http://127.0.0.1:${plainPort}`,
    );
    const plain = [`127.0.0.1:${plainPort}`];
    for (const args of [
      ['user', 'add', 'root:rootpw'], ['role', 'add', 'root'], ['user', 'grant-role', 'root', 'root'],
      ['role', 'add', 'app-reader'], ['role', 'grant-permission', 'app-reader', '--prefix=true', 'read', '/app/'],
      ['user', 'add', 'alice:apw'], ['user', 'grant-role', 'alice', 'app-reader'], ['auth', 'enable'],
    ]) {
      const res = await runEtcdctl(plain, args);
      assert.equal(res.code, 0, `etcdctl ${args.join(' ')}: ${res.stderr}`);
    }
    const script = join(REPO_ROOT, 'test', 'e2e', 'python', 'etcd3_auth.py');
    const out = await runCommand(PYTHON, [script, '127.0.0.1', String(tlsPort), pki.caCert, pki.clientKey, pki.clientCert], undefined, 120_000, process.env);
    assert.equal(out.code, 0, `the python client failed:\n${out.stderr}`);
    r = JSON.parse(out.stdout) as Report;
  });
  after(async () => {
    await m?.stop();
  });

  it('a user reads its prefix', () => {
    assert.equal(r.alice_reads_prefix, 'from-root');
    assert.deepEqual(r.alice_prefix, ['/app/py']);
  });

  it('reads, writes and txn compares outside its permissions are refused with etcd\'s error', () => {
    for (const e of [r.alice_other, r.alice_put, r.alice_txn_compare_other]) {
      assert.ok(e !== null, 'expected a refusal');
      assert.match(e.text, /etcdserver: permission denied/);
    }
    assert.equal(r.unchanged, 'from-root');
  });

  it('a wrong password fails', () => {
    assert.ok(r.wrong_password !== null);
    assert.match(r.wrong_password.text, /authentication failed, invalid user ID or password/);
  });

  it('with --client-cert-auth, the verified certificate\'s CN is the user when no token is sent', async () => {
    const ep = [`https://127.0.0.1:${tlsPort}`];
    const asAlice = ['--cacert', pki.caCert, '--cert', pki.aliceCert, '--key', pki.aliceKey];
    const get = await runEtcdctl(ep, [...asAlice, 'get', '/app/py', '--print-value-only']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, 'from-root\n');
    const other = await runEtcdctl(ep, [...asAlice, 'get', '/other/py']);
    assert.match(other.stderr, /Error: etcdserver: permission denied/);
    // CN=root holds the root role: it reads everything.
    const asRoot = ['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey];
    const rootGet = await runEtcdctl(ep, [...asRoot, 'get', '/other/py', '--print-value-only']);
    assert.equal(rootGet.stdout, 'secret\n', rootGet.stderr);
  });
});
