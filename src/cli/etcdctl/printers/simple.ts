/** `-w simple` (the default): etcdctl's plain text. */
import type { Decoded, DeleteRangeResponse, KeyValue, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
  LeaseRevokeResponse, LeaseTimeToLiveResponse, MemberListResponse, PutResponse, RangeResponse, TxnResponse, WatchResponse } from '../messages.js';
import { hex016 } from '../go-format.js';
import { endpointStatusRows, eventTypeName, memberListRows, type EndpointHealth, type EndpointStatus, type Output, type Printer } from './printer.js';

const latin = new TextDecoder('utf-8');

/** etcdctl's --hex form of bytes: `\x66\x6f\x6f`. */
export function hexEscaped(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += '\\x' + x.toString(16).padStart(2, '0');
  return s;
}

export class SimplePrinter implements Printer {
  constructor(
    private readonly out: Output,
    private readonly isHex: boolean,
    private readonly valueOnly: boolean,
  ) {}

  private bytes(b: Uint8Array): Uint8Array | string {
    return this.isHex ? hexEscaped(b) : b;
  }

  private line(s: string | Uint8Array): void {
    if (typeof s === 'string') this.out.stdout(s + '\n');
    else {
      this.out.stdout(s);
      this.out.stdout('\n');
    }
  }

  private kv(kv: KeyValue): void {
    if (!this.valueOnly) this.line(this.bytes(kv.key));
    this.line(this.bytes(kv.value));
  }

  get(r: Decoded<RangeResponse>): void {
    for (const kv of r.msg.kvs) this.kv(kv);
  }

  put(r: Decoded<PutResponse>): void {
    this.line('OK');
    if (r.msg.prevKv !== undefined) this.kv(r.msg.prevKv);
  }

  del(r: Decoded<DeleteRangeResponse>): void {
    this.line(r.msg.deleted.toString());
    for (const kv of r.msg.prevKvs) this.kv(kv);
  }

  txn(r: Decoded<TxnResponse>): void {
    this.line(r.msg.succeeded ? 'SUCCESS' : 'FAILURE');
    for (const op of r.msg.responses) {
      this.line('');
      if (op.responseDeleteRange) this.del({ msg: op.responseDeleteRange, raw: new Uint8Array(0), schema: r.schema });
      else if (op.responsePut) this.put({ msg: op.responsePut, raw: new Uint8Array(0), schema: r.schema });
      else if (op.responseRange) this.get({ msg: op.responseRange, raw: new Uint8Array(0), schema: r.schema });
      else this.line(`unexpected response ${JSON.stringify(Object.keys(op))}`);
    }
  }

  memberList(r: Decoded<MemberListResponse>): void {
    for (const row of memberListRows(r.msg).rows) this.line(row.join(', '));
  }

  endpointStatus(list: readonly EndpointStatus[]): void {
    for (const row of endpointStatusRows(list).rows) this.line(row.join(', '));
  }

  endpointHealth(list: readonly EndpointHealth[]): void {
    for (const h of list) {
      if (h.health) this.line(`${h.ep} is healthy: successfully committed proposal: took = ${h.took}`);
      else this.out.stderr(`${h.ep} is unhealthy: failed to commit proposal: ${h.error}\n`);
    }
  }

  grant(r: Decoded<LeaseGrantResponse>): void {
    this.line(`lease ${hex016(r.msg.id)} granted with TTL(${r.msg.ttl}s)`);
  }

  revoke(id: bigint, _r: Decoded<LeaseRevokeResponse>): void {
    this.line(`lease ${hex016(id)} revoked`);
  }

  keepAlive(r: Decoded<LeaseKeepAliveResponse>): void {
    this.line(`lease ${hex016(r.msg.id)} keepalived with TTL(${r.msg.ttl})`);
  }

  timeToLive(r: Decoded<LeaseTimeToLiveResponse>, _keys: boolean): void {
    const m = r.msg;
    if (m.grantedTtl === 0n && m.ttl === -1n) {
      this.line(`lease ${hex016(m.id)} already expired`);
      return;
    }
    let txt = `lease ${hex016(m.id)} granted with TTL(${m.grantedTtl}s), remaining(${m.ttl}s)`;
    if (m.keys.length > 0) txt += `, attached keys([${m.keys.map((k) => latin.decode(k)).join(' ')}])`;
    this.line(txt);
  }

  leases(r: Decoded<LeaseLeasesResponse>): void {
    this.line(`found ${r.msg.leases.length} leases`);
    for (const l of r.msg.leases) this.line(hex016(l.id));
  }

  watch(r: Decoded<WatchResponse>): void {
    for (const ev of r.msg.events) {
      this.line(eventTypeName(ev.type));
      if (ev.prevKv !== undefined) this.kv(ev.prevKv);
      if (ev.kv !== undefined) this.kv(ev.kv);
    }
  }
}
