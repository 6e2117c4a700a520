/**
 * Test helpers: start either transport behind the shared-port listener on 127.0.0.1:0
 * with a fake KV (Put/Range computed from the request), and call it with grpc-js.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import { ClientListener } from '../../../../src/api/grpc/client-listener.js';
import { GrpcJsTransport } from '../../../../src/api/grpc/grpc-js-transport.js';
import { Http2GrpcTransport } from '../../../../src/api/grpc/http2-transport.js';
import { WireGrpcTransport } from '../../../../src/api/grpc/wire-transport.js';
import type { GrpcTransport, GrpcTransportOptions } from '../../../../src/api/grpc/types.js';
import { HttpRouter } from '../../../../src/api/http/router.js';
import { registerHealthRoutes, registerVersionRoute } from '../../../../src/api/http/health.js';

export type Impl = 'http2' | 'grpcjs' | 'wire';
export const IMPLS: readonly Impl[] = ['http2', 'grpcjs', 'wire'];

export interface TestServer {
  readonly impl: Impl;
  readonly transport: GrpcTransport;
  readonly port: number;
  readonly address: string;
  /** Errors the transport logged (non-etcd handler errors). */
  readonly logged: unknown[];
  close(): Promise<void>;
}

export function makeTransport(impl: Impl, opts: GrpcTransportOptions = {}): GrpcTransport {
  if (impl === 'wire') return new WireGrpcTransport(opts);
  return impl === 'http2' ? new Http2GrpcTransport(opts) : new GrpcJsTransport(opts);
}

/** A fake KV whose answers are computed from the request, so both transports must carry bytes faithfully. */
export function addFakeKv(t: GrpcTransport): void {
  let revision = 100;
  t.addUnary<etcdserverpb.PutRequest, etcdserverpb.IPutResponse>({
    path: '/etcdserverpb.KV/Put',
    decode: (b) => etcdserverpb.PutRequest.decode(b),
    encode: (r) => etcdserverpb.PutResponse.encode(r).finish(),
    handler: (req) => {
      revision++;
      return {
        header: { clusterId: 7n, memberId: 8n, revision, raftTerm: 2 },
        prevKv: req.prevKv ? { key: req.key, value: Buffer.from(req.value).reverse(), modRevision: revision - 1, createRevision: 1, version: 3 } : null,
      };
    },
  });
  t.addUnary<etcdserverpb.RangeRequest, etcdserverpb.IRangeResponse>({
    path: '/etcdserverpb.KV/Range',
    decode: (b) => etcdserverpb.RangeRequest.decode(b),
    encode: (r) => etcdserverpb.RangeResponse.encode(r).finish(),
    handler: async (req) => {
      await Promise.resolve();
      const key = Buffer.from(req.key);
      return {
        header: { clusterId: 7n, memberId: 8n, revision, raftTerm: 2 },
        kvs: [{ key, value: Buffer.from(`value-of-${key.toString()}`), modRevision: revision, createRevision: 3, version: 2 }],
        count: 1,
      };
    },
  });
}

export async function startServer(
  impl: Impl,
  setup: (t: GrpcTransport) => void = addFakeKv,
  opts: GrpcTransportOptions = {},
): Promise<TestServer> {
  const logged: unknown[] = [];
  const transport = makeTransport(impl, { logError: (_m, err) => logged.push(err), ...opts });
  setup(transport);
  const router = new HttpRouter();
  registerHealthRoutes(router, { alarms: () => [], hasLeader: () => true, isLearner: () => false, read: async () => {} });
  registerVersionRoute(router, { etcdserver: '3.6.0', etcdcluster: '3.6.0' });
  const listener = new ClientListener({ grpc: transport, http: router.handle });
  const { port } = await listener.listen(0, '127.0.0.1');
  return { impl, transport, port, address: `127.0.0.1:${port}`, logged, close: () => listener.close() };
}

const identity = (b: Buffer): Buffer => b;

export function rawClient(server: TestServer, options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(server.address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, ...options });
}

export interface UnaryResult {
  err: grpc.ServiceError | null;
  res: Buffer | undefined;
}

/** One unary call with raw bytes; never rejects. */
export function unaryRaw(
  client: grpc.Client,
  path: string,
  bytes: Uint8Array,
  opts: { deadlineMs?: number; metadata?: grpc.Metadata; onCall?: (c: grpc.ClientUnaryCall) => void } = {},
): Promise<UnaryResult> {
  return new Promise((resolve) => {
    const callOpts: grpc.CallOptions = opts.deadlineMs !== undefined ? { deadline: Date.now() + opts.deadlineMs } : {};
    const call = client.makeUnaryRequest(path, identity, identity, Buffer.from(bytes), opts.metadata ?? new grpc.Metadata(), callOpts, (err, res) =>
      resolve({ err: err ?? null, res }),
    );
    opts.onCall?.(call);
  });
}

export function putBytes(key: string, value: string, prevKv = false): Uint8Array {
  return etcdserverpb.PutRequest.encode({ key: Buffer.from(key), value: Buffer.from(value), prevKv }).finish();
}

/** Wait until `pred` holds or `ms` pass. */
/** Polls a state; the bound only catches a hang (generous, so load never fails it). */
export async function waitFor(pred: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
