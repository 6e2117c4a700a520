/**
 * A raw gRPC client for the etcd API: grpc-js with identity (de)serialisers and the project's
 * generated protobuf codecs, so a test sees the exact status code and message, can send bytes
 * no well-behaved client would (malformed protobuf, oversized requests), and reads responses
 * field by field.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdserverpb } from '../../../src/proto/pb.js';

export interface GrpcFailure {
  code: grpc.status;
  details: string;
}

export type RawResult = { ok: true; bytes: Buffer } | { ok: false; error: GrpcFailure };

export class RawEtcdClient {
  readonly client: grpc.Client;

  constructor(endpoint: string, options: grpc.ChannelOptions = {}) {
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
      // let large requests leave the client: the server must be the one to refuse them
      'grpc.max_send_message_length': -1,
      'grpc.max_receive_message_length': -1,
      ...options,
    });
  }

  /** Call `/etcdserverpb.<Service>/<Method>` with raw request bytes (and request metadata). */
  call(path: string, request: Uint8Array, deadlineMs = 10_000, metadata: Record<string, string> = {}): Promise<RawResult> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    return new Promise((resolve) => {
      this.client.makeUnaryRequest<Buffer, Buffer>(
        path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(request.buffer, request.byteOffset, request.byteLength),
        md,
        { deadline: Date.now() + deadlineMs },
        (err, value) => {
          if (err) resolve({ ok: false, error: { code: err.code, details: err.details } });
          else resolve({ ok: true, bytes: value ?? Buffer.alloc(0) });
        },
      );
    });
  }

  async put(p: etcdserverpb.PutRequest.$Properties): Promise<Decoded<etcdserverpb.PutResponse>> {
    return decoded(await this.call('/etcdserverpb.KV/Put', etcdserverpb.PutRequest.encode(p).finish()), etcdserverpb.PutResponse.decode);
  }
  async range(p: etcdserverpb.RangeRequest.$Properties): Promise<Decoded<etcdserverpb.RangeResponse>> {
    return decoded(await this.call('/etcdserverpb.KV/Range', etcdserverpb.RangeRequest.encode(p).finish()), etcdserverpb.RangeResponse.decode);
  }
  async deleteRange(p: etcdserverpb.DeleteRangeRequest.$Properties): Promise<Decoded<etcdserverpb.DeleteRangeResponse>> {
    return decoded(
      await this.call('/etcdserverpb.KV/DeleteRange', etcdserverpb.DeleteRangeRequest.encode(p).finish()),
      etcdserverpb.DeleteRangeResponse.decode,
    );
  }
  async txn(p: etcdserverpb.TxnRequest.$Properties): Promise<Decoded<etcdserverpb.TxnResponse>> {
    return decoded(await this.call('/etcdserverpb.KV/Txn', etcdserverpb.TxnRequest.encode(p).finish()), etcdserverpb.TxnResponse.decode);
  }
  async compact(p: etcdserverpb.CompactionRequest.$Properties): Promise<Decoded<etcdserverpb.CompactionResponse>> {
    return decoded(
      await this.call('/etcdserverpb.KV/Compact', etcdserverpb.CompactionRequest.encode(p).finish()),
      etcdserverpb.CompactionResponse.decode,
    );
  }
  async leaseGrant(p: etcdserverpb.LeaseGrantRequest.$Properties): Promise<Decoded<etcdserverpb.LeaseGrantResponse>> {
    return decoded(
      await this.call('/etcdserverpb.Lease/LeaseGrant', etcdserverpb.LeaseGrantRequest.encode(p).finish()),
      etcdserverpb.LeaseGrantResponse.decode,
    );
  }
  async leaseRevoke(p: etcdserverpb.LeaseRevokeRequest.$Properties): Promise<Decoded<etcdserverpb.LeaseRevokeResponse>> {
    return decoded(
      await this.call('/etcdserverpb.Lease/LeaseRevoke', etcdserverpb.LeaseRevokeRequest.encode(p).finish()),
      etcdserverpb.LeaseRevokeResponse.decode,
    );
  }
  async leaseTimeToLive(p: etcdserverpb.LeaseTimeToLiveRequest.$Properties): Promise<Decoded<etcdserverpb.LeaseTimeToLiveResponse>> {
    return decoded(
      await this.call('/etcdserverpb.Lease/LeaseTimeToLive', etcdserverpb.LeaseTimeToLiveRequest.encode(p).finish()),
      etcdserverpb.LeaseTimeToLiveResponse.decode,
    );
  }
  async leaseLeases(): Promise<Decoded<etcdserverpb.LeaseLeasesResponse>> {
    return decoded(await this.call('/etcdserverpb.Lease/LeaseLeases', new Uint8Array(0)), etcdserverpb.LeaseLeasesResponse.decode);
  }
  /** One LeaseKeepAlive round trip on a fresh stream. */
  leaseKeepAliveOnce(id: bigint, timeoutMs = 10_000): Promise<etcdserverpb.LeaseKeepAliveResponse> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeBidiStreamRequest<Buffer, Buffer>(
        '/etcdserverpb.Lease/LeaseKeepAlive',
        (b: Buffer) => b,
        (b: Buffer) => b,
        new grpc.Metadata(),
      );
      const timer = setTimeout(() => {
        call.cancel();
        reject(new Error(`no keepalive response within ${timeoutMs} ms`));
      }, timeoutMs);
      call.on('data', (b: Buffer) => {
        clearTimeout(timer);
        call.cancel();
        resolve(etcdserverpb.LeaseKeepAliveResponse.decode(b));
      });
      call.on('error', (err: grpc.ServiceError) => {
        clearTimeout(timer);
        if (err.code !== grpc.status.CANCELLED) reject(err);
      });
      call.write(Buffer.from(etcdserverpb.LeaseKeepAliveRequest.encode({ ID: id }).finish()));
    });
  }
  async hashKV(revision: number): Promise<Decoded<etcdserverpb.HashKVResponse>> {
    return decoded(
      await this.call('/etcdserverpb.Maintenance/HashKV', etcdserverpb.HashKVRequest.encode({ revision }).finish()),
      etcdserverpb.HashKVResponse.decode,
    );
  }
  async memberList(): Promise<Decoded<etcdserverpb.MemberListResponse>> {
    return decoded(await this.call('/etcdserverpb.Cluster/MemberList', new Uint8Array(0)), etcdserverpb.MemberListResponse.decode);
  }
  async status(): Promise<Decoded<etcdserverpb.StatusResponse>> {
    return decoded(await this.call('/etcdserverpb.Maintenance/Status', new Uint8Array(0)), etcdserverpb.StatusResponse.decode);
  }

  /** The current revision (a linearizable Range on a key nobody writes); throws on error. */
  async revision(): Promise<number> {
    const r = await this.range({ key: Buffer.from('\u0000revision-probe') });
    if (!r.ok) throw new Error(`revision probe failed: ${r.error.code} ${r.error.details}`);
    return Number(r.value.header?.revision ?? 0);
  }

  close(): void {
    this.client.close();
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: GrpcFailure };

function decoded<T>(r: RawResult, decode: (b: Uint8Array) => T): Decoded<T> {
  return r.ok ? { ok: true, value: decode(r.bytes) } : r;
}

/**
 * One Watch stream (bidi `/etcdserverpb.Watch/Watch`), decoded. `next()` waits for the next
 * response; its timeout only bounds a hung server (the test fails), it never decides a pass.
 */
export class RawWatchStream {
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly queue: etcdserverpb.WatchResponse[] = [];
  private waiter: ((r: etcdserverpb.WatchResponse | Error) => void) | undefined;
  private ended: Error | undefined;

  constructor(raw: RawEtcdClient, metadata: Record<string, string> = {}) {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    this.call = raw.client.makeBidiStreamRequest<Buffer, Buffer>(
      '/etcdserverpb.Watch/Watch',
      (b: Buffer) => b,
      (b: Buffer) => b,
      md,
    );
    this.call.on('data', (b: Buffer) => this.push(etcdserverpb.WatchResponse.decode(b)));
    this.call.on('error', (err: Error) => this.fail(err));
    this.call.on('end', () => this.fail(new Error('watch stream ended')));
  }

  private push(r: etcdserverpb.WatchResponse): void {
    const w = this.waiter;
    if (w) {
      this.waiter = undefined;
      w(r);
    } else this.queue.push(r);
  }

  private fail(err: Error): void {
    if (this.ended) return;
    this.ended = err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.(err);
  }

  send(req: etcdserverpb.WatchRequest.$Properties): void {
    this.call.write(Buffer.from(etcdserverpb.WatchRequest.encode(req).finish()));
  }

  /** Send raw bytes as one message (oversized or malformed requests). */
  sendBytes(bytes: Uint8Array): void {
    this.call.write(Buffer.from(bytes));
  }

  /** Stop reading (the server's writes then fill the HTTP/2 flow-control window), and resume. */
  pause(): void {
    this.call.pause();
  }
  resume(): void {
    this.call.resume();
  }

  /** The error the stream ended with, once it ended. */
  get endedWith(): Error | undefined {
    return this.ended;
  }

  next(timeoutMs = 10_000): Promise<etcdserverpb.WatchResponse> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no watch response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (r) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
    });
  }

  close(): void {
    this.call.cancel();
  }
}
