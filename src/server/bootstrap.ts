/**
 * Start-up of one member: data dir, identity, apply worker, WAL recovery and replay,
 * read view, EtcdServer. The order matters:
 *   1. the apply worker opens (or creates) LMDB and reports its applied index;
 *   2. the WAL is opened from that index: a torn tail is cut, any other damage refuses to start;
 *   3. entries after the applied index are re-applied in log order;
 *   4. the server takes a new term and appends its leader no-op; then it serves.
 */
import type { ServerConfig } from '../config/config.js';
import type { Logger } from '../util/logger.js';
import { formatUrl } from '../util/urls.js';
import type { WalRecovery } from '../wal/types.js';
import { computeClusterId, computeMemberId, type MemberIdentity } from './identity.js';
import { DataDirError, isInitialized, layoutOf, lockDataDir, prepare, readIdentity, writeIdentity, type DataDirLayout } from './data-dir.js';
import { WorkerApplyPipe } from './worker-apply-pipe.js';
import { LmdbReadView } from './lmdb-read-view.js';
import { ReadPool } from './read-pool.js';
import { EtcdServer } from './etcd-server.js';
import type { ApplyPipe, LogWriter } from './ports.js';

/** Opens the log for recovery and appending (the WAL writer worker in production). */
export type LogOpener = (opts: { dir: string; fromIndex: number; cfg: ServerConfig }) => Promise<{ recovery: WalRecovery; writer: LogWriter }>;

/** How many recovered entries go to the apply worker per batch during replay. */
const REPLAY_BATCH_ENTRIES = 1000;

export interface Member {
  readonly server: EtcdServer;
  readonly layout: DataDirLayout;
  readonly identity: MemberIdentity;
  /** Entries re-applied from the WAL at start. */
  readonly replayed: number;
  readonly repaired: WalRecovery['repaired'];
  close(): Promise<void>;
}

export async function startMember(cfg: ServerConfig, logger: Logger, openLog: LogOpener): Promise<Member> {
  const layout = layoutOf(cfg.dataDir, cfg.walDir);
  const restarting = isInitialized(layout);
  prepare(layout);
  const unlock = lockDataDir(layout);
  try {
    return await openMember(cfg, logger, openLog, layout, restarting, unlock);
  } catch (err) {
    unlock();
    throw err;
  }
}

async function openMember(
  cfg: ServerConfig,
  logger: Logger,
  openLog: LogOpener,
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

  const { pipe, appliedIndex, consistentTerm } = await WorkerApplyPipe.start(layout.dbPath, cfg.maxRequestBytes);
  let writer: LogWriter | undefined;
  try {
    const opened = await openLog({ dir: layout.walDir, fromIndex: appliedIndex, cfg });
    writer = opened.writer;
    const { recovery } = opened;
    if (recovery.repaired) {
      logger.warn('cut a torn record at the end of the WAL', { file: recovery.repaired.file, offset: recovery.repaired.offset });
    }
    if (recovery.lastIndex < appliedIndex) {
      throw new DataDirError(
        `${layout.walDir}: the WAL ends at index ${recovery.lastIndex} but ${layout.dbPath} has applied index ${appliedIndex}; the WAL is missing entries, refusing to start`,
      );
    }
    await replay(pipe, recovery, appliedIndex);
    if (!restarting) {
      writeIdentity(layout, { format: 'etcd-ts/identity/v1', name: cfg.name, memberId: identity.memberId, clusterId: identity.clusterId });
    }
    const last = recovery.entries[recovery.entries.length - 1];
    const server = new EtcdServer({
      identity,
      limits: { maxRequestBytes: cfg.maxRequestBytes, maxTxnOps: cfg.maxTxnOps, quotaBackendBytes: cfg.quotaBackendBytes },
      version: cfg.emulatedEtcdVersion,
      log: writer,
      applier: pipe,
      reader: new LmdbReadView(layout.dbPath),
      readPool: new ReadPool(layout.dbPath),
      position: { lastTerm: last?.term ?? consistentTerm, hardStateTerm: recovery.hardState.term, lastIndex: recovery.lastIndex },
      checkpointEntries: cfg.snapshotCount,
    });
    await server.start();
    return {
      server,
      layout,
      identity,
      replayed: recovery.entries.length,
      repaired: recovery.repaired,
      close: async () => {
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

async function replay(pipe: ApplyPipe, recovery: WalRecovery, appliedIndex: number): Promise<void> {
  const entries = recovery.entries;
  for (let i = 0; i < entries.length; i++) {
    const expected = appliedIndex + 1 + i;
    if (entries[i]!.index !== expected) {
      throw new DataDirError(`WAL recovery: expected entry ${expected} after applied index ${appliedIndex}, found ${entries[i]!.index}`);
    }
  }
  for (let i = 0; i < entries.length; i += REPLAY_BATCH_ENTRIES) {
    await pipe.apply(entries.slice(i, i + REPLAY_BATCH_ENTRIES));
  }
}
