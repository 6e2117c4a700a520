/**
 * bin/etcd's corruption checks (docs/operations.md, "Corruption checks"): runs the initial check on
 * a restart when --experimental-initial-corrupt-check is set (rejects with a CorruptionError: the
 * caller refuses to start), then serves HashKV to the other members over the peer port, and starts the leader's periodic check when --corrupt-check-time
 * (--experimental-corrupt-check-time) is above 0. A single member has no peers: its initial check
 * passes and its periodic check compares only its own two hashes.
 */
import type { ServerConfig } from '../../config/config.js';
import type { Logger } from '../../util/logger.js';
import type { EtcdServer } from '../../server/etcd-server.js';
import type { Http2PeerTransport } from '../../server/peer/http2-transport.js';
import { CorruptionMonitor, initialCorruptCheck, type CorruptionLocal, type CorruptionPeers } from '../../server/corruption-check.js';
import { localStoreHash, peerHashKvs, serveHashKv } from '../../server/peer/hashkv-forwarding.js';
import { ALARM_CORRUPT } from '../../backend/alarms.js';

/** etcdserverpb.AlarmRequest.AlarmAction.ACTIVATE. */
const ACTIVATE = 1;

/** etcd's request timeout: 5 s plus two election timeouts. */
function requestTimeoutMs(cfg: ServerConfig): number {
  return 5000 + 2 * cfg.electionTimeout;
}

export async function startCorruptionChecks(
  cfg: ServerConfig,
  logger: Logger,
  server: EtcdServer,
  transport: Http2PeerTransport | undefined,
  memberInitialized: boolean,
): Promise<{ stop(): void }> {
  const log = logger.child({ caller: 'server/corruption-check.ts' });
  const peers: CorruptionPeers = transport === undefined ? { peers: () => [], hashKv: () => Promise.resolve({ ok: false, reason: 'no peers' }) } : peerHashKvs(transport, requestTimeoutMs(cfg));
  const local: CorruptionLocal = {
    memberId: server.identity.memberId,
    hashKv: () => localStoreHash(server),
    isLeader: () => server.isLeader(),
    linearizableBarrier: async () => {
      await server.range({ key: Buffer.from('health'), keysOnly: true, limit: 1, serializable: false });
    },
    raiseCorrupt: async () => {
      await server.alarm({ action: ACTIVATE, memberID: 0n, alarm: ALARM_CORRUPT });
    },
  };
  // A new member has nothing to compare yet (etcd checks only a member already initialized).
  if (cfg.experimentalInitialCorruptCheck && memberInitialized) await initialCorruptCheck(local, peers, log, requestTimeoutMs(cfg));
  // Served only once this member may start: a member refused by its own check never answers the
  // others' checks (etcd's peer listener is not up yet at that point either); until then 503.
  transport?.onHashKvRequest(serveHashKv(server));
  if (cfg.corruptCheckTime <= 0) return { stop: () => undefined };
  const monitor = new CorruptionMonitor(local, peers, log, cfg.corruptCheckTime);
  monitor.start();
  return { stop: () => monitor.stop() };
}
