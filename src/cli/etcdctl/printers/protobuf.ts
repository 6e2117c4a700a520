/** `-w protobuf`: the response message's bytes, as received (no newline). */
import type { Decoded, DeleteRangeResponse, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
  LeaseRevokeResponse, LeaseTimeToLiveResponse, MemberListResponse, PutResponse, RangeResponse, TxnResponse, WatchResponse } from '../messages.js';
import { keepFields } from '../wire.js';
import { UnsupportedPrinter, type Output } from './printer.js';

export class ProtobufPrinter extends UnsupportedPrinter {
  constructor(private readonly out: Output) {
    super('protobuf');
  }

  private raw(r: Decoded<unknown>): void {
    this.out.stdout(r.raw);
  }

  override get(r: Decoded<RangeResponse>): void { this.raw(r); }
  override put(r: Decoded<PutResponse>): void { this.raw(r); }
  override del(r: Decoded<DeleteRangeResponse>): void { this.raw(r); }
  override txn(r: Decoded<TxnResponse>): void { this.raw(r); }
  override memberList(r: Decoded<MemberListResponse>): void { this.raw(r); }
  override grant(r: Decoded<LeaseGrantResponse>): void { this.raw(r); }
  override revoke(_id: bigint, r: Decoded<LeaseRevokeResponse>): void { this.raw(r); }
  override keepAlive(r: Decoded<LeaseKeepAliveResponse>): void { this.raw(r); }
  override timeToLive(r: Decoded<LeaseTimeToLiveResponse>, _keys: boolean): void { this.raw(r); }
  override leases(r: Decoded<LeaseLeasesResponse>): void { this.raw(r); }

  /** etcdctl re-marshals clientv3's WatchResponse: header, created, canceled, compact revision, events. */
  override watch(r: Decoded<WatchResponse>): void {
    this.out.stdout(keepFields(r.raw, WATCH_FIELDS));
  }
}

const WATCH_FIELDS: ReadonlySet<number> = new Set([1, 3, 4, 5, 11]);
