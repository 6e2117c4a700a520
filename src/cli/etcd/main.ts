/**
 * bin/etcd: parse etcd's flags, start one member, serve the client port (gRPC and
 * HTTP/1.1 on one listener), stop cleanly on SIGINT/SIGTERM.
 */
import { parseServerConfig, serverConfigLogFields, type ServerConfig } from '../../config/config.js';
import { loadServerConfig } from './startup.js';
import { formatUrl } from '../../util/urls.js';
import { isInitialized, layoutOf, readIdentity } from '../../server/data-dir.js';
import { startMember, type Member } from '../../server/bootstrap.js';
import { WORKER_THREADS } from '../../server/openers.js';
import { isMultiMember, openClusterConsensus, type ClusterStart, type ClusterStartMode } from '../../server/peer/cluster-start.js';
import { openClientTransport } from './client-transport.js';
import { openListeners, type ListenerSet } from './listeners.js';
import { peerTransportTls } from './peer-listener.js';
import { registerHealthService } from '../../api/grpc/health-service.js';
import { HttpRouter } from '../../api/http/router.js';
import { registerHealthRoutes, registerVersionRoute, type HealthServer } from '../../api/http/health.js';
import { kvMethods } from '../../api/v3rpc/kv.js';
import { authMethods, gatewayWatchRefusal, withAuth, withAuthStream } from '../../api/v3rpc/auth.js';
import { maintenanceMethods, maintenanceStreams } from '../../api/v3rpc/maintenance.js';
import { clusterMethods } from '../../api/v3rpc/cluster.js';
import { withRequireLeader } from '../../api/v3rpc/require-leader.js';
import { LeaderMonitor } from '../../server/leader-monitor.js';
import { ClusterOps } from '../../server/cluster-ops.js';
import { peerLeaseForwarder, serveLeaseCall } from '../../server/peer/lease-forwarding.js';
import { startCorruptionChecks } from './corruption-checks.js';
import { watchMethod } from '../../api/v3rpc/watch.js';
import { leaseKeepAliveStream, leaseKeepAliveUnary, leaseMethods } from '../../api/v3rpc/lease.js';
import { electionMethods, electionObserve, lockMethods } from '../../api/v3rpc/lock.js';
import { createMetrics } from '../../server/metrics.js';
import { idToHex } from '../../util/pure/id64.js';
import { registerMetricsRoute } from '../../api/http/metrics-route.js';
import { registerGateway } from '../../api/http/gateway.js';
import { registerWatchGateway } from '../../api/http/watch-gateway.js';

/** etcd adds this much to --max-request-bytes for the gRPC receive limit (grpcOverheadBytes). */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** How long /health waits for its read before it answers 503. */
const HEALTH_TIMEOUT_MS = 3000;
/** A leadership transfer on a clean stop is given up after this many election timeouts. */
const TRANSFER_ON_STOP_ELECTIONS = 2;
/** How long in-flight calls may finish after a shutdown signal. */
const SHUTDOWN_GRACE_MS = 1000;

/** etcd skips the bootstrap checks (--initial-cluster ...) when the data dir already holds a member. */
function dataDirInitialized(argv: readonly string[]): boolean {
  try {
    const probe: ServerConfig = parseServerConfig(argv, process.env, { dataDirInitialized: true });
    return isInitialized(layoutOf(probe.dataDir, probe.walDir));
  } catch {
    return false; // loadServerConfig reports the error
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const initialized = dataDirInitialized(argv);
  const startup = loadServerConfig(argv, process.env, {}, { dataDirInitialized: initialized });
  if (startup.kind === 'exit') process.exit(startup.code);
  const cfg = startup.config;
  const logger = startup.logger.child({ caller: 'cli/etcd/main.ts' });
  logger.info('configuring peer listeners', { 'listen-peer-urls': cfg.listenPeerUrls.map(formatUrl) });
  logger.info('configuring client listeners', { 'listen-client-urls': cfg.listenClientUrls.map(formatUrl) });
  logger.info('starting an etcd server', { ...serverConfigLogFields(cfg), 'member-initialized': initialized });

  let member: Member;
  let cluster: ClusterStart | undefined;
  try {
    // Raft over the HTTP/2 peer transport (docs/cluster.md) for a data dir of a cluster member,
    // a new cluster of several members, or a member joining a running cluster.
    const stored = initialized ? readIdentity(layoutOf(cfg.dataDir, cfg.walDir)) : undefined;
    const mode: ClusterStartMode | undefined =
      stored?.consensus === 'raft'
        ? { kind: 'restart', stored }
        : !initialized && cfg.initialClusterState === 'existing'
          ? { kind: 'join' }
          : isMultiMember(cfg)
            ? { kind: 'new' }
            : undefined;
    cluster = mode === undefined ? undefined : await openClusterConsensus(cfg, logger, peerTransportTls(cfg, logger), mode);
    member = await startMember(cfg, logger, WORKER_THREADS, cluster?.consensus);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.error('failed to start etcd', { error: message });
    process.stderr.write(`etcd: ${message}\n`);
    process.exit(1);
  }
  const server = member.server;
  if (cluster !== undefined) {
    server.onMembershipChange(cluster.syncPeers);
    // A peer's 410: this member was removed while it could not hear of it (etcd stops then too).
    cluster.transport.onRemoved(() => server.removedFromCluster());
  }
  logger.info('starting local member', {
    'local-member-id': idToHex(member.identity.memberId),
    'cluster-id': idToHex(member.identity.clusterId),
  });
  logger.info('opened member', {
    'data-dir': cfg.dataDir,
    'member-id': idToHex(server.identity.memberId),
    'cluster-id': idToHex(server.identity.clusterId),
    'replayed-entries': member.replayed,
    'applied-index': server.appliedIndex,
    term: server.term,
  });
  const leader = server.status().leader ?? 0n;
  if (leader === server.identity.memberId) logger.info(`${idToHex(server.identity.memberId)} became leader at term ${server.term}`);
  else logger.info(`raft.node: ${idToHex(server.identity.memberId)} elected leader ${idToHex(leader)} at term ${server.term}`);
  logger.info('enabled capabilities for version', { 'cluster-version': cfg.emulatedEtcdVersion.split('.').slice(0, 2).join('.') });

  const clientTransport = openClientTransport({
    maxRecvBytes: cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES,
    maxConcurrentStreams: cfg.maxConcurrentStreams,
    logError: (msg, err) => logger.error(msg, { error: err instanceof Error ? err.message : String(err) }),
  });
  const transport = clientTransport.grpc;
  logger.info('client gRPC transport', { 'grpc-transport': clientTransport.kind, 'set-by': 'ETCDTS_GRPC_TRANSPORT' });
  let stopping = false;
  const clusterOps = new ClusterOps(server, 5000 + 2 * cfg.electionTimeout, cluster?.transport, cfg.strictReconfigCheck);
  cluster?.transport.onPromoteRequest((id) => clusterOps.servePromote(id));
  if (cluster !== undefined) {
    // Keep-alives and lease reads are the leader's: a follower forwards them (lease-forwarding.ts).
    member.leases.setForwarder(peerLeaseForwarder(cluster.transport, () => server.status().leader ?? 0n, 5000 + 2 * cfg.electionTimeout));
    cluster.transport.onLeaseRequest(serveLeaseCall(member.leases));
  }
  // Corruption checks (docs/operations.md): the initial one refuses to start before the client port opens.
  let corruption: { stop(): void };
  try {
    corruption = await startCorruptionChecks(cfg, logger, server, cluster?.transport, initialized);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.error('failed to start etcd', { error: message });
    process.stderr.write(`etcd: ${message}\n`);
    await member.close().catch(() => undefined);
    process.exit(1);
  }
  const published = (): void =>
    logger.info('published local member to cluster through raft', {
      'local-member-id': idToHex(server.identity.memberId),
      'local-member-attributes': `{Name:${cfg.name} ClientURLs:[${server.identity.clientUrls.join(' ')}]}`,
      'cluster-id': idToHex(server.identity.clusterId),
    });
  if (cluster === undefined) {
    published();
  } else {
    // A cluster member publishes its name and client URLs through the log (retried while another
    // membership change is pending), as etcd does.
    void clusterOps.publish(cfg.name, server.identity.clientUrls, () => stopping).then((ok) => {
      if (ok) published();
      else if (!stopping) logger.warn('failed to publish local member to cluster through raft', { 'local-member-id': idToHex(server.identity.memberId) });
    });
  }
  const unary = withAuth(withRequireLeader(
    [
      ...kvMethods(server, { maxTxnOps: cfg.maxTxnOps }),
      ...maintenanceMethods(server),
      ...clusterMethods(clusterOps, { header: (rev) => server.header(rev), currentRevision: () => server.status().header?.revision ?? 0 }),
      ...leaseMethods(member.leases),
      ...lockMethods(member.concurrency),
      ...electionMethods(member.concurrency),
      ...authMethods(member.auth),
    ],
    () => server.hasLeader(),
  ), member.auth);
  for (const m of unary) transport.addUnary(m);
  for (const m of maintenanceStreams(server)) transport.addStream(withAuthStream(m, member.auth));
  registerHealthService(transport);
  // hasleader=true watches end a few election timeouts after this member lost its leader.
  const leaderMonitor = new LeaderMonitor(() => server.hasLeader(), cfg.electionTimeout);
  transport.addStream(withAuthStream(
    watchMethod(member.watchHub, { hasLeader: () => server.hasLeader(), onLeaderLost: (l) => leaderMonitor.onLeaderLost(l) }),
    member.auth,
    () => server.header(server.currentRevision()),
  ));
  transport.addStream(leaseKeepAliveStream(member.leases));
  transport.addStream(electionObserve(member.concurrency));

  const router = new HttpRouter({ logError: (msg, err) => logger.warn(msg, { error: String(err) }) });
  const health: HealthServer = {
    alarms: () => server.alarms,
    hasLeader: () => server.hasLeader(),
    isLearner: () => server.status().isLearner === true,
    // A keys-only read through the whole pipeline, bounded so a wedged pipeline is reported
    // (503) instead of hanging the probe.
    read: async (serializable) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('etcdserver: request timed out')), HEALTH_TIMEOUT_MS);
      });
      try {
        await Promise.race([server.range({ key: Buffer.from('health'), keysOnly: true, limit: 1, serializable }), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const healthStats = registerHealthRoutes(router, health);
  const metrics = createMetrics(server, healthStats, cluster?.snapshots);
  registerMetricsRoute(router, metrics);
  // --listen-metrics-urls: /metrics and the health endpoints only, as etcd's metrics listener.
  const metricsRouter = new HttpRouter({ logError: (msg, err) => logger.warn(msg, { error: String(err) }) });
  registerHealthRoutes(metricsRouter, health, healthStats);
  registerMetricsRoute(metricsRouter, metrics);
  if (cfg.enableGrpcGateway) {
    registerGateway(router, [...unary, leaseKeepAliveUnary(member.leases)], { maxBodyBytes: 2 * (cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES) });
    registerWatchGateway(router, member.watchHub, {
      maxBodyBytes: 2 * (cfg.maxRequestBytes + GRPC_OVERHEAD_BYTES),
      refuseCreate: gatewayWatchRefusal(member.auth, () => server.header(server.currentRevision())),
    });
  }
  const [major, minor] = cfg.emulatedEtcdVersion.split('.');
  registerVersionRoute(router, { etcdserver: cfg.emulatedEtcdVersion, etcdcluster: `${major}.${minor}.0` });

  clientTransport.serveNonGrpc(router.handle);
  let listeners: ListenerSet;
  try {
    listeners = await openListeners(cfg, logger, { grpc: transport, http: router.handle, metricsHttp: metricsRouter.handle });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    logger.error('failed to listen on client URL', { error: message });
    process.stderr.write(`etcd: ${message}\n`);
    await transport.close(0).catch(() => undefined);
    await member.close();
    process.exit(1);
  }

  const shutdown = async (signal: string, code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info('received signal; shutting down', { signal });
    logger.info('closing etcd server', { name: cfg.name, 'data-dir': cfg.dataDir });
    corruption.stop();
    if (code === 0) {
      // A leader hands over first, so the others need not wait an election timeout (etcd does too).
      const to = await clusterOps.transferOnStop(TRANSFER_ON_STOP_ELECTIONS * cfg.electionTimeout).catch(() => undefined);
      if (to !== undefined) logger.info('leadership transfer finished', { 'old-leader-member-id': idToHex(server.identity.memberId), 'new-leader-member-id': idToHex(to) });
    }
    leaderMonitor.close();
    await listeners.close(SHUTDOWN_GRACE_MS);
    await member.close();
    logger.info('closed etcd server', { name: cfg.name, 'data-dir': cfg.dataDir });
    process.exit(code);
  };
  server.onFatal((err) => {
    logger.error('stopping: the member cannot go on', { error: err.message });
    void shutdown('internal', 1);
  });
  process.on('SIGINT', () => void shutdown('interrupt', 0));
  process.on('SIGTERM', () => void shutdown('terminated', 0));
}

main().catch((err: unknown) => {
  process.stderr.write(`etcd: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
