/**
 * What EtcdServer needs from the layers below it, declared next to its consumer
 * (style.md rule 5). The WAL writer, the apply worker proxy and the LMDB reader
 * implement these; tests may use in-thread implementations.
 */
import type { Entry, HardState } from '../raftpb/types.js';
import type { WalSnapshot } from '../wal/types.js';
import type { MembershipState } from '../apply/membership.js';
import type { etcdserverpb } from '../proto/pb.js';
import type { RequestId } from '../util/pure/id64.js';

/** Durable log appends (the WAL writer: LocalAppendThread). */
export interface LogWriter {
  /**
   * Resolves when everything passed is durable; calls become durable in call order. With
   * `snapshot`, a snapshot marker goes first: every entry logged before it is void and the log
   * continues at its index + 1 (docs/cluster.md, "Snapshots to lagging followers").
   */
  append(hardState: HardState | null, entries: readonly Entry[], snapshot?: WalSnapshot | null): Promise<void>;
  /** Segments holding only entries below `index` may be deleted (they are in a synced store). */
  releaseTo(index: number): void;
  close(): Promise<void>;
}

/** What applying one entry produced. */
export interface ApplyOutcome {
  readonly index: number;
  /** InternalRaftRequest.header.ID, 0n for an entry without a request (no-op). */
  readonly requestId: RequestId;
  /** Store revision after the entry. */
  readonly revision: number;
  /** Encoded response message (PutResponse, TxnResponse, ...), header not yet filled. */
  readonly response?: Uint8Array;
  /** An EtcdError code when the request failed; the store is unchanged then. */
  readonly errorCode?: string;
  /** Encoded mvccpb.Event messages the entry produced, in order (for watch). */
  readonly events?: readonly Uint8Array[];
  /**
   * The entry produced events that were left out (its batch was handed over while nobody
   * listened): a listener that came since reads them from the store.
   */
  readonly eventsOmitted?: boolean;
  /** A lease this entry granted (`ttl` > 0, seconds) or revoked (`ttl` -1): for the lessor (docs/leases.md). */
  readonly lease?: { readonly id: bigint; readonly ttl: number };
  /** The entry activated or deactivated an alarm (list them again from the store). */
  readonly alarmsChanged?: boolean;
  /** The entry changed the auth store (reload the mirror: docs/auth.md). */
  readonly authChanged?: boolean;
  /** An applied Authenticate: `response` is an AuthenticateResponse with the user name in field 15 (src/auth/simple-token.ts). */
  readonly authToken?: boolean;
  /**
   * Answer it only once the store's readers see it (docs/architecture.md, "Deferred commits"):
   * its caller next relies on what the main thread reloads from the store (leases, alarms, auth,
   * membership, the compacted revision).
   */
  readonly visibleAnswer?: boolean;
}

import type { PromisedRevisions } from '../apply/interface.js';
export type { PromisedRevisions } from '../apply/interface.js';

/**
 * The apply worker (LocalApplyThread), or the applier in this thread: applies committed
 * entries in order. src/server/worker-apply-pipe.ts and src/server/inline-apply-pipe.ts.
 */
export interface ApplyPipe {
  /**
   * Entries must be passed in index order, each once; outcomes come back in the same order.
   * `promised`: revisions already promised to clients for some of these entries; an entry
   * that would apply otherwise fails the batch before it commits (the pipe then rejects
   * this and every later call: the member must stop).
   * `eventsWanted` false: nobody listens to events now, so the pipe may leave them out (an
   * outcome then says `eventsOmitted`; docs/architecture.md, "Events only while someone listens").
   */
  apply(entries: readonly Entry[], promised?: PromisedRevisions, eventsWanted?: boolean): Promise<ApplyOutcome[]>;
  /** Syncs the store to disk: everything applied before the call is then durable in LMDB. */
  flush(): Promise<void>;
  /**
   * Replaces the store with the LMDB store file at `path` (a Raft snapshot) in one write
   * transaction, then syncs it; later entries continue from its applied index. Call with no
   * apply in flight (docs/cluster.md, "Snapshots to lagging followers"). A failure is fatal.
   */
  installSnapshot(path: string): Promise<InstalledStore>;
  close(): Promise<void>;
  /**
   * A pipe that answers a batch when it is applied but lets readers see it only at a later
   * commit (the apply worker: docs/architecture.md, "Deferred commits") has these; a pipe
   * without them makes each batch visible when its outcomes resolve.
   * `onVisible`: called with the index every entry at or below which readers now see, in
   * order, never beyond the last batch whose outcomes resolved (same call order).
   * `requestVisible`: commit once everything handed over so far is applied.
   */
  onVisible?(listener: (index: number) => void): void;
  requestVisible?(): void;
}

/** The store's point after a snapshot was installed. */
export interface InstalledStore {
  readonly appliedIndex: number;
  readonly consistentTerm: number;
  readonly currentRevision: number;
}

/** Read access to the MVCC store (LMDB read transactions) from the main thread. */
export interface KvReadView {
  range(req: etcdserverpb.IRangeRequest): etcdserverpb.IRangeResponse;
  currentRevision(): number;
  compactedRevision(): number;
  appliedIndex(): number;
  dbSizeBytes(): number;
  dbSizeInUseBytes(): number;
  /** The active alarms, as the store holds them now. */
  alarms(): readonly { readonly memberId: bigint; readonly alarm: number }[];
  /** The membership stored with the applied index (undefined: none stored). */
  membership?(): MembershipState | undefined;
  close(): Promise<void>;
}

/** A HashKV answer (src/mvcc/hash.ts) with the store revision it was computed on. */
export interface HashKvResult {
  readonly hash: number;
  readonly hashRevision: number;
  readonly compactRevision: number;
  readonly currentRevision: number;
}

/** Long maintenance reads off the main thread (the read pool): hashes, snapshots. */
export interface MaintenancePool {
  /** etcd's HashKV at `revision` (0: current). Throws EtcdError (compacted, future revision). */
  hashKv(revision: number): Promise<HashKvResult>;
  /** etcd's Hash: a CRC-32C over the store in etcd's bucket format. */
  hash(): Promise<{ hash: number; currentRevision: number }>;
  /**
   * Writes a consistent snapshot of the store, in etcd's bbolt format, to `path`
   * (docs/snapshot-format.md); resolves with its size and revision.
   */
  snapshot(path: string, opts: SnapshotMeta): Promise<{ sizeBytes: number; revision: number }>;
  /**
   * A compact copy of the whole LMDB store at `path`, from one read transaction (a Raft
   * snapshot's body), with the point it holds.
   */
  storeCopy(path: string): Promise<StoreCopy>;
}

/** A copy of the store (MaintenancePool.storeCopy). */
export interface StoreCopy {
  readonly path: string;
  readonly sizeBytes: number;
  readonly appliedIndex: number;
  readonly consistentTerm: number;
  readonly currentRevision: number;
  /** The membership stored with the applied index (encodeMembership), or null. */
  readonly members: Uint8Array | null;
}

/** What a snapshot records about the member besides the store (etcd's members and cluster buckets). */
export interface SnapshotMeta {
  readonly memberId: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  /** etcd's clusterVersion, e.g. "3.6.0". */
  readonly clusterVersion: string;
}

/** Ranges served off the main thread (the piscina read pool). */
export interface RangePool {
  /** True when this request is worth a hop to another thread. */
  wants(req: etcdserverpb.IRangeRequest): boolean;
  /** Encoded RangeResponse (header: revision only) and the revision it read at. Throws EtcdError. */
  range(req: etcdserverpb.IRangeRequest): Promise<{ response: Uint8Array; revision: number }>;
  close(): Promise<void>;
}
