/**
 * The HTTP/JSON gateway on the client port (etcd's grpc-gateway): POST /v3/<service>/<op>
 * with a JSON body in proto3's JSON form (field names as in the .proto, bytes as base64,
 * int64 as strings, zero values omitted) calls the same unary handler the gRPC transport
 * calls. Errors answer {"error", "message", "code"} with grpc-gateway's HTTP status.
 *
 * JSON <-> message conversion uses protobufjs reflection over our .proto files (loaded
 * once at start); the handlers keep working on the generated static messages.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import '../pb-runtime.js';
import { EtcdError, GrpcStatus } from '../rpctypes/errors.js';
import type { UnaryMethodSpec } from '../v3rpc/method.js';
import type { HttpRouter } from './router.js';

/** Gateway path -> gRPC method path, as etcd's gateway routes them. */
const ROUTES: Readonly<Record<string, string>> = {
  '/v3/kv/range': '/etcdserverpb.KV/Range',
  '/v3/kv/put': '/etcdserverpb.KV/Put',
  '/v3/kv/deleterange': '/etcdserverpb.KV/DeleteRange',
  '/v3/kv/txn': '/etcdserverpb.KV/Txn',
  '/v3/kv/compaction': '/etcdserverpb.KV/Compact',
  '/v3/maintenance/status': '/etcdserverpb.Maintenance/Status',
  '/v3/cluster/member/list': '/etcdserverpb.Cluster/MemberList',
};

/** grpc-gateway's runtime.HTTPStatusFromCode. */
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 408,
  [GrpcStatus.UNKNOWN]: 500,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  [GrpcStatus.FAILED_PRECONDITION]: 400,
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.INTERNAL]: 500,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DATA_LOSS]: 500,
  [GrpcStatus.UNAUTHENTICATED]: 401,
};

/** The largest JSON body read (etcd bounds it by the gRPC receive limit). */
export interface GatewayOptions {
  readonly maxBodyBytes: number;
}

const PROTO_ROOT = fileURLToPath(new URL('../../../../proto/', import.meta.url));

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => PROTO_ROOT + target;
  root.loadSync(['etcdserverpb/rpc.proto'], { keepCase: true });
  return root;
}

interface Route {
  readonly method: UnaryMethodSpec<unknown, unknown>;
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
}

class GatewayError extends Error {
  constructor(readonly grpcStatus: GrpcStatus, message: string) {
    super(message);
  }
}

export function registerGateway(router: HttpRouter, methods: readonly UnaryMethodSpec<any, any>[], opts: GatewayOptions): void {
  const root = loadRoot();
  const byPath = new Map(methods.map((m) => [m.path, m]));
  for (const [httpPath, grpcPath] of Object.entries(ROUTES)) {
    const method = byPath.get(grpcPath);
    if (method === undefined) continue;
    const [, pkgService, name] = grpcPath.split('/') as [string, string, string];
    const service = root.lookupService(pkgService);
    const rpc = service.methods[name]!;
    const route: Route = { method, request: root.lookupType(rpc.requestType), response: root.lookupType(rpc.responseType) };
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => serve(route, req, res, opts);
    router.route(['POST'], httpPath, handler);
    // etcd 3.4 still answers the /v3beta/ prefix of the same routes.
    router.route(['POST'], httpPath.replace('/v3/', '/v3beta/'), handler);
  }
}

async function serve(route: Route, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, opts: GatewayOptions): Promise<void> {
  try {
    const body = await readBody(req, opts.maxBodyBytes);
    let json: unknown;
    try {
      json = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, `invalid character in JSON body: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, 'the JSON body must be an object');
    }
    let bytes: Uint8Array;
    try {
      bytes = route.request.encode(route.request.fromObject(json as Record<string, unknown>)).finish();
    } catch (err) {
      throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, err instanceof Error ? err.message : String(err));
    }
    const out = route.method.encode(await route.method.handler(route.method.decode(bytes)));
    const obj = route.response.toObject(route.response.decode(out), { longs: String, enums: String, bytes: String, defaults: false });
    send(res, 200, obj);
  } catch (err) {
    const status = err instanceof EtcdError || err instanceof GatewayError ? err.grpcStatus : GrpcStatus.UNKNOWN;
    const message = err instanceof Error ? err.message : String(err);
    send(res, HTTP_STATUS[status] ?? 500, { error: message, message, code: status });
  }
}

function send(res: import('node:http').ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: import('node:http').IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new GatewayError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${size} vs. ${maxBytes})`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

