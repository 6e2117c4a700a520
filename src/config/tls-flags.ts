/**
 * The TLS flags, read from the flag table's values and checked as etcd checks them
 * (docs/security.md). The listeners (src/api/tls) get plain settings from here.
 *
 * etcd's rules kept here:
 * - a https:// or unixs:// client URL needs --cert-file and --key-file (or --auto-tls);
 *   a https:// peer URL needs --peer-cert-file and --peer-key-file (or --peer-auto-tls);
 * - a certificate without its key (or the reverse) is refused;
 * - --trusted-ca-file alone turns client certificate checking on, as --client-cert-auth does
 *   (etcd's TLSInfo.ServerConfig: "TrustedCAFile != '' || ClientCertAuth");
 * - --cipher-suites takes Go's names; setting it caps TLS at 1.2 (TLS 1.3 suites cannot be
 *   chosen), unless --tls-max-version=TLS1.3 says otherwise; with --tls-min-version=TLS1.3
 *   it is an error.
 */
import { ConfigError, type FlagValue } from './flag-parser.js';
import { formatUrl, urlScheme } from '../util/urls.js';

export type TlsVersionName = 'TLS1.2' | 'TLS1.3';

/** One side's TLS flags (client port or peer port). */
export interface TlsSideFlags {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
  /** Client certificates are asked for and verified (flag, or a trusted CA file). */
  clientCertAuth: boolean;
  crlFile: string;
  autoTls: boolean;
  allowedCn: string[];
  allowedHostnames: string[];
  /** Certificate and key used when this member dials out (peers; the gateway). */
  clientCertFile: string;
  clientKeyFile: string;
}

export interface TlsFlags {
  client: TlsSideFlags;
  peer: TlsSideFlags;
  /** OpenSSL names for --cipher-suites (empty: the runtime's defaults). */
  ciphers: string[];
  minVersion: TlsVersionName;
  maxVersion: TlsVersionName | undefined;
  selfSignedCertValidityYears: number;
}

type Values = ReadonlyMap<string, FlagValue>;

function side(v: Values, prefix: '' | 'peer-'): TlsSideFlags {
  const s = (n: string): string => v.get(n) as string;
  const list = (n: string): string[] => ((v.get(n) as string[] | undefined) ?? []).filter((x) => x !== '');
  const trustedCaFile = s(`${prefix}trusted-ca-file`);
  return {
    certFile: s(`${prefix}cert-file`),
    keyFile: s(`${prefix}key-file`),
    trustedCaFile,
    clientCertAuth: (v.get(`${prefix}client-cert-auth`) as boolean) || trustedCaFile !== '',
    crlFile: s(prefix === '' ? 'client-crl-file' : 'peer-crl-file'),
    autoTls: v.get(`${prefix}auto-tls`) as boolean,
    allowedCn: prefix === '' ? [] : list('peer-cert-allowed-cn'),
    allowedHostnames: list(prefix === '' ? 'client-cert-allowed-hostname' : 'peer-cert-allowed-hostname'),
    clientCertFile: s(`${prefix}client-cert-file`),
    clientKeyFile: s(`${prefix}client-key-file`),
  };
}

/** The TLS flags from parsed flag values (ServerConfig.flags). Throws ConfigError as etcd would refuse them. */
export function tlsFlags(v: Values): TlsFlags {
  const suites = ((v.get('cipher-suites') as string[] | undefined) ?? []).filter((x) => x !== '');
  const minVersion = v.get('tls-min-version') as TlsVersionName;
  const max = v.get('tls-max-version') as '' | TlsVersionName;
  if (suites.length > 0 && minVersion === 'TLS1.3') fail('cipher suites cannot be configured when only TLS1.3 is enabled');
  if (max !== '' && minVersion === 'TLS1.3' && max === 'TLS1.2') fail(`min version (${minVersion}) is greater than max version (${max})`);
  const ciphers = cipherSuitesToOpenSsl(suites);
  return {
    client: side(v, ''),
    peer: side(v, 'peer-'),
    ciphers,
    minVersion,
    maxVersion: max !== '' ? max : suites.length > 0 ? 'TLS1.2' : undefined,
    selfSignedCertValidityYears: v.get('self-signed-cert-validity') as number,
  };
}

/** etcd's start-up checks of TLS against the listen URLs (messages as etcd 3.4 prints them). */
export function checkTlsFlags(v: Values, listen: { client: readonly URL[]; peer: readonly URL[]; metrics: readonly URL[] }): void {
  const t = tlsFlags(v);
  const secure = (u: URL): boolean => urlScheme(u) === 'https' || urlScheme(u) === 'unixs';
  const pair = (s: TlsSideFlags): void => {
    if ((s.certFile === '') !== (s.keyFile === '')) fail(`KeyFile and CertFile must both be present[key: ${s.keyFile}, cert: ${s.certFile}]`);
  };
  for (const u of [...listen.client, ...listen.metrics].filter(secure)) {
    if (t.client.certFile === '' && t.client.keyFile === '' && !t.client.autoTls) {
      fail(`TLS key/cert (--cert-file, --key-file) must be provided for client url ${formatUrl(u)} with HTTPS scheme`);
    }
    pair(t.client);
  }
  for (const u of listen.peer.filter(secure)) {
    if (t.peer.certFile === '' && t.peer.keyFile === '' && !t.peer.autoTls) {
      fail(`cannot listen on TLS for ${u.host}: KeyFile and CertFile are not presented`);
    }
    pair(t.peer);
  }
}

function fail(message: string): never {
  throw new ConfigError(message, 1, 'verify');
}

// ---- --cipher-suites: Go's names (what etcd takes) to OpenSSL's ----

const GO_TO_OPENSSL: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
/** TLS 1.3 suites Go knows by name; they cannot be chosen (as in Go), so they are accepted and ignored. */
const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

/** Map etcd's --cipher-suites (Go names) to OpenSSL names; etcd's error for an unknown one. */
export function cipherSuitesToOpenSsl(names: readonly string[]): string[] {
  const out: string[] = [];
  for (const n of names) {
    const o = GO_TO_OPENSSL[n];
    if (o !== undefined) out.push(o);
    else if (!TLS13_SUITES.has(n)) fail(`unexpected TLS cipher suite "${n}"`);
  }
  return out;
}
