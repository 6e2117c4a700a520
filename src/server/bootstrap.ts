/**
 * Start-up of one member: data dir, identity, apply pipe, WAL recovery and replay, the
 * consensus node, the apply loop, the read view, EtcdServer. The order matters:
 *   1. the apply pipe (worker or in-thread) opens (or creates) LMDB and reports its applied index;
 *   2. the WAL is opened from that index: a torn tail is cut, any other damage refuses to start;
 *   3. the apply loop re-applies the entries after the applied index, in log order;
 *   4. the node takes a new term and commits its leader no-op; then the member serves.
 * With Raft (a ConsensusOpener other than SINGLE_NODE) step 3 replays only what the WAL's hard
 * state says is committed, and step 4 waits until a leader is known (docs/cluster.md).
 */
import { AuthServer } from './auth-server.js';
import { tlsFlags } from '../config/tls-flags.js';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../util/logger.js';
import { formatUrl } from '../util/urls.js';
import type { WalRecovery } from '../wal/types.js';
import { computeClusterId, computeMemberId, type MemberIdentity } from './identity.js';
import { DataDirError, isInitialized, layoutOf, lockDataDir, prepare, readIdentity, writeIdentity, type DataDirLayout } from './data-dir.js';
import { LmdbReadView } from './lmdb-read-view.js';
import { ReadPool } from './read-pool.js';
import { EtcdServer, PipelineTimings, type ClusterMember } from './etcd-server.js';
import { ApplyLoop, type AppliedBatch } from './apply-loop.js';
import { SingleNode } from './node/single-node.js';
import { recoverSnapshotAtStart, type SnapshotStore } from './node/raft-snapshots.js';
import { AutoCompactor } from './auto-compactor.js';
import type { OpenedApplyPipe } from './inline-apply-pipe.js';
import type { LogWriter } from './ports.js';
import type { ConsensusNode } from './consensus.js';
import type { MemberId } from '../util/pure/id64.js';
import type { Entry } from '../raftpb/types.js';
import type { MembershipState } from '../apply/membership.js';
import { parseSegmentName } from '../wal/segment.js';
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

/**
 * How the member reaches consensus, chosen once at start: one member (`SINGLE_NODE`, the
 * default) or a Raft group (src/server/node/raft-opener.ts).
 */
export interface ConsensusOpener {
  /** Member IDs of the initial cluster, for the cluster ID of a new member (default: this one alone). */
  readonly memberIds?: readonly MemberId[];
  /** The members as MemberList shows them (default: this one alone). */
  readonly members?: readonly ClusterMember[];
  /**
   * Where WAL recovery starts (default: the store's applied index). Raft reads some entries
   * below it too, so a restarted leader can still send them to a lagging follower.
   * `walFirstIndex`: the first index the WAL holds (undefined: no segment yet).
   */
  recoverFrom?(appliedIndex: number, walFirstIndex: number | undefined): number;
  /**
   * Raft with stored membership (docs/cluster.md, "Runtime membership"): the data dir is marked
   * `consensus: raft`, and a restart takes the membership from the store, not from the flags.
   */
  readonly storesMembership?: boolean;
  /**
   * A new member of a new cluster: the entries that start its log (one membership change per
   * initial member, term 1, committed), written before anything else. Every initial member
   * writes the same ones.
   */
  bootstrapEntries?(): readonly Entry[];
  /** A member joining a running cluster: its IDs as the cluster knows them (fetched from a peer). */
  readonly joining?: { readonly memberId: MemberId; readonly clusterId: bigint };
  /** The recovered entries at or below this index are committed: they are replayed before the node starts. */
  committedThrough(recovery: WalRecovery): number;
  open(opts: ConsensusOpenOptions): ConsensusNode;
}

export interface ConsensusOpenOptions {
  readonly memberId: MemberId;
  readonly log: LogWriter;
  /** Entries after the recovery start (`recoverFrom`), which may lie below the applied index. */
  readonly recovery: WalRecovery;
  /** The store's applied index at start, and the term of its entry. */
  readonly appliedIndex: number;
  readonly consistentTerm: number;
  /** Entries handed to the applier so far (the store's applied index plus the replay). */
  readonly replayedThrough: number;
  readonly onAppended: (seconds: number, entries: number) => void;
  /** The membership stored with the applied index after the replay (undefined: none stored). */
  readonly membership: MembershipState | undefined;
  /** The store's side of Raft snapshots (docs/cluster.md, "Snapshots to lagging followers"). */
  readonly snapshots?: {
    readonly store: SnapshotStore;
    /** Largest store file accepted from a leader. */
    readonly maxBytes: number;
    readonly log: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
  };
}

/** One member: everything in the WAL is committed (durable on the only voter). */
export const SINGLE_NODE: ConsensusOpener = {
  committedThrough: (recovery) => recovery.lastIndex,
  open: ({ memberId, log, recovery, consistentTerm, onAppended }) => {
    const last = recovery.entries[recovery.entries.length - 1];
    return new SingleNode({
      memberId,
      log,
      position: { lastTerm: last?.term ?? consistentTerm, hardStateTerm: recovery.hardState.term, lastIndex: recovery.lastIndex },
      onAppended,
    });
  },
};

export interface Member {
  readonly server: EtcdServer;
  /** Users, roles, tokens and the caller of each request (docs/auth.md). */
  readonly auth: AuthServer;
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

export async function startMember(cfg: ServerConfig, logger: Logger, threads: ThreadModel, consensus: ConsensusOpener = SINGLE_NODE): Promise<Member> {
  const layout = layoutOf(cfg.dataDir, cfg.walDir);
  const restarting = isInitialized(layout);
  prepare(layout);
  const unlock = lockDataDir(layout);
  try {
    return await openMember(cfg, logger, threads, consensus, layout, restarting, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function openMember(
  cfg: ServerConfig,
  logger: Logger,
  threads: ThreadModel,
  consensus: ConsensusOpener,
  layout: DataDirLayout,
  restarting: boolean,
  unlock: () => void,
): Promise<Member> {
  const stored = readIdentity(layout);
  const peerUrls = cfg.initialAdvertisePeerUrls.map(formatUrl);
  const memberId = stored?.memberId ?? consensus.joining?.memberId ?? computeMemberId(peerUrls, cfg.initialClusterToken);
  const identity: MemberIdentity = {
    name: cfg.name,
    memberId,
    clusterId: stored?.clusterId ?? consensus.joining?.clusterId ?? computeClusterId(consensus.memberIds ?? [memberId]),
    peerUrls,
    clientUrls: cfg.advertiseClientUrls.map(formatUrl),
  };
  if (stored?.consensus === 'raft' && consensus.storesMembership !== true) {
    throw new DataDirError(`${layout.dataDir}: the data dir belongs to a member of cluster ${stored.clusterId.toString(16)}; it cannot start as a single member; refusing to start`);
  }
  // A data dir without stored membership: the flags must describe the cluster it belongs to, or a
  // member of a 3-member cluster could restart alone as a one-member leader.
  const expectedClusterId = computeClusterId(consensus.memberIds ?? [memberId]);
  if (stored !== undefined && stored.consensus !== 'raft' && stored.clusterId !== expectedClusterId) {
    throw new DataDirError(
      `${layout.dataDir}: the data dir belongs to cluster ${stored.clusterId.toString(16)}, but the flags describe cluster ${expectedClusterId.toString(16)} ` +
        '(start it with the --initial-cluster and --initial-cluster-token it was created with); refusing to start',
    );
  }
  if (stored !== undefined && stored.name !== cfg.name) {
    logger.warn('member name differs from the one stored in the data dir', { stored: stored.name, given: cfg.name });
  }

  const opened0 = await threads.openApply({ dbPath: layout.dbPath, cfg });
  const pipe = opened0.pipe;
  let { appliedIndex, consistentTerm } = opened0;
  let writer: LogWriter | undefined;
  try {
    const fromIndex = consensus.recoverFrom === undefined ? appliedIndex : consensus.recoverFrom(appliedIndex, walFirstIndex(layout.walDir));
    if (fromIndex > appliedIndex) throw new Error(`recovery from ${fromIndex} would skip entries after the applied index ${appliedIndex}`);
    const opened = await threads.openLog({ dir: layout.walDir, fromIndex, cfg });
    writer = opened.writer;
    const log = writer;
    let { recovery } = opened;
    // A snapshot the WAL recorded but the store does not hold yet (a crash between the two) is
    // installed now; leftovers of earlier transfers go (docs/cluster.md, "Snapshots to lagging followers").
    const installed = await recoverSnapshotAtStart({ snapDir: layout.snapDir, marker: recovery.snapshot, appliedIndex, install: (p) => pipe.installSnapshot(p) });
    if (installed !== undefined) {
      logger.info('installed the snapshot recorded in the WAL', { 'snapshot-index': installed.appliedIndex, 'previous-applied-index': appliedIndex });
      appliedIndex = installed.appliedIndex;
      consistentTerm = installed.consistentTerm;
    }
    // Entries after a snapshot marker continue from its index.
    const entriesFrom = recovery.snapshot !== undefined && recovery.snapshot.index > fromIndex ? recovery.snapshot.index : fromIndex;
    const bootstrap = !restarting && recovery.lastIndex === 0 ? consensus.bootstrapEntries?.() : undefined;
    if (bootstrap !== undefined && bootstrap.length > 0) {
      // The log of a new cluster starts with its members (committed at term 1): durable first,
      // then replayed like recovered entries, so the store holds the membership before Raft starts.
      const hardState = { term: 1, vote: 0n, commit: bootstrap.length };
      await log.append(hardState, bootstrap);
      recovery = { hardState, entries: [...bootstrap], lastIndex: bootstrap.length };
    }
    if (recovery.repaired) {
      logger.warn('cut a torn record at the end of the WAL', { file: recovery.repaired.file, offset: recovery.repaired.offset });
    }
    if (recovery.lastIndex < appliedIndex) {
      throw new DataDirError(
        `${layout.walDir}: the WAL ends at index ${recovery.lastIndex} but ${layout.dbPath} has applied index ${appliedIndex}; the WAL is missing entries, refusing to start`,
      );
    }
    checkContiguous(recovery, entriesFrom);
    const timings = new PipelineTimings();
    // Checkpoints release the log through the node once it exists (Raft also trims its in-memory log).
    let node: ConsensusNode | undefined;
    const applyLoop = new ApplyLoop({
      pipe,
      appliedIndex,
      checkpointEntries: cfg.snapshotCount,
      releaseLog: (index) => (node !== undefined ? node.releaseLog(index) : log.releaseTo(index + 1)),
      onApplied: (seconds, entries) => timings.apply(seconds, entries),
    });
    // Replay: the committed recovered entries after the applied index, through the same loop as live ones.
    const committedThrough = consensus.committedThrough(recovery);
    const replay = recovery.entries.filter((e) => e.index > appliedIndex && e.index <= committedThrough);
    applyLoop.enqueue(replay);
    await applyLoop.drain();
    if (!restarting) {
      writeIdentity(layout, {
        format: 'etcd-ts/identity/v1', name: cfg.name, memberId: identity.memberId, clusterId: identity.clusterId,
        ...(consensus.storesMembership === true ? { consensus: 'raft' as const } : {}),
      });
    }
    const reader = new LmdbReadView(layout.dbPath);
    const membership = reader.membership();
    const readPool = new ReadPool(layout.dbPath);
    const snapLog = logger.child({ caller: 'server/node/raft-snapshots.ts' });
    node = consensus.open({
      snapshots: {
        store: {
          snapDir: layout.snapDir,
          storeCopy: (path) => readPool.storeCopy(path),
          installSnapshot: (path, beforeSwap) => applyLoop.installSnapshot(path, beforeSwap),
        },
        maxBytes: maxSnapshotBytes(cfg.quotaBackendBytes),
        log: (level, msg, fields) => snapLog[level](msg, fields),
      },
      membership,
      memberId: identity.memberId,
      log,
      recovery,
      appliedIndex,
      consistentTerm,
      replayedThrough: applyLoop.lastQueuedIndex,
      onAppended: (seconds, entries) => timings.walAppend(seconds, entries),
    });
    removeStaleSnapshots(layout.snapDir, logger);
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
      requestTimeoutMs: 5000 + 2 * cfg.electionTimeout,
      ...(consensus.members !== undefined ? { members: consensus.members } : {}),
      ...(membership !== undefined ? { membership } : {}),
    });
    // Auth (docs/auth.md): the mirror reads the committed store; entries carry the caller it finds.
    if (cfg.authToken !== 'simple') {
      throw new Error(`--auth-token ${JSON.stringify(cfg.authToken.split(',')[0])}: only "simple" tokens are supported yet (jwt: not yet)`);
    }
    const auth = new AuthServer({
      readState: () => reader.authState(),
      propose: (p, ai) => server.proposeAuth(p, ai),
      applyLoop,
      barrier: () => server.linearizableBarrier(),
      bcryptCost: cfg.bcryptCost,
      tokenTtlSeconds: cfg.authTokenTtl,
      clientCertAuth: tlsFlags(cfg.flags).client.clientCertAuth,
      log: (level, msg, fields) => logger[level](msg, fields),
    });
    server.setAuth(auth);
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
    // Watch and lock events come from published batches: with a listener, commit at once.
    applyLoop.setWantsPromptVisibility(() => watchHub.watching || keyEvents.listening);
    return {
      server,
      auth,
      watchHub,
      subscribeApplied: (fn) => applyLoop.subscribe(fn),
      leases,
      concurrency: new Concurrency(server, keyEvents, async (ttl) => etcdserverpb.LeaseGrantResponse.decode(await leases.leaseGrant({ TTL: ttl })).ID),
      layout,
      identity,
      replayed: replay.length,
      repaired: recovery.repaired,
      close: async () => {
        compactor?.stop();
        await watchHub.close();
        leases.stop();
        await server.stop();
        auth.close();
        unlock();
      },
    };
  } catch (err) {
    await writer?.close().catch(() => undefined);
    await pipe.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The largest store file a follower accepts from its leader: the backend quota (etcd's default
 * 2 GiB when unset) plus a quarter for a store that went over it before its alarm.
 */
export function maxSnapshotBytes(quotaBackendBytes: number): number {
  return Math.floor(Math.max(quotaBackendBytes > 0 ? quotaBackendBytes : 0, 2 * 1024 ** 3) * 1.25);
}

/** First index of the WAL's first segment (names only: the WAL opener checks the files), or undefined. */
function walFirstIndex(dir: string): number | undefined {
  if (!existsSync(dir)) return undefined;
  let first: { seq: number; firstIndex: number } | undefined;
  for (const name of readdirSync(dir)) {
    const s = parseSegmentName(name);
    if (s !== null && (first === undefined || s.seq < first.seq)) first = s;
  }
  return first?.firstIndex;
}

/** A key read (count only) to learn the store revision once answered writes are applied. */
const WATCH_REVISION_PROBE_KEY = Buffer.from([0]);

function checkContiguous(recovery: WalRecovery, fromIndex: number): void {
  const entries = recovery.entries;
  for (let i = 0; i < entries.length; i++) {
    const expected = fromIndex + 1 + i;
    if (entries[i]!.index !== expected) {
      throw new DataDirError(`WAL recovery: expected entry ${expected} after index ${fromIndex}, found ${entries[i]!.index}`);
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
