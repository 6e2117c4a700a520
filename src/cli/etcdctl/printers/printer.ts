/**
 * One printer per output format (`-w simple|json|fields|table|protobuf`), each a file, as
 * etcdctl's printer_*.go. A command gets its response decoded (with its wire bytes) and hands
 * it to the printer; a printer that has no form for a response throws UnsupportedFormat, which
 * etcdctl reports as `Error: <format> not supported as output format` (exit 4).
 */
import type {
  Decoded,
  DeleteRangeResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  StatusResponse,
  TxnResponse,
  WatchResponse,
} from '../messages.js';
import { humanizeBytes } from '../go-format.js';

/** Where printers write. */
export interface Output {
  stdout(s: string | Uint8Array): void;
  stderr(s: string): void;
}

export interface EndpointStatus {
  readonly ep: string;
  readonly resp: Decoded<StatusResponse>;
}

export interface EndpointHealth {
  readonly ep: string;
  readonly health: boolean;
  /** time.Duration.String() of the check. */
  readonly took: string;
  readonly error: string;
}

export interface Printer {
  get(r: Decoded<RangeResponse>): void;
  put(r: Decoded<PutResponse>): void;
  del(r: Decoded<DeleteRangeResponse>): void;
  txn(r: Decoded<TxnResponse>): void;
  memberList(r: Decoded<MemberListResponse>): void;
  endpointStatus(list: readonly EndpointStatus[]): void;
  endpointHealth(list: readonly EndpointHealth[]): void;
  grant(r: Decoded<LeaseGrantResponse>): void;
  revoke(id: bigint, r: Decoded<LeaseRevokeResponse>): void;
  keepAlive(r: Decoded<LeaseKeepAliveResponse>): void;
  timeToLive(r: Decoded<LeaseTimeToLiveResponse>, keys: boolean): void;
  leases(r: Decoded<LeaseLeasesResponse>): void;
  watch(r: Decoded<WatchResponse>): void;
}

export class UnsupportedFormat extends Error {
  constructor(readonly format: string) {
    super(`${format} not supported as output format`);
    this.name = 'UnsupportedFormat';
  }
}

/** A printer whose every method is unsupported; formats override what they support. */
export class UnsupportedPrinter implements Printer {
  constructor(protected readonly format: string) {}
  protected no(): never {
    throw new UnsupportedFormat(this.format);
  }
  get(_r: Decoded<RangeResponse>): void { this.no(); }
  put(_r: Decoded<PutResponse>): void { this.no(); }
  del(_r: Decoded<DeleteRangeResponse>): void { this.no(); }
  txn(_r: Decoded<TxnResponse>): void { this.no(); }
  memberList(_r: Decoded<MemberListResponse>): void { this.no(); }
  endpointStatus(_l: readonly EndpointStatus[]): void { this.no(); }
  endpointHealth(_l: readonly EndpointHealth[]): void { this.no(); }
  grant(_r: Decoded<LeaseGrantResponse>): void { this.no(); }
  revoke(_id: bigint, _r: Decoded<LeaseRevokeResponse>): void { this.no(); }
  keepAlive(_r: Decoded<LeaseKeepAliveResponse>): void { this.no(); }
  timeToLive(_r: Decoded<LeaseTimeToLiveResponse>, _keys: boolean): void { this.no(); }
  leases(_r: Decoded<LeaseLeasesResponse>): void { this.no(); }
  watch(_r: Decoded<WatchResponse>): void { this.no(); }
}

/** The rows etcdctl shows for `member list` (simple and table). */
export function memberListRows(r: MemberListResponse): { header: string[]; rows: string[][] } {
  return {
    header: ['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'],
    rows: r.members.map((m) => [
      m.id.toString(16),
      m.name.length > 0 ? 'started' : 'unstarted',
      m.name,
      m.peerURLs.join(','),
      m.clientURLs.join(','),
      String(m.isLearner),
    ]),
  };
}

/** The rows etcdctl shows for `endpoint status` (simple and table). */
export function endpointStatusRows(list: readonly EndpointStatus[]): { header: string[]; rows: string[][] } {
  return {
    header: ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'],
    rows: list.map(({ ep, resp: { msg: s } }) => [
      ep,
      (s.header?.memberId ?? 0n).toString(16),
      s.version,
      humanizeBytes(s.dbSize),
      String(s.leader === (s.header?.memberId ?? 0n)),
      String(s.isLearner),
      s.raftTerm.toString(),
      s.raftIndex.toString(),
      s.raftAppliedIndex.toString(),
      s.errors.join(', '),
    ]),
  };
}

/** The rows etcdctl shows for `endpoint health` (table). */
export function endpointHealthRows(list: readonly EndpointHealth[]): { header: string[]; rows: string[][] } {
  return {
    header: ['endpoint', 'health', 'took', 'error'],
    rows: list.map((h) => [h.ep, String(h.health), h.took, h.error]),
  };
}

/** mvccpb.Event_EventType names. */
export function eventTypeName(t: bigint): string {
  return t === 0n ? 'PUT' : t === 1n ? 'DELETE' : t.toString();
}
