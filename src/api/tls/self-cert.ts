/**
 * --auto-tls / --peer-auto-tls: a self-signed certificate, made as etcd makes one
 * (pkg/transport SelfCert): one key pair per listener kind, stored in
 * <data-dir>/fixtures/client (or /peer) as cert.pem and key.pem and reused on restart;
 * subject O=etcd; the listen URLs' hosts as IP or DNS subject alternative names; valid for
 * --self-signed-cert-validity years; server authentication (and client authentication for
 * peers, which dial each other with it).
 *
 * Written here rather than with an X.509 library: node:crypto makes the key and the
 * signature, and what is left is a few DER structures. The libraries we looked at
 * (@peculiar/x509 and selfsigned on top of it) need a global Reflect polyfill
 * (reflect-metadata) and a dozen packages for these ~100 lines. test/unit/api/tls checks the
 * output with node:crypto's X509Certificate and with openssl.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

// ---- DER (X.690) ----

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}
const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
function oid(dotted: string): Buffer {
  const p = dotted.split('.').map(Number);
  const out = [40 * p[0]! + p[1]!];
  for (const n of p.slice(2)) {
    const groups: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    for (let i = 0; i < groups.length; i++) out.push(groups[i]! | (i < groups.length - 1 ? 0x80 : 0));
  }
  return tlv(0x06, Buffer.from(out));
}
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDhhmmss
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}
const bitString = (unused: number, bytes: Buffer): Buffer => tlv(0x03, Buffer.from([unused]), bytes);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const TRUE = Buffer.from([0x01, 0x01, 0xff]);
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [TRUE] : []), octets(value));
}
function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export interface SelfCertOptions {
  /** host or host:port values; IPs become IP SANs, the rest DNS SANs. */
  hosts: readonly string[];
  validityYears: number;
  /** Add client authentication (peer certificates: members dial each other with them). */
  clientAuth: boolean;
  now?: Date;
}

/** A fresh self-signed certificate and its key, as PEM. */
export function makeSelfSignedCert(opts: SelfCertOptions): { certPem: string; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const notBefore = opts.now ?? new Date();
  const notAfter = new Date(notBefore.getTime() + opts.validityYears * 365 * 24 * 3600 * 1000);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, no leading zero byte needed
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.10'), tlv(0x0c, Buffer.from('etcd')))));
  const sans: Buffer[] = [];
  for (const h of opts.hosts) {
    const host = hostOf(h);
    if (host === '') continue;
    sans.push(isIP(host) !== 0 ? tlv(0x87, ipBytes(host)) : tlv(0x82, Buffer.from(host, 'ascii')));
  }
  const usages = [oid('1.3.6.1.5.5.7.3.1'), ...(opts.clientAuth ? [oid('1.3.6.1.5.5.7.3.2')] : [])];
  const extensions = [
    extension('2.5.29.15', true, bitString(5, Buffer.from([0xa0]))), // digitalSignature, keyEncipherment
    extension('2.5.29.37', false, seq(...usages)),
    extension('2.5.29.19', true, seq()), // not a CA
    ...(sans.length > 0 ? [extension('2.5.29.17', false, seq(...sans))] : []),
  ];
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, serial),
    ecdsaSha256,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaSha256, bitString(0, signature));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'sec1', format: 'pem' }) as string,
  };
}

/** "127.0.0.1:2379" -> "127.0.0.1", "[::1]:2379" -> "::1", "localhost" -> "localhost". */
function hostOf(h: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(h);
  if (v6 !== null) return v6[1]!;
  if (isIP(h) === 6) return h;
  return h.replace(/:\d+$/, '');
}

/**
 * etcd's SelfCert: the certificate and key in `dir` if both exist, else new ones written
 * there (key 0600). Returns their paths.
 */
export function ensureSelfCert(dir: string, opts: SelfCertOptions): { certFile: string; keyFile: string; created: boolean } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    readFileSync(certFile); // unreadable files fail here, with their path
    return { certFile, keyFile, created: false };
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { certPem, keyPem } = makeSelfSignedCert(opts);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  writeFileSync(certFile, certPem, { mode: 0o644 });
  return { certFile, keyFile, created: true };
}
