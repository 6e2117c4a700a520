/**
 * Client TLS through real processes, with the real etcdctl 3.4 and the etcd3 npm client
 * (issue 11). Certificates are made with openssl at test time (framework/certs.ts).
 * Every case passes against the real etcd 3.4 (ETCD_TEST_SERVER=real) except where skipped
 * with the reason (flags etcd 3.4 does not have; etcd-ts's own log lines).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as tls from 'node:tls';
import * as net from 'node:net';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { makePki, opensslUnavailableReason, type Pki } from './framework/certs.js';
import { startFlagMember, startRefused, httpsGet, type FlagMember } from './framework/tls-member.js';
import { etcdctlUnavailableReason, etcdctlCommand, etcdctlEnv, runCommand, type RunResult } from './framework/etcdctl.js';
import { freePort, makeTempDir, serverKind, serverUnavailableReason, SUITE_TIMEOUT_MS } from './framework/process.js';

const skip = serverUnavailableReason() ?? opensslUnavailableReason() ?? etcdctlUnavailableReason() ?? false;
const ours = serverKind() === 'ours';

/** etcdctl 3.4 with short timeouts (refused connections end in "context deadline exceeded"). */
function etcdctl(endpoint: string, args: string[], tlsArgs: string[] = [], cwd?: string): Promise<RunResult> {
  const [bin, ...pre] = etcdctlCommand('etcdctl');
  return runCommand(bin!, [...pre, `--endpoints=${endpoint}`, '--dial-timeout=2s', '--command-timeout=3s', ...tlsArgs, ...args], undefined, 20_000, etcdctlEnv(), cwd);
}

function serialOf(pem: string): string {
  return new X509Certificate(readFileSync(pem)).serialNumber;
}

/** The serial of the certificate the server presents on a fresh connection. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const serial = s.getPeerX509Certificate()?.serialNumber ?? '';
      s.destroy();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

/** Write `data` on a raw connection and collect the answer until the server closes it. */
function rawExchange(port: number, data: string, secure: boolean): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const done = (): void => resolve(out);
    const s = secure ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : net.connect(port, '127.0.0.1');
    s.setTimeout(5000, () => s.destroy());
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('error', (e) => {
      out += `ERROR ${e.message}`;
    });
    s.on('close', done);
    if (!secure) s.write(data);
    else s.on('secureConnect', () => s.write(data));
  });
}

describe('client TLS (issue 11)', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  let pki: Pki;
  before(() => {
    pki = makePki(makeTempDir('etcd-ts-pki-'));
  });

  describe('mTLS on https beside plain http, with a CRL', () => {
    let m: FlagMember;
    let tlsPort: number;
    let plainPort: number;
    let mtls: string[];
    before(async () => {
      tlsPort = await freePort();
      plainPort = await freePort();
      const peer = await freePort();
      m = await startFlagMember(
        [
          '--listen-client-urls', `https://127.0.0.1:${tlsPort},http://127.0.0.1:${plainPort}`,
          '--advertise-client-urls', `https://127.0.0.1:${tlsPort}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`,
          '--cert-file', pki.serverCert, '--key-file', pki.serverKey,
          '--client-cert-auth', '--trusted-ca-file', pki.caCert, '--client-crl-file', pki.crl,
        ],
        `http://127.0.0.1:${plainPort}`,
      );
      mtls = ['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey];
    });
    after(() => m?.stop());

    it('etcdctl with a client certificate: put, get, endpoint status and health over https', async () => {
      const ep = `https://127.0.0.1:${tlsPort}`;
      const put = await etcdctl(ep, ['put', 'tls-key', 'v1'], mtls);
      assert.equal(put.code, 0, put.stderr);
      assert.equal(put.stdout, 'OK\n');
      const get = await etcdctl(ep, ['get', 'tls-key'], mtls);
      assert.equal(get.stdout, 'tls-key\nv1\n');
      const status = await etcdctl(ep, ['endpoint', 'status'], mtls);
      assert.equal(status.code, 0, status.stderr);
      assert.ok(status.stdout.startsWith(`${ep}, `), status.stdout);
      const health = await etcdctl(ep, ['endpoint', 'health'], mtls);
      assert.equal(health.code, 0, health.stderr);
      assert.match(health.stdout + health.stderr, /is healthy/);
    });

    it('etcdctl --insecure-skip-tls-verify with a client certificate', async () => {
      const r = await etcdctl(`https://127.0.0.1:${tlsPort}`, ['get', 'tls-key'], ['--insecure-skip-tls-verify', '--cert', pki.clientCert, '--key', pki.clientKey]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'tls-key\nv1\n');
    });

    it('refused: no client certificate, an expired one, a revoked one, one from another CA, a server checked against the wrong CA', async () => {
      const ep = `https://127.0.0.1:${tlsPort}`;
      const cases: Array<[string, string[]]> = [
        ['no certificate', ['--cacert', pki.caCert]],
        ['expired', ['--cacert', pki.caCert, '--cert', pki.expiredCert, '--key', pki.expiredKey]],
        ['revoked', ['--cacert', pki.caCert, '--cert', pki.revokedCert, '--key', pki.revokedKey]],
        ['another CA', ['--cacert', pki.caCert, '--cert', pki.strangerCert, '--key', pki.strangerKey]],
        ['wrong CA for the server', ['--cacert', pki.otherCaCert, '--cert', pki.clientCert, '--key', pki.clientKey]],
      ];
      const results = await Promise.all(cases.map(([, args]) => etcdctl(ep, ['put', 'refused', 'x'], args)));
      results.forEach((r, i) => {
        assert.notEqual(r.code, 0, `${cases[i]![0]}: ${r.stdout}`);
        assert.match(r.stderr, /context deadline exceeded|Unavailable|certificate|tls/i, cases[i]![0]);
      });
      const get = await etcdctl(ep, ['get', 'refused'], mtls);
      assert.equal(get.stdout, '', 'a refused client wrote nothing');
      if (ours) {
        const log = readFileSync(m.logFile, 'utf8');
        for (const why of ['client did not provide a certificate', 'CERT_HAS_EXPIRED', 'CERT_REVOKED', 'signed by unknown authority']) {
          assert.match(log, new RegExp(`"msg":"rejected connection".*${why}`), why);
        }
      }
    });

    it('the etcd3 npm client over mTLS', async () => {
      const client = new Etcd3({
        hosts: `https://127.0.0.1:${tlsPort}`,
        credentials: { rootCertificate: readFileSync(pki.caCert), privateKey: readFileSync(pki.clientKey), certChain: readFileSync(pki.clientCert) },
      });
      try {
        await client.put('etcd3-tls').value('v2');
        assert.equal(await client.get('etcd3-tls').string(), 'v2');
      } finally {
        client.close();
      }
    });

    it('the http:// listener beside it: put, endpoint status with an http:// URL (the :authority etcdctl sends)', async () => {
      const ep = `http://127.0.0.1:${plainPort}`;
      const put = await etcdctl(ep, ['put', 'plain-key', 'p']);
      assert.equal(put.code, 0, put.stderr);
      const status = await etcdctl(ep, ['endpoint', 'status']);
      assert.equal(status.code, 0, status.stderr);
      assert.ok(status.stdout.startsWith(`${ep}, `), status.stdout);
      const get = await etcdctl(`https://127.0.0.1:${tlsPort}`, ['get', 'plain-key'], mtls);
      assert.equal(get.stdout, 'plain-key\np\n');
    });

    it('plain text on the TLS port and TLS on the plain port are refused, and both ports keep serving', async () => {
      const onTls = await rawExchange(tlsPort, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', false);
      assert.ok(!onTls.includes('"health"'), onTls);
      // etcd 3.4 closes without a word; etcd-ts says why, as Go's HTTPS server does
      if (ours) assert.match(onTls, /^HTTP\/1\.[01] 400 Bad Request\r\n[^]*Client sent an HTTP request to an HTTPS server/);
      const onPlain = await rawExchange(plainPort, '', true);
      assert.ok(!onPlain.includes('health'), onPlain);
      assert.equal((await httpsGet(`http://127.0.0.1:${plainPort}/health`)).status, 200);
      const r = await etcdctl(`https://127.0.0.1:${tlsPort}`, ['get', 'tls-key'], mtls);
      assert.equal(r.stdout, 'tls-key\nv1\n');
      if (ours) {
        const log = readFileSync(m.logFile, 'utf8');
        assert.match(log, /"msg":"rejected connection".*client sent plain text to a TLS \(https\) port/);
        assert.match(log, /"msg":"rejected connection".*client sent a TLS handshake to a plain-text \(http\) port/);
      }
    });

    it('/health over https with a client certificate, over HTTP/2 (ALPN h2) and HTTP/1.1', async () => {
      const r = await httpsGet(`https://127.0.0.1:${tlsPort}/health`, { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey });
      assert.equal(r.status, 200);
      assert.match(r.body, /"health":"true"/);
    });

    it('/health and /metrics over https to curl, which negotiates h2 by ALPN (when curl is installed)', async (t) => {
      if (spawnSync('curl', ['--version']).status !== 0) {
        t.skip('curl is not installed');
        return;
      }
      const tlsArgs = ['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey];
      const get = async (path: string): Promise<string> =>
        (await promisify(execFile)('curl', ['-s', '--http2', ...tlsArgs, '-w', '\n%{http_version} %{http_code}', `https://127.0.0.1:${tlsPort}${path}`], { maxBuffer: 16 << 20 })).stdout;
      const health = await get('/health');
      assert.match(health, /"health":"true"/);
      assert.match(health, /\n2 200$/, 'HTTP/2 by ALPN');
      const metrics = await get('/metrics');
      assert.match(metrics, /etcd_server_has_leader/);
      assert.match(metrics, /\n2 200$/);
    });
  });

  describe('rotation of the server certificate without restart', () => {
    let m: FlagMember;
    let port: number;
    let certFile: string;
    let keyFile: string;
    before(async () => {
      port = await freePort();
      const dir = makeTempDir('etcd-ts-rot-');
      certFile = join(dir, 'server.pem');
      keyFile = join(dir, 'server.key');
      copyFileSync(pki.serverCert, certFile);
      copyFileSync(pki.serverKey, keyFile);
      const peer = await freePort();
      m = await startFlagMember(
        ['--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`, '--cert-file', certFile, '--key-file', keyFile],
        `https://127.0.0.1:${port}`,
        { ca: pki.caCert },
      );
    });
    after(() => m?.stop());

    it('a new connection gets the new certificate; clients keep working', async () => {
      assert.equal(await servedSerial(port), serialOf(pki.serverCert));
      copyFileSync(pki.server2Key, keyFile);
      copyFileSync(pki.server2Cert, certFile);
      assert.equal(await servedSerial(port), serialOf(pki.server2Cert));
      const r = await etcdctl(`https://127.0.0.1:${port}`, ['put', 'rotated', 'yes'], ['--cacert', pki.caCert]);
      assert.equal(r.code, 0, r.stderr);
    });
  });

  describe('--auto-tls, --client-cert-allowed-hostname, --cipher-suites', () => {
    it('--auto-tls: a self-signed certificate in <data-dir>/fixtures/client; clients that skip verification connect', async () => {
      const port = await freePort();
      const peer = await freePort();
      const m = await startFlagMember(
        ['--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`, '--auto-tls'],
        `https://127.0.0.1:${port}`,
        { insecure: true },
      );
      try {
        const cert = join(m.dataDir, 'fixtures', 'client', 'cert.pem');
        assert.ok(existsSync(cert) && existsSync(join(m.dataDir, 'fixtures', 'client', 'key.pem')));
        const x = new X509Certificate(readFileSync(cert));
        assert.match(x.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
        assert.equal(await servedSerial(port), x.serialNumber);
        // etcdctl 3.4 skips verification only with --insecure-transport=false as well
        const ok = await etcdctl(`https://127.0.0.1:${port}`, ['put', 'auto', 'tls'], ['--insecure-transport=false', '--insecure-skip-tls-verify']);
        assert.equal(ok.code, 0, ok.stderr);
        const verified = await etcdctl(`https://127.0.0.1:${port}`, ['put', 'auto', 'tls'], ['--cacert', pki.caCert]);
        assert.notEqual(verified.code, 0, 'a client that verifies against another CA is refused');
      } finally {
        await m.stop();
      }
    });

    it('--client-cert-allowed-hostname: a certificate for that name is let in, another is refused', async () => {
      const port = await freePort();
      const peer = await freePort();
      const m = await startFlagMember(
        ['--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`, '--cert-file', pki.serverCert, '--key-file', pki.serverKey,
          '--client-cert-auth', '--trusted-ca-file', pki.caCert, '--client-cert-allowed-hostname', 'alice.example.com'],
        `https://127.0.0.1:${port}`,
        { ca: pki.caCert, cert: pki.aliceCert, key: pki.aliceKey },
      );
      try {
        const ep = `https://127.0.0.1:${port}`;
        const [alice, root] = await Promise.all([
          etcdctl(ep, ['put', 'who', 'alice'], ['--cacert', pki.caCert, '--cert', pki.aliceCert, '--key', pki.aliceKey]),
          etcdctl(ep, ['put', 'who', 'root'], ['--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey]),
        ]);
        assert.equal(alice.code, 0, alice.stderr);
        assert.notEqual(root.code, 0, root.stdout);
      } finally {
        await m.stop();
      }
    });

    it('--cipher-suites: only those suites, and TLS 1.2 (TLS 1.3 suites cannot be chosen)', async () => {
      const port = await freePort();
      const peer = await freePort();
      const m = await startFlagMember(
        ['--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`, '--cert-file', pki.serverCert, '--key-file', pki.serverKey,
          '--cipher-suites', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
        `https://127.0.0.1:${port}`,
        { ca: pki.caCert },
      );
      try {
        const probe = (opts: tls.ConnectionOptions): Promise<string> =>
          new Promise((resolve) => {
            const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
              const answer = `${s.getProtocol()} ${s.getCipher().name}`;
              s.destroy();
              resolve(answer);
            });
            s.on('error', (e) => resolve(`error: ${e.message}`));
          });
        assert.equal(await probe({ maxVersion: 'TLSv1.2' }), 'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256');
        // etcd 3.5+ caps TLS at 1.2 when cipher suites are set (TLS 1.3's cannot be chosen); 3.4 still offers 1.3
        if (ours) assert.equal(await probe({}), 'TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256');
        assert.match(await probe({ ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', maxVersion: 'TLSv1.2' }), /^error/);
      } finally {
        await m.stop();
      }
    });

    it('--tls-min-version TLS1.3 refuses a TLS 1.2 client', { skip: ours ? false : 'etcd 3.4 has no --tls-min-version (added in 3.5)' }, async () => {
      const port = await freePort();
      const peer = await freePort();
      const m = await startFlagMember(
        ['--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`, '--cert-file', pki.serverCert, '--key-file', pki.serverKey,
          '--tls-min-version', 'TLS1.3'],
        `https://127.0.0.1:${port}`,
        { ca: pki.caCert },
      );
      try {
        const v12 = await new Promise<string>((resolve) => {
          const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => {
            s.destroy();
            resolve('connected');
          });
          s.on('error', (e) => resolve(`error: ${e.message}`));
        });
        assert.match(v12, /^error/);
        assert.equal((await etcdctl(`https://127.0.0.1:${port}`, ['put', 'v13', 'ok'], ['--cacert', pki.caCert])).code, 0);
      } finally {
        await m.stop();
      }
    });
  });

  describe('flags etcd 3.4 does not have', { skip: ours ? false : 'etcd 3.4 has no --tls-max-version or --self-signed-cert-validity (added in 3.5)' }, () => {
    it('--tls-max-version TLS1.2 refuses a TLS 1.3-only client; --self-signed-cert-validity sets the years of an --auto-tls certificate', async () => {
      const port = await freePort();
      const peer = await freePort();
      const m = await startFlagMember(
        ['--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`, '--auto-tls', '--self-signed-cert-validity', '3', '--tls-max-version', 'TLS1.2'],
        `https://127.0.0.1:${port}`,
        { insecure: true },
      );
      try {
        const version = (opts: tls.ConnectionOptions): Promise<string> =>
          new Promise((resolve) => {
            const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => {
              const v = String(s.getProtocol());
              s.destroy();
              resolve(v);
            });
            s.on('error', (e) => resolve(`error: ${e.message}`));
          });
        assert.match(await version({ minVersion: 'TLSv1.3' }), /^error/);
        assert.equal(await version({}), 'TLSv1.2');
        const x = new X509Certificate(readFileSync(join(m.dataDir, 'fixtures', 'client', 'cert.pem')));
        const years = (Date.parse(x.validTo) - Date.parse(x.validFrom)) / (365 * 24 * 3600 * 1000);
        assert.equal(Math.round(years), 3);
      } finally {
        await m.stop();
      }
    });
  });

  describe('unix sockets and --listen-metrics-urls', () => {
    it('unix://localhost:N serves etcdctl; the metrics port serves /metrics and /health only', async () => {
      const port = await freePort();
      const peer = await freePort();
      const metrics = await freePort();
      const sock = `localhost:${await freePort()}`;
      const m = await startFlagMember(
        ['--listen-client-urls', `http://127.0.0.1:${port},unix://${sock}`, '--advertise-client-urls', `http://127.0.0.1:${port}`,
          '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
          '--initial-cluster', `tls=http://127.0.0.1:${peer}`, '--listen-metrics-urls', `http://127.0.0.1:${metrics}`],
        `http://127.0.0.1:${port}`,
      );
      try {
        assert.ok(existsSync(join(m.workDir, sock)), 'the socket file is named after host:port, in the working directory');
        const put = await etcdctl(`unix://${sock}`, ['put', 'over-unix', 'u'], [], m.workDir);
        assert.equal(put.code, 0, put.stderr);
        const get = await etcdctl(`http://127.0.0.1:${port}`, ['get', 'over-unix']);
        assert.equal(get.stdout, 'over-unix\nu\n');
        const met = await httpsGet(`http://127.0.0.1:${metrics}/metrics`);
        assert.equal(met.status, 200);
        assert.match(met.body, /^# (HELP|TYPE) /m);
        const health = await httpsGet(`http://127.0.0.1:${metrics}/health`);
        assert.equal(health.status, 200);
        assert.match(health.body, /"health":"true"/);
        assert.equal((await httpsGet(`http://127.0.0.1:${metrics}/v3/kv/range`)).status, 404);
      } finally {
        await m.stop();
      }
      assert.ok(!existsSync(join(m.workDir, sock)), 'the socket file is removed on a clean stop');
    });
  });

  describe('TLS flags refused at start, in etcd\'s words', () => {
    it('https:// without --cert-file/--key-file; a certificate without its key; an unknown cipher suite', async () => {
      const port = await freePort();
      // each its own ports: the real etcd binds them before some of these checks
      const base = async (): Promise<string[]> => {
        const p = await freePort();
        return ['--listen-client-urls', `https://127.0.0.1:${p}`, '--advertise-client-urls', `https://127.0.0.1:${p}`, '--listen-peer-urls', `http://127.0.0.1:${await freePort()}`];
      };
      const [noCert, noKey, cipher] = await Promise.all([
        startRefused(['--listen-client-urls', `https://127.0.0.1:${port}`, '--advertise-client-urls', `https://127.0.0.1:${port}`, '--listen-peer-urls', `http://127.0.0.1:${await freePort()}`]),
        startRefused([...(await base()), '--cert-file', pki.serverCert]),
        startRefused([...(await base()), '--cert-file', pki.serverCert, '--key-file', pki.serverKey, '--cipher-suites', 'FOO']),
      ]);
      assert.notEqual(noCert.code, 0);
      assert.match(noCert.output, new RegExp(`TLS key/cert \\(--cert-file, --key-file\\) must be provided for client url https://127\\.0\\.0\\.1:${port} with HTTPS scheme`));
      assert.notEqual(noKey.code, 0);
      assert.match(noKey.output, /KeyFile and CertFile must both be present\[key: , cert: .*server\.pem\]/);
      assert.notEqual(cipher.code, 0);
      assert.match(cipher.output, /unexpected TLS cipher suite \\?"FOO\\?"/);
    });
  });
});
