/**
 * EtcdServer: the request lifecycle of one member (etcd's EtcdServer), between the RPC layer
 * above and the consensus node and apply loop below (docs/architecture.md).
 *
 * Write path: a request passes the gates (running, backpressure, size, quota), gets an ID,
 * becomes an InternalRaftRequest proposed to the ConsensusNode, and is answered from its
 * apply outcome, which the ApplyLoop publishes on the applied-batch stream. The one
 * exception, plain puts, is answered at commit (see "Answers at commit" below).
 *
 * Read path: a linearizable read takes the node's read index and waits until the apply loop
 * has applied it; a serializable read waits only until the store holds every write this
 * member has already answered (so it never sees a state older than an answer it gave).
 *
 * Answers at commit. A plain put (no lease, prev_kv or ignore flags) writes exactly the next
 * revision and cannot fail once validated, so while every entry proposed before it is a plain
 * put or applied, its revision is known (RevisionPredictor) and it is answered as soon as it
 * is committed. The promise is sent with the entry to the applier, which checks it before the
 * batch's transaction commits; a mismatch, like any apply failure, is fatal before the
 * commit: the member stops, and the WAL, which holds the entry, replays it to that same
 * revision on restart (replay is deterministic). So an answer is never taken back.
 */
import { etcdserverpb } from '../proto/pb.js';
import { EtcdError, errorByCode } from '../errors/errors.js';
import { EntryType, type Entry } from '../raftpb/types.js';
import { ConfChangeTransition, ConfChangeType, type ConfChangeV2 } from '../raft/index.js';
import {
  decodeMembershipOutcome, encodeMemberChange, memberById,
  type MemberChange, type MembershipOutcome, type MembershipState, type MemberRecord,
} from '../apply/membership.js';
import type { ApplyOutcome, HashKvResult, KvReadView, MaintenancePool, RangePool, SnapshotMeta } from './ports.js';
import { SpaceAlarm } from './space-alarm.js';
import type { ConsensusNode } from './consensus.js';
import type { ApplyLoop, AppliedBatch } from './apply-loop.js';
import type { MemberIdentity } from './identity.js';
import { WaitRegistry } from './wait.js';
import { IntakeGate } from './intake-gate.js';
import { promisesOf } from '../apply/interface.js';
import { RevisionPredictor, isPlainPut } from './revision-predictor.js';
import { CommittedRevisions, scanEntry } from './commit-revision.js';
import { RequestIdGenerator, leaseIdFrom } from './request-ids.js';
import type { LeaseId } from '../util/pure/id64.js';
import { txnMayWrite } from '../apply/alarm-gate.js';
import type { AuthInfo } from '../auth/store.js';
import type { AuthProposal } from './auth-server.js';
import { join } from 'node:path';
import { rmSync } from 'node:fs';

export interface ServerLimits {
  /** --max-request-bytes: largest encoded log entry accepted. */
  readonly maxRequestBytes: number;
  /** --max-txn-ops */
  readonly maxTxnOps: number;
  /** --quota-backend-bytes (0 means the default, 2 GiB). */
  readonly quotaBackendBytes: number;
}

export interface EtcdServerOptions {
  readonly identity: MemberIdentity;
  readonly limits: ServerLimits;
  /** Version reported by Status and /version (--emulated-etcd-version). */
  readonly version: string;
  readonly node: ConsensusNode;
  readonly applyLoop: ApplyLoop;
  readonly reader: KvReadView;
  /** Large ranges go here when given; otherwise every range runs on the main thread. */
  readonly readPool?: RangePool;
  /** Where the node and the apply loop report stage timings (see `observe`). */
  readonly timings?: PipelineTimings;
  /** Hashes and snapshots off the main thread (the read pool). */
  readonly maintenance?: MaintenancePool;
  /** Where snapshots are staged before they are streamed (the member's snap dir). */
  readonly snapDir?: string;
  /** etcd's cluster version written into snapshots ("3.6.0"). */
  readonly clusterVersion?: string;
  /** Logs alarms raised and cleared. */
  readonly log?: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
  /**
   * How long a proposal forwarded to the leader waits for its outcome before it fails with
   * "request timed out" (etcd's ReqTimeout: 5 s + 2 x --election-timeout). Default 7 s.
   */
  readonly requestTimeoutMs?: number;
  /** Every member of the cluster (MemberList) when no membership is stored; default: this member alone. */
  readonly members?: readonly ClusterMember[];
  /** The membership stored with the applied index (a cluster member); changes come through the log. */
  readonly membership?: MembershipState;
  /** Who the caller of the request being served is, when auth is enabled (src/server/auth-server.ts). */
  readonly auth?: CallerSource;
}

/** The caller put in the header of every entry proposed (docs/auth.md): read only while auth is enabled. */
export interface CallerSource {
  readonly enabled: boolean;
  caller(): AuthInfo | undefined;
  /** The caller of entries the member proposes itself (expired lease revokes): root, as etcd's WithRoot. */
  memberCaller(): AuthInfo | undefined;
}

/** A member as MemberList shows it. */
export interface ClusterMember {
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  /** Known for this member only until members publish their attributes through Raft (docs/cluster.md). */
  readonly clientUrls: readonly string[];
}

/** An active alarm as etcd's AlarmMember. */
export interface ActiveAlarm {
  readonly memberId: bigint;
  readonly alarm: number;
}

/** etcdserverpb.AlarmType names, as Status.errors and /health spell them. */
const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];

/** Stage timings, per batch (src/server/metrics.ts turns them into histograms). */
export interface PipelineObserver {
  /** From handing a batch to the log to its durability, in seconds. */
  walAppend(seconds: number, entries: number): void;
  /** From handing a batch to the apply pipe to its outcomes, in seconds. */
  apply(seconds: number, entries: number): void;
}

/** Forwards stage timings to an observer set later (the metrics registry is made after the member starts). */
export class PipelineTimings implements PipelineObserver {
  observer: PipelineObserver | undefined;
  walAppend(seconds: number, entries: number): void {
    this.observer?.walAppend(seconds, entries);
  }
  apply(seconds: number, entries: number): void {
    this.observer?.apply(seconds, entries);
  }
}

/** etcd's ReqTimeout with the default --election-timeout (5 s + 2 x 1 s). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 7000;

/** The default backend quota when --quota-backend-bytes is 0 (etcd's DefaultQuotaBytes). */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
/**
 * How long a measured db size is trusted by the quota check: a stat per write would cost a
 * system call on the hot path; a write can overshoot the quota by what 250 ms of writes add.
 */
const DB_SIZE_CACHE_MS = 250;
/**
 * etcd's bound on committed entries waiting to be applied (maxGapBetweenApplyAndCommitIndex).
 * etcd refuses proposals past it; here they wait (IntakeGate): overload slows clients down.
 */
export const MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;
/**
 * Proposals that may wait at the gate. Past it a request is refused with "too many requests":
 * each waiter holds its request in memory, so this bounds memory, not speed (far above what
 * 1,000 concurrent clients with one request each can reach).
 */
export const MAX_WAITING_PROPOSALS = 100_000;

type Proposal =
  | { put: etcdserverpb.IPutRequest }
  | { deleteRange: etcdserverpb.IDeleteRangeRequest }
  | { txn: etcdserverpb.ITxnRequest }
  | { compaction: etcdserverpb.ICompactionRequest }
  | LeaseProposal
  | { alarm: etcdserverpb.IAlarmRequest }
  | AuthProposal;

/** Lease entries (src/server/lease-server.ts builds them; docs/leases.md). */
export type LeaseProposal =
  | { leaseGrant: etcdserverpb.ILeaseGrantRequest }
  | { leaseRevoke: etcdserverpb.ILeaseRevokeRequest }
  | { leaseCheckpoint: etcdserverpb.ILeaseCheckpointRequest };

/** Plain counters on the hot path; src/server/metrics.ts reads them when /metrics is scraped. */
export interface ServerCounters {
  /** Entries committed (etcd_server_proposals_committed_total). */
  proposalsCommitted: number;
  /** Entries applied (etcd_server_proposals_applied_total). */
  proposalsApplied: number;
  /** Proposals that ended in an error (etcd_server_proposals_failed_total). */
  proposalsFailed: number;
  /** Linearizable reads served (etcd_server_read_indexes... analogue). */
  readIndexes: number;
  /** Puts forwarded to the leader and answered when committed, not applied (etcd_ts_server_forwarded_answered_at_commit_total). */
  forwardedAnsweredAtCommit: number;
}

interface EarlyAnswer {
  readonly index: number;
  /** The leader's term when proposed: an entry of another term at `index` is not this one. */
  readonly term: number;
  readonly revision: number;
  readonly resolve: (b: Uint8Array) => void;
  readonly reject: (e: Error) => void;
}

export class EtcdServer {
  readonly counters: ServerCounters = { proposalsCommitted: 0, proposalsApplied: 0, proposalsFailed: 0, readIndexes: 0, forwardedAnsweredAtCommit: 0 };
  readonly identity: MemberIdentity;
  readonly limits: ServerLimits;
  readonly version: string;

  readonly #node: ConsensusNode;
  readonly #loop: ApplyLoop;
  readonly #reader: KvReadView;
  readonly #readPool: RangePool | undefined;
  readonly #waits = new WaitRegistry<ApplyOutcome>();
  readonly #gate: IntakeGate;
  readonly #timings: PipelineTimings | undefined;
  readonly #requestIds: RequestIdGenerator;
  readonly #requestTimeoutMs: number;
  readonly #members: readonly ClusterMember[] | undefined;
  #membership: MembershipState | undefined;
  /** Indexes of committed membership entries not applied yet (their outcomes carry the new state). */
  readonly #membershipIndexes = new Set<number>();
  readonly #membershipListeners: ((s: MembershipState) => void)[] = [];
  #stopped = false;
  /** Set when the pipeline failed: no new requests, but stop() still closes everything. */
  #failed = false;
  #closed = false;
  #dbSize = { bytes: 0, measuredAtMs: -Infinity };
  readonly #fatalListeners: ((err: Error) => void)[] = [];
  /** Set in start(), once the store holds every recovered entry. */
  #predictor: RevisionPredictor | undefined;
  /** Plain puts to answer at commit, in index order. */
  #earlyAnswers: EarlyAnswer[] = [];
  /** Entry index -> the revision promised for it, until it is committed and goes to the applier with the entry. */
  readonly #promised = new Map<number, number>();
  /** Highest index answered at commit: serializable reads wait until it is applied. */
  #answeredThrough = 0;
  /** Index of the last applied entry that changed the alarms (plain puts are not promised until it is visible). */
  #alarmsChangedAt = 0;
  /** Store revision after the last applied entry, or the last one answered at commit if higher. */
  #outcomeRevision = 0;
  /** Revisions of committed plain puts, in commit order (a follower's forwarded puts are answered at commit). */
  readonly #committedRevs: CommittedRevisions;
  /** Forwarded plain puts waiting for their entry to commit, by request ID (the value: nothing). */
  readonly #forwardedPuts = new Set<bigint>();
  /** Active alarms as of the last applied batch (listed again when an entry changed them). */
  #alarms: readonly ActiveAlarm[] = [];
  readonly #maintenance: MaintenancePool | undefined;
  readonly #snapDir: string | undefined;
  readonly #clusterVersion: string;
  readonly #spaceAlarm: SpaceAlarm;
  readonly #log: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
  #snapshotSeq = 0;
  /** Proposals answered at apply, in index order, until applied: failed if leadership is lost first. */
  #proposedWaits: { readonly index: number; readonly id: bigint }[] = [];
  #auth: CallerSource | undefined;

  constructor(opts: EtcdServerOptions) {
    this.identity = opts.identity;
    this.#requestIds = new RequestIdGenerator(opts.identity.memberId, Date.now());
    this.limits = opts.limits;
    this.version = opts.version;
    this.#node = opts.node;
    this.#loop = opts.applyLoop;
    this.#reader = opts.reader;
    this.#readPool = opts.readPool;
    this.#timings = opts.timings;
    this.#maintenance = opts.maintenance;
    this.#snapDir = opts.snapDir;
    this.#clusterVersion = opts.clusterVersion ?? opts.version.split('.').slice(0, 2).join('.') + '.0';
    this.#log = opts.log ?? (() => {});
    this.#spaceAlarm = new SpaceAlarm({
      memberId: opts.identity.memberId,
      quotaBytes: () => this.quotaBytes,
      inUseBytes: () => this.#reader.dbSizeInUseBytes(),
      alarms: () => this.#alarms,
      propose: (req) => this.#propose({ alarm: req }).then(() => undefined),
      log: opts.log ?? (() => {}),
    });
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#members = opts.members;
    this.#membership = opts.membership;
    this.#auth = opts.auth;
    this.#gate = new IntakeGate({
      limit: MAX_GAP_BETWEEN_APPLY_AND_COMMIT,
      maxWaiting: MAX_WAITING_PROPOSALS,
      gap: () => this.#node.lastIndex - this.#loop.outcomeIndex,
    });
    this.#committedRevs = new CommittedRevisions(this.#node.committedIndex);
    this.#node.onCommitted((entries) => this.#onCommitted(entries));
    this.#node.onLeaderChange((_term, isLeader) => this.#onLeaderChange(isLeader));
    // Forwarded proposals appended on this leader: their effect on the revision is unknown here.
    this.#node.onAppendedByOthers?.((lastIndex) => this.#predictor?.other(lastIndex));
    this.#node.onFatal((err) => this.#fail(err));
    this.#loop.onFatal((err) => this.#fail(err));
    this.#loop.subscribeOutcomes((batch) => this.#onOutcomes(batch));
    this.#loop.subscribe((batch) => this.#onApplied(batch));
  }

  observe(observer: PipelineObserver): void {
    if (this.#timings !== undefined) this.#timings.observer = observer;
  }

  /** Called when the pipeline fails (WAL or apply error): the process must stop serving. */
  onFatal(cb: (err: Error) => void): void {
    this.#fatalListeners.push(cb);
  }

  /**
   * Starts the node (one member: a new term and its empty entry) and waits until that entry
   * is applied, so every recovered entry is too.
   */
  async start(): Promise<void> {
    const index = await this.#node.start();
    await this.#loop.waitApplied(index);
    this.#alarms = this.#reader.alarms();
    // Every proposed entry is applied (one member: its empty entry): the revision is known.
    // Otherwise (a Raft leader whose empty entry is not applied yet, a follower) the leader
    // change set the predictor (see #onLeaderChange).
    if (this.#node.isLeader() && this.#node.lastIndex === this.#loop.appliedIndex) {
      this.#predictor = new RevisionPredictor(this.#reader.currentRevision());
    }
    this.#spaceAlarm.update();
  }

  /** --quota-backend-bytes, or etcd's default when it is 0. */
  get quotaBytes(): number {
    return this.limits.quotaBackendBytes > 0 ? this.limits.quotaBackendBytes : DEFAULT_QUOTA_BYTES;
  }

  /** The active alarms (etcd's alarm store), as of the last applied entry. */
  get alarms(): readonly ActiveAlarm[] {
    return this.#alarms;
  }

  /** The compacted revision (0: never compacted). */
  compactedRevision(): number {
    return this.#reader.compactedRevision();
  }

  /** Live keys in the store (etcd_debugging_mvcc_keys_total). */
  async keyCount(): Promise<number> {
    // Every write this member answered (plain puts are answered at commit) is in the store first.
    await this.#readBarrier({ serializable: true });
    const r = this.#reader.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), countOnly: true });
    return Number(r.count ?? 0);
  }

  /** The store revision after the last entry applied or answered (the read view may not see all of it yet). */
  currentRevision(): number {
    return Math.max(this.#reader.currentRevision(), this.#outcomeRevision);
  }

  /** Resolves once every write this member answered is visible and published. */
  answeredVisible(): Promise<void> {
    return this.#readBarrier({ serializable: true });
  }

  get term(): number {
    return this.#node.term;
  }

  get committedIndex(): number {
    return this.#node.committedIndex;
  }

  get appliedIndex(): number {
    return this.#loop.appliedIndex;
  }

  /** Proposals not answered yet (etcd_server_proposals_pending), and those waiting at the gate. */
  get proposalsPending(): number {
    return this.#waits.size + this.#earlyAnswers.length + this.#gate.waiting;
  }

  header(revision: number): etcdserverpb.IResponseHeader {
    return {
      clusterId: this.identity.clusterId,
      memberId: this.identity.memberId,
      revision,
      raftTerm: this.#node.term,
    };
  }

  // ---- KV ----

  /** A Range for a client: large ones run in the read pool and come back encoded. */
  async serveRange(req: etcdserverpb.IRangeRequest): Promise<etcdserverpb.IRangeResponse | Uint8Array> {
    if (this.#readPool === undefined || !this.#readPool.wants(req)) return this.range(req);
    await this.#readBarrier(req);
    const r = await this.#readPool.range(req);
    return withHeader(r.response, this.header(r.revision));
  }

  /** A Range on the main thread, as a message. */
  async range(req: etcdserverpb.IRangeRequest): Promise<etcdserverpb.IRangeResponse> {
    await this.#readBarrier(req);
    const res = this.#reader.range(req);
    // The revision of the snapshot the range read, not a later one.
    res.header = this.header(res.header?.revision ?? this.#reader.currentRevision());
    return res;
  }

  put(req: etcdserverpb.IPutRequest): Promise<Uint8Array> {
    return this.#propose({ put: req });
  }

  deleteRange(req: etcdserverpb.IDeleteRangeRequest): Promise<Uint8Array> {
    return this.#propose({ deleteRange: req });
  }

  txn(req: etcdserverpb.ITxnRequest): Promise<Uint8Array> {
    return this.#propose({ txn: req });
  }

  compact(req: etcdserverpb.ICompactionRequest): Promise<Uint8Array> {
    return this.#propose({ compaction: req });
  }

  // ---- Leases (the lease API itself: src/server/lease-server.ts) ----

  /** Proposes a lease entry; answered at apply with the encoded response, header filled. */
  proposeLease(p: LeaseProposal, asMember = false): Promise<Uint8Array> {
    return this.#propose(p, asMember ? (this.#auth?.memberCaller() ?? null) : undefined);
  }

  /** A server-chosen lease ID: a fresh request ID with the sign bit cleared, as etcd. */
  newLeaseId(): LeaseId {
    return leaseIdFrom(this.#requestIds.next());
  }

  /** True while this member leads (keep-alives and expiry are the leader's). */
  /** New leaders this member saw (a single member: 1 once it leads). */
  get leaderChangesSeen(): number {
    return this.#node.leaderChangesSeen ?? (this.#node.isLeader() ? 1 : 0);
  }

  isLeader(): boolean {
    return this.#node.isLeader();
  }

  // ---- Maintenance ----

  /** etcd's Alarm: GET, ACTIVATE and DEACTIVATE all go through the log. */
  alarm(req: etcdserverpb.IAlarmRequest): Promise<Uint8Array> {
    return this.#propose({ alarm: req });
  }

  /** etcd's HashKV on this member's store (the read pool; main thread when there is none). */
  async hashKv(revision: number): Promise<HashKvResult & { header: etcdserverpb.IResponseHeader }> {
    this.#checkRunning();
    if (this.#maintenance === undefined) throw new EtcdError('ETCD_ERR_SERVER_STOPPED');
    // Every write this member answered (plain puts at commit) is in the store first.
    await this.#readBarrier({ serializable: true });
    const r = await this.#maintenance.hashKv(revision);
    return { ...r, header: this.header(r.currentRevision) };
  }

  /** etcd's Hash: a CRC-32C over the whole store in etcd's bucket format (for tests, as etcd says). */
  async hash(): Promise<etcdserverpb.IHashResponse> {
    this.#checkRunning();
    if (this.#maintenance === undefined) throw new EtcdError('ETCD_ERR_SERVER_STOPPED');
    await this.#readBarrier({ serializable: true });
    const r = await this.#maintenance.hash();
    return { header: this.header(r.currentRevision), hash: r.hash };
  }

  /**
   * etcd's Defragment. LMDB reuses freed pages as it goes, so there is nothing to stop the world
   * for: this reports the file and in-use sizes (and the space LMDB will reuse) and returns at once.
   */
  defragment(): { header: etcdserverpb.IResponseHeader; dbSizeBytes: number; inUseBytes: number } {
    this.#checkRunning();
    const dbSizeBytes = this.#reader.dbSizeBytes();
    const inUseBytes = this.#reader.dbSizeInUseBytes();
    // etcd logs "finished defragmenting directory" with the sizes; nothing is rewritten here.
    this.#log('info', 'defragment: LMDB reuses free pages as it writes; nothing to rewrite', {
      'current-db-size-bytes': dbSizeBytes,
      'current-db-size-in-use-bytes': inUseBytes,
      'reusable-bytes': Math.max(0, dbSizeBytes - inUseBytes),
    });
    this.#spaceAlarm.update();
    return { header: this.header(this.#reader.currentRevision()), dbSizeBytes, inUseBytes };
  }

  /**
   * A consistent snapshot of the store in etcd's bbolt format, staged as a file in the snap dir.
   * The caller streams it and must call `release()` (which removes the file) when done.
   */
  async snapshot(): Promise<{ path: string; sizeBytes: number; revision: number; release: () => void }> {
    this.#checkRunning();
    if (this.#maintenance === undefined || this.#snapDir === undefined) throw new EtcdError('ETCD_ERR_SERVER_STOPPED');
    // A snapshot holds every write this member answered before it was asked for.
    await this.#readBarrier({ serializable: true });
    const path = join(this.#snapDir, `snapshot-${process.pid}-${++this.#snapshotSeq}.bolt.tmp`);
    const meta: SnapshotMeta = {
      memberId: this.identity.memberId,
      name: this.identity.name,
      peerUrls: this.identity.peerUrls,
      clientUrls: this.identity.clientUrls,
      clusterVersion: this.#clusterVersion,
    };
    try {
      const r = await this.#maintenance.snapshot(path, meta);
      return { path, ...r, release: () => rmSync(path, { force: true }) };
    } catch (err) {
      rmSync(path, { force: true });
      throw err;
    }
  }

  status(): etcdserverpb.IStatusResponse {
    const quota = this.quotaBytes;
    return {
      header: this.header(this.currentRevision()),
      version: this.version,
      dbSize: this.#reader.dbSizeBytes(),
      dbSizeInUse: this.#reader.dbSizeInUseBytes(),
      leader: this.#node.leaderId ?? (this.#node.isLeader() ? this.identity.memberId : 0n),
      raftIndex: this.#node.committedIndex,
      raftTerm: this.#node.term,
      raftAppliedIndex: this.#loop.outcomeIndex,
      errors: this.#alarms.map((a) => `memberID:${BigInt.asUintN(64, a.memberId)} alarm:${ALARM_NAMES[a.alarm] ?? a.alarm} `),
      isLearner: this.#node.isLearnerMember?.() ?? false,
      storageVersion: this.version.split('.').slice(0, 2).join('.') + '.0',
      dbSizeQuota: quota,
      downgradeInfo: { enabled: false, targetVersion: '' },
    };
  }

  /**
   * Waits until this member has applied everything committed before the call (a ReadIndex round):
   * what MemberList with `linearizable` waits for.
   */
  async linearizableBarrier(): Promise<void> {
    await this.#readBarrier({});
  }

  /** Whether this member knows a leader (itself or another). */
  hasLeader(): boolean {
    return (this.#node.leaderId ?? 0n) !== 0n || this.#node.isLeader();
  }

  /** The stored membership (undefined: a single member, or a data dir from before it was stored). */
  get membership(): MembershipState | undefined {
    return this.#membership;
  }

  /** Told every accepted membership change, after Raft's configuration was given it. */
  onMembershipChange(listener: (s: MembershipState) => void): void {
    this.#membershipListeners.push(listener);
  }

  /** The consensus node (membership operations reach Raft's progress and transfers through it). */
  get node(): ConsensusNode {
    return this.#node;
  }

  /** MemberList's members: the stored membership, else the configured cluster with this member's client URLs. */
  members(): etcdserverpb.IMember[] {
    if (this.#membership !== undefined) return this.#membership.members.map(toPbMember);
    const id = this.identity;
    const self: etcdserverpb.IMember = { ID: id.memberId, name: id.name, peerURLs: [...id.peerUrls], clientURLs: [...id.clientUrls], isLearner: false };
    if (this.#members === undefined) return [self];
    return this.#members.map((m) =>
      m.id === id.memberId ? self : { ID: m.id, name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: false },
    );
  }

  /**
   * A clean stop: refuse new requests, make what was proposed committed and applied (clients
   * may have been answered at commit), checkpoint, then close the log, the apply pipe and the pool.
   */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped = true;
    this.#spaceAlarm.stop();
    const stopped = new EtcdError('ETCD_ERR_SERVER_STOPPED');
    this.#gate.close(stopped);
    if (!this.#failed) {
      try {
        await this.#node.stop();
        // A last checkpoint: LMDB synced, the WAL released up to it; a restart replays nothing.
        await this.#loop.checkpoint();
      } catch {
        // a failure was reported through #fail; the WAL still holds everything for recovery
      }
    }
    this.#waits.failAll(stopped);
    this.#loop.failAll(stopped);
    for (const a of this.#earlyAnswers.splice(0)) a.reject(stopped);
    // After a failure one of these may reject; every one is still closed.
    const results = await Promise.allSettled([this.#node.close(), this.#loop.close(), this.#readPool?.close(), this.#reader.close()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined && !this.#failed) throw failed.reason;
  }

  /**
   * Proposes a membership change and waits for its entry to be applied: the outcome (the new
   * membership), or the applier's refusal as an EtcdError. Raft lets one change be pending at a
   * time; a change proposed meanwhile never applies and fails after the request timeout
   * ("request timed out"), as in etcd.
   */
  async proposeMembership(change: MemberChange, timeoutMs = this.#requestTimeoutMs): Promise<MembershipOutcome> {
    this.#checkRunning();
    const propose = this.#node.proposeConfChange?.bind(this.#node);
    if (propose === undefined) throw new EtcdError('ETCD_ERR_CLUSTER_SINGLE_NODE');
    // A learner may publish its own attributes (forwarded to the leader), nothing else.
    if (change.op !== 'attrs' && this.#node.isLearnerMember?.() === true) throw new EtcdError('ETCD_ERR_SERVER_NOT_SUPPORTED_FOR_LEARNER');
    const id = this.#requestIds.next();
    const context = encodeMemberChange({ requestId: id, change });
    if (context.length > this.limits.maxRequestBytes) throw new EtcdError('ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
    const cc: ConfChangeV2 = { transition: ConfChangeTransition.Auto, changes: [{ type: raftChangeType(change), nodeId: targetOf(change) }], context };
    const answered = this.#waits.register(id);
    let index: number | undefined;
    try {
      index = propose(cc);
    } catch (err) {
      this.#waits.fail(id, err instanceof Error ? err : new Error(String(err)));
      await answered.catch(() => undefined);
      throw err;
    }
    if (index !== undefined) {
      this.#predictor?.other(index);
      this.#proposedWaits.push({ index, id });
    }
    const outcome = await this.#outcomeWithin(id, answered, timeoutMs);
    return decodeMembershipOutcome(outcome.response!);
  }

  /** The auth mirror is made after the server (it reads through the server's view): set it here. */
  setAuth(auth: CallerSource): void {
    this.#auth = auth;
  }

  /** An auth entry, with `ai` (or no one) as its caller (src/server/auth-server.ts). */
  proposeAuth(p: AuthProposal, ai: AuthInfo | undefined): Promise<Uint8Array> {
    return this.#propose(p, ai ?? null);
  }

  // ---- internals ----

  /**
   * Before a read: linearizable reads wait until the read index is applied; serializable ones
   * until every write this member answered is in the store.
   */
  async #readBarrier(req: etcdserverpb.IRangeRequest): Promise<void> {
    this.#checkRunning();
    let index: number;
    if (req.serializable) {
      // Answers are given at commit (plain puts) or when applied, before the store's readers see it.
      index = Math.max(this.#answeredThrough, this.#loop.outcomeIndex);
    } else {
      // A learner serves serializable reads only (etcd: "rpc not supported for learner").
      if (this.#node.isLearnerMember?.() === true) throw new EtcdError('ETCD_ERR_SERVER_NOT_SUPPORTED_FOR_LEARNER');
      this.counters.readIndexes++;
      const ri = this.#node.readIndex();
      index = typeof ri === 'number' ? ri : await ri;
    }
    const wait = this.#loop.waitApplied(index);
    if (wait !== undefined) await wait;
  }

  #checkRunning(): void {
    if (this.#stopped) throw new EtcdError('ETCD_ERR_SERVER_STOPPED');
  }

  /**
   * etcd's backend quota: a request that adds data is refused once the store would outgrow it,
   * and the refusal raises this member's NOSPACE alarm through the log (etcd's quotaAlarmer).
   */
  #checkQuota(p: Proposal, requestBytes: number): void {
    // Only puts (alone or in a txn) and lease grants cost quota, as etcd's BackendQuota.Cost.
    if (!('put' in p) && !('leaseGrant' in p) && !('txn' in p && txnMayWrite(p.txn))) return;
    const quota = this.quotaBytes;
    const now = Date.now();
    if (now - this.#dbSize.measuredAtMs > DB_SIZE_CACHE_MS) {
      // Bytes in use, not the file size: LMDB reuses freed pages, so deletes and compaction
      // bring a store back under its quota (the file itself never shrinks).
      this.#dbSize = { bytes: this.#reader.dbSizeInUseBytes(), measuredAtMs: now };
    }
    // The measured size sees committed data only; the apply worker commits every
    // --backend-batch-interval (1 s), so what is applied or waiting to be counts too.
    if (this.#dbSize.bytes + this.#loop.bytesNotVisible + requestBytes > quota) {
      this.#spaceAlarm.raise();
      throw new EtcdError('ETCD_ERR_MVCC_NO_SPACE');
    }
  }

  /** `caller`: the entry's auth caller; undefined means the caller of the request being served. */
  async #propose(p: Proposal, caller?: AuthInfo | null): Promise<Uint8Array> {
    this.#checkRunning();
    if (this.#node.isLearnerMember?.() === true) throw new EtcdError('ETCD_ERR_SERVER_NOT_SUPPORTED_FOR_LEARNER');
    const admitted = this.#gate.admit();
    if (admitted !== undefined) {
      await admitted;
      this.#checkRunning();
    }
    const id = this.#requestIds.next();
    // One boolean while auth is disabled (docs/auth.md).
    const ai = this.#auth?.enabled === true ? (caller === undefined ? this.#auth.caller() : (caller ?? undefined)) : undefined;
    const header = ai === undefined ? { ID: id } : { ID: id, username: ai.username, authRevision: ai.revision };
    const data = etcdserverpb.InternalRaftRequest.encode({ header, ...p }).finish();
    if (data.length > this.limits.maxRequestBytes) throw new EtcdError('ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
    this.#checkQuota(p, data.length);
    // Throws (not leader, stopped) before anything below changes.
    const index = this.#node.propose(data);
    if (index === undefined) return this.#awaitForwarded(id, 'put' in p && isPlainPut(p.put) && ai === undefined);
    // While an alarm refuses writes, a put's outcome is known only when applied; so while an
    // applied alarm change is not reloaded yet.
    if ('put' in p && isPlainPut(p.put) && this.#alarmsKnownClear()) {
      const revision = this.#predictor?.plainPut();
      if (revision !== undefined) {
        this.#promised.set(index, revision);
        const term = this.#node.term;
        return new Promise<Uint8Array>((resolve, reject) => this.#earlyAnswers.push({ index, term, revision, resolve, reject }));
      }
    } else {
      this.#predictor?.other(index);
    }
    const answered = this.#waits.register(id);
    this.#proposedWaits.push({ index, id });
    const outcome = await answered;
    if (outcome.errorCode !== undefined) {
      this.counters.proposalsFailed++;
      throw errorByCode(outcome.errorCode);
    }
    return withHeader(outcome.response ?? EMPTY, this.header(outcome.revision));
  }

  /**
   * A proposal a follower forwarded to the leader: answered when its entry is applied here
   * (outcomes carry the request ID), or, if the leader never appended it (a lost message, a
   * leader change), failed after the request timeout with etcd's "request timed out".
   */
  async #awaitForwarded(id: bigint, plainPut = false): Promise<Uint8Array> {
    const answered = this.#waits.register(id);
    // A plain put may be answered at commit instead (#answerForwardedPuts).
    if (plainPut) this.#forwardedPuts.add(id);
    try {
      const outcome = await this.#outcomeWithin(id, answered, this.#requestTimeoutMs);
      return withHeader(outcome.response ?? EMPTY, this.header(outcome.revision));
    } finally {
      if (plainPut) this.#forwardedPuts.delete(id);
    }
  }

  /**
   * Committed entries, before they go to the applier: a forwarded plain put among them whose
   * revision is known (CommittedRevisions) is answered now, and its revision promised to the
   * applier with the entry (docs/cluster.md, "A follower answers plain puts at commit"). The
   * entries are durable in this member's WAL (RaftNode hands out nothing beyond that).
   * Entries are scanned only while such a put waits; otherwise the batch counts as unknown
   * until applied.
   */
  /**
   * No alarm is active, and none changed in an entry applied but not visible yet (the alarm list
   * is reloaded when visible): only then is a plain put's revision known before it is applied.
   */
  #alarmsKnownClear(): boolean {
    return this.#alarms.length === 0 && this.#loop.appliedIndex >= this.#alarmsChangedAt;
  }

  /**
   * Returns whether a request of this member still waits for one of these entries' outcomes,
   * when the scan ran; undefined when it did not (nobody can tell cheaply then).
   */
  #answerForwardedPuts(entries: readonly Entry[]): boolean | undefined {
    const revs = this.#committedRevs;
    if (this.#forwardedPuts.size === 0 || !this.#alarmsKnownClear() || this.#auth?.enabled === true) {
      revs.other(entries[entries.length - 1]!.index);
      return undefined;
    }
    let waited = false;
    for (const e of entries) {
      const scan = e.type === EntryType.Normal && e.data.length > 0 ? scanEntry(e.data) : undefined;
      if (scan === undefined || !scan.plainPut) {
        revs.other(e.index);
        // An ID the scan could not read counts as waited for (the loop hands it over at once).
        if (scan !== undefined && !waited) waited = scan.id === 0n || this.#waits.has(scan.id);
        continue;
      }
      const revision = revs.plainPut(e.index);
      if (revision === undefined || !this.#forwardedPuts.has(scan.id)) {
        if (!waited) waited = this.#waits.has(scan.id);
        continue;
      }
      this.#promised.set(e.index, revision);
      this.#waits.trigger(scan.id, { index: e.index, requestId: scan.id, revision });
      if (e.index > this.#answeredThrough) this.#answeredThrough = e.index;
      this.counters.forwardedAnsweredAtCommit++;
    }
    return waited;
  }

  /**
   * The outcome registered for request `id`, failed with etcd's "request timed out" after
   * `timeoutMs`; an outcome carrying an error is thrown as that error. Either failure counts.
   */
  async #outcomeWithin(id: bigint, answered: Promise<ApplyOutcome>, timeoutMs: number): Promise<ApplyOutcome> {
    const timer = setTimeout(() => {
      if (this.#waits.fail(id, new EtcdError('ETCD_ERR_SERVER_TIMEOUT'))) this.counters.proposalsFailed++;
    }, timeoutMs);
    let outcome: ApplyOutcome;
    try {
      outcome = await answered;
    } finally {
      clearTimeout(timer);
    }
    if (outcome.errorCode !== undefined) {
      this.counters.proposalsFailed++;
      throw errorByCode(outcome.errorCode);
    }
    return outcome;
  }

  /** Committed entries: answer the plain puts among them, then hand them to the apply loop. */
  #onCommitted(entries: readonly Entry[]): void {
    if (this.#failed) return;
    this.counters.proposalsCommitted += entries.length;
    const last = entries[entries.length - 1]!.index;
    let n = 0;
    const first = entries[0]!.index;
    for (const e of entries) if (e.type === EntryType.ConfChangeV2) this.#membershipIndexes.add(e.index);
    while (n < this.#earlyAnswers.length && this.#earlyAnswers[n]!.index <= last) {
      const a = this.#earlyAnswers[n++]!;
      const e = a.index >= first ? entries[a.index - first] : undefined;
      if (e !== undefined && e.term !== a.term) {
        // Another leader's entry at that index: this proposal was lost (a leader change fails
        // these first; this is the second line of defence). Never answered, never promised.
        this.#promised.delete(a.index);
        a.reject(new EtcdError('ETCD_ERR_RAFT_LEADER_CHANGED'));
        continue;
      }
      a.resolve(withHeader(EMPTY, this.header(a.revision)));
      this.#answeredThrough = a.index;
      if (a.revision > this.#outcomeRevision) this.#outcomeRevision = a.revision;
    }
    if (n > 0) this.#earlyAnswers.splice(0, n);
    const scannedWaited = this.#answerForwardedPuts(entries);
    const promised = promisesOf(this.#promised, entries);
    if (promised !== undefined) for (const index of promised.keys()) this.#promised.delete(index);
    // Nobody waits for these outcomes (no request of this member waits for one of them, no
    // membership change): the loop may coalesce them with the next ones (a follower under puts).
    const waited = (scannedWaited ?? this.#waits.size > 0) || this.#membershipIndexes.size > 0;
    this.#loop.enqueue(entries, promised, waited);
  }

  /** An applied batch: answer its requests, keep the predictor in step, let waiting proposals in. */
  /**
   * A batch is applied (docs/architecture.md, "Deferred commits: applied, then visible"): its
   * requests whose answer is the outcome alone are answered now; those whose answer needs the
   * main thread's mirrors reloaded from the store (leases, alarms, auth, membership) when it is
   * visible (#onApplied). The entries are committed and durable in the WAL: an answer given
   * here is never taken back.
   */
  #onOutcomes(batch: AppliedBatch): void {
    const lastProposed = this.#node.lastIndex;
    const last = batch.outcomes[batch.outcomes.length - 1];
    if (last !== undefined && last.revision > this.#outcomeRevision) this.#outcomeRevision = last.revision;
    for (const o of batch.outcomes) {
      if (o.alarmsChanged) this.#alarmsChangedAt = o.index;
      this.#predictor?.applied(o.index, o.revision, lastProposed);
      this.#committedRevs.applied(o.index, o.revision);
      if (o.requestId !== 0n && !answeredWhenVisible(o) && !this.#membershipIndexes.has(o.index)) this.#waits.trigger(o.requestId, o);
    }
    this.counters.proposalsApplied += batch.outcomes.length;
    let n = 0;
    while (n < this.#proposedWaits.length && this.#proposedWaits[n]!.index <= batch.lastIndex) n++;
    if (n > 0) this.#proposedWaits.splice(0, n);
    this.#gate.release();
  }

  /** A batch is visible to the store's readers: reload what is mirrored, answer what needed it. */
  #onApplied(batch: AppliedBatch): void {
    if (batch.snapshot !== undefined) this.#snapshotInstalled(batch.lastIndex);
    if (batch.outcomes.some((o) => o.alarmsChanged)) {
      this.#alarms = this.#reader.alarms();
      this.#spaceAlarm.update();
    }
    for (const o of batch.outcomes) {
      const membership = this.#membershipIndexes.delete(o.index);
      if (membership && o.response !== undefined) this.#membershipApplied(o);
      if (o.requestId !== 0n && (membership || answeredWhenVisible(o))) this.#waits.trigger(o.requestId, o);
    }
  }

  /**
   * Leadership changes (Raft; one member leads once, at start). A new leader's log ends with
   * its empty entry, and entries of earlier terms may come before it: their effect on the
   * revision is unknown until applied, so plain puts are answered at apply until that entry is.
   * A member that loses leadership fails what it proposed and has not seen committed: those
   * entries may be replaced by the next leader's. Early answers are never given for them.
   */
  #onLeaderChange(isLeader: boolean): void {
    if (isLeader) {
      const predictor = new RevisionPredictor(0);
      predictor.other(this.#node.lastIndex);
      this.#predictor = predictor;
      return;
    }
    this.#predictor = undefined;
    const changed = new EtcdError('ETCD_ERR_RAFT_LEADER_CHANGED');
    for (const a of this.#earlyAnswers.splice(0)) {
      this.#promised.delete(a.index);
      this.counters.proposalsFailed++;
      a.reject(changed);
    }
    const committed = this.#node.committedIndex;
    for (const p of this.#proposedWaits) {
      if (p.index > committed && this.#waits.fail(p.id, changed)) this.counters.proposalsFailed++;
    }
    this.#proposedWaits = this.#proposedWaits.filter((p) => p.index <= committed);
  }

  /**
   * A membership entry was applied (in log order, like every member): Raft's configuration
   * follows an accepted change, the listeners (the peer transport) hear the new state. A member
   * that is removed stops, as etcd's does.
   */
  /**
   * A peer told this member it was removed from the cluster (HTTP 410 on the peer port, etcd's
   * errMemberRemoved): it stops as if it had applied its own removal, which it may never see
   * (the others stop sending to a removed member once they applied the removal).
   */
  removedFromCluster(): void {
    this.#fail(new Error('the member has been permanently removed from the cluster'));
  }

  #membershipApplied(o: ApplyOutcome): void {
    const out = decodeMembershipOutcome(o.response!);
    if (o.errorCode !== undefined) return;
    this.#membership = out.state;
    const id = targetOf(out.change);
    if (out.raft !== 'none') {
      const type = out.raft === 'add-voter' ? ConfChangeType.AddNode : out.raft === 'add-learner' ? ConfChangeType.AddLearnerNode : ConfChangeType.RemoveNode;
      this.#node.applyConfChange?.({ transition: ConfChangeTransition.Auto, changes: [{ type, nodeId: id }], context: new Uint8Array(0) });
    }
    for (const l of this.#membershipListeners) l(out.state);
    if (out.change.op === 'remove' && id === this.identity.memberId) {
      this.#fail(new Error('the member has been permanently removed from the cluster'));
    }
  }

  /**
   * A Raft snapshot replaced the store: what this server caches from it is read again (the
   * membership, whose listeners re-point the transport; the alarms). Proposals waiting for an
   * entry the snapshot covered are never answered here: they time out, as in etcd.
   */
  #snapshotInstalled(index: number): void {
    this.#alarms = this.#reader.alarms();
    this.#spaceAlarm.update();
    for (const i of [...this.#membershipIndexes]) if (i <= index) this.#membershipIndexes.delete(i);
    const membership = this.#reader.membership?.();
    if (membership !== undefined) {
      this.#membership = membership;
      for (const l of this.#membershipListeners) l(membership);
    }
  }

  #fail(err: Error): void {
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#stopped = true;
    const stopped = new EtcdError('ETCD_ERR_SERVER_STOPPED');
    this.#gate.close(stopped);
    this.#waits.failAll(stopped);
    this.#loop.failAll(stopped);
    for (const a of this.#earlyAnswers.splice(0)) a.reject(stopped);
    for (const l of this.#fatalListeners) l(err);
  }
}

const EMPTY = new Uint8Array();

/** The member a change is about (the Raft node ID of its ConfChange). */
function targetOf(c: MemberChange): bigint {
  return c.op === 'add' ? c.member.id : c.id;
}

function raftChangeType(c: MemberChange): ConfChangeType {
  switch (c.op) {
    case 'add':
      return c.member.isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode;
    case 'remove':
      return ConfChangeType.RemoveNode;
    case 'promote':
      return ConfChangeType.AddNode;
    case 'update':
    case 'attrs':
      return ConfChangeType.UpdateNode;
  }
}

export function toPbMember(m: MemberRecord): etcdserverpb.IMember {
  return { ID: m.id, name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

export { memberById };

/**
 * Sets the header of an encoded response by appending field 1 (ResponseHeader). Protobuf
 * merges repeated occurrences of a singular message field, and every field of the header
 * is set here, so the appended header wins whatever the applier wrote.
 */
export function withHeader(encoded: Uint8Array, header: etcdserverpb.IResponseHeader): Uint8Array {
  const w = etcdserverpb.ResponseHeader.encode(header);
  const h = w.finish();
  const out = Buffer.allocUnsafe(encoded.length + 1 + varintSize(h.length) + h.length);
  Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length).copy(out, 0);
  let o = encoded.length;
  out[o++] = 0x0a; // field 1, wire type 2
  let n = h.length;
  while (n > 0x7f) {
    out[o++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[o++] = n;
  out.set(h, o);
  return out;
}

function varintSize(n: number): number {
  let size = 1;
  while (n > 0x7f) {
    n >>>= 7;
    size++;
  }
  return size;
}

/** Outcomes answered only once the store's readers see them (the worker marks them: commit-policy.ts). */
function answeredWhenVisible(o: ApplyOutcome): boolean {
  return o.visibleAnswer === true;
}
