/**
 * EtcdServer: the main-thread heart of one member.
 *
 * Write path: a request gets an ID, becomes an InternalRaftRequest in a log entry, is made
 * durable by the LogWriter (WAL worker), committed, applied by the ApplyPipe (apply worker)
 * and answered from the apply outcome. Proposals arriving in one event-loop turn go to the
 * WAL as one append, and the WAL worker groups what arrives during a sync into the next one.
 *
 * Read path: a linearizable read takes the commit index as its read index and waits for
 * the applied index to reach it; a serializable read runs at once.
 *
 * This single-member node stands where the Raft library will: it assigns index and term,
 * and "committed" means "durable on the one voter". The LogWriter / ApplyPipe contracts
 * (src/server/ports.ts) are the ones Raft's Ready loop will drive.
 */
import { etcdserverpb } from '../proto/pb.js';
import { EtcdError, errorByCode } from '../errors/errors.js';
import { EntryType, type Entry } from '../raftpb/types.js';
import type { ApplyOutcome, ApplyPipe, KvReadView, LogWriter, RangePool } from './ports.js';
import type { MemberIdentity } from './identity.js';
import { IndexWaiter, WaitRegistry } from './wait.js';
import { RevisionPredictor, isPlainPut } from './revision-predictor.js';
import { RequestIdGenerator } from './request-ids.js';

export interface ServerLimits {
  /** --max-request-bytes: largest encoded log entry accepted. */
  readonly maxRequestBytes: number;
  /** --max-txn-ops */
  readonly maxTxnOps: number;
  /** --quota-backend-bytes (0 means the default, 2 GiB). */
  readonly quotaBackendBytes: number;
}

export interface LogPosition {
  /** Term of the last entry in the log (0 for an empty log). */
  readonly lastTerm: number;
  /** Highest term seen in the hard state. */
  readonly hardStateTerm: number;
  /** Index of the last entry in the log. */
  readonly lastIndex: number;
}

export interface EtcdServerOptions {
  readonly identity: MemberIdentity;
  readonly limits: ServerLimits;
  /** Version reported by Status and /version (--emulated-etcd-version). */
  readonly version: string;
  readonly log: LogWriter;
  readonly applier: ApplyPipe;
  readonly reader: KvReadView;
  /** Large ranges go here when given; otherwise every range runs on the main thread. */
  readonly readPool?: RangePool;
  /** Where the recovered log ends; the new term starts after it. */
  readonly position: LogPosition;
  /**
   * --snapshot-count: after this many applied entries LMDB is synced and the WAL segments
   * below the synced index are released, so recovery reads only what came after.
   */
  readonly checkpointEntries: number;
}

/** The default backend quota when --quota-backend-bytes is 0 (etcd's DefaultQuotaBytes). */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
/**
 * How long a measured db size is trusted by the quota check: a stat per write would cost a
 * system call on the hot path; a write can overshoot the quota by what 250 ms of writes add.
 */
const DB_SIZE_CACHE_MS = 250;
/**
 * etcd refuses new proposals ("too many requests") while more than this many committed
 * entries wait to be applied: a slow apply must not let memory grow without bound.
 */
export const MAX_GAP_BETWEEN_APPLY_AND_COMMIT = 5000;

type Proposal =
  | { put: etcdserverpb.IPutRequest }
  | { deleteRange: etcdserverpb.IDeleteRangeRequest }
  | { txn: etcdserverpb.ITxnRequest }
  | { compaction: etcdserverpb.ICompactionRequest };


/** Plain counters on the hot path; src/server/metrics.ts reads them when /metrics is scraped. */
export interface ServerCounters {
  /** Entries made durable and committed (etcd_server_proposals_committed_total). */
  proposalsCommitted: number;
  /** Entries applied (etcd_server_proposals_applied_total). */
  proposalsApplied: number;
  /** Proposals that ended in an error (etcd_server_proposals_failed_total). */
  proposalsFailed: number;
  /** Linearizable reads served (etcd_server_read_indexes... analogue). */
  readIndexes: number;
}

/** Stage timings, per batch (src/server/metrics.ts turns them into histograms). */
export interface PipelineObserver {
  /** From handing a batch to the WAL writer to its durability, in seconds. */
  walAppend(seconds: number, entries: number): void;
  /** From handing a batch to the apply worker to its outcomes, in seconds. */
  apply(seconds: number, entries: number): void;
}

export class EtcdServer {
  readonly counters: ServerCounters = { proposalsCommitted: 0, proposalsApplied: 0, proposalsFailed: 0, readIndexes: 0 };
  readonly identity: MemberIdentity;
  readonly limits: ServerLimits;
  readonly version: string;

  readonly #log: LogWriter;
  readonly #applier: ApplyPipe;
  readonly #reader: KvReadView;
  readonly #readPool: RangePool | undefined;
  readonly #waits = new WaitRegistry<ApplyOutcome>();
  readonly #applied: IndexWaiter;

  #term: number;
  #lastIndex: number;
  /** Highest durable (so, on one member, committed) index. */
  #committed: number;
  readonly #requestIds: RequestIdGenerator;
  #pending: Entry[] = [];
  #flushScheduled = false;
  /** Durable batches not yet handed to the apply worker (coalesced per microtask checkpoint). */
  #durable: Entry[][] = [];
  #applyScheduled = false;
  /** Chain of apply calls, so batches reach the apply worker in log order. */
  #applyChain: Promise<void> = Promise.resolve();
  /** The last WAL append handed over; appends become durable in order. */
  #lastAppend: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Set when the pipeline failed: no new requests, but stop() still closes everything. */
  #failed = false;
  #closed = false;
  #dbSize = { bytes: 0, measuredAtMs: -Infinity };
  #fatal: ((err: Error) => void) | undefined;
  readonly #checkpointEntries: number;
  /** Applied index LMDB was last synced at (0: not since start). */
  #checkpointIndex = 0;
  #checkpointing = false;
  #observer: PipelineObserver | undefined;
  /** Set in start(), once the store holds every recovered entry. */
  #predictor: RevisionPredictor | undefined;
  /** Plain puts answered at durability, in log order (see RevisionPredictor). */
  #earlyAnswers: { index: number; revision: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  /** Request ID -> the revision promised to the client, checked when the entry is applied. */
  readonly #promised = new Map<bigint, number>();

  constructor(opts: EtcdServerOptions) {
    this.identity = opts.identity;
    this.#requestIds = new RequestIdGenerator(opts.identity.memberId, Date.now());
    this.limits = opts.limits;
    this.version = opts.version;
    this.#log = opts.log;
    this.#applier = opts.applier;
    this.#reader = opts.reader;
    this.#readPool = opts.readPool;
    // A restart is a new election on a one-member cluster: the term moves past every term seen.
    this.#term = Math.max(opts.position.lastTerm, opts.position.hardStateTerm) + 1;
    this.#lastIndex = opts.position.lastIndex;
    this.#committed = opts.position.lastIndex;
    this.#applied = new IndexWaiter(opts.reader.appliedIndex());
    this.#checkpointEntries = opts.checkpointEntries;
    this.#checkpointIndex = this.#applied.current;
  }

  observe(observer: PipelineObserver): void {
    this.#observer = observer;
  }

  /** Called when the pipeline fails (WAL or apply error): the process must stop serving writes. */
  onFatal(cb: (err: Error) => void): void {
    this.#fatal = cb;
  }

  /**
   * Becomes leader of the one-member cluster: persists the new term and appends the
   * leader's empty entry, and waits until it is applied (so every recovered entry is too).
   */
  async start(): Promise<void> {
    const noop: Entry = { term: this.#term, index: ++this.#lastIndex, type: EntryType.Normal, data: new Uint8Array() };
    await this.#log.append({ term: this.#term, vote: this.identity.memberId, commit: this.#committed }, [noop]);
    this.#committed = noop.index;
    await this.#applyBatch([noop]);
    this.#predictor = new RevisionPredictor(this.#reader.currentRevision());
  }

  get term(): number {
    return this.#term;
  }

  get committedIndex(): number {
    return this.#committed;
  }

  get appliedIndex(): number {
    return this.#applied.current;
  }

  /** Proposals not answered yet (etcd_server_proposals_pending). */
  get proposalsPending(): number {
    return this.#waits.size + this.#earlyAnswers.length;
  }

  header(revision: number): etcdserverpb.IResponseHeader {
    return {
      clusterId: this.identity.clusterId,
      memberId: this.identity.memberId,
      revision,
      raftTerm: this.#term,
    };
  }

  // ---- KV ----

  /** A Range for a client: large ones run in the read pool and come back encoded. */
  async serveRange(req: etcdserverpb.IRangeRequest): Promise<etcdserverpb.IRangeResponse | Uint8Array> {
    if (this.#readPool === undefined || !this.#readPool.wants(req)) return this.range(req);
    await this.#readIndex(req);
    const r = await this.#readPool.range(req);
    return withHeader(r.response, this.header(r.revision));
  }

  /** A Range on the main thread, as a message. */
  async range(req: etcdserverpb.IRangeRequest): Promise<etcdserverpb.IRangeResponse> {
    await this.#readIndex(req);
    const res = this.#reader.range(req);
    // The revision of the snapshot the range read, not a later one.
    res.header = this.header(res.header?.revision ?? this.#reader.currentRevision());
    return res;
  }

  put(req: etcdserverpb.IPutRequest): Promise<Uint8Array> {
    return this.#proposeAndWait({ put: req });
  }

  deleteRange(req: etcdserverpb.IDeleteRangeRequest): Promise<Uint8Array> {
    return this.#proposeAndWait({ deleteRange: req });
  }

  txn(req: etcdserverpb.ITxnRequest): Promise<Uint8Array> {
    return this.#proposeAndWait({ txn: req });
  }

  compact(req: etcdserverpb.ICompactionRequest): Promise<Uint8Array> {
    return this.#proposeAndWait({ compaction: req });
  }

  // ---- Maintenance ----

  status(): etcdserverpb.IStatusResponse {
    const quota = this.limits.quotaBackendBytes > 0 ? this.limits.quotaBackendBytes : DEFAULT_QUOTA_BYTES;
    return {
      header: this.header(this.#reader.currentRevision()),
      version: this.version,
      dbSize: this.#reader.dbSizeBytes(),
      dbSizeInUse: this.#reader.dbSizeInUseBytes(),
      leader: this.identity.memberId,
      raftIndex: this.#committed,
      raftTerm: this.#term,
      raftAppliedIndex: this.#applied.current,
      errors: [],
      isLearner: false,
      storageVersion: this.version.split('.').slice(0, 2).join('.') + '.0',
      dbSizeQuota: quota,
    };
  }

  /**
   * A clean stop: refuse new requests, make what was proposed durable and applied (clients
   * may have been answered at durability), then close the WAL, the apply worker and the pool.
   */
  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopped = true;
    if (!this.#failed) {
      if (this.#flushScheduled) this.#flush();
      await this.#lastAppend;
      // The append's own callback (queued with the one we woke from) records it as durable.
      await Promise.resolve();
      this.#handOverDurable();
      // Checkpoints extend the chain from inside it: wait until it stops growing.
      for (let chain = this.#applyChain; ; chain = this.#applyChain) {
        await chain.catch(() => undefined);
        await Promise.resolve();
        if (chain === this.#applyChain) break;
      }
      // A last checkpoint: LMDB synced, the WAL released up to it; a restart replays nothing.
      if (this.#applied.current > this.#checkpointIndex) {
        try {
          await this.#applier.flush();
          this.#log.releaseTo(this.#applied.current + 1);
        } catch {
          // the WAL still holds everything; recovery replays it
        }
      }
    }
    const err = new EtcdError('ETCD_ERR_SERVER_STOPPED');
    this.#waits.failAll(err);
    this.#applied.failAll(err);
    for (const a of this.#earlyAnswers.splice(0)) a.reject(err);
    // After a failure one of these may reject; every one is still closed.
    const results = await Promise.allSettled([this.#log.close(), this.#applier.close(), this.#readPool?.close(), this.#reader.close()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined && !this.#failed) throw failed.reason;
  }

  // ---- internals ----

  /** Linearizable reads wait until everything committed when they arrived is applied. */
  async #readIndex(req: etcdserverpb.IRangeRequest): Promise<void> {
    this.#checkRunning();
    if (req.serializable) return;
    this.counters.readIndexes++;
    const wait = this.#applied.wait(this.#committed);
    if (wait !== undefined) await wait;
  }

  #checkRunning(): void {
    if (this.#stopped) throw new EtcdError('ETCD_ERR_SERVER_STOPPED');
  }

  /** etcd's backend quota: a request that adds data is refused once the store would outgrow it. */
  #checkQuota(p: Proposal, requestBytes: number): void {
    if ('compaction' in p || 'deleteRange' in p) return; // these never grow the store
    const quota = this.limits.quotaBackendBytes > 0 ? this.limits.quotaBackendBytes : DEFAULT_QUOTA_BYTES;
    const now = Date.now();
    if (now - this.#dbSize.measuredAtMs > DB_SIZE_CACHE_MS) {
      // Bytes in use, not the file size: LMDB reuses freed pages, so deletes and compaction
      // bring a store back under its quota (the file itself never shrinks).
      this.#dbSize = { bytes: this.#reader.dbSizeInUseBytes(), measuredAtMs: now };
    }
    if (this.#dbSize.bytes + requestBytes > quota) throw new EtcdError('ETCD_ERR_MVCC_NO_SPACE');
  }

  async #proposeAndWait(p: Proposal): Promise<Uint8Array> {
    this.#checkRunning();
    if (this.#lastIndex - this.#applied.current > MAX_GAP_BETWEEN_APPLY_AND_COMMIT) {
      throw new EtcdError('ETCD_ERR_SERVER_TOO_MANY_REQUESTS');
    }
    const id = this.#requestIds.next();
    const data = etcdserverpb.InternalRaftRequest.encode({ header: { ID: id }, ...p }).finish();
    if (data.length > this.limits.maxRequestBytes) throw new EtcdError('ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
    this.#checkQuota(p, data.length);
    const index = ++this.#lastIndex;
    let predicted: number | undefined;
    if ('put' in p && isPlainPut(p.put)) predicted = this.#predictor?.plainPut();
    else this.#predictor?.other(index);
    this.#pending.push({ term: this.#term, index, type: EntryType.Normal, data });
    if (!this.#flushScheduled) {
      // One WAL append per event-loop turn: every request read from every socket in this
      // turn goes in one frame with one wake-up of the WAL worker (a wake costs tens of µs).
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    if (predicted !== undefined) {
      // Answered once durable, with the revision it is certain to get (RevisionPredictor).
      this.#promised.set(id, predicted);
      return new Promise<Uint8Array>((resolve, reject) => this.#earlyAnswers.push({ index, revision: predicted, resolve, reject }));
    }
    const outcome = await this.#waits.register(id);
    if (outcome.errorCode !== undefined) {
      this.counters.proposalsFailed++;
      throw errorByCode(outcome.errorCode);
    }
    return withHeader(outcome.response ?? new Uint8Array(), this.header(outcome.revision));
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    const last = batch[batch.length - 1]!.index;
    const startedMs = performance.now();
    const appended = this.#log.append({ term: this.#term, vote: this.identity.memberId, commit: last }, batch);
    this.#lastAppend = appended.catch(() => undefined);
    appended.then(
      () => {
        this.#committed = last;
        this.counters.proposalsCommitted += batch.length;
        this.#observer?.walAppend((performance.now() - startedMs) / 1000, batch.length);
        let n = 0;
        while (n < this.#earlyAnswers.length && this.#earlyAnswers[n]!.index <= last) {
          const a = this.#earlyAnswers[n++]!;
          a.resolve(withHeader(EMPTY, this.header(a.revision)));
        }
        if (n > 0) this.#earlyAnswers.splice(0, n);
        this.#durable.push(batch);
        if (!this.#applyScheduled) {
          // Acks of several appends resolve together: hand them over as one batch, after
          // this turn's answers (plain puts answered at durability) have been written.
          this.#applyScheduled = true;
          setImmediate(() => this.#handOverDurable());
        }
      },
      (err: unknown) => this.#fail(err),
    );
  }

  /** Durable batches not yet handed to the apply worker go now, as one batch. */
  #handOverDurable(): void {
    this.#applyScheduled = false;
    const ready = this.#durable;
    if (ready.length === 0) return;
    this.#durable = [];
    void this.#applyBatch(ready.length === 1 ? ready[0]! : ready.flat());
  }

  #applyBatch(batch: readonly Entry[]): Promise<void> {
    const next = this.#applyChain.then(async () => {
      const startedMs = performance.now();
      const outcomes = await this.#applier.apply(batch);
      this.#observer?.apply((performance.now() - startedMs) / 1000, batch.length);
      const lastProposed = this.#lastIndex;
      for (const o of outcomes) {
        this.#predictor?.applied(o.index, o.revision, lastProposed);
        if (o.requestId === 0n) continue;
        const promised = this.#promised.get(o.requestId);
        if (promised === undefined) {
          this.#waits.trigger(o.requestId, o);
          continue;
        }
        this.#promised.delete(o.requestId);
        if (o.errorCode !== undefined || o.revision !== promised) {
          // A client was told this put succeeded at `promised`: the store must agree.
          throw new Error(`entry ${o.index}: a plain put answered with revision ${promised} applied as ${o.errorCode ?? `revision ${o.revision}`}`);
        }
      }
      this.#applied.advance(batch[batch.length - 1]!.index);
      this.counters.proposalsApplied += batch.length;
      this.#maybeCheckpoint();
    });
    this.#applyChain = next.catch((err: unknown) => this.#fail(err));
    return next;
  }

  /**
   * Every `checkpointEntries` applied entries: sync LMDB (after every apply before it, as it
   * runs in the apply chain), then let the WAL drop the segments that only hold entries at
   * or below the synced index. LMDB's applied index is the recovery point, so nothing that
   * recovery needs is released.
   */
  #maybeCheckpoint(): void {
    if (this.#checkpointing || this.#applied.current - this.#checkpointIndex < this.#checkpointEntries) return;
    this.#checkpointing = true;
    const index = this.#applied.current;
    const next = this.#applyChain.then(async () => {
      await this.#applier.flush();
      this.#log.releaseTo(index + 1);
      this.#checkpointIndex = index;
      this.#checkpointing = false;
    });
    this.#applyChain = next.catch((err: unknown) => this.#fail(err));
  }

  #fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.#failed || this.#closed) return;
    this.#failed = true;
    this.#stopped = true;
    this.#waits.failAll(new EtcdError('ETCD_ERR_SERVER_STOPPED'));
    this.#applied.failAll(new EtcdError('ETCD_ERR_SERVER_STOPPED'));
    for (const a of this.#earlyAnswers.splice(0)) a.reject(new EtcdError('ETCD_ERR_SERVER_STOPPED'));
    this.#fatal?.(e);
  }
}

const EMPTY = new Uint8Array();

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
