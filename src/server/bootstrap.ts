/**
 * Start-up of one member: data dir, identity, apply pipe, WAL recovery and replay, the
 * consensus node, the apply loop, the read view, EtcdServer. The order matters:
 *   1. the apply pipe (worker or in-thread) opens (or creates) LMDB and reports its applied index;
 *   2. the WAL is opened from that index: a torn tail is cut, any other damage refuses to start;
 *   3. the apply loop re-applies the entries after the applied index, in log order;
 *   4. the node takes a new term and commits its leader no-op; then the member serves.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../util/logger.js';
import { formatUrl } from '../util/urls.js';
import type { WalRecovery } from '../wal/types.js';
import { computeClusterId, computeMemberId, type MemberIdentity } from './identity.js';
import { DataDirError, isInitialized, layoutOf, lockDataDir, prepare, readIdentity, writeIdentity, type DataDirLayout } from './data-dir.js';
import { LmdbReadView } from './lmdb-read-view.js';
import { ReadPool } from './read-pool.js';
import { EtcdServer, PipelineTimings } from './etcd-server.js';
import { ApplyLoop, type AppliedBatch } from './apply-loop.js';
import { SingleNode } from './node/single-node.js';
import { AutoCompactor } from './auto-compactor.js';
import type { OpenedApplyPipe } from './inline-apply-pipe.js';
import type { LogWriter } from './ports.js';
import { WatchHub } from './watch-hub.js';
import { LeaseServer } from './lease-server.js';
import { minLeaseTtl } from './lessor.js';
import { KeyEvents } from './key-events.js';
import { Concurrency } from './concurrency.js';
import { etcdserverpb } from '../proto/pb.js';

/** Opens the log for recovery and appending (the WAL writer worker in production). */
export type LogOpener = (opts: { dir: string; fromIndex: number; cfg: ServerConfig }) => Promise<{ recovery: WalRecovery; writer: LogWriter }>;
/** Opens the store's apply pipe (the apply worker in production). */
export type ApplyOpener = (opts: { dbPath: string; cfg: ServerConfig }) => Promise<OpenedApplyPipe>;

/** Where the WAL writer and the applier run (src/server/openers.ts: WORKER_THREADS, ONE_THREAD). */
export interface ThreadModel {
  readonly openLog: LogOpener;
  readonly openApply: ApplyOpener;
}

export interface Member {
  readonly server: EtcdServer;
  /** Every watcher of this member (docs/watch.md); a subscriber of the applied-batch stream. */
  readonly watchHub: WatchHub;
  /** The applied-batch stream (for more subscribers, e.g. a second hub in tests). */
  subscribeApplied(fn: (batch: AppliedBatch) => void): () => void;
  /** The lease API (docs/leases.md). */
  readonly leases: LeaseServer;
  /** Lock and election (v3lockpb, v3electionpb) on this member. */
  readonly concurrency: Concurrency;
  readonly layout: DataDirLayout;
  readonly identity: MemberIdentity;
  /** Entries re-applied from the WAL at start. */
  readonly replayed: number;
  readonly repaired: WalRecovery['repaired'];
  close(): Promise<void>;
}

export async function startMember(cfg: ServerConfig, logger: Logger, threads: ThreadModel): Promise<Member> {
  const layout = layoutOf(cfg.dataDir, cfg.walDir);
  const restarting = isInitialized(layout);
  prepare(layout);
  const unlock = lockDataDir(layout);
  try {
    return await openMember(cfg, logger, threads, layout, restarting, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function openMember(
  cfg: ServerConfig,
  logger: Logger,
  threads: ThreadModel,
  layout: DataDirLayout,
  restarting: boolean,
  unlock: () => void,
): Promise<Member> {
  const stored = readIdentity(layout);
  const peerUrls = cfg.initialAdvertisePeerUrls.map(formatUrl);
  const memberId = stored?.memberId ?? computeMemberId(peerUrls, cfg.initialClusterToken);
  const identity: MemberIdentity = {
    name: cfg.name,
    memberId,
    clusterId: stored?.clusterId ?? computeClusterId([memberId]),
    peerUrls,
    clientUrls: cfg.advertiseClientUrls.map(formatUrl),
  };
  if (stored !== undefined && stored.name !== cfg.name) {
    logger.warn('member name differs from the one stored in the data dir', { stored: stored.name, given: cfg.name });
  }

  const { pipe, appliedIndex, consistentTerm } = await threads.openApply({ dbPath: layout.dbPath, cfg });
  let writer: LogWriter | undefined;
  try {
    const opened = await threads.openLog({ dir: layout.walDir, fromIndex: appliedIndex, cfg });
    writer = opened.writer;
    const log = writer;
    const { recovery } = opened;
    if (recovery.repaired) {
      logger.warn('cut a torn record at the end of the WAL', { file: recovery.repaired.file, offset: recovery.repaired.offset });
    }
    if (recovery.lastIndex < appliedIndex) {
      throw new DataDirError(
        `${layout.walDir}: the WAL ends at index ${recovery.lastIndex} but ${layout.dbPath} has applied index ${appliedIndex}; the WAL is missing entries, refusing to start`,
      );
    }
    checkContiguous(recovery, appliedIndex);
    const timings = new PipelineTimings();
    const applyLoop = new ApplyLoop({
      pipe,
      appliedIndex,
      checkpointEntries: cfg.snapshotCount,
      releaseLog: (index) => log.releaseTo(index + 1),
      onApplied: (seconds, entries) => timings.apply(seconds, entries),
    });
    // Replay: the recovered entries after the applied index, through the same loop as live ones.
    applyLoop.enqueue(recovery.entries);
    await applyLoop.drain();
    if (!restarting) {
      writeIdentity(layout, { format: 'etcd-ts/identity/v1', name: cfg.name, memberId: identity.memberId, clusterId: identity.clusterId });
    }
    const last = recovery.entries[recovery.entries.length - 1];
    const node = new SingleNode({
      memberId: identity.memberId,
      log,
      position: { lastTerm: last?.term ?? consistentTerm, hardStateTerm: recovery.hardState.term, lastIndex: recovery.lastIndex },
      onAppended: (seconds, entries) => timings.walAppend(seconds, entries),
    });
    removeStaleSnapshots(layout.snapDir, logger);
    const readPool = new ReadPool(layout.dbPath);
    const reader = new LmdbReadView(layout.dbPath);
    const server = new EtcdServer({
      identity,
      limits: { maxRequestBytes: cfg.maxRequestBytes, maxTxnOps: cfg.maxTxnOps, quotaBackendBytes: cfg.quotaBackendBytes },
      version: cfg.emulatedEtcdVersion,
      node,
      applyLoop,
      reader,
      readPool,
      maintenance: readPool,
      snapDir: layout.snapDir,
      timings,
      log: (level, msg, fields) => logger[level](msg, fields),
    });
    const leases = new LeaseServer({
      host: server,
      store: reader,
      minTtl: minLeaseTtl(cfg.electionTimeout, cfg.heartbeatInterval),
      checkpoints: cfg.experimentalEnableLeaseCheckpoint,
      ...(process.env['ETCD_TS_LEASE_CHECKPOINT_INTERVAL_MS'] !== undefined
        ? { checkpointIntervalMs: Number(process.env['ETCD_TS_LEASE_CHECKPOINT_INTERVAL_MS']) } // tests only
        : {}),
      subscribe: (fn) => applyLoop.subscribe(fn),
      onLeaderChange: (fn) => node.onLeaderChange(fn),
    });
    const keyEvents = new KeyEvents();
    applyLoop.subscribe((batch) => keyEvents.onApplied(batch));
    await server.start();
    const compactor = autoCompactor(cfg, server, logger);
    compactor?.start();
    leases.start();
    const watchHub = new WatchHub({
      dbPath: layout.dbPath,
      header: (revision) => server.header(revision),
      storeRevision: async () => Number((await server.range({ key: WATCH_REVISION_PROBE_KEY, serializable: true, countOnly: true })).header?.revision ?? 0),
      subscribe: (fn) => applyLoop.subscribe(fn),
      maxRequestBytes: cfg.maxRequestBytes,
      progressNotifyIntervalMs: cfg.watchProgressNotifyInterval,
    });
    return {
      server,
      watchHub,
      subscribeApplied: (fn) => applyLoop.subscribe(fn),
      leases,
      concurrency: new Concurrency(server, keyEvents, async (ttl) => etcdserverpb.LeaseGrantResponse.decode(await leases.leaseGrant({ TTL: ttl })).ID),
      layout,
      identity,
      replayed: recovery.entries.length,
      repaired: recovery.repaired,
      close: async () => {
        compactor?.stop();
        await watchHub.close();
        leases.stop();
        await server.stop();
        unlock();
      },
    };
  } catch (err) {
    await writer?.close().catch(() => undefined);
    await pipe.close().catch(() => undefined);
    throw err;
  }
}

/** A key read (count only) to learn the store revision once answered writes are applied. */
const WATCH_REVISION_PROBE_KEY = Buffer.from([0]);

function checkContiguous(recovery: WalRecovery, appliedIndex: number): void {
  const entries = recovery.entries;
  for (let i = 0; i < entries.length; i++) {
    const expected = appliedIndex + 1 + i;
    if (entries[i]!.index !== expected) {
      throw new DataDirError(`WAL recovery: expected entry ${expected} after applied index ${appliedIndex}, found ${entries[i]!.index}`);
    }
  }
}

/** Snapshots staged for streaming by an earlier process that did not finish (EtcdServer.snapshot). */
function removeStaleSnapshots(snapDir: string, logger: Logger): void {
  for (const f of readdirSync(snapDir)) {
    if (!/^snapshot-\d+-\d+\.bolt\.tmp$/.test(f)) continue;
    rmSync(join(snapDir, f), { force: true });
    logger.info('removed a stale snapshot file', { path: join(snapDir, f) });
  }
}

/** --auto-compaction-mode / --auto-compaction-retention (0: none). */
function autoCompactor(cfg: ServerConfig, server: EtcdServer, logger: Logger): AutoCompactor | undefined {
  if (cfg.autoCompactionRetention <= 0) return undefined;
  const lg = logger.child({ caller: 'server/auto-compactor.ts' });
  return new AutoCompactor({
    mode: cfg.autoCompactionMode,
    retention: cfg.autoCompactionRetention,
    currentRevision: () => server.currentRevision(),
    compact: async (revision) => {
      await server.compact({ revision });
    },
    log: (level, msg, fields) => lg[level](msg, fields),
  });
}
