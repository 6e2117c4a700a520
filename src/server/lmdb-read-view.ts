/** KvReadView for the main thread: LMDB read transactions on a read-only handle. */
import { readAuthState } from '../auth/keys.js';
import type { AuthState } from '../auth/store.js';
import { LmdbBackend } from '../backend/backend.js';
import { LmdbKvReader } from '../mvcc/kvstore.js';
import type { etcdserverpb } from '../proto/pb.js';
import type { KvReadView } from './ports.js';
import { listAlarms, type AlarmMember } from '../backend/alarms.js';
import { META_MEMBERS } from '../backend/schema.js';
import { decodeMembership, type MembershipState } from '../apply/membership.js';
import { allLeases, getLease, type LeaseRecord } from '../apply/lease-records.js';
import type { LeaseId } from '../util/pure/id64.js';

export class LmdbReadView implements KvReadView {
  readonly #backend: LmdbBackend;
  readonly #reader: LmdbKvReader;

  /** The apply worker must have created the environment first. */
  constructor(dbPath: string) {
    this.#backend = LmdbBackend.open({ path: dbPath, writable: false });
    this.#reader = new LmdbKvReader(this.#backend);
  }

  range(req: etcdserverpb.IRangeRequest): etcdserverpb.IRangeResponse {
    return this.#reader.range(req);
  }

  /** The membership stored with the applied index (undefined: none stored). */
  membership(): MembershipState | undefined {
    const b = this.#backend.meta.get(META_MEMBERS);
    return b === undefined ? undefined : decodeMembership(b);
  }

  currentRevision(): number {
    return this.#reader.currentRevision();
  }

  compactedRevision(): number {
    return this.#reader.compactedRevision();
  }

  appliedIndex(): number {
    return this.#reader.appliedIndex();
  }

  /** Every stored lease (the lessor's promotion). */
  leaseRecords(): LeaseRecord[] {
    return this.#reader.view((v) => [...allLeases(this.#backend.leases, v.opts)]);
  }

  leaseRecord(id: LeaseId): LeaseRecord | undefined {
    return this.#reader.view((v) => getLease(this.#backend.leases, id, v.opts));
  }

  /** Live keys attached to a lease (copies). */
  keysOfLease(id: LeaseId): Buffer[] {
    return this.#reader.view((v) => [...v.keysOfLease(id)].map((k) => Buffer.from(k)));
  }

  dbSizeBytes(): number {
    return this.#backend.dbSizeBytes();
  }

  dbSizeInUseBytes(): number {
    return this.#backend.dbSizeInUseBytes();
  }

  /** The auth store as committed (docs/auth.md). */
  authState(): AuthState {
    const txn = this.#backend.beginRead();
    try {
      return readAuthState(this.#backend.meta, { transaction: txn });
    } finally {
      txn.done();
    }
  }

  alarms(): AlarmMember[] {
    const txn = this.#backend.beginRead();
    try {
      return listAlarms(this.#backend.meta, { transaction: txn });
    } finally {
      txn.done();
    }
  }

  close(): Promise<void> {
    return this.#backend.close();
  }
}
