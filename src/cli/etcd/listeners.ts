/**
 * The member's listeners, from the flags: one ClientListener per --listen-client-urls URL
 * (http, https, unix, unixs) and one HTTP-only listener per --listen-metrics-urls URL
 * (/metrics and /health), with TLS built from the client TLS flags (docs/security.md).
 */
import { join } from 'node:path';
import type { ServerConfig } from '../../config/config.js';
import { tlsFlags, type TlsFlags } from '../../config/tls-flags.js';
import { formatUrl, urlScheme } from '../../util/urls.js';
import type { Logger } from '../../util/logger.js';
import { ClientListener } from '../../api/grpc/client-listener.js';
import type { GrpcTransport } from '../../api/grpc/types.js';
import type { HttpHandler } from '../../api/http/router.js';
import { ServerTls } from '../../api/tls/server-tls.js';
import { ensureSelfCert } from '../../api/tls/self-cert.js';

const secureScheme = (u: URL): boolean => urlScheme(u) === 'https' || urlScheme(u) === 'unixs';
const unixScheme = (u: URL): boolean => urlScheme(u) === 'unix' || urlScheme(u) === 'unixs';

/** The client-side ServerTls, or undefined when no client/metrics URL is secure. */
export function clientTls(cfg: ServerConfig, logger: Logger): ServerTls | undefined {
  const urls = [...cfg.listenClientUrls, ...cfg.listenMetricsUrls];
  const t: TlsFlags = tlsFlags(cfg.flags);
  const c = t.client;
  const haveFiles = c.certFile !== '' || c.keyFile !== '';
  for (const u of urls.filter((x) => !secureScheme(x))) {
    if (haveFiles) logger.warn('scheme is HTTP while key and cert files are present; ignoring key and cert files', { 'client-url': formatUrl(u) });
    if (c.clientCertAuth) logger.warn('scheme is HTTP while --client-cert-auth is enabled; ignoring client cert auth for this URL', { 'client-url': formatUrl(u) });
  }
  if (!urls.some(secureScheme)) return undefined;
  let certFile = c.certFile;
  let keyFile = c.keyFile;
  let auto = false;
  if (c.autoTls && haveFiles) logger.warn('ignoring client auto TLS since certs given');
  if (c.autoTls && !haveFiles) {
    // etcd's ClientSelfCert: hosts of the listen client URLs, <data-dir>/fixtures/client.
    const r = ensureSelfCert(join(cfg.dataDir, 'fixtures', 'client'), {
      hosts: cfg.listenClientUrls.filter((u) => !unixScheme(u)).map((u) => u.host),
      validityYears: t.selfSignedCertValidityYears,
      clientAuth: false,
    });
    certFile = r.certFile;
    keyFile = r.keyFile;
    auto = true;
    logger.info(r.created ? 'generated self-signed client certificate' : 'using existing self-signed client certificate', { 'cert-file': certFile });
  }
  return new ServerTls(
    {
      certFile,
      keyFile,
      // A self-signed (auto) setup does not check client certificates, as etcd's SelfCert info does not.
      trustedCaFile: auto ? '' : c.trustedCaFile,
      clientCertAuth: auto ? false : c.clientCertAuth,
      crlFile: auto ? '' : c.crlFile,
      ciphers: t.ciphers,
      minVersion: t.minVersion,
      maxVersion: t.maxVersion,
      allowedCn: c.allowedCn,
      allowedHostnames: c.allowedHostnames,
      selfSigned: auto,
    },
    (level, msg, fields) => logger[level](msg, fields),
  );
}

export interface ListenerSet {
  client: ClientListener[];
  metrics: ClientListener[];
  close(graceMs: number): Promise<void>;
}

/**
 * Bind every client and metrics URL. On a bind failure the ones already bound are closed and
 * the error (with the URL) is thrown.
 */
export async function openListeners(
  cfg: ServerConfig,
  logger: Logger,
  parts: { grpc: GrpcTransport; http: HttpHandler; metricsHttp: HttpHandler },
): Promise<ListenerSet> {
  const tls = clientTls(cfg, logger);
  const log = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>): void => logger[level](msg, fields);
  const set: ListenerSet = {
    client: [],
    metrics: [],
    close: async (graceMs) => {
      await Promise.all([...set.client, ...set.metrics].map((l) => l.close(graceMs).catch(() => undefined)));
    },
  };
  const bind = async (u: URL, l: ClientListener): Promise<void> => {
    try {
      if (unixScheme(u)) await l.listenUnix(u.host);
      else await l.listen(Number(u.port || 2379), u.hostname.replace(/^\[|\]$/g, ''));
    } catch (err) {
      await set.close(0);
      throw new Error(`listen ${formatUrl(u)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  for (const u of cfg.listenClientUrls) {
    const secure = secureScheme(u);
    const l = new ClientListener({ grpc: parts.grpc, http: parts.http, log, ...(secure ? { tls: tls! } : {}) });
    await bind(u, l);
    set.client.push(l);
    logger.info('ready to serve client requests');
    if (secure) logger.info('serving client traffic securely', { address: u.host });
    else logger.info('serving client traffic insecurely; this is strongly discouraged!', { address: `${u.hostname}:${u.port || 2379}` });
  }
  for (const u of cfg.listenMetricsUrls) {
    const l = new ClientListener({ http: parts.metricsHttp, log, ...(secureScheme(u) ? { tls: tls! } : {}) });
    await bind(u, l);
    set.metrics.push(l);
    logger.info('serving metrics', { address: formatUrl(u) });
  }
  return set;
}
