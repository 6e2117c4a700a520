/**
 * Raft snapshots of a member's store (docs/cluster.md, "Snapshots to lagging followers"): the
 * RaftNode's SnapshotPort.
 *
 *   leader:   MsgSnap from Raft -> send(): a compact copy of the store (read pool), the message's
 *             metadata rewritten to the copy's own point, streamed by the transport -> true/false
 *             (RaftNode reports it with reportSnapshot)
 *   follower: POST /raft/snapshot -> receive(): verified file kept as <index>.snap.lmdb, the
 *             MsgSnap handed to the node -> Raft restores -> Ready.snapshot -> install(): apply
 *             loop idle, WAL marker, store swapped in one LMDB transaction, caches reloaded
 *
 * One transfer per follower at a time on the leader; one receive or install at a time on the
 * follower (a second request is answered 409).
 */
import { existsSync, fsyncSync, openSync, closeSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HardState, NodeId } from '../../raftpb/types.js';
import type { ConfState, Message, Snapshot } from '../../raft/index.js';
import { confStateOf, decodeMembership } from '../../apply/membership.js';
import { readStorePoint } from '../../backend/replace-store.js';
import { idToHex } from '../../util/pure/id64.js';
import type { InstalledStore, LogWriter, StoreCopy } from '../ports.js';
import { receiveSnapshot, SnapshotRefused } from '../peer/snapshot-transfer.js';
import type { SnapshotBody, SnapshotPort } from './raft-node.js';
import type { SnapshotCounters } from '../metrics.js';

/** Test-only crash points (docs/testing.md): the process kills itself with SIGKILL there. */
export const SNAPSHOT_CRASH_ENV = 'ETCD_TS_FAILPOINT_SNAPSHOT';
export type SnapshotCrashPoint = 'after-receive' | 'after-wal-marker' | 'after-store-swap';

/** A received snapshot waiting for Raft: `<index as 16 hex digits>.snap.lmdb` in the snap dir. */
export function snapshotFileName(index: number): string {
  return `${index.toString(16).padStart(16, '0')}.snap.lmdb`;
}
const SNAP_FILE_RE = /^([0-9a-f]{16})\.snap\.lmdb$/;
const TMP_RE = /^raft-(recv|send)-[0-9a-f-]+\.tmp(-lock)?$/;

export interface SnapshotStore {
  readonly snapDir: string;
  /** MaintenancePool.storeCopy: a compact copy of the store from one read transaction. */
  storeCopy(path: string): Promise<StoreCopy>;
  /** ApplyLoop.installSnapshot. */
  installSnapshot(path: string, beforeSwap: () => Promise<void>): Promise<InstalledStore>;
}

export interface SnapshotSender {
  sendSnapshot?(m: Message, path: string, sizeBytes: number): Promise<void>;
}

export interface RaftSnapshotsOptions {
  readonly memberId: NodeId;
  readonly store: SnapshotStore;
  readonly transport: SnapshotSender;
  readonly log: LogWriter;
  /** Largest store file accepted from a leader. */
  readonly maxBytes: number;
  readonly logger?: (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/** The node side the receiver hands verified snapshots to. */
export interface SnapshotTarget {
  /** Steps the MsgSnap in the next Ready-loop turn. */
  deliver(m: Message): void;
  /** Highest committed index: a snapshot at or below it is stale. */
  committedIndex(): number;
}

export class RaftSnapshots implements SnapshotPort {
  readonly #o: RaftSnapshotsOptions;
  readonly #sending = new Set<NodeId>();
  #target: SnapshotTarget | undefined;
  #busy = false;
  /** Indexes of received snapshots handed to Raft and not installed yet: their files stay. */
  readonly #delivered = new Set<number>();
  #seq = 0;
  /** Totals, installs done. */
  readonly stats = { sendSuccess: 0, sendFailures: 0, receiveSuccess: 0, receiveFailures: 0, installed: 0, lastInstalledIndex: 0 };
  /** etcd_network_snapshot_* by peer (SnapshotCounters of src/server/metrics.ts). */
  readonly #sendCounts = new Map<string, { success: number; failures: number; seconds: number }>();
  readonly #receiveCounts = new Map<string, { success: number; failures: number }>();
  #applying = false;

  constructor(o: RaftSnapshotsOptions) {
    this.#o = o;
  }

  /** For /metrics (etcd_network_snapshot_*, etcd_server_snapshot_apply_in_progress_total). */
  counters(): SnapshotCounters {
    return { send: this.#sendCounts, receive: this.#receiveCounts, applying: this.#applying };
  }

  attach(target: SnapshotTarget): void {
    this.#target = target;
  }

  get enabled(): boolean {
    return this.#o.transport.sendSnapshot !== undefined;
  }

  // ---- leader ----

  async send(m: Message): Promise<boolean | undefined> {
    const send = this.#o.transport.sendSnapshot?.bind(this.#o.transport);
    if (this.#sending.has(m.to)) return undefined; // the transfer in flight reports for this one
    if (send === undefined || m.snapshot === null) return false;
    this.#sending.add(m.to);
    const path = join(this.#o.store.snapDir, `raft-send-${idToHex(m.to)}-${++this.#seq}.tmp`);
    const started = performance.now();
    try {
      const copy = await this.#o.store.storeCopy(path);
      if (copy.appliedIndex < 1 || copy.consistentTerm < 1) {
        throw new Error(`the store copy has no applied point (index ${copy.appliedIndex}, term ${copy.consistentTerm})`);
      }
      // The configuration at the copy's point: its stored membership; a store without one (a
      // cluster whose membership is fixed by its flags) keeps Raft's.
      const cs = copy.members !== null ? confStateOf(decodeMembership(copy.members)) : undefined;
      const confState: ConfState = cs !== undefined ? { voters: cs.voters, learners: cs.learners, votersOutgoing: [], learnersNext: [], autoLeave: false } : m.snapshot.metadata.confState;
      const snapshot: Snapshot = { data: new Uint8Array(0), metadata: { index: copy.appliedIndex, term: copy.consistentTerm, confState } };
      const out: Message = { ...m, snapshot };
      this.#log('info', 'sending database snapshot', { 'remote-peer-id': idToHex(m.to), 'snapshot-index': copy.appliedIndex, 'snapshot-term': copy.consistentTerm, bytes: copy.sizeBytes });
      await send(out, path, copy.sizeBytes);
      this.stats.sendSuccess++;
      this.#sendStats(m.to).success++;
      this.#log('info', 'sent database snapshot', {
        'remote-peer-id': idToHex(m.to), 'snapshot-index': copy.appliedIndex, bytes: copy.sizeBytes, took: `${Math.round(performance.now() - started)}ms`,
      });
      return true;
    } catch (err) {
      this.stats.sendFailures++;
      this.#sendStats(m.to).failures++;
      this.#log('warn', 'failed to send database snapshot', { 'remote-peer-id': idToHex(m.to), error: err instanceof Error ? err.message : String(err) });
      return false;
    } finally {
      this.#sendStats(m.to).seconds += (performance.now() - started) / 1000;
      this.#sending.delete(m.to);
      rmSync(path, { force: true });
      rmSync(`${path}-lock`, { force: true });
    }
  }

  // ---- follower ----

  /** Serves one POST /raft/snapshot whose headers passed the transport's peer checks. */
  async receive(body: SnapshotBody, from: NodeId): Promise<{ status: number; body: Uint8Array }> {
    const text = (s: string): Uint8Array => Buffer.from(s);
    const target = this.#target;
    if (target === undefined) return { status: 503, body: text('not started') };
    if (this.#busy) {
      body.resume();
      return { status: 409, body: text('a snapshot is already being received or installed') };
    }
    this.#busy = true;
    const tmpPath = join(this.#o.store.snapDir, `raft-recv-${idToHex(from)}.tmp`);
    let keep = false;
    try {
      this.#log('info', 'receiving database snapshot', { 'remote-peer-id': idToHex(from) });
      const got = await receiveSnapshot(body, { tmpPath, from, to: this.#o.memberId, maxBytes: this.#o.maxBytes });
      const meta = got.message.snapshot!.metadata;
      if (meta.index <= target.committedIndex()) {
        this.#log('info', 'ignored a stale database snapshot', { 'snapshot-index': meta.index, committed: target.committedIndex() });
        return { status: 204, body: text('') };
      }
      const point = await readStorePoint(tmpPath).catch((err: unknown) => {
        throw new SnapshotRefused(400, `not an etcd-ts store: ${err instanceof Error ? err.message : String(err)}`);
      });
      if (point.appliedIndex !== meta.index || point.consistentTerm !== meta.term) {
        throw new SnapshotRefused(400, `the store is at index ${point.appliedIndex} term ${point.consistentTerm}, the message says index ${meta.index} term ${meta.term}`);
      }
      const final = join(this.#o.store.snapDir, snapshotFileName(meta.index));
      // Received earlier and never taken by Raft (one handed over and not installed yet stays).
      removeSnapshotFiles(this.#o.store.snapDir, (index) => index < meta.index && !this.#delivered.has(index));
      renameSync(tmpPath, final);
      fsyncDir(this.#o.store.snapDir);
      keep = true;
      if (this.#o.env?.[SNAPSHOT_CRASH_ENV] === 'after-receive') process.kill(process.pid, 'SIGKILL');
      this.stats.receiveSuccess++;
      this.#receiveStats(from).success++;
      this.#log('info', 'received database snapshot', { 'remote-peer-id': idToHex(from), 'snapshot-index': meta.index, 'snapshot-term': meta.term, bytes: got.sizeBytes });
      this.#delivered.add(meta.index);
      target.deliver(got.message);
      return { status: 204, body: text('') };
    } catch (err) {
      this.stats.receiveFailures++;
      this.#receiveStats(from).failures++;
      const status = err instanceof SnapshotRefused ? err.status : 500;
      const why = err instanceof Error ? err.message : String(err);
      this.#log('warn', 'refused a database snapshot', { 'remote-peer-id': idToHex(from), status, reason: why });
      return { status, body: text(why) };
    } finally {
      if (!keep) {
        rmSync(tmpPath, { force: true });
        rmSync(`${tmpPath}-lock`, { force: true });
      }
      this.#busy = false;
    }
  }

  /** Ready.snapshot: the WAL marker with the Ready's hard state, then the store swap (see the file comment). */
  async install(s: Snapshot, hardState: HardState | null): Promise<void> {
    const { index, term } = s.metadata;
    const path = join(this.#o.store.snapDir, snapshotFileName(index));
    if (!existsSync(path)) throw new Error(`raft snapshot at index ${index}: no received store file ${path}`);
    this.#busy = true;
    this.#applying = true;
    const crash = this.#o.env?.[SNAPSHOT_CRASH_ENV] as SnapshotCrashPoint | undefined;
    try {
      const installed = await this.#o.store.installSnapshot(path, async () => {
        await this.#o.log.append(hardState, [], { index, term });
        if (crash === 'after-wal-marker') process.kill(process.pid, 'SIGKILL');
      });
      if (installed.appliedIndex !== index || installed.consistentTerm !== term) {
        throw new Error(`raft snapshot at index ${index} term ${term}: the installed store is at index ${installed.appliedIndex} term ${installed.consistentTerm}`);
      }
      if (crash === 'after-store-swap') process.kill(process.pid, 'SIGKILL');
      // This one, and any other Raft did not take (a stale one it ignored).
      removeSnapshotFiles(this.#o.store.snapDir, (i) => i <= index);
      for (const i of this.#delivered) if (i <= index) this.#delivered.delete(i);
      this.stats.installed++;
      this.stats.lastInstalledIndex = index;
      this.#log('info', 'applied snapshot', { 'snapshot-index': index, 'snapshot-term': term, revision: installed.currentRevision });
    } finally {
      this.#busy = false;
      this.#applying = false;
    }
  }

  #sendStats(to: NodeId): { success: number; failures: number; seconds: number } {
    const k = idToHex(to);
    let s = this.#sendCounts.get(k);
    if (s === undefined) this.#sendCounts.set(k, (s = { success: 0, failures: 0, seconds: 0 }));
    return s;
  }

  #receiveStats(from: NodeId): { success: number; failures: number } {
    const k = idToHex(from);
    let s = this.#receiveCounts.get(k);
    if (s === undefined) this.#receiveCounts.set(k, (s = { success: 0, failures: 0 }));
    return s;
  }

  #log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    this.#o.logger?.(level, msg, fields);
  }
}

/**
 * At start: finishes an install the WAL recorded but the store does not have yet (a crash
 * between the WAL marker and the store swap), and removes what earlier transfers left behind.
 * Returns the installed point, or undefined when nothing was to install.
 */
export async function recoverSnapshotAtStart(opts: {
  readonly snapDir: string;
  readonly marker: { readonly index: number; readonly term: number } | undefined;
  readonly appliedIndex: number;
  readonly install: (path: string) => Promise<InstalledStore>;
}): Promise<InstalledStore | undefined> {
  let installed: InstalledStore | undefined;
  if (opts.marker !== undefined && opts.marker.index > opts.appliedIndex) {
    const path = join(opts.snapDir, snapshotFileName(opts.marker.index));
    if (!existsSync(path)) {
      throw new Error(
        `the WAL records a snapshot at index ${opts.marker.index} but the store is at index ${opts.appliedIndex} and ${path} is missing; refusing to start`,
      );
    }
    installed = await opts.install(path);
    if (installed.appliedIndex !== opts.marker.index || installed.consistentTerm !== opts.marker.term) {
      throw new Error(`${path}: store at index ${installed.appliedIndex} term ${installed.consistentTerm}, the WAL marker says ${opts.marker.index} term ${opts.marker.term}`);
    }
  }
  const applied = installed?.appliedIndex ?? opts.appliedIndex;
  for (const f of readdirSync(opts.snapDir)) {
    const m = SNAP_FILE_RE.exec(f);
    const stale = TMP_RE.test(f) || (m !== null && Number.parseInt(m[1]!, 16) <= applied) || (m !== null && opts.marker?.index !== Number.parseInt(m[1]!, 16));
    if (stale) rmSync(join(opts.snapDir, f), { force: true });
  }
  return installed;
}

/** Removes the received snapshot files whose index `which` selects. */
function removeSnapshotFiles(snapDir: string, which: (index: number) => boolean): void {
  for (const f of readdirSync(snapDir)) {
    const m = SNAP_FILE_RE.exec(f);
    if (m !== null && which(Number.parseInt(m[1]!, 16))) rmSync(join(snapDir, f), { force: true });
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
