/**
 * The lessor (docs/leases.md): the expiry queue of the leader. It never writes LMDB and never
 * deletes a key; it learns grants and revokes from the applied-batch stream (lease effects) and
 * proposes a `lease_revoke` entry for each lease whose deadline passed.
 *
 * Invariants:
 * - only the leader has deadlines (`#live` empty otherwise) and proposes revokes;
 * - promotion (becoming leader, including the single member at start) gives every stored lease
 *   `now + remaining` (its checkpointed remaining TTL, else its full TTL): leader changes and
 *   restarts only ever extend a lease, never shorten it;
 * - at most `revokeRate` revokes are proposed per second (a token bucket), and a lease whose
 *   revoke is in flight is not proposed again before `retryMs`.
 */
import type { LeaseRecord } from '../apply/lease-records.js';
import type { LeaseId } from '../util/pure/id64.js';
import type { AppliedBatch } from './apply-loop.js';
import { LeaseHeap } from './lease-heap.js';

/** etcd's leaseRevokeRate: most expiry revokes proposed per second. */
export const LEASE_REVOKE_RATE = 1000;
/** etcd's expiredLeaseRetryInterval: a revoke in flight is proposed again after this long. */
export const EXPIRED_LEASE_RETRY_MS = 3000;
/** The expiry timer never sleeps longer than this (so a clock step or a missed wake-up costs little)... */
const MAX_TIMER_MS = 500;
/** ...nor shorter than this (expiry precision; keeps a storm of deadlines from spinning the loop). */
const MIN_TIMER_MS = 50;
/** etcd's default lease checkpoint interval (5 min), and most checkpoints per entry (maxLeaseCheckpointBatchSize). */
export const LEASE_CHECKPOINT_INTERVAL_MS = 5 * 60 * 1000;
export const MAX_CHECKPOINT_BATCH = 1000;
/** etcd's MaxLeaseTTL: a larger TTL is refused (`etcdserver: too large lease TTL`). */
export const MAX_LEASE_TTL = 9_000_000_000;

/** The minimum TTL (s) etcd derives from the election timeout: ceil(floor(1.5 x election ticks) x tick). */
export function minLeaseTtl(electionTimeoutMs: number, heartbeatMs: number): number {
  const ticks = Math.round(electionTimeoutMs / heartbeatMs);
  return Math.ceil((Math.floor((3 * ticks) / 2) * heartbeatMs) / 1000);
}

/** The store, read-only (LMDB read transactions on the main thread). */
export interface LeaseStore {
  leaseRecords(): LeaseRecord[];
  leaseRecord(id: LeaseId): LeaseRecord | undefined;
  keysOfLease(id: LeaseId): Buffer[];
}

export interface LessorOptions {
  readonly store: LeaseStore;
  /** Proposes a `lease_revoke` entry; resolves when applied (rejections are retried later). */
  readonly revoke: (id: LeaseId) => Promise<unknown>;
  /** Monotonic milliseconds (performance.now()); a test passes its own clock. */
  readonly now?: () => number;
  /** Arm the expiry timer (default: real, unref'd timers); tests call `expire()` themselves. */
  readonly timers?: boolean;
  readonly revokeRate?: number;
  readonly retryMs?: number;
  /**
   * `--experimental-enable-lease-checkpoint`: proposes a `lease_checkpoint` entry with the
   * remaining TTLs of the leases (at most MAX_CHECKPOINT_BATCH per entry) every `checkpointIntervalMs`.
   */
  readonly checkpoint?: (checkpoints: { ID: LeaseId; remaining_TTL: number }[]) => Promise<unknown>;
  readonly checkpointIntervalMs?: number;
}

interface Live {
  /** Granted TTL, s. */
  readonly ttl: number;
  /** Monotonic ms. */
  deadline: number;
  /** A remaining TTL is stored for it (a keep-alive then proposes a checkpoint of 0, as etcd). */
  checkpointed: boolean;
}

export interface TimeToLive {
  readonly ttl: number;
  readonly grantedTtl: number;
  readonly keys: Buffer[];
}

export class Lessor {
  readonly #store: LeaseStore;
  readonly #revoke: (id: LeaseId) => Promise<unknown>;
  readonly #now: () => number;
  readonly #timers: boolean;
  readonly #rate: number;
  readonly #retryMs: number;
  readonly #live = new Map<LeaseId, Live>();
  readonly #heap = new LeaseHeap();
  /** Lease -> when its revoke was proposed (monotonic ms). */
  readonly #revoking = new Map<LeaseId, number>();
  #leader = false;
  #tokens: number;
  #tokensAt: number;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #stopped = false;
  readonly #checkpoint: LessorOptions['checkpoint'];
  readonly #checkpointMs: number;
  #checkpointTimer: NodeJS.Timeout | undefined;
  /** Revokes proposed for expiry (a counter for /metrics and tests). */
  expiredProposed = 0;

  constructor(opts: LessorOptions) {
    this.#store = opts.store;
    this.#revoke = opts.revoke;
    this.#now = opts.now ?? (() => performance.now());
    this.#timers = opts.timers ?? true;
    this.#rate = opts.revokeRate ?? LEASE_REVOKE_RATE;
    this.#retryMs = opts.retryMs ?? EXPIRED_LEASE_RETRY_MS;
    this.#tokens = this.#rate;
    this.#tokensAt = this.#now();
    this.#checkpoint = opts.checkpoint;
    this.#checkpointMs = opts.checkpointIntervalMs ?? LEASE_CHECKPOINT_INTERVAL_MS;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Leases with a deadline (on the leader). */
  get size(): number {
    return this.#live.size;
  }

  /** Leadership changed: promote (every stored lease restarts from its remaining TTL) or demote. */
  setLeader(isLeader: boolean): void {
    if (this.#stopped) return;
    this.#live.clear();
    this.#heap.clear();
    this.#revoking.clear();
    this.#leader = isLeader;
    if (!isLeader) {
      this.#disarm();
      if (this.#checkpointTimer !== undefined) clearInterval(this.#checkpointTimer);
      this.#checkpointTimer = undefined;
      return;
    }
    const now = this.#now();
    for (const r of this.#store.leaseRecords()) {
      const remaining = r.remainingTtl > 0 ? r.remainingTtl : r.ttl;
      this.#set(r.id, r.ttl, now + remaining * 1000);
      if (r.remainingTtl > 0) this.#live.get(r.id)!.checkpointed = true;
    }
    this.#arm();
    if (this.#checkpoint !== undefined && this.#timers && this.#checkpointTimer === undefined) {
      this.#checkpointTimer = setInterval(() => this.checkpointNow(), this.#checkpointMs);
      this.#checkpointTimer.unref();
    }
  }

  /**
   * Proposes the remaining TTL of every lease that has used some of its TTL (leader, with
   * checkpoints on). Returns how many leases were checkpointed. The interval timer calls it.
   */
  checkpointNow(): number {
    if (!this.#leader || this.#stopped || this.#checkpoint === undefined) return 0;
    const now = this.#now();
    let batch: { ID: LeaseId; remaining_TTL: number }[] = [];
    let n = 0;
    for (const [id, l] of this.#live) {
      if (this.#revoking.has(id)) continue;
      const remaining = Math.ceil((l.deadline - now) / 1000);
      if (remaining <= 0 || remaining >= l.ttl) continue;
      batch.push({ ID: id, remaining_TTL: remaining });
      l.checkpointed = true;
      n++;
      if (batch.length === MAX_CHECKPOINT_BATCH) {
        this.#checkpoint(batch).catch(() => undefined);
        batch = [];
      }
    }
    if (batch.length > 0) this.#checkpoint(batch).catch(() => undefined);
    return n;
  }

  /** The applied-batch stream: grants get a deadline, revokes drop theirs. */
  onApplied(batch: AppliedBatch): void {
    if (!this.#leader) return;
    let changed = false;
    const now = this.#now();
    for (const o of batch.outcomes) {
      const l = o.lease;
      if (l === undefined) continue;
      changed = true;
      if (l.ttl > 0) {
        this.#set(l.id, l.ttl, now + l.ttl * 1000);
      } else {
        this.#live.delete(l.id);
        this.#revoking.delete(l.id);
      }
    }
    if (changed) this.#arm();
  }

  /** Keep-alive on the leader: the lease's TTL (s), or 0 if it does not exist. */
  keepAlive(id: LeaseId): number {
    const l = this.#live.get(id);
    if (l === undefined || this.#revoking.has(id)) return 0; // expired: its revoke is on its way
    this.#set(id, l.ttl, this.#now() + l.ttl * 1000);
    if (l.checkpointed && this.#checkpoint !== undefined) {
      // The stored remaining TTL no longer holds: clear it, so a promotion uses the full TTL.
      l.checkpointed = false;
      this.#checkpoint([{ ID: id, remaining_TTL: 0 }]).catch(() => undefined);
    }
    return l.ttl;
  }

  /** Remaining and granted TTL (s), with the attached keys if asked; undefined: no such lease. */
  timeToLive(id: LeaseId, withKeys: boolean): TimeToLive | undefined {
    const l = this.#live.get(id);
    if (l === undefined) return undefined;
    const remaining = Math.max(0, Math.floor((l.deadline - this.#now()) / 1000));
    return { ttl: remaining, grantedTtl: l.ttl, keys: withKeys ? this.#store.keysOfLease(id) : [] };
  }

  /** IDs of every live lease. */
  leases(): LeaseId[] {
    return [...this.#live.keys()];
  }

  /**
   * Proposes a revoke for every lease past its deadline, within the rate. Returns how many
   * were proposed. The timer calls it; tests with their own clock call it directly.
   */
  expire(): number {
    if (!this.#leader || this.#stopped) return 0;
    const now = this.#now();
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#tokensAt) / 1000) * this.#rate);
    this.#tokensAt = now;
    let n = 0;
    const retry: { deadline: number; id: bigint }[] = [];
    for (;;) {
      const top = this.#heap.peek();
      if (top === undefined || top.deadline > now) break;
      if (this.#tokens < 1) break;
      this.#heap.pop();
      const l = this.#live.get(top.id);
      if (l === undefined || l.deadline !== top.deadline) continue; // stale pair
      const since = this.#revoking.get(top.id);
      if (since !== undefined && now - since < this.#retryMs) {
        retry.push({ deadline: since + this.#retryMs, id: top.id });
        continue;
      }
      this.#revoking.set(top.id, now);
      this.#tokens -= 1;
      n++;
      // Looked at again after retryMs if the revoke never applies (a lost proposal, a stopped server).
      l.deadline = now + this.#retryMs;
      this.#heap.push({ deadline: l.deadline, id: top.id });
      this.#revoke(top.id).catch(() => undefined);
    }
    for (const r of retry) {
      const l = this.#live.get(r.id);
      if (l !== undefined) {
        l.deadline = r.deadline;
        this.#heap.push(r);
      }
    }
    this.expiredProposed += n;
    return n;
  }

  stop(): void {
    this.#stopped = true;
    this.#disarm();
    if (this.#checkpointTimer !== undefined) clearInterval(this.#checkpointTimer);
    this.#checkpointTimer = undefined;
  }

  #set(id: LeaseId, ttl: number, deadline: number): void {
    const l = this.#live.get(id);
    if (l === undefined) this.#live.set(id, { ttl, deadline, checkpointed: false });
    else l.deadline = deadline;
    this.#heap.push({ deadline, id });
    if (this.#heap.size > 64 && this.#heap.size > 4 * this.#live.size) {
      this.#heap.compact((it) => this.#live.get(it.id)?.deadline === it.deadline);
    }
  }

  #arm(): void {
    if (!this.#timers || this.#stopped || !this.#leader) return;
    const top = this.#heap.peek();
    if (top === undefined) return this.#disarm();
    const now = this.#now();
    const wait = Math.min(MAX_TIMER_MS, Math.max(MIN_TIMER_MS, top.deadline - now));
    const at = now + wait;
    if (this.#timer !== undefined && this.#timerAt <= at) return; // an earlier wake-up is set
    this.#disarm();
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.expire();
      this.#arm();
    }, wait);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}
