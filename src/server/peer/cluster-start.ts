/**
 * A member of a multi-member cluster started from etcd's bootstrap flags (docs/cluster.md):
 * --initial-cluster names every member and its peer URLs; member IDs and the cluster ID derive
 * from them and --initial-cluster-token as etcd derives them; the peer transport listens at
 * --listen-peer-urls and reaches the others at their --initial-cluster peer URLs.
 *
 * Peer URLs may be https:// when the caller passes the peer TLS (from the --peer-* flags); the
 * first URL of each member's list is dialed.
 *
 * Limits of this milestone: membership is fixed (no runtime changes), a new cluster only
 * (--initial-cluster-state new).
 */
import type { ServerConfig } from '../../config/config.js';
import type { Logger } from '../../util/logger.js';
import { formatUrl } from '../../util/urls.js';
import { idToHex } from '../../util/pure/id64.js';
import type { ConsensusOpener } from '../bootstrap.js';
import { computeClusterId, computeMemberId } from '../identity.js';
import type { ClusterMember } from '../etcd-server.js';
import { raftConsensus } from '../node/raft-opener.js';
import { Http2PeerTransport, type PeerTransportTls } from './http2-transport.js';

/** Transport warnings are repeated at most this often per problem and peer. */
const LOG_EVERY_MS = 5000;

export interface ClusterStart {
  readonly consensus: ConsensusOpener;
  readonly transport: Http2PeerTransport;
  readonly members: readonly ClusterMember[];
}

/** True when the flags describe a cluster of more than one member. */
export function isMultiMember(cfg: ServerConfig): boolean {
  return cfg.initialCluster.length > 1;
}

export async function openClusterConsensus(cfg: ServerConfig, logger: Logger, tls?: PeerTransportTls): Promise<ClusterStart> {
  const members: ClusterMember[] = cfg.initialCluster.map((m) => {
    const peerUrls = m.peerUrls.map(formatUrl);
    return { id: computeMemberId(peerUrls, cfg.initialClusterToken), name: m.name, peerUrls, clientUrls: [] };
  });
  const self = members.find((m) => m.name === cfg.name);
  if (self === undefined) throw new Error(`couldn't find local name ${JSON.stringify(cfg.name)} in the initial cluster configuration`);
  const withClientUrls = members.map((m) => (m === self ? { ...m, clientUrls: cfg.advertiseClientUrls.map(formatUrl) } : m));
  const log = logger.child({ caller: 'server/peer/http2-transport.ts' });
  const listen = cfg.listenPeerUrls[0];
  if (listen === undefined) throw new Error('--listen-peer-urls is empty: a cluster member needs a peer listener');
  if (listen.protocol !== 'http:' && listen.protocol !== 'https:') throw new Error(`--listen-peer-urls ${formatUrl(listen)}: only http:// and https:// peer URLs are supported yet`);
  if (listen.protocol === 'https:' && tls === undefined) throw new Error(`--listen-peer-urls ${formatUrl(listen)}: an https peer URL needs --peer-cert-file and --peer-key-file, or --peer-auto-tls`);
  if (listen.protocol === 'http:' && tls !== undefined) log.warn('scheme is HTTP while key and cert files are present; ignoring key and cert files', { 'peer-url': formatUrl(listen) });
  const peers = new Map<bigint, string>();
  for (const m of members) {
    if (m === self) continue;
    const url = m.peerUrls[0];
    if (url === undefined || !/^https?:\/\//.test(url)) throw new Error(`member ${m.name}: only http:// and https:// peer URLs are supported yet (got ${url ?? 'none'})`);
    peers.set(m.id, url);
  }
  const clusterId = computeClusterId(members.map((m) => m.id));
  // A peer that is down fails every batch: one line per problem and peer every LOG_EVERY_MS.
  const lastLogged = new Map<string, number>();
  const warn = (msg: string, fields: Record<string, unknown>): void => {
    const key = `${msg}/${String(fields['peer'] ?? fields['from'] ?? '')}`;
    const now = Date.now();
    if (now - (lastLogged.get(key) ?? -Infinity) < LOG_EVERY_MS) return;
    lastLogged.set(key, now);
    log.warn(msg, fields);
  };
  const transport = await Http2PeerTransport.listen({
    memberId: self.id,
    clusterId,
    listenHost: listen.hostname.replace(/^\[|\]$/g, ''),
    listenPort: Number(listen.port || 2380),
    peers,
    onError: warn,
    ...(tls !== undefined ? { tls } : {}),
    listenTls: listen.protocol === 'https:',
  });
  logger.info('started peer transport', { 'local-member-id': idToHex(self.id), 'cluster-id': idToHex(clusterId), 'listen-peer-url': formatUrl(listen) });
  const consensus = raftConsensus({
    voters: members.map((m) => m.id),
    transport,
    heartbeatMs: cfg.heartbeatInterval,
    electionMs: cfg.electionTimeout,
    members: withClientUrls,
  });
  return { consensus, transport, members: withClientUrls };
}
