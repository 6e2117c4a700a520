/**
 * A member of a multi-member cluster started from etcd's bootstrap flags (docs/cluster.md):
 * --initial-cluster names every member and its peer URLs; member IDs and the cluster ID derive
 * from them and --initial-cluster-token as etcd derives them; the peer transport listens at
 * --listen-peer-urls and reaches the others at their peer URLs (the first of each list).
 * Peer URLs may be https:// when the caller passes the peer TLS (from the --peer-* flags).
 *
 * Three starts (docs/cluster.md, "Runtime membership"):
 * - new (`--initial-cluster-state new`, a new data dir): the log starts with one membership
 *   change per --initial-cluster member; the data dir is marked `consensus: raft`;
 * - restart (a data dir marked `consensus: raft`): IDs from the data dir, membership and peers
 *   from the store; the bootstrap flags are ignored, as etcd ignores them;
 * - join (`--initial-cluster-state existing`, a new data dir): the cluster is fetched from the
 *   other --initial-cluster members' peer URLs (GET /members); this member is the one whose peer
 *   URLs are --initial-advertise-peer-urls (added before with `etcdctl member add`); its log
 *   comes from the leader, from index 1 (there are no snapshots yet: the leader must still hold
 *   its whole log).
 */
import type { RaftSnapshots } from '../node/raft-snapshots.js';
import type { SnapshotCounters } from '../metrics.js';
import type { ServerConfig } from '../../config/config.js';
import type { Logger } from '../../util/logger.js';
import { formatUrl } from '../../util/urls.js';
import { idFromHex, idToHex } from '../../util/pure/id64.js';
import type { ConsensusOpener } from '../bootstrap.js';
import type { StoredIdentity } from '../data-dir.js';
import { computeClusterId, computeMemberId } from '../identity.js';
import type { ClusterMember } from '../etcd-server.js';
import { raftConsensus } from '../node/raft-opener.js';
import { decodeMembership, encodeMembership, type MembershipState, type MemberRecord } from '../../apply/membership.js';
import { Http2PeerTransport, fetchMembers, type PeerTransportTls } from './http2-transport.js';

/** Transport warnings are repeated at most this often per problem and peer. */
const LOG_EVERY_MS = 5000;
/** How long a joining member waits for each peer's /members answer. */
const FETCH_MEMBERS_TIMEOUT_MS = 5000;

export interface ClusterStart {
  readonly consensus: ConsensusOpener;
  readonly transport: Http2PeerTransport;
  readonly members: readonly ClusterMember[];
  /** Keeps the transport's peers (and its /members answer) in step with the membership: call on every change. */
  readonly syncPeers: (s: MembershipState) => void;
  /** The member's snapshot transfer counters once the node is open (metrics). */
  readonly snapshots: () => SnapshotCounters | undefined;
}

export type ClusterStartMode = { readonly kind: 'new' } | { readonly kind: 'restart'; readonly stored: StoredIdentity } | { readonly kind: 'join' };

/** True when the flags describe a cluster of more than one member. */
export function isMultiMember(cfg: ServerConfig): boolean {
  return cfg.initialCluster.length > 1;
}

export async function openClusterConsensus(cfg: ServerConfig, logger: Logger, tls?: PeerTransportTls, mode: ClusterStartMode = { kind: 'new' }): Promise<ClusterStart> {
  const log = logger.child({ caller: 'server/peer/http2-transport.ts' });
  let members: ClusterMember[];
  let selfId: bigint;
  let clusterId: bigint;
  let joining: { memberId: bigint; clusterId: bigint } | undefined;
  let known: MembershipState | undefined;
  if (mode.kind === 'restart') {
    selfId = mode.stored.memberId;
    clusterId = mode.stored.clusterId;
    members = [];
  } else if (mode.kind === 'join') {
    const j = await fetchCluster(cfg, tls);
    selfId = j.memberId;
    clusterId = j.clusterId;
    known = j.membership;
    joining = { memberId: selfId, clusterId };
    members = j.membership.members.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: m.clientUrls }));
    logger.info('fetched the cluster from its members; joining', { 'local-member-id': idToHex(selfId), 'cluster-id': idToHex(clusterId), members: members.length });
  } else {
    members = cfg.initialCluster.map((m) => {
      const peerUrls = m.peerUrls.map(formatUrl);
      return { id: computeMemberId(peerUrls, cfg.initialClusterToken), name: m.name, peerUrls, clientUrls: [] };
    });
    const self = members.find((m) => m.name === cfg.name);
    if (self === undefined) throw new Error(`couldn't find local name ${JSON.stringify(cfg.name)} in the initial cluster configuration`);
    selfId = self.id;
    clusterId = computeClusterId(members.map((m) => m.id));
  }
  const withClientUrls = members.map((m) => (m.id === selfId ? { ...m, clientUrls: cfg.advertiseClientUrls.map(formatUrl) } : m));
  const listen = cfg.listenPeerUrls[0];
  if (listen === undefined) throw new Error('--listen-peer-urls is empty: a cluster member needs a peer listener');
  if (listen.protocol !== 'http:' && listen.protocol !== 'https:') throw new Error(`--listen-peer-urls ${formatUrl(listen)}: only http:// and https:// peer URLs are supported yet`);
  if (listen.protocol === 'https:' && tls === undefined) throw new Error(`--listen-peer-urls ${formatUrl(listen)}: an https peer URL needs --peer-cert-file and --peer-key-file, or --peer-auto-tls`);
  if (listen.protocol === 'http:' && tls !== undefined) log.warn('scheme is HTTP while key and cert files are present; ignoring key and cert files', { 'peer-url': formatUrl(listen) });
  const peers = new Map<bigint, string>();
  for (const m of members) {
    if (m.id === selfId) continue;
    const url = m.peerUrls[0];
    if (url === undefined || !/^https?:\/\//.test(url)) throw new Error(`member ${m.name}: only http:// and https:// peer URLs are supported yet (got ${url ?? 'none'})`);
    peers.set(m.id, url);
  }
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
    memberId: selfId,
    clusterId,
    listenHost: listen.hostname.replace(/^\[|\]$/g, ''),
    listenPort: Number(listen.port || 2380),
    peers,
    onError: warn,
    ...(tls !== undefined ? { tls } : {}),
    listenTls: listen.protocol === 'https:',
  });
  logger.info('started peer transport', { 'local-member-id': idToHex(selfId), 'cluster-id': idToHex(clusterId), 'listen-peer-url': formatUrl(listen) });
  const syncPeers = (s: MembershipState): void => {
    known = s;
    const ids = new Set<bigint>();
    for (const m of s.members) {
      if (m.id === selfId) continue;
      ids.add(m.id);
      const url = m.peerUrls[0];
      if (url !== undefined && transport.peerUrl(m.id) !== url) transport.addPeer(m.id, url);
    }
    for (const id of transport.peerIds()) if (!ids.has(id)) transport.removePeer(id);
    transport.setRemoved(s.removed);
  };
  transport.onMembersRequest(() => (known === undefined ? undefined : encodeClusterInfo(clusterId, known)));
  const initialMembers: MemberRecord[] | undefined =
    mode.kind === 'new' ? members.map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false })) : undefined;
  const consensus = raftConsensus({
    voters: mode.kind === 'new' ? members.map((m) => m.id) : [],
    transport,
    heartbeatMs: cfg.heartbeatInterval,
    electionMs: cfg.electionTimeout,
    catchUpEntries: cfg.snapshotCatchupEntries,
    preVote: cfg.preVote,
    tickAdvance: {
      enabled: cfg.initialElectionTickAdvance,
      activePeers: () => transport.activePeers(),
      probePeers: () => transport.probePeers(),
      info: (msg, fields) => logger.child({ caller: 'server/node/tick-advance.ts' }).info(msg, fields),
    },
    members: withClientUrls,
    storesMembership: true,
    ...(initialMembers !== undefined ? { initialMembers } : {}),
    ...(joining !== undefined ? { joining } : {}),
    onMembership: syncPeers,
    onSnapshots: (s) => (snapshots = s),
  });
  let snapshots: RaftSnapshots | undefined;
  return { consensus, transport, members: withClientUrls, syncPeers, snapshots: () => snapshots?.counters() };
}

/** GET /members's answer: the cluster ID and the membership. */
export function encodeClusterInfo(clusterId: bigint, s: MembershipState): Uint8Array {
  return Buffer.from(JSON.stringify({ clusterId: idToHex(clusterId), membership: JSON.parse(Buffer.from(encodeMembership(s)).toString('utf8')) }));
}

export function decodeClusterInfo(b: Uint8Array): { clusterId: bigint; membership: MembershipState } {
  const o = JSON.parse(Buffer.from(b).toString('utf8')) as { clusterId?: unknown; membership?: unknown };
  if (typeof o.clusterId !== 'string' || !/^[0-9a-f]{1,16}$/.test(o.clusterId)) throw new Error('bad cluster ID');
  return { clusterId: idFromHex(o.clusterId), membership: decodeMembership(Buffer.from(JSON.stringify(o.membership))) };
}

/**
 * A joining member asks the other --initial-cluster members for the cluster (etcd's
 * GetClusterFromRemotePeers) and finds itself by its peer URLs.
 */
async function fetchCluster(cfg: ServerConfig, tls: PeerTransportTls | undefined): Promise<{ memberId: bigint; clusterId: bigint; membership: MembershipState }> {
  const own = new Set(cfg.initialAdvertisePeerUrls.map(formatUrl));
  const urls = cfg.initialCluster.flatMap((m) => m.peerUrls.map(formatUrl)).filter((u) => !own.has(u));
  const errors: string[] = [];
  for (const url of urls) {
    let info: { clusterId: bigint; membership: MembershipState };
    try {
      info = decodeClusterInfo(await fetchMembers(url, tls, FETCH_MEMBERS_TIMEOUT_MS));
    } catch (err) {
      errors.push(`${url}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const self = info.membership.members.find((m) => m.peerUrls.some((u) => own.has(u)));
    if (self === undefined) {
      throw new Error(
        `error validating peerURLs: no member of cluster ${idToHex(info.clusterId)} has the peer URLs ${[...own].join(',')} ` +
          `(add it first: etcdctl member add ${cfg.name} --peer-urls=${[...own].join(',')})`,
      );
    }
    return { memberId: self.id, clusterId: info.clusterId, membership: info.membership };
  }
  throw new Error(`cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs${errors.length > 0 ? ` (${errors.join('; ')})` : ''}`);
}
