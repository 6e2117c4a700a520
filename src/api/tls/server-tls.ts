/**
 * TLS for a listener (client port, metrics port, later the peer port), from etcd's flags:
 * the secure context, re-read when the files change, and the checks made after each
 * handshake (docs/security.md has the table of what is checked where).
 *
 * etcd reads the certificate and key files at every handshake (tls.Config.GetCertificate),
 * so rotating them needs no restart. Here every new connection reads the files again
 * (certificate, key, CA bundle, CRL: a few KiB) and compares the bytes with the last ones;
 * only a change builds a new secure context. A read or parse failure (a half-written file
 * during rotation) keeps the previous context and logs a warning.
 */
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

import type { TlsVersionName } from '../../config/tls-flags.js';

export interface TlsSettings {
  certFile: string;
  keyFile: string;
  /** CA bundle for peer (client) certificates; '' for none. */
  trustedCaFile: string;
  /** Ask for and verify client certificates (etcd: --client-cert-auth, or a --trusted-ca-file). */
  clientCertAuth: boolean;
  crlFile: string;
  /** OpenSSL cipher names (cipherSuitesToOpenSsl), empty for the runtime's defaults. */
  ciphers: readonly string[];
  minVersion: TlsVersionName;
  /** undefined: the runtime's highest. */
  maxVersion: TlsVersionName | undefined;
  /** A client certificate must carry one of these CNs, or one of allowedHostnames (both empty: no check). */
  allowedCn: readonly string[];
  allowedHostnames: readonly string[];
  /** Self-signed (auto TLS): the other side's certificate is not verified. */
  selfSigned: boolean;
}

export type TlsLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;

const NODE_VERSION: Record<TlsVersionName, tls.SecureVersion> = { 'TLS1.2': 'TLSv1.2', 'TLS1.3': 'TLSv1.3' };

/** What a connection proved about its client, kept for the request context (auth by CN). */
export interface PeerIdentity {
  /** Common Name of the verified client certificate. */
  commonName: string;
}

export class ServerTls {
  readonly settings: TlsSettings;
  private readonly log: TlsLog;
  private files: (Buffer | undefined)[] = [];
  private options: tls.SecureContextOptions | undefined;

  constructor(settings: TlsSettings, log: TlsLog = () => {}) {
    this.settings = settings;
    this.log = log;
    const first = this.read();
    if (first instanceof Error) throw first; // at start, a bad file is fatal (etcd refuses to start too)
  }

  /** Does a handshake ask for a client certificate? */
  get requestCert(): boolean {
    return this.settings.clientCertAuth;
  }

  /** Options for tls.createServer (the first context). */
  serverOptions(): tls.TlsOptions {
    return { ...this.options!, requestCert: this.requestCert, rejectUnauthorized: false, ALPNProtocols: ['h2', 'http/1.1'] };
  }

  /**
   * Re-read the files; the new context options if anything changed (give them to
   * tls.Server.setSecureContext), else undefined.
   */
  refresh(): tls.SecureContextOptions | undefined {
    const r = this.read();
    if (r instanceof Error) {
      this.log('warn', 'failed to reload TLS files; keeping the previous certificate', { error: r.message, 'cert-file': this.settings.certFile });
      return undefined;
    }
    return r ? this.options : undefined;
  }

  /**
   * After a handshake: undefined if the client may go on, else the reason to refuse it.
   * (Node completes every handshake and leaves the verdict to us.)
   */
  check(socket: tls.TLSSocket): string | undefined {
    const s = this.settings;
    if (!s.clientCertAuth) return undefined;
    const cert = socket.getPeerX509Certificate();
    if (cert === undefined) return 'client did not provide a certificate';
    if (!socket.authorized) return `client certificate rejected: ${describeVerifyError(socket.authorizationError)}`;
    if (s.allowedCn.length > 0 || s.allowedHostnames.length > 0) {
      const cn = commonNameOf(cert);
      const okCn = cn !== undefined && s.allowedCn.includes(cn);
      const okHost = s.allowedHostnames.some((h) => (isIP(h) !== 0 ? cert.checkIP(h) : cert.checkHost(h)) !== undefined);
      if (!okCn && !okHost) return 'client certificate authentication failed';
    }
    return undefined;
  }

  /** The verified client certificate's CN, when client certificates are checked. */
  identity(socket: tls.TLSSocket): PeerIdentity | undefined {
    if (!this.settings.clientCertAuth || !socket.authorized) return undefined;
    const cert = socket.getPeerX509Certificate();
    const cn = cert === undefined ? undefined : commonNameOf(cert);
    return cn === undefined ? undefined : { commonName: cn };
  }

  /** Read every file; true if any changed since the last read, an Error if unusable. */
  private read(): boolean | Error {
    const s = this.settings;
    const paths = [s.certFile, s.keyFile, s.trustedCaFile, s.crlFile];
    let next: (Buffer | undefined)[];
    try {
      next = paths.map((p) => (p === '' ? undefined : readFileSync(p)));
    } catch (err) {
      // Go's wording, as etcd reports it: "open /x.pem: no such file or directory".
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') return new Error(`open ${e.path}: no such file or directory`);
      if (e.code === 'EACCES') return new Error(`open ${e.path}: permission denied`);
      return e;
    }
    if (this.options !== undefined && next.every((b, i) => (b === undefined ? this.files[i] === undefined : this.files[i]?.equals(b) === true))) {
      return false;
    }
    const [cert, key, ca, crl] = next;
    const options: tls.SecureContextOptions = {
      cert,
      key,
      minVersion: NODE_VERSION[s.minVersion],
      ...(s.maxVersion !== undefined ? { maxVersion: NODE_VERSION[s.maxVersion] } : {}),
      ...(ca !== undefined ? { ca } : {}),
      ...(crl !== undefined ? { crl } : {}),
      ...(s.ciphers.length > 0 ? { ciphers: s.ciphers.join(':') } : {}),
    };
    try {
      tls.createSecureContext(options); // parse now: a key that does not match its certificate fails here
      if (cert !== undefined) new X509Certificate(cert);
    } catch (err) {
      return new Error(`TLS files ${paths.filter((p) => p !== '').join(', ')}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.files = next;
    this.options = options;
    return true;
  }
}

/** The CN of a certificate's subject ("O=x\nCN=y" in Node's format). */
export function commonNameOf(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

/** OpenSSL's verify codes (socket.authorizationError) in the words Go's crypto/x509 uses. */
function describeVerifyError(code: Error | string | undefined): string {
  const c = typeof code === 'string' ? code : code?.message ?? 'unknown';
  switch (c) {
    case 'CERT_HAS_EXPIRED':
      return 'x509: certificate has expired or is not yet valid (CERT_HAS_EXPIRED)';
    case 'CERT_NOT_YET_VALID':
      return 'x509: certificate has expired or is not yet valid (CERT_NOT_YET_VALID)';
    case 'CERT_REVOKED':
      return 'certificate revoked (CERT_REVOKED)';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return `x509: certificate signed by unknown authority (${c})`;
    default:
      return c;
  }
}
