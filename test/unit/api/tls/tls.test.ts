/**
 * TLS building blocks: the TLS flags (src/config/tls-flags.ts), self-signed certificates
 * (src/api/tls/self-cert.ts, checked by node:crypto and openssl), ServerTls (reload, checks
 * after the handshake) and the peer TLS contexts (src/api/tls/peer-tls.ts) for the peer
 * transport to come: two "members" connect over real TLS sockets on 127.0.0.1.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tls from 'node:tls';
import * as http2 from 'node:http2';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServerConfig } from '../../../../src/config/config.js';
import { cipherSuitesToOpenSsl, tlsFlags } from '../../../../src/config/tls-flags.js';
import { makeSelfSignedCert, ensureSelfCert } from '../../../../src/api/tls/self-cert.js';
import { ServerTls, type TlsSettings } from '../../../../src/api/tls/server-tls.js';
import { peerTls, type PeerTls } from '../../../../src/api/tls/peer-tls.js';
import { ClientListener } from '../../../../src/api/grpc/client-listener.js';
import { Http2GrpcTransport } from '../../../../src/api/grpc/http2-transport.js';
import { makePki, opensslUnavailableReason, type Pki } from '../../../e2e/framework/certs.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'etcd-ts-tls-unit-'));
const flagsOf = (argv: string[]) => tlsFlags(parseServerConfig(argv, {}).flags);

describe('TLS flags', () => {
  it('--trusted-ca-file alone turns client certificate checks on, as in etcd', () => {
    assert.equal(flagsOf(['--trusted-ca-file', 'ca.pem']).client.clientCertAuth, true);
    assert.equal(flagsOf([]).client.clientCertAuth, false);
    assert.equal(flagsOf(['--peer-trusted-ca-file', 'ca.pem']).peer.clientCertAuth, true);
  });
  it('--cipher-suites: Go names to OpenSSL names, TLS capped at 1.2; unknown names refused in etcd\'s words', () => {
    const f = flagsOf(['--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_AES_128_GCM_SHA256']);
    assert.deepEqual(f.ciphers, ['ECDHE-RSA-AES128-GCM-SHA256']);
    assert.equal(f.maxVersion, 'TLS1.2');
    assert.equal(flagsOf(['--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', '--tls-max-version', 'TLS1.3']).maxVersion, 'TLS1.3');
    assert.throws(() => cipherSuitesToOpenSsl(['TLS_NOPE']), { message: 'unexpected TLS cipher suite "TLS_NOPE"' });
    assert.throws(() => flagsOf(['--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', '--tls-min-version', 'TLS1.3']), {
      message: 'cipher suites cannot be configured when only TLS1.3 is enabled',
    });
    assert.throws(() => flagsOf(['--tls-min-version', 'TLS1.3', '--tls-max-version', 'TLS1.2']), { message: 'min version (TLS1.3) is greater than max version (TLS1.2)' });
  });
  it('peer flags are read (for the peer transport) and checked against https peer URLs', () => {
    const f = flagsOf(['--peer-cert-file', 'p.pem', '--peer-key-file', 'p.key', '--peer-cert-allowed-cn', 'm1,m2', '--peer-crl-file', 'crl.pem']);
    assert.deepEqual([f.peer.certFile, f.peer.keyFile, f.peer.allowedCn, f.peer.crlFile], ['p.pem', 'p.key', ['m1', 'm2'], 'crl.pem']);
    assert.throws(() => parseServerConfig(['--listen-peer-urls', 'https://127.0.0.1:2380', '--peer-cert-file', 'p.pem'], {}), /KeyFile and CertFile must both be present\[key: , cert: p\.pem\]/);
  });
});

describe('self-signed certificates (--auto-tls)', () => {
  it('O=etcd, the hosts as SANs, the validity asked for; openssl verifies it against itself', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const { certPem, keyPem } = makeSelfSignedCert({ hosts: ['127.0.0.1:2379', 'localhost:2379', '[::1]:2379'], validityYears: 2, clientAuth: true, now });
    const x = new X509Certificate(certPem);
    assert.equal(x.subject, 'O=etcd');
    assert.equal(x.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(new Date(x.validFrom).toISOString(), now.toISOString());
    assert.equal(new Date(x.validTo).toISOString(), '2028-01-01T00:00:00.000Z'); // 2 x 365 days
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    assert.ok(x.verify(x.publicKey));
    assert.ok(x.checkPrivateKey(createPrivateKey(keyPem)));
    if (opensslUnavailableReason() === undefined) {
      const d = tmp();
      writeFileSync(join(d, 'c.pem'), certPem);
      assert.match(execFileSync('openssl', ['verify', '-CAfile', join(d, 'c.pem'), join(d, 'c.pem')]).toString(), /OK/);
    }
  });
  it('ensureSelfCert writes once and reuses on restart', () => {
    const d = join(tmp(), 'fixtures', 'client');
    const a = ensureSelfCert(d, { hosts: ['127.0.0.1:2379'], validityYears: 1, clientAuth: false });
    const b = ensureSelfCert(d, { hosts: ['127.0.0.1:2379'], validityYears: 1, clientAuth: false });
    assert.equal(a.created, true);
    assert.equal(b.created, false);
    assert.equal(readFileSync(a.certFile, 'utf8'), readFileSync(b.certFile, 'utf8'));
  });
});

/** Serve `server` on 127.0.0.1:0; each connection's check() verdict and CN is recorded. */
async function serve(server: ServerTls): Promise<{ port: number; verdicts: Array<string | undefined>; names: Array<string | undefined>; close(): void }> {
  const verdicts: Array<string | undefined> = [];
  const names: Array<string | undefined> = [];
  const srv = tls.createServer(server.serverOptions(), (s) => {
    verdicts.push(server.check(s));
    names.push(server.identity(s)?.commonName);
    s.end();
  });
  srv.on('tlsClientError', () => verdicts.push('handshake failed'));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as { port: number }).port, verdicts, names, close: () => srv.close() };
}

function dial(port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      s.on('close', () => resolve('connected'));
      s.resume();
    });
    s.on('error', (e) => resolve(`error: ${e.message}`));
  });
}

describe('ServerTls and the peer TLS contexts over real sockets', { skip: opensslUnavailableReason() ?? false }, () => {
  let pki: Pki;
  before(() => {
    pki = makePki(tmp());
  });
  const peerOf = (argv: string[], dataDir = tmp()): PeerTls =>
    peerTls(flagsOf(argv), dataDir, [new URL('https://127.0.0.1:2380')])!;

  it('peer mTLS: members dial with their certificate; the CN is known; a stranger CA and a revoked certificate are refused', async () => {
    const base = ['--peer-cert-file', pki.serverCert, '--peer-key-file', pki.serverKey, '--peer-client-cert-auth', '--peer-trusted-ca-file', pki.caCert, '--peer-crl-file', pki.crl];
    const listener = peerOf(base);
    const s = await serve(listener.server);
    try {
      assert.equal(await dial(s.port, peerOf(base).clientOptions()), 'connected');
      await dial(s.port, peerOf([...base, '--peer-client-cert-file', pki.revokedCert, '--peer-client-key-file', pki.revokedKey]).clientOptions());
      await dial(s.port, { ...peerOf(base).clientOptions(), cert: readFileSync(pki.strangerCert), key: readFileSync(pki.strangerKey) });
      assert.deepEqual(s.verdicts, [undefined, 'client certificate rejected: certificate revoked (CERT_REVOKED)', 'client certificate rejected: x509: certificate signed by unknown authority (UNABLE_TO_VERIFY_LEAF_SIGNATURE)']);
      assert.equal(s.names[0], 'etcd-server');
      // the dialing side verifies the listener against the peer CA: another CA fails
      assert.match(await dial(s.port, { ...peerOf(base).clientOptions(), ca: readFileSync(pki.otherCaCert) }), /^error/);
    } finally {
      s.close();
    }
  });

  it('--peer-cert-allowed-cn and --peer-cert-allowed-hostname', async () => {
    const base = ['--peer-cert-file', pki.serverCert, '--peer-key-file', pki.serverKey, '--peer-client-cert-auth', '--peer-trusted-ca-file', pki.caCert];
    const byCn = await serve(peerOf([...base, '--peer-cert-allowed-cn', 'etcd-server-2']).server);
    const byHost = await serve(peerOf([...base, '--peer-cert-allowed-hostname', 'alice.example.com']).server);
    try {
      const as = (cert: string, key: string) => ({ ...peerOf(base).clientOptions(), cert: readFileSync(cert), key: readFileSync(key) });
      await dial(byCn.port, as(pki.serverCert, pki.serverKey));
      await dial(byCn.port, as(pki.server2Cert, pki.server2Key));
      await dial(byHost.port, as(pki.aliceCert, pki.aliceKey));
      await dial(byHost.port, as(pki.clientCert, pki.clientKey));
      assert.deepEqual(byCn.verdicts, ['client certificate authentication failed', undefined]);
      assert.deepEqual(byHost.verdicts, [undefined, 'client certificate authentication failed']);
    } finally {
      byCn.close();
      byHost.close();
    }
  });

  it('--peer-auto-tls: each member signs its own certificate (with client authentication); peers are not verified', async () => {
    const a = peerOf(['--peer-auto-tls'], tmp());
    const b = peerOf(['--peer-auto-tls'], tmp());
    assert.equal(a.verifiesPeers, false);
    const s = await serve(a.server);
    try {
      assert.equal(await dial(s.port, b.clientOptions()), 'connected');
      assert.deepEqual(s.verdicts, [undefined]);
      assert.deepEqual(new X509Certificate(b.clientOptions().cert as Buffer).keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    } finally {
      s.close();
    }
  });

  it('ServerTls re-reads its files: a changed certificate is noticed, a broken one keeps the last good one', () => {
    const d = tmp();
    const cert = join(d, 'c.pem');
    const key = join(d, 'k.pem');
    copyFileSync(pki.serverCert, cert);
    copyFileSync(pki.serverKey, key);
    const settings: TlsSettings = {
      certFile: cert, keyFile: key, trustedCaFile: '', clientCertAuth: false, crlFile: '', ciphers: [],
      minVersion: 'TLS1.2', maxVersion: undefined, allowedCn: [], allowedHostnames: [], selfSigned: false,
    };
    const warnings: string[] = [];
    const t = new ServerTls(settings, (_l, msg) => warnings.push(msg));
    assert.equal(t.refresh(), undefined, 'unchanged files: nothing to do');
    copyFileSync(pki.server2Cert, cert); // certificate changed, key not yet: a mismatch mid-rotation
    assert.equal(t.refresh(), undefined);
    assert.equal(warnings.length, 1);
    copyFileSync(pki.server2Key, key);
    assert.ok(t.refresh() !== undefined);
    assert.throws(() => new ServerTls({ ...settings, certFile: '/nope.pem' }), { message: 'open /nope.pem: no such file or directory' });
  });
});

describe('the client port under TLS: ALPN split, the caller\'s CN, unixs://', { skip: opensslUnavailableReason() ?? false }, () => {
  let pki: Pki;
  before(() => {
    pki = makePki(tmp());
  });

  /** A listener whose one method answers the caller's certificate CN. */
  async function start(at: { unix?: string }): Promise<{ listener: ClientListener; port: number }> {
    const t = new Http2GrpcTransport();
    t.addUnary<Buffer, string>({
      path: '/test.Who/Am',
      decode: (b) => Buffer.from(b),
      encode: (s) => Buffer.from(s),
      handler: (_req, ctx) => ctx.tlsCommonName ?? '(none)',
    });
    const server = new ServerTls({
      certFile: pki.serverCert, keyFile: pki.serverKey, trustedCaFile: pki.caCert, clientCertAuth: true, crlFile: '', ciphers: [],
      minVersion: 'TLS1.2', maxVersion: undefined, allowedCn: [], allowedHostnames: [], selfSigned: false,
    });
    const listener = new ClientListener({ grpc: t, tls: server, http: (_req, res) => void res.end('http/1.1 here') });
    if (at.unix !== undefined) {
      await listener.listenUnix(at.unix);
      return { listener, port: 0 };
    }
    return { listener, port: (await listener.listen(0)).port };
  }

  function whoAmI(session: http2.ClientHttp2Session, authority?: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/test.Who/Am', 'content-type': 'application/grpc', ...(authority !== undefined ? { ':authority': authority } : {}) });
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('error', reject);
      req.on('close', () => resolve(Buffer.concat(chunks).subarray(5).toString()));
      req.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  }
  const creds = (): tls.ConnectionOptions => ({ ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), servername: 'localhost' });

  it('gRPC calls see the CN of the verified client certificate, on the native path and through the :authority rewrite', async () => {
    const { listener, port } = await start({});
    try {
      const session = http2.connect(`https://127.0.0.1:${port}`, creds());
      try {
        assert.equal(await whoAmI(session), 'root');
      } finally {
        session.close();
      }
      const rewritten = http2.connect(`https://127.0.0.1:${port}`, creds());
      try {
        assert.equal(await whoAmI(rewritten, `https://127.0.0.1:${port}`), 'root');
      } finally {
        rewritten.close();
      }
      assert.deepEqual(listener.h2Connections, { native: 1, rewritten: 1 });
    } finally {
      await listener.close();
    }
  });

  it('ALPN http/1.1 goes to the HTTP server; unixs:// serves TLS on a socket file', async () => {
    const { listener, port } = await start({});
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, ...creds(), ALPNProtocols: ['http/1.1'] }, () => s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
        let out = '';
        s.on('data', (d: Buffer) => (out += d.toString()));
        s.on('end', () => resolve(out));
        s.on('error', reject);
      });
      assert.match(body, /http\/1\.1 here$/);
    } finally {
      await listener.close();
    }
    const path = join(tmp(), 'localhost:2379');
    const u = await start({ unix: path });
    try {
      const session = http2.connect('https://localhost', { ...creds(), createConnection: () => tls.connect({ path, ...creds(), ALPNProtocols: ['h2'] }) });
      try {
        assert.equal(await whoAmI(session), 'root');
      } finally {
        session.close();
      }
    } finally {
      await u.listener.close();
    }
  });
});
