/**
 * TLS for the peer port, from the --peer-* flags, for the peer transport of a multi-member
 * cluster (src/cli/etcd/peer-listener.ts hands it to src/server/peer/http2-transport.ts; a
 * single member never opens the peer port).
 *
 *   peerTls(flags, dataDir, listenPeerUrls) -> { server: ServerTls (listener side),
 *                                               client: tls.ConnectionOptions (dialing side),
 *                                               checkServer(socket) (dialing side, after connect) }
 *
 * etcd's rules (docs/security.md):
 * - --peer-client-cert-auth (or a --peer-trusted-ca-file) makes the peer listener ask for and
 *   verify client certificates against --peer-trusted-ca-file, minus --peer-crl-file;
 * - --peer-cert-allowed-cn / --peer-cert-allowed-hostname: the verified certificate must carry
 *   one of these CNs or SAN host names;
 * - a member dials its peers with --peer-client-cert-file/--peer-client-key-file, else its
 *   --peer-cert-file/--peer-key-file, verifying them against --peer-trusted-ca-file;
 * - --peer-auto-tls (without files): one self-signed certificate in <data-dir>/fixtures/peer,
 *   for serving and dialing; nobody's certificate is verified (each member signs its own).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tls from 'node:tls';
import type { TlsFlags } from '../../config/tls-flags.js';
import { ServerTls, type TlsLog } from './server-tls.js';
import { ensureSelfCert } from './self-cert.js';

export interface PeerTls {
  /** The peer listener's TLS (reloads its files per connection, checks clients after the handshake). */
  server: ServerTls;
  /** Options for tls.connect / http2.connect when dialing a peer (files read now; call again to pick up rotation). */
  clientOptions(): tls.ConnectionOptions;
  /** Whether the dialing side verifies the peer's server certificate (false with auto TLS). */
  verifiesPeers: boolean;
}

/** undefined when the peer side uses no TLS (no peer certificate and no --peer-auto-tls). */
export function peerTls(flags: TlsFlags, dataDir: string, listenPeerUrls: readonly URL[], log: TlsLog = () => {}): PeerTls | undefined {
  const p = flags.peer;
  const haveFiles = p.certFile !== '' || p.keyFile !== '';
  if (!haveFiles && !p.autoTls) return undefined;
  let certFile = p.certFile;
  let keyFile = p.keyFile;
  const auto = p.autoTls && !haveFiles;
  if (p.autoTls && haveFiles) log('warn', 'ignoring peer auto TLS since certs given', {});
  if (auto) {
    const r = ensureSelfCert(join(dataDir, 'fixtures', 'peer'), {
      hosts: listenPeerUrls.map((u) => u.host),
      validityYears: flags.selfSignedCertValidityYears,
      clientAuth: true,
    });
    certFile = r.certFile;
    keyFile = r.keyFile;
  }
  const server = new ServerTls(
    {
      certFile,
      keyFile,
      trustedCaFile: auto ? '' : p.trustedCaFile,
      clientCertAuth: auto ? false : p.clientCertAuth,
      crlFile: auto ? '' : p.crlFile,
      ciphers: flags.ciphers,
      minVersion: flags.minVersion,
      maxVersion: flags.maxVersion,
      allowedCn: p.allowedCn,
      allowedHostnames: p.allowedHostnames,
      selfSigned: auto,
    },
    log,
  );
  const dialCert = !auto && p.clientCertFile !== '' ? p.clientCertFile : certFile;
  const dialKey = !auto && p.clientKeyFile !== '' ? p.clientKeyFile : keyFile;
  const verifiesPeers = !auto;
  return {
    server,
    verifiesPeers,
    clientOptions: () => ({
      cert: readFileSync(dialCert),
      key: readFileSync(dialKey),
      ...(p.trustedCaFile !== '' && !auto ? { ca: readFileSync(p.trustedCaFile) } : {}),
      rejectUnauthorized: verifiesPeers,
      minVersion: flags.minVersion === 'TLS1.3' ? 'TLSv1.3' : 'TLSv1.2',
      ...(flags.maxVersion !== undefined ? { maxVersion: flags.maxVersion === 'TLS1.3' ? 'TLSv1.3' : 'TLSv1.2' } : {}),
      ...(flags.ciphers.length > 0 ? { ciphers: flags.ciphers.join(':') } : {}),
      ALPNProtocols: ['h2', 'http/1.1'],
    }),
  };
}
