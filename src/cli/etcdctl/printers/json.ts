/**
 * `-w json`: what Go's encoding/json makes of etcdctl's response structs — json tag names,
 * `omitempty` everywhere in the generated etcd types, 64-bit integers as exact numbers,
 * bytes as standard base64, a oneof as `{"Response":{"ResponseRange":{...}}}`.
 * The lease responses are etcdctl's own structs with the header embedded (fields inlined).
 */
import type { Decoded, LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse, LeaseRevokeResponse,
  LeaseTimeToLiveResponse, MemberListResponse, PutResponse, RangeResponse, DeleteRangeResponse, ResponseHeader,
  TxnResponse, WatchResponse } from '../messages.js';
import { EventSchema, ResponseHeaderSchema } from '../messages.js';
import type { Message, MessageSchema } from '../wire.js';
import { goJsonString } from '../go-format.js';
import type { EndpointHealth, EndpointStatus, Output, Printer } from './printer.js';


function b64(b: Uint8Array): string {
  return '"' + Buffer.from(b).toString('base64') + '"';
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'bigint') return v === 0n;
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'string') return v === '';
  if (v instanceof Uint8Array) return v.length === 0;
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

function scalarJson(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return goJsonString(v);
  if (v instanceof Uint8Array) return b64(v);
  throw new Error(`json: unexpected value ${String(v)}`);
}

/** Marshal a decoded message as encoding/json would marshal the Go struct (all fields omitempty). */
export function marshalMessage(schema: MessageSchema, msg: Message): string {
  if (schema.oneof !== undefined) {
    for (const f of schema.fields) {
      const v = msg[f.name];
      if (v !== undefined && typeof f.kind === 'object') {
        return `{"${schema.oneof}":{"${f.json}":${marshalMessage(f.kind, v as Message)}}}`;
      }
    }
    return '{}';
  }
  const parts: string[] = [];
  for (const f of schema.fields) {
    const v = msg[f.name];
    if (isEmpty(v)) continue;
    const one = (x: unknown): string => (typeof f.kind === 'object' ? marshalMessage(f.kind, x as Message) : scalarJson(x));
    parts.push(`${goJsonString(f.json)}:${f.repeated ? `[${(v as unknown[]).map(one).join(',')}]` : one(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The header's fields inlined (Go embeds *pb.ResponseHeader in the clientv3 lease responses). */
function inlineHeader(h: ResponseHeader | undefined): string[] {
  if (h === undefined) return [];
  const parts: string[] = [];
  if (h.clusterId !== 0n) parts.push(`"cluster_id":${h.clusterId}`);
  if (h.memberId !== 0n) parts.push(`"member_id":${h.memberId}`);
  if (h.revision !== 0n) parts.push(`"revision":${h.revision}`);
  if (h.raftTerm !== 0n) parts.push(`"raft_term":${h.raftTerm}`);
  return parts;
}

export class JsonPrinter implements Printer {
  constructor(private readonly out: Output) {}

  private print(json: string): void {
    this.out.stdout(json + '\n');
  }

  private generic(r: Decoded<unknown>): void {
    this.print(marshalMessage(r.schema, r.msg as Message));
  }

  get(r: Decoded<RangeResponse>): void { this.generic(r); }
  put(r: Decoded<PutResponse>): void { this.generic(r); }
  del(r: Decoded<DeleteRangeResponse>): void { this.generic(r); }
  txn(r: Decoded<TxnResponse>): void { this.generic(r); }
  memberList(r: Decoded<MemberListResponse>): void { this.generic(r); }
  revoke(_id: bigint, r: Decoded<LeaseRevokeResponse>): void { this.generic(r); }

  endpointStatus(list: readonly EndpointStatus[]): void {
    const items = list.map((s) => `{"Endpoint":${goJsonString(s.ep)},"Status":${marshalMessage(s.resp.schema, s.resp.msg as unknown as Message)}}`);
    this.print(`[${items.join(',')}]`);
  }

  endpointHealth(list: readonly EndpointHealth[]): void {
    const items = list.map((h) => {
      const parts = [`"endpoint":${goJsonString(h.ep)}`, `"health":${h.health}`, `"took":${goJsonString(h.took)}`];
      if (h.error !== '') parts.push(`"error":${goJsonString(h.error)}`);
      return `{${parts.join(',')}}`;
    });
    this.print(`[${items.join(',')}]`);
  }

  grant(r: Decoded<LeaseGrantResponse>): void {
    const m = r.msg;
    this.print(`{${[...inlineHeader(m.header), `"ID":${m.id}`, `"TTL":${m.ttl}`, `"Error":${goJsonString(m.error)}`].join(',')}}`);
  }

  keepAlive(r: Decoded<LeaseKeepAliveResponse>): void {
    const m = r.msg;
    this.print(`{${[...inlineHeader(m.header), `"ID":${m.id}`, `"TTL":${m.ttl}`].join(',')}}`);
  }

  timeToLive(r: Decoded<LeaseTimeToLiveResponse>, _keys: boolean): void {
    const m = r.msg;
    const keys = m.keys.length === 0 ? 'null' : `[${m.keys.map(b64).join(',')}]`;
    this.print(`{${[...inlineHeader(m.header), `"id":${m.id}`, `"ttl":${m.ttl}`, `"granted-ttl":${m.grantedTtl}`, `"keys":${keys}`].join(',')}}`);
  }

  leases(r: Decoded<LeaseLeasesResponse>): void {
    const m = r.msg;
    this.print(`{${[...inlineHeader(m.header), `"leases":[${m.leases.map((l) => `{"id":${l.id}}`).join(',')}]`].join(',')}}`);
  }

  /** clientv3.WatchResponse: exported Go fields without json tags, the header by value. */
  watch(r: Decoded<WatchResponse>): void {
    const m = r.msg;
    const header = marshalMessage(ResponseHeaderSchema, (m.header ?? {}) as Message);
    const events = `[${m.events.map((e) => marshalMessage(EventSchema, e as unknown as Message)).join(',')}]`;
    this.print(`{"Header":${header},"Events":${events},"CompactRevision":${m.compactRevision},"Canceled":${m.canceled},"Created":${m.created}}`);
  }
}
