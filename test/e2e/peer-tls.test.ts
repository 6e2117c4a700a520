/**
 * Peer TLS through real processes (issue 8 with issue 11's peer TLS contexts): three bin/etcd
 * members whose peer URLs are https://, with the --peer-* flags, and the real etcdctl 3.4 as the
 * client. Certificates are made with openssl at test time (framework/certs.ts).
 *
 * - peer mTLS (--peer-client-cert-auth, --peer-trusted-ca-file, --peer-cert-file/--peer-key-file,
 *   --peer-client-cert-file/--peer-client-key-file, --peer-cert-allowed-cn, --peer-crl-file):
 *   members serve one certificate (CN etcd-server) and dial with another (CN etcd-server-2), and
 *   only CN etcd-server-2 is allowed: the cluster forms only if dialing uses the client
 *   certificate and the CN check lets it in. A write through one member is read (linearizably)
 *   through another; the peer port answers a dialer with the client certificate, and gives no
 *   HTTP answer to one without a certificate, with a certificate of another CA, or with a
 *   certificate of the right CA but another CN;
 * - --peer-auto-tls: each member signs its own certificate; the cluster forms and replicates.
 *
 * Passes against the real etcd 3.4 too (ETCD_TEST_SERVER=real): the probes only ask whether any
 * HTTP answer comes back, not which. etcd 3.4 has no --peer-client-cert-file/--peer-client-key-file
 * (3.5 added them): against it the members dial with their serving certificate, whose CN is then
 * the allowed one.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { makePki, opensslUnavailableReason, type Pki } from './framework/certs.js';
import { Cluster } from './framework/cluster.js';
import { runEtcdctl, etcdctlUnavailableReason } from './framework/etcdctl.js';
import { makeTempDir, serverKind, serverUnavailableReason, SUITE_TIMEOUT_MS } from './framework/process.js';

const ours = serverKind() === 'ours';
const skip = serverUnavailableReason() ?? opensslUnavailableReason() ?? etcdctlUnavailableReason() ?? false;

/**
 * One request to a peer port over TLS: "status N" when any HTTP answer comes back, else
 * "error: ...". etcd-ts's peer port speaks h2; etcd 3.4's negotiates h2 but answers HTTP/1.1
 * (its connection multiplexer sniffs the bytes): both are tried, either answer counts.
 */
async function probePeerPort(port: number, creds: { ca: string; cert?: string; key?: string }): Promise<string> {
  const h2 = await probeOnce(port, creds, 'h2');
  if (h2.startsWith('status')) return h2;
  const h1 = await probeOnce(port, creds, 'http/1.1');
  return h1.startsWith('status') ? h1 : `${h2}; ${h1}`;
}

function probeOnce(port: number, creds: { ca: string; cert?: string; key?: string }, speak: 'h2' | 'http/1.1'): Promise<string> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(creds.ca),
      ...(creds.cert !== undefined ? { cert: readFileSync(creds.cert), key: readFileSync(creds.key!) } : {}),
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    let session: http2.ClientHttp2Session | undefined;
    const done = (s: string): void => {
      if (settled) return;
      settled = true;
      session?.destroy();
      socket.destroy();
      resolve(s);
    };
    socket.setTimeout(5000, () => done('error: no answer in 5 s'));
    socket.on('error', (e) => done(`error: ${e.message}`));
    socket.on('close', () => done('error: connection closed'));
    socket.on('secureConnect', () => {
      if (speak === 'h2') {
        session = http2.connect(`https://127.0.0.1:${port}`, { createConnection: () => socket });
        session.on('error', (e) => done(`error: ${e.message}`));
        session.on('close', () => done('error: session closed'));
        const req = session.request({ ':method': 'GET', ':path': '/version' });
        req.on('response', (h) => done(`status ${String(h[':status'])}`));
        req.on('error', (e) => done(`error: ${e.message}`));
        req.end();
        return;
      }
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        if (m) done(`status ${m[1]}`);
      });
      socket.write('GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    });
  });
}

async function putThenGet(c: Cluster): Promise<void> {
  const put = await runEtcdctl([c.members[0]!.endpoint], ['put', 'peer-tls', 'over https']);
  assert.equal(put.code, 0, put.stderr);
  assert.equal(put.stdout.trim(), 'OK');
  // A linearizable read through another member: a ReadIndex round over the TLS peer links.
  const get = await runEtcdctl([c.members[2]!.endpoint], ['get', 'peer-tls', '--print-value-only']);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout.trim(), 'over https');
  const list = await runEtcdctl([c.members[1]!.endpoint], ['member', 'list', '-w', 'json']);
  assert.equal(list.code, 0, list.stderr);
  const members = (JSON.parse(list.stdout) as { members: { name: string; peerURLs: string[] }[] }).members;
  assert.deepEqual(members.map((m) => m.name).sort(), ['p0', 'p1', 'p2']);
  assert.ok(members.every((m) => m.peerURLs.every((u) => u.startsWith('https://'))), list.stdout);
}

describe('peer TLS: three members over https peer URLs', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  let pki: Pki;
  const clusters: Cluster[] = [];
  before(() => {
    pki = makePki(makeTempDir('etcd-ts-peer-pki-'));
  });
  after(async () => {
    for (const c of clusters) await c.close();
  });

  it('peer mTLS: the cluster forms and replicates; the peer port refuses dialers without a certificate of the peer CA', async () => {
    const c = await Cluster.start({
      name: 'p',
      size: 3,
      peerScheme: 'https',
      extraFlags: [
        '--peer-cert-file', pki.serverCert, '--peer-key-file', pki.serverKey,
        ...(ours ? ['--peer-client-cert-file', pki.server2Cert, '--peer-client-key-file', pki.server2Key] : []),
        '--peer-client-cert-auth', '--peer-trusted-ca-file', pki.caCert,
        '--peer-cert-allowed-cn', ours ? 'etcd-server-2' : 'etcd-server', '--peer-crl-file', pki.crl,
      ],
    });
    clusters.push(c);
    await putThenGet(c);
    const port = c.members[0]!.peerPort;
    const [dialCert, dialKey, otherCert, otherKey] = ours ? [pki.server2Cert, pki.server2Key, pki.serverCert, pki.serverKey] : [pki.serverCert, pki.serverKey, pki.server2Cert, pki.server2Key];
    assert.match(await probePeerPort(port, { ca: pki.caCert, cert: dialCert, key: dialKey }), /^status \d+$/, 'the members\' client certificate gets an HTTP answer');
    assert.match(await probePeerPort(port, { ca: pki.caCert, cert: otherCert, key: otherKey }), /^error/, 'a certificate of the peer CA with a CN not allowed: no HTTP answer');
    assert.match(await probePeerPort(port, { ca: pki.caCert }), /^error/, 'no client certificate: no HTTP answer');
    assert.match(await probePeerPort(port, { ca: pki.caCert, cert: pki.strangerCert, key: pki.strangerKey }), /^error/, 'a certificate of another CA: no HTTP answer');
    // The members still talk after the refused dialers.
    const again = await runEtcdctl([c.members[1]!.endpoint], ['put', 'after-probes', 'ok']);
    assert.equal(again.code, 0, again.stderr);
  });

  it('--peer-auto-tls: self-signed peer certificates; the cluster forms and replicates', async () => {
    const c = await Cluster.start({ name: 'p', size: 3, peerScheme: 'https', extraFlags: ['--peer-auto-tls'] });
    clusters.push(c);
    await putThenGet(c);
  });
});
