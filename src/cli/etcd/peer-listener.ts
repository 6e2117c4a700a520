/**
 * The peer port's TLS from the --peer-* flags (src/api/tls/peer-tls.ts), in the shape the peer
 * transport consumes (PeerTransportTls, declared in src/server/peer/http2-transport.ts).
 */
import type { ServerConfig } from '../../config/config.js';
import { tlsFlags } from '../../config/tls-flags.js';
import type { Logger } from '../../util/logger.js';
import { peerTls } from '../../api/tls/peer-tls.js';
import type { PeerTransportTls } from '../../server/peer/http2-transport.js';

/** undefined when no peer certificate is configured and --peer-auto-tls is off. */
export function peerTransportTls(cfg: ServerConfig, logger: Logger): PeerTransportTls | undefined {
  const p = peerTls(tlsFlags(cfg.flags), cfg.dataDir, cfg.listenPeerUrls, (level, msg, fields) => logger[level](msg, fields));
  if (p === undefined) return undefined;
  const server = p.server;
  return {
    serverOptions: () => server.serverOptions(),
    refresh: () => {
      const next = server.refresh();
      if (next !== undefined) logger.info('reloaded peer TLS certificate files', { 'cert-file': server.settings.certFile });
      return next;
    },
    check: (socket) => server.check(socket),
    clientOptions: () => p.clientOptions(),
  };
}
