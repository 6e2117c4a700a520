/**
 * A lean etcd v3 gRPC client for load generation. Unary calls go over WireConn (h2-wire.ts),
 * our own thin HTTP/2 client on a raw socket: a fraction of the CPU per call of grpc-js or
 * node:http2, whose per-call machinery costs the generator what the server should get on
 * 2 cores. Streams (watch, keep-alive) still use a grpc-js channel, opened on first use.
 * One EtcdConn is one HTTP/2 connection (plus one for streams), so --conns N opens N.
 */
import * as grpc from '@grpc/grpc-js';
import type * as tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { WireConn } from './h2-wire.js';
import { etcdserverpb } from '../src/proto/pb.js';

/** TLS files for every EtcdConn of this thread (--cacert, --cert, --key, as etcd's benchmark); all empty: plain text. */
export interface TlsFiles {
  cacert: string;
  cert: string;
  key: string;
}
let channelCredentials: grpc.ChannelCredentials = grpc.credentials.createInsecure();
/** For the WireConn connections: undefined is plain text. */
let tlsOptions: tls.ConnectionOptions | undefined;
/** Use TLS for the connections made from now on in this thread (call once per worker). */
export function useTls(f: TlsFiles): void {
  if (f.cacert === '' && f.cert === '' && f.key === '') return;
  const read = (p: string): Buffer | null => (p === '' ? null : readFileSync(p));
  channelCredentials = grpc.credentials.createSsl(read(f.cacert), read(f.key), read(f.cert));
  tlsOptions = {
    ...(f.cacert !== '' ? { ca: readFileSync(f.cacert) } : {}),
    ...(f.cert !== '' ? { cert: readFileSync(f.cert) } : {}),
    ...(f.key !== '' ? { key: readFileSync(f.key) } : {}),
  };
}



type Codec<T> = { encode(m: T): { finish(): Uint8Array }; decode(b: Uint8Array): T };

function ser<T>(c: Codec<T>): (m: T) => Buffer {
  return (m) => {
    const u = c.encode(m).finish();
    return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  };
}
function de<T>(c: Codec<T>): (b: Buffer) => T {
  return (b) => c.decode(b);
}

const pb = etcdserverpb;
export type PutRequest = etcdserverpb.PutRequest.$Properties;
export type RangeRequest = etcdserverpb.RangeRequest.$Properties;
export type TxnRequest = etcdserverpb.TxnRequest.$Properties;
export type WatchRequest = etcdserverpb.WatchRequest.$Properties;
export type LeaseKeepAliveRequest = etcdserverpb.LeaseKeepAliveRequest.$Properties;
export type PutResponse = ReturnType<typeof pb.PutResponse.decode>;
export type RangeResponse = ReturnType<typeof pb.RangeResponse.decode>;
export type TxnResponse = ReturnType<typeof pb.TxnResponse.decode>;
export type WatchResponse = ReturnType<typeof pb.WatchResponse.decode>;
export type LeaseKeepAliveResponse = ReturnType<typeof pb.LeaseKeepAliveResponse.decode>;
export type StatusResponse = ReturnType<typeof pb.StatusResponse.decode>;
export type LeaseGrantResponse = ReturnType<typeof pb.LeaseGrantResponse.decode>;

const codecs = {
  put: [ser<PutRequest>(pb.PutRequest as Codec<PutRequest>), de(pb.PutResponse as Codec<PutResponse>)],
  range: [ser<RangeRequest>(pb.RangeRequest as Codec<RangeRequest>), de(pb.RangeResponse as Codec<RangeResponse>)],
  txn: [ser<TxnRequest>(pb.TxnRequest as Codec<TxnRequest>), de(pb.TxnResponse as Codec<TxnResponse>)],
} as const;
const watchSer = ser<WatchRequest>(pb.WatchRequest as Codec<WatchRequest>);
const watchDe = de(pb.WatchResponse as Codec<WatchResponse>);
const kaSer = ser<LeaseKeepAliveRequest>(pb.LeaseKeepAliveRequest as Codec<LeaseKeepAliveRequest>);
const kaDe = de(pb.LeaseKeepAliveResponse as Codec<LeaseKeepAliveResponse>);
const statusSer = ser(pb.StatusRequest as Codec<etcdserverpb.StatusRequest.$Properties>);
const statusDe = de(pb.StatusResponse as Codec<StatusResponse>);
const grantSer = ser(pb.LeaseGrantRequest as Codec<etcdserverpb.LeaseGrantRequest.$Properties>);
const grantDe = de(pb.LeaseGrantResponse as Codec<LeaseGrantResponse>);
const revokeSer = ser(pb.LeaseRevokeRequest as Codec<etcdserverpb.LeaseRevokeRequest.$Properties>);
const revokeDe = de(pb.LeaseRevokeResponse as Codec<ReturnType<typeof pb.LeaseRevokeResponse.decode>>);

/** A gRPC error as the generator counts it: "UNAVAILABLE: etcdserver: ..." style codes. */
export function errorCode(err: unknown): string {
  const e = err as { code?: number; details?: string; message?: string };
  if (typeof e.code === 'number') {
    const name = grpc.status[e.code] ?? String(e.code);
    return e.details ? `${name}: ${e.details}` : name;
  }
  return e.message ?? String(err);
}

export class EtcdConn {
  #client: grpc.Client | undefined;
  #wire: WireConn | undefined;

  constructor(readonly endpoint: string, private readonly timeoutMs = 10000) {}

  /** The grpc-js channel, for streams only. */
  get client(): grpc.Client {
    this.#client ??= new grpc.Client(this.endpoint, channelCredentials, {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    return this.#client;
  }

  private unary<Req, Res>(path: string, s: (m: Req) => Buffer, d: (b: Buffer) => Res, req: Req): Promise<Res> {
    this.#wire ??= new WireConn({ endpoint: this.endpoint, timeoutMs: this.timeoutMs, ...(tlsOptions !== undefined ? { tls: tlsOptions } : {}) });
    return this.#wire.call(path, s(req)).then(d);
  }

  put(req: PutRequest): Promise<PutResponse> {
    return this.unary('/etcdserverpb.KV/Put', codecs.put[0], codecs.put[1], req);
  }
  range(req: RangeRequest): Promise<RangeResponse> {
    return this.unary('/etcdserverpb.KV/Range', codecs.range[0], codecs.range[1], req);
  }
  txn(req: TxnRequest): Promise<TxnResponse> {
    return this.unary('/etcdserverpb.KV/Txn', codecs.txn[0], codecs.txn[1], req);
  }
  status(): Promise<StatusResponse> {
    return this.unary('/etcdserverpb.Maintenance/Status', statusSer, statusDe, {});
  }
  /** `id` 0n: the server chooses (lease IDs are exact 64-bit bigints, docs/decisions/0003). */
  leaseGrant(ttl: number, id: bigint): Promise<LeaseGrantResponse> {
    return this.unary('/etcdserverpb.Lease/LeaseGrant', grantSer, grantDe, { TTL: ttl, ID: id });
  }
  leaseRevoke(id: bigint): Promise<unknown> {
    return this.unary('/etcdserverpb.Lease/LeaseRevoke', revokeSer, revokeDe, { ID: id });
  }
  watchStream(): grpc.ClientDuplexStream<WatchRequest, WatchResponse> {
    return this.client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', watchSer, watchDe);
  }
  keepAliveStream(): grpc.ClientDuplexStream<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
    return this.client.makeBidiStreamRequest('/etcdserverpb.Lease/LeaseKeepAlive', kaSer, kaDe);
  }
  close(): void {
    this.#client?.close();
    this.#wire?.close();
  }
}

/** Finds the leader's endpoint by asking each endpoint for its Status (for --target-leader). */
export async function findLeader(endpoints: readonly string[]): Promise<string> {
  for (const ep of endpoints) {
    const c = new EtcdConn(ep, 3000);
    try {
      const s = await c.status();
      if (s.leader !== 0n && s.leader === s.header?.memberId) return ep;
    } catch {
      // try the next one
    } finally {
      c.close();
    }
  }
  throw new Error(`no leader found among ${endpoints.join(',')}`);
}
