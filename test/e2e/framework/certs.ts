/**
 * Certificates for the TLS tests, made at test time with openssl (no private key is
 * checked in): a CA, a server certificate for 127.0.0.1/localhost, client certificates
 * (good, expired, revoked, signed by another CA), a CRL, and a second server certificate
 * for rotation. ECDSA P-256 keys: fast to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  otherCaCert: string;
  serverCert: string;
  serverKey: string;
  /** Same names, another key and serial: for rotation. */
  server2Cert: string;
  server2Key: string;
  /** CN=root, client authentication. */
  clientCert: string;
  clientKey: string;
  /** CN=alice, client authentication, SAN DNS:alice.example.com. */
  aliceCert: string;
  aliceKey: string;
  expiredCert: string;
  expiredKey: string;
  revokedCert: string;
  revokedKey: string;
  /** Signed by otherCa: a CA the server does not trust. */
  strangerCert: string;
  strangerKey: string;
  /** CRL of ca listing revokedCert. */
  crl: string;
}

export function opensslUnavailableReason(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'openssl is not installed';
  }
}

const CA_CONF = `[ ca ]
default_ca = testca
[ testca ]
dir = .
database = index.txt
new_certs_dir = issued
serial = serial
crlnumber = crlnumber
default_md = sha256
default_crl_days = 3650
policy = any
copy_extensions = copy
unique_subject = no
x509_extensions = client_ext
[ any ]
commonName = supplied
[ client_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[ req ]
distinguished_name = dn
[ dn ]
`;

export function makePki(dir: string): Pki {
  mkdirSync(join(dir, 'issued'), { recursive: true });
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  writeFileSync(join(dir, 'ca.cnf'), CA_CONF);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  const key = (name: string): void => run('ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', `${name}.key`);
  const ca = (name: string): void => {
    key(name);
    run('req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-days', '30', '-sha256', '-out', `${name}.pem`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  };
  /** A certificate signed by `caName` with x509 -req and the given extensions. */
  const leaf = (name: string, caName: string, cn: string, ext: string): void => {
    key(name);
    run('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), ext);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-set_serial', String(Math.floor(Math.random() * 1e9) + 2),
      '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  };
  /** A client certificate issued by `openssl ca` (so it can be revoked), optionally dated. */
  const issued = (name: string, cn: string, dates?: [string, string]): void => {
    key(name);
    run('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`, '-config', 'ca.cnf');
    run('ca', '-config', 'ca.cnf', '-batch', '-notext', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-in', `${name}.csr`, '-out', `${name}.pem`,
      ...(dates === undefined ? ['-days', '30'] : ['-startdate', dates[0], '-enddate', dates[1]]));
  };
  ca('ca');
  ca('otherca');
  const serverExt = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n';
  const clientExt = 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';
  leaf('server', 'ca', 'etcd-server', serverExt);
  leaf('server2', 'ca', 'etcd-server-2', serverExt);
  leaf('client', 'ca', 'root', clientExt);
  leaf('alice', 'ca', 'alice', clientExt + 'subjectAltName=DNS:alice.example.com\n');
  leaf('stranger', 'otherca', 'root', clientExt);
  issued('expired', 'root', ['20200101000000Z', '20200102000000Z']);
  issued('revoked', 'root');
  run('ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-revoke', 'revoked.pem');
  run('ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-gencrl', '-out', 'crl.pem');
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    caCert: p('ca.pem'),
    otherCaCert: p('otherca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    server2Cert: p('server2.pem'),
    server2Key: p('server2.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    aliceCert: p('alice.pem'),
    aliceKey: p('alice.key'),
    expiredCert: p('expired.pem'),
    expiredKey: p('expired.key'),
    revokedCert: p('revoked.pem'),
    revokedKey: p('revoked.key'),
    strangerCert: p('stranger.pem'),
    strangerKey: p('stranger.key'),
    crl: p('crl.pem'),
  };
}
