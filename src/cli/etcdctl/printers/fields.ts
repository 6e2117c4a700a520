/** `-w fields`: one `"Name" : value` line per field, strings and bytes Go-quoted (%q). */
import type { Decoded, DeleteRangeResponse, KeyValue, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
  LeaseRevokeResponse, LeaseTimeToLiveResponse, MemberListResponse, PutResponse, RangeResponse, ResponseHeader,
  TxnResponse, WatchResponse } from '../messages.js';
import { goQuote } from '../go-format.js';
import { eventTypeName, type EndpointHealth, type EndpointStatus, type Output, type Printer } from './printer.js';

export class FieldsPrinter implements Printer {
  constructor(private readonly out: Output) {}

  private line(name: string, value: string | bigint | boolean): void {
    this.out.stdout(`"${name}" : ${value}\n`);
  }

  private hdr(h: ResponseHeader | undefined): void {
    this.line('ClusterID', h?.clusterId ?? 0n);
    this.line('MemberID', h?.memberId ?? 0n);
    this.line('Revision', h?.revision ?? 0n);
    this.line('RaftTerm', h?.raftTerm ?? 0n);
  }

  private kv(pfx: string, kv: KeyValue): void {
    this.line(`${pfx}Key`, goQuote(kv.key));
    this.line(`${pfx}CreateRevision`, kv.createRevision);
    this.line(`${pfx}ModRevision`, kv.modRevision);
    this.line(`${pfx}Version`, kv.version);
    this.line(`${pfx}Value`, goQuote(kv.value));
    this.line(`${pfx}Lease`, kv.lease);
  }

  private getBody(r: RangeResponse): void {
    this.hdr(r.header);
    for (const kv of r.kvs) this.kv('', kv);
    this.line('More', r.more);
    this.line('Count', r.count);
  }

  private putBody(r: PutResponse): void {
    this.hdr(r.header);
    if (r.prevKv !== undefined) this.kv('Prev', r.prevKv);
  }

  private delBody(r: DeleteRangeResponse): void {
    this.hdr(r.header);
    this.line('Deleted', r.deleted);
    for (const kv of r.prevKvs) this.kv('Prev', kv);
  }

  get(r: Decoded<RangeResponse>): void { this.getBody(r.msg); }
  put(r: Decoded<PutResponse>): void { this.putBody(r.msg); }
  del(r: Decoded<DeleteRangeResponse>): void { this.delBody(r.msg); }

  txn(r: Decoded<TxnResponse>): void {
    this.hdr(r.msg.header);
    this.line('Succeeded', r.msg.succeeded);
    for (const op of r.msg.responses) {
      if (op.responseDeleteRange) this.delBody(op.responseDeleteRange);
      else if (op.responsePut) this.putBody(op.responsePut);
      else if (op.responseRange) this.getBody(op.responseRange);
      else this.line('Unknown', goQuote(JSON.stringify(Object.keys(op))));
    }
  }

  memberList(r: Decoded<MemberListResponse>): void {
    this.hdr(r.msg.header);
    for (const m of r.msg.members) {
      this.line('ID', m.id);
      this.line('Name', goQuote(m.name));
      for (const u of m.peerURLs) this.line('PeerURL', goQuote(u));
      for (const u of m.clientURLs) this.line('ClientURL', goQuote(u));
      this.line('IsLearner', m.isLearner);
      this.out.stdout('\n');
    }
  }

  endpointStatus(list: readonly EndpointStatus[]): void {
    for (const { ep, resp } of list) {
      const s = resp.msg;
      this.hdr(s.header);
      this.line('Version', goQuote(s.version));
      this.line('DBSize', s.dbSize);
      this.line('Leader', s.leader);
      this.line('IsLearner', s.isLearner);
      this.line('RaftIndex', s.raftIndex);
      this.line('RaftTerm', s.raftTerm);
      this.line('RaftAppliedIndex', s.raftAppliedIndex);
      this.line('Errors', `[${s.errors.join(' ')}]`);
      this.line('Endpoint', goQuote(ep));
      this.out.stdout('\n');
    }
  }

  endpointHealth(list: readonly EndpointHealth[]): void {
    for (const h of list) {
      this.line('Endpoint', goQuote(h.ep));
      this.line('Health', h.health);
      this.line('Took', h.took);
      this.line('Error', h.error);
      this.out.stdout('\n');
    }
  }

  grant(r: Decoded<LeaseGrantResponse>): void {
    this.hdr(r.msg.header);
    this.line('ID', r.msg.id);
    this.line('TTL', r.msg.ttl);
  }

  revoke(_id: bigint, r: Decoded<LeaseRevokeResponse>): void {
    this.hdr(r.msg.header);
  }

  keepAlive(r: Decoded<LeaseKeepAliveResponse>): void {
    this.hdr(r.msg.header);
    this.line('ID', r.msg.id);
    this.line('TTL', r.msg.ttl);
  }

  timeToLive(r: Decoded<LeaseTimeToLiveResponse>, _keys: boolean): void {
    this.hdr(r.msg.header);
    this.line('ID', r.msg.id);
    this.line('TTL', r.msg.ttl);
    this.line('GrantedTTL', r.msg.grantedTtl);
    for (const k of r.msg.keys) this.line('Key', goQuote(k));
  }

  leases(r: Decoded<LeaseLeasesResponse>): void {
    this.hdr(r.msg.header);
    for (const l of r.msg.leases) this.line('ID', l.id);
  }

  watch(r: Decoded<WatchResponse>): void {
    this.hdr(r.msg.header);
    for (const ev of r.msg.events) {
      this.line('Type', eventTypeName(ev.type));
      if (ev.prevKv !== undefined) this.kv('Prev', ev.prevKv);
      if (ev.kv !== undefined) this.kv('', ev.kv);
    }
  }
}
