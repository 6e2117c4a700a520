/**
 * The Applier: applies committed raft entries to the MVCC store (the apply worker's core).
 *
 * Invariants:
 * - one LMDB write transaction per batch; `applied_index` is written in it with the data;
 * - entries at or below the stored applied index are skipped (replay is idempotent); the
 *   rest must be contiguous (index = applied + 1);
 * - a request that fails with an EtcdError (a compacted revision, a txn op past its limits)
 *   writes nothing and is answered with that error; later entries still apply: the outcome is
 *   part of the deterministic semantics every member computes alike;
 * - anything else is fatal for the batch, before its transaction commits: an entry that cannot
 *   be decoded, an exception that is not an EtcdError (a bug, a full disk), and an entry whose
 *   outcome differs from the revision a client was already promised (see `applyEntries`). The
 *   applier throws ApplyFatalError, LMDB aborts the transaction, and the member stops: an
 *   entry is never skipped, and an answer is never taken back.
 */
import { EtcdError } from '../errors/errors.js';
import { etcdserverpb } from '../proto/pb.js';
import type { LmdbBackend } from '../backend/backend.js';
import { readMeta, writeApplied, type MetaState } from '../backend/meta.js';
import { EntryType, type Entry } from '../raftpb/types.js';
import { decodeConfChangeV2 } from '../raft/codec.js';
import { META_MEMBERS } from '../backend/schema.js';
import {
  EMPTY_MEMBERSHIP, applyMemberChange, decodeMemberChange, decodeMembership, encodeMembership, encodeMembershipOutcome,
  type MembershipState,
} from './membership.js';
import { Compactor } from '../mvcc/compaction.js';
import { WriteTxn } from '../mvcc/kvstore-txn.js';
import { rangeRequest } from '../mvcc/range.js';
import { assert, int } from '../mvcc/revision.js';
import {
  ApplyFatalError, ERR_APPLY_UNSUPPORTED,
  type ApplierOptions, type ApplyKind, type ApplyResult, type LeaseEffect, type LeaseLookup, type PromisedRevisions,
} from './interface.js';
import { applyLeaseCheckpoint, applyLeaseGrant, applyLeaseRevoke, backendLeaseLookup } from './lease-apply.js';
import { checkPut, checkTxn, compareToPath, execDeleteRange, execPut, execTxn } from './txn.js';
import { AlarmGate } from './alarm-gate.js';
import { AuthApply } from './auth-apply.js';

/**
 * Entry bytes per LMDB write transaction. A batch above it is committed in several
 * transactions (each a consistent prefix with its own applied index), so a burst of large
 * values cannot hold gigabytes of dirty pages in memory. Raise it if the apply batches/s
 * metric shows many split batches with small values; lower it if the apply worker's RSS spikes.
 */
export const APPLY_TXN_BYTES_MAX = 64 * 1024 * 1024;

type Outcome = {
  kind: ApplyKind; response: Uint8Array; compactPhysical?: boolean; tw?: WriteTxn; lease?: LeaseEffect; alarmsChanged?: boolean;
  authChanged?: boolean; authToken?: boolean;
};

export class Applier {
  readonly backend: LmdbBackend;
  readonly compactor: Compactor;
  private readonly leases: LeaseLookup;
  /** The active alarms and the requests they refuse (etcd's capped and corrupt appliers). */
  readonly alarms: AlarmGate;
  /** The auth store and the permission checks of the log's writes (etcd's auth applier). */
  readonly auth: AuthApply;
  /** Mirror of the meta dbi as of the last commit (the applier is the only writer). */
  private readonly state: MetaState;
  /** The write txn of the entry being applied (to tell whether a failure wrote anything). */
  private txn: WriteTxn | undefined;
  /** Cluster membership as of the last commit (META_MEMBERS). */
  private membership: MembershipState;

  constructor(opts: ApplierOptions) {
    assert(opts.backend.writable, 'Applier needs the writable backend');
    this.backend = opts.backend;
    this.leases = opts.leases ?? backendLeaseLookup(this.backend);
    this.state = readMeta(this.backend.meta);
    this.compactor = new Compactor(this.backend, this.state, opts.onCompactionFinished);
    this.alarms = new AlarmGate(this.backend.meta);
    this.auth = new AuthApply(this.backend, opts.bcryptCost);
    const stored = this.backend.meta.get(META_MEMBERS);
    this.membership = stored === undefined ? EMPTY_MEMBERSHIP : decodeMembership(stored);
  }

  /** The membership as of the last applied entry (undefined: none stored, an older data dir or one member). */
  members(): MembershipState | undefined {
    return this.membership === EMPTY_MEMBERSHIP ? undefined : this.membership;
  }

  appliedIndex(): number { return this.state.appliedIndex; }
  consistentTerm(): number { return this.state.consistentTerm; }
  currentRevision(): number { return this.state.currentRev; }
  compactedRevision(): number { return this.state.compactedRev; }
  /** Last compaction whose physical deletion finished (answer physical=true compactions at or below it). */
  finishedCompactRevision(): number { return this.state.finishedCompactRev; }

  /**
   * Apply a batch in one write transaction. Returns one result per entry not skipped, in order.
   *
   * An entry that fails before writing anything (every validation error) just gets an error
   * result. An entry that fails after it wrote something (a txn whose op fails mid-way, or a
   * bug) aborts the whole LMDB transaction; the batch is then re-run with that entry
   * answered by its error, so it leaves nothing behind. Entries are deterministic, so the
   * re-run gives the same results for the others. (LMDB child transactions would do the
   * same per entry, but merging a child into a large parent costs O(dirty pages) each.)
   */
  applyEntries(entries: readonly Entry[], promised: PromisedRevisions = NO_PROMISES): ApplyResult[] {
    // Bound the dirty pages one LMDB transaction holds in memory: split big batches.
    let bytes = 0;
    let from = 0;
    const results: ApplyResult[] = [];
    for (let i = 0; i < entries.length; i++) {
      bytes += entries[i]!.data.length;
      if (bytes >= APPLY_TXN_BYTES_MAX && i + 1 < entries.length) {
        results.push(...this.applyInOneTxn(entries.slice(from, i + 1), promised));
        from = i + 1;
        bytes = 0;
      }
    }
    results.push(...this.applyInOneTxn(from === 0 ? entries : entries.slice(from), promised));
    return results;
  }

  /**
   * Applies `entries` inside the write transaction the caller holds open (the apply worker's
   * deferred commits: docs/storage-lmdb.md), with no transaction of its own: a child
   * transaction per batch would cost LMDB a 2 MiB dirty-list allocation each. Entries in
   * `failed` are answered by their recorded result. An entry that fails after it wrote
   * something throws RerunWithout: the caller must then abort its transaction, make a new
   * Applier from the store, and apply everything of that transaction again with the entry in
   * `failed` (entries are deterministic, so the others give the same results).
   */
  applyInOpenTxn(entries: readonly Entry[], promised: PromisedRevisions = NO_PROMISES, failed: ReadonlyMap<number, ApplyResult> = NO_FAILURES): ApplyResult[] {
    const results: ApplyResult[] = [];
    this.applyBody(entries, promised, failed, results);
    return results;
  }

  private applyBody(entries: readonly Entry[], promised: PromisedRevisions, failed: ReadonlyMap<number, ApplyResult>, results: ApplyResult[]): void {
    const s = this.state;
    let advanced = false;
    for (const e of entries) {
      if (e.index <= s.appliedIndex) continue;
      assert(e.index === s.appliedIndex + 1, `apply: gap: entry ${e.index} after applied ${s.appliedIndex}`);
      const r = failed.get(e.index) ?? this.applyOne(e);
      const promisedRev = promised.get(e.index);
      if (promisedRev !== undefined && (r.errorCode !== undefined || r.revision !== promisedRev)) {
        // A client holds a success at `promisedRev`: committing anything else would take it back.
        throw new ApplyFatalError(
          `entry ${e.index}: answered with revision ${promisedRev} but applies as ${r.errorCode ?? `revision ${r.revision}`}`,
        );
      }
      results.push(r);
      s.appliedIndex = e.index;
      s.consistentTerm = e.term;
      advanced = true;
    }
    if (advanced) writeApplied(this.backend.meta, s.appliedIndex, s.consistentTerm, s.currentRev);
  }

  private applyInOneTxn(entries: readonly Entry[], promised: PromisedRevisions): ApplyResult[] {
    const failed = new Map<number, ApplyResult>();
    for (;;) {
      const results: ApplyResult[] = [];
      if (entries.length === 0) return results;
      const saved = { ...this.state };
      const savedMembership = this.membership;
      try {
        this.backend.write(() => this.applyBody(entries, promised, failed, results));
        return results;
      } catch (err) {
        Object.assign(this.state, saved);
        this.alarms.reload();
        this.auth.reload();
        this.membership = savedMembership;
        if (!(err instanceof RerunWithout)) throw err;
        assert(!failed.has(err.result.index), 'apply: an entry failed twice');
        failed.set(err.result.index, err.result);
      }
    }
  }

  /** One slice of physical compaction (call between batches). Returns whether work is left. */
  compactStep(maxEntries?: number): boolean {
    return this.compactor.step(maxEntries);
  }

  private applyOne(e: Entry): ApplyResult {
    const base = { index: e.index, events: [] };
    if (e.type === EntryType.ConfChangeV2) return this.applyMembership(e);
    if (e.type !== EntryType.Normal || e.data.length === 0) {
      return { ...base, requestId: 0n, revision: this.state.currentRev, kind: 'noop' };
    }
    let req: etcdserverpb.InternalRaftRequest;
    try {
      req = etcdserverpb.InternalRaftRequest.decode(e.data);
    } catch (err) {
      throw new ApplyFatalError(`entry ${e.index}: not an InternalRaftRequest (${err instanceof Error ? err.message : String(err)})`);
    }
    const requestId = req.header?.ID || req.ID;
    const saved = { ...this.state };
    this.txn = undefined;
    try {
      const out = this.dispatch(req, e.index);
      const r: ApplyResult = {
        ...base, requestId, revision: this.state.currentRev, kind: out.kind, response: out.response,
        events: out.tw?.events ?? [],
      };
      if (out.lease !== undefined) return { ...r, lease: out.lease };
      if (out.alarmsChanged) return { ...r, alarmsChanged: true };
      if (out.authChanged || out.authToken) return { ...r, authChanged: out.authChanged === true, authToken: out.authToken === true };
      return out.compactPhysical ? { ...r, compactPhysical: true } : r;
    } catch (err) {
      const tw = this.txn as WriteTxn | undefined;
      const wrote = (tw?.changes ?? 0) > 0 || !sameState(saved, this.state);
      Object.assign(this.state, saved);
      this.alarms.reload();
      let result: ApplyResult;
      if (err instanceof UnsupportedRequest) {
        result = { ...base, requestId, revision: saved.currentRev, kind: 'unsupported', errorCode: ERR_APPLY_UNSUPPORTED };
      } else if (err instanceof EtcdError) {
        result = { ...base, requestId, revision: saved.currentRev, kind: kindOf(req), errorCode: err.code };
      } else {
        // Unknown state, and no answer a client could rely on: stop before the batch commits.
        const cause = err instanceof Error ? (err.stack ?? err.message) : String(err);
        throw new ApplyFatalError(`entry ${e.index}: applying ${kindOf(req)} failed: ${cause}`, { cause: err });
      }
      if (wrote) throw new RerunWithout(result);
      return result;
    } finally {
      this.txn = undefined;
    }
  }

  /**
   * A membership entry (src/apply/membership.ts): the change is checked against the stored
   * membership and, when accepted, stored in this batch's transaction with the applied index.
   * An entry Raft made itself (no context: leaving a joint configuration) is a no-op. A context
   * that does not decode is ours and broken: fatal, as any undecodable entry.
   */
  private applyMembership(e: Entry): ApplyResult {
    const base = { index: e.index, events: [], revision: this.state.currentRev };
    let cc;
    let req;
    try {
      cc = decodeConfChangeV2(e.data);
      if (cc.context.length === 0) return { ...base, requestId: 0n, kind: 'noop' };
      req = decodeMemberChange(cc.context);
    } catch (err) {
      throw new ApplyFatalError(`entry ${e.index}: not a membership change (${err instanceof Error ? err.message : String(err)})`);
    }
    const verdict = applyMemberChange(this.membership, req.change);
    if (verdict.error === undefined) {
      this.membership = verdict.state;
      this.backend.meta.putSync(META_MEMBERS, Buffer.from(encodeMembership(verdict.state)));
    }
    const response = encodeMembershipOutcome({ state: verdict.state, change: req.change, raft: verdict.raft });
    return { ...base, requestId: req.requestId, kind: 'membership', response, ...(verdict.error !== undefined ? { errorCode: verdict.error } : {}) };
  }

  private newTxn(): WriteTxn {
    this.txn = new WriteTxn(this.backend, this.state.currentRev, this.state.compactedRev);
    return this.txn;
  }

  private endTxn(tw: WriteTxn): void {
    const rev = tw.endRev();
    assert(rev === this.state.currentRev || (rev === this.state.currentRev + 1 && tw.changes > 0), 'txn end revision');
    this.state.currentRev = rev;
  }

  private dispatch(req: etcdserverpb.InternalRaftRequest, index: number): Outcome {
    if (req.alarm) {
      const { response, changed } = this.alarms.apply(req.alarm);
      return { kind: 'alarm', response: etcdserverpb.AlarmResponse.encode(response).finish(), alarmsChanged: changed };
    }
    this.alarms.check(req);
    // One boolean while auth is disabled (docs/auth.md).
    if (this.auth.store.enabled) this.auth.checkWrite(req, (id) => this.newTxn().keysOfLease(BigInt(String(id))));
    if (req.put) {
      const tw = this.newTxn();
      checkPut(tw, this.leases, req.put, true);
      const resp = execPut(tw, req.put);
      this.endTxn(tw);
      return { kind: 'put', response: etcdserverpb.PutResponse.encode(resp).finish(), tw };
    }
    if (req.deleteRange) {
      const tw = this.newTxn();
      const resp = execDeleteRange(tw, req.deleteRange);
      this.endTxn(tw);
      return { kind: 'deleteRange', response: etcdserverpb.DeleteRangeResponse.encode(resp).finish(), tw };
    }
    if (req.txn) {
      const tw = this.newTxn();
      const path = compareToPath(tw, req.txn);
      const used = checkTxn(tw, this.leases, req.txn, path);
      assert(used === path.length, 'txn path length');
      const resp = execTxn(tw, req.txn, path, { pos: 0 });
      this.endTxn(tw);
      return { kind: 'txn', response: etcdserverpb.TxnResponse.encode(resp).finish(), tw };
    }
    if (req.compaction) {
      const rev = int(req.compaction.revision);
      if (rev <= this.state.compactedRev) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
      if (rev > this.state.currentRev) throw new EtcdError('ETCD_ERR_MVCC_FUTURE_REV');
      this.compactor.schedule(rev);
      this.state.compactedRev = rev;
      this.state.scheduledCompactRev = rev;
      const resp = etcdserverpb.CompactionResponse.encode({ header: { revision: this.state.currentRev } }).finish();
      return { kind: 'compaction', response: resp, compactPhysical: req.compaction.physical === true };
    }
    if (req.range) {
      const resp = rangeRequest(this.newTxn(), req.range);
      return { kind: 'range', response: etcdserverpb.RangeResponse.encode(resp).finish() };
    }
    if (req.leaseGrant) {
      this.txn = undefined;
      const out = applyLeaseGrant(this.backend, req.leaseGrant, this.state.currentRev);
      return { kind: 'leaseGrant', ...out };
    }
    if (req.leaseRevoke) {
      const tw = this.newTxn();
      const out = applyLeaseRevoke(this.backend, tw, req.leaseRevoke);
      this.endTxn(tw);
      return { kind: 'leaseRevoke', ...out, tw };
    }
    if (req.leaseCheckpoint) {
      return { kind: 'leaseCheckpoint', ...applyLeaseCheckpoint(this.backend, req.leaseCheckpoint, this.state.currentRev) };
    }
    this.txn = undefined;
    const auth = this.auth.apply(req, index);
    if (auth !== undefined) return { kind: 'auth', ...auth };
    throw new UnsupportedRequest();
  }
}

class UnsupportedRequest extends Error {}

const NO_PROMISES: PromisedRevisions = new Map();

const NO_FAILURES: ReadonlyMap<number, ApplyResult> = new Map();

/** Abort the batch's LMDB transaction and re-run it with this entry answered by `result`. */
export class RerunWithout extends Error {
  constructor(readonly result: ApplyResult) {
    super(`apply: entry ${result.index} failed after writing; re-running the batch without it`);
  }
}

function sameState(a: MetaState, b: MetaState): boolean {
  return a.currentRev === b.currentRev && a.compactedRev === b.compactedRev && a.scheduledCompactRev === b.scheduledCompactRev;
}

function kindOf(req: etcdserverpb.InternalRaftRequest): ApplyKind {
  if (req.put) return 'put';
  if (req.deleteRange) return 'deleteRange';
  if (req.txn) return 'txn';
  if (req.compaction) return 'compaction';
  if (req.range) return 'range';
  if (req.leaseGrant) return 'leaseGrant';
  if (req.leaseRevoke) return 'leaseRevoke';
  if (req.leaseCheckpoint) return 'leaseCheckpoint';
  if (req.alarm) return 'alarm';
  if (req.authenticate || req.authEnable || req.authDisable || req.authStatus || req.authUserAdd || req.authUserDelete ||
    req.authUserGet || req.authUserList || req.authUserChangePassword || req.authUserGrantRole || req.authUserRevokeRole ||
    req.authRoleAdd || req.authRoleDelete || req.authRoleGet || req.authRoleList || req.authRoleGrantPermission ||
    req.authRoleRevokePermission) return 'auth';
  return 'unsupported';
}
