/**
 * The lease API of one member (docs/leases.md): grants and revokes are log entries proposed
 * through EtcdServer and answered at apply; keep-alive, TimeToLive and Leases are the leader
 * lessor's. Implements the RPC layer's `LeaseApi` structurally.
 */
import { EtcdError } from '../errors/errors.js';
import type { etcdserverpb } from '../proto/pb.js';
import type { LeaseId } from '../util/pure/id64.js';
import type { AppliedBatch } from './apply-loop.js';
import type { LeaseProposal } from './etcd-server.js';
import { Lessor, MAX_LEASE_TTL, type LeaseStore } from './lessor.js';

/**
 * How a follower reaches the leader's lessor (the cluster issue implements it over the peer
 * transport; etcd forwards keep-alives over the leader's client URL). Without one, a follower
 * answers `etcdserver: not leader`.
 */
export interface LeaseForwarder {
  keepAlive(id: LeaseId): Promise<etcdserverpb.ILeaseKeepAliveResponse>;
  timeToLive(req: etcdserverpb.ILeaseTimeToLiveRequest): Promise<etcdserverpb.ILeaseTimeToLiveResponse>;
  leases(): Promise<etcdserverpb.ILeaseLeasesResponse>;
}

/** What the lease API needs of EtcdServer. */
export interface LeaseHost {
  /** `asMember`: proposed by the member itself (lease expiry), as root while auth is enabled (etcd's WithRoot). */
  proposeLease(p: LeaseProposal, asMember?: boolean): Promise<Uint8Array>;
  newLeaseId(): LeaseId;
  isLeader(): boolean;
  header(revision: number): etcdserverpb.IResponseHeader;
  /** Resolves once every write this member answered is published (the lessor knows its keys). */
  answeredVisible?(): Promise<void>;
}

export interface LeaseServerOptions {
  readonly host: LeaseHost;
  readonly store: LeaseStore & { currentRevision(): number };
  /** Minimum TTL (s): `minLeaseTtl(election timeout, heartbeat)`. */
  readonly minTtl: number;
  /** The applied-batch stream and leadership (ApplyLoop.subscribe, ConsensusNode.onLeaderChange). */
  readonly subscribe: (fn: (batch: AppliedBatch) => void) => void;
  readonly onLeaderChange: (fn: (term: number, isLeader: boolean) => void) => void;
  /** `--experimental-enable-lease-checkpoint` (docs/leases.md); the interval is a test hook. */
  readonly checkpoints?: boolean;
  readonly checkpointIntervalMs?: number;
  /** Followers forward keep-alives and lease reads here (cluster issue); absent: `not leader`. */
  readonly forwarder?: LeaseForwarder;
  /** Test hooks (a clock, no timers). */
  readonly now?: () => number;
  readonly timers?: boolean;
}

export class LeaseServer {
  readonly lessor: Lessor;
  readonly #host: LeaseHost;
  readonly #store: LeaseStore & { currentRevision(): number };
  readonly #minTtl: number;
  #forwarder: LeaseForwarder | undefined;
  /** Store revision after the last applied batch (headers of keep-alives without an LMDB read each). */
  #revision = -1;

  constructor(opts: LeaseServerOptions) {
    this.#host = opts.host;
    this.#store = opts.store;
    this.#minTtl = opts.minTtl;
    this.#forwarder = opts.forwarder;
    this.lessor = new Lessor({
      store: opts.store,
      revoke: (id) => this.#host.proposeLease({ leaseRevoke: { ID: id } }, true),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
      ...(opts.timers !== undefined ? { timers: opts.timers } : {}),
      ...(opts.checkpoints === true
        ? { checkpoint: (checkpoints) => this.#host.proposeLease({ leaseCheckpoint: { checkpoints } }) }
        : {}),
      ...(opts.checkpointIntervalMs !== undefined ? { checkpointIntervalMs: opts.checkpointIntervalMs } : {}),
    });
    opts.subscribe((batch) => {
      this.#revision = batch.outcomes[batch.outcomes.length - 1]?.revision ?? this.#revision;
      this.lessor.onApplied(batch);
    });
    opts.onLeaderChange((_term, isLeader) => this.lessor.setLeader(isLeader));
  }

  /** After the member started: take the leadership it has now (the single member: leader). */
  start(): void {
    this.lessor.setLeader(this.#host.isLeader());
  }

  stop(): void {
    this.lessor.stop();
  }

  leaseGrant(req: etcdserverpb.ILeaseGrantRequest): Promise<Uint8Array> {
    const asked = Number(req.TTL ?? 0);
    if (asked > MAX_LEASE_TTL) return Promise.reject(new EtcdError('ETCD_ERR_LEASE_TTL_TOO_LARGE'));
    const ttl = Math.max(asked, this.#minTtl);
    let id = req.ID ?? 0n;
    while (id === 0n) id = this.#host.newLeaseId();
    return this.#host.proposeLease({ leaseGrant: { ID: id, TTL: ttl } });
  }

  leaseRevoke(req: etcdserverpb.ILeaseRevokeRequest): Promise<Uint8Array> {
    return this.#host.proposeLease({ leaseRevoke: { ID: req.ID ?? 0n } });
  }

  leaseKeepAlive(id: LeaseId): etcdserverpb.ILeaseKeepAliveResponse | Promise<etcdserverpb.ILeaseKeepAliveResponse> {
    if (this.#forwarder !== undefined && !this.#host.isLeader()) return this.#forwarder.keepAlive(id);
    this.#checkLeader();
    const ttl = this.lessor.keepAlive(id);
    return { header: this.#header(), ID: id, TTL: ttl };
  }

  async leaseTimeToLive(req: etcdserverpb.ILeaseTimeToLiveRequest): Promise<etcdserverpb.ILeaseTimeToLiveResponse> {
    if (this.#forwarder !== undefined && !this.#host.isLeader()) return this.#forwarder.timeToLive(req);
    this.#checkLeader();
    const id = req.ID ?? 0n;
    // A put on the lease answered at apply reaches the lessor when it is visible (docs/leases.md).
    if (req.keys === true) await this.#host.answeredVisible?.();
    const t = this.lessor.timeToLive(id, req.keys === true);
    if (t === undefined) return { header: this.#header(), ID: id, TTL: -1, grantedTTL: 0, keys: [] };
    return { header: this.#header(), ID: id, TTL: t.ttl, grantedTTL: t.grantedTtl, keys: t.keys };
  }

  async leaseLeases(): Promise<etcdserverpb.ILeaseLeasesResponse> {
    if (this.#forwarder !== undefined && !this.#host.isLeader()) return this.#forwarder.leases();
    this.#checkLeader();
    return { header: this.#header(), leases: this.lessor.leases().map((ID) => ({ ID })) };
  }

  /** Followers forward keep-alives and lease reads through `f` from now on (set once the peer transport is up). */
  setForwarder(f: LeaseForwarder): void {
    this.#forwarder = f;
  }

  isLeader(): boolean {
    return this.#host.isLeader();
  }

  #header(): etcdserverpb.IResponseHeader {
    if (this.#revision < 0) this.#revision = this.#store.currentRevision();
    return this.#host.header(this.#revision);
  }

  /** Keep-alives and lease reads are the leader's (a follower will forward them: cluster issue). */
  #checkLeader(): void {
    if (!this.#host.isLeader()) throw new EtcdError('ETCD_ERR_RAFT_NOT_LEADER');
  }
}
