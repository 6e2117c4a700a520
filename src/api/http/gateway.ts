/**
 * The HTTP/JSON gateway on the client port (etcd's grpc-gateway): POST /v3/<service>/<op>
 * with a JSON body in proto3's JSON form (field names as in the .proto, bytes as base64,
 * int64 as strings, zero values omitted) calls the same unary handler the gRPC transport
 * calls. Errors answer {"error", "message", "code"} with grpc-gateway's HTTP status.
 *
 * JSON <-> message conversion uses protobufjs reflection over our .proto files (loaded
 * once at start), with 64-bit integers kept exact by ./proto-json.ts (member, cluster and
 * lease IDs are full 64-bit values); the handlers keep working on the generated static messages.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import '../../proto/pb-runtime.js';
import { EtcdError, GrpcStatus } from '../../errors/errors.js';
import type { UnaryMethodSpec } from '../v3rpc/method.js';
import type { CallContext } from '../grpc/types.js';
import type { HttpRouter } from './router.js';
import { messageToJson, restoreLongs } from './proto-json.js';
import { quoteBigIntegers } from './json-bigint.js';

/** Gateway path -> gRPC method path, as etcd's gateway routes them. */
const ROUTES: Readonly<Record<string, string>> = {
  '/v3/kv/range': '/etcdserverpb.KV/Range',
  '/v3/kv/put': '/etcdserverpb.KV/Put',
  '/v3/kv/deleterange': '/etcdserverpb.KV/DeleteRange',
  '/v3/kv/txn': '/etcdserverpb.KV/Txn',
  '/v3/kv/compaction': '/etcdserverpb.KV/Compact',
  '/v3/maintenance/status': '/etcdserverpb.Maintenance/Status',
  '/v3/cluster/member/list': '/etcdserverpb.Cluster/MemberList',
  '/v3/lease/grant': '/etcdserverpb.Lease/LeaseGrant',
  '/v3/lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
  '/v3/kv/lease/revoke': '/etcdserverpb.Lease/LeaseRevoke',
  '/v3/lease/keepalive': '/etcdserverpb.Lease/LeaseKeepAlive',
  '/v3/lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
  '/v3/kv/lease/timetolive': '/etcdserverpb.Lease/LeaseTimeToLive',
  '/v3/lease/leases': '/etcdserverpb.Lease/LeaseLeases',
  '/v3/kv/lease/leases': '/etcdserverpb.Lease/LeaseLeases',
  '/v3/lock/lock': '/v3lockpb.Lock/Lock',
  '/v3/lock/unlock': '/v3lockpb.Lock/Unlock',
  '/v3/election/campaign': '/v3electionpb.Election/Campaign',
  '/v3/election/proclaim': '/v3electionpb.Election/Proclaim',
  '/v3/election/leader': '/v3electionpb.Election/Leader',
  '/v3/election/resign': '/v3electionpb.Election/Resign',
  '/v3/auth/enable': '/etcdserverpb.Auth/AuthEnable',
  '/v3/auth/disable': '/etcdserverpb.Auth/AuthDisable',
  '/v3/auth/status': '/etcdserverpb.Auth/AuthStatus',
  '/v3/auth/authenticate': '/etcdserverpb.Auth/Authenticate',
  '/v3/auth/user/add': '/etcdserverpb.Auth/UserAdd',
  '/v3/auth/user/get': '/etcdserverpb.Auth/UserGet',
  '/v3/auth/user/list': '/etcdserverpb.Auth/UserList',
  '/v3/auth/user/delete': '/etcdserverpb.Auth/UserDelete',
  '/v3/auth/user/changepw': '/etcdserverpb.Auth/UserChangePassword',
  '/v3/auth/user/grant': '/etcdserverpb.Auth/UserGrantRole',
  '/v3/auth/user/revoke': '/etcdserverpb.Auth/UserRevokeRole',
  '/v3/auth/role/add': '/etcdserverpb.Auth/RoleAdd',
  '/v3/auth/role/get': '/etcdserverpb.Auth/RoleGet',
  '/v3/auth/role/list': '/etcdserverpb.Auth/RoleList',
  '/v3/auth/role/delete': '/etcdserverpb.Auth/RoleDelete',
  '/v3/auth/role/grant': '/etcdserverpb.Auth/RoleGrantPermission',
  '/v3/auth/role/revoke': '/etcdserverpb.Auth/RoleRevokePermission',
};

/**
 * Streaming methods served as one request, one answer: grpc-gateway writes each streamed message
 * as `{"result": ...}` and a newline (LeaseKeepAlive: one keep-alive per POST).
 */
const STREAM_ROUTES: ReadonlySet<string> = new Set(['/etcdserverpb.Lease/LeaseKeepAlive']);

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
  root.loadSync(['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'], { keepCase: true });
  return root;
}

interface Route {
  readonly method: UnaryMethodSpec<unknown, unknown>;
  readonly request: protobuf.Type;
  readonly response: protobuf.Type;
  readonly stream: boolean;
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
    const route: Route = { method, request: service.lookupType(rpc.requestType), response: service.lookupType(rpc.responseType), stream: STREAM_ROUTES.has(grpcPath) };
    const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => serve(route, req, res, opts);
    router.route(['POST'], httpPath, handler);
    // etcd 3.4 still answers the /v3beta/ prefix of the same routes.
    router.route(['POST'], httpPath.replace('/v3/', '/v3beta/'), handler);
  }
}

type GatewayHandler = (req: unknown, ctx: CallContext) => unknown;

/**
 * The call context of a gateway request: the `Authorization` header is the auth token (etcd's
 * gateway passes it as the `authorization` metadata; a "Bearer " prefix is dropped by the auth
 * gate), and the call is marked as the gateway's, so a client certificate's CN never names the
 * user (etcd's grpcgateway-accept check).
 */
function gatewayContext(req: import('node:http').IncomingMessage, path: string): CallContext {
  const auth = req.headers.authorization;
  return {
    metadata: (key) => (key === 'authorization' ? auth : key === 'grpcgateway-accept' ? 'application/json' : undefined),
    deadline: undefined,
    signal: new AbortController().signal,
    path,
  };
}

async function serve(route: Route, req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, opts: GatewayOptions): Promise<void> {
  try {
    const body = await readBody(req, opts.maxBodyBytes);
    let json: unknown;
    try {
      json = body.length === 0 ? {} : JSON.parse(quoteBigIntegers(body.toString('utf8')));
    } catch (err) {
      throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, `invalid character in JSON body: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, 'the JSON body must be an object');
    }
    let bytes: Uint8Array;
    try {
      const message = normalizeJson(route.request, json as Record<string, unknown>, route.request.name);
      const converted = route.request.fromObject(message) as unknown as Record<string, unknown>;
      restoreLongs(route.request, message, converted); // fromObject rounds int64 above 2^53
      bytes = route.request.encode(converted).finish();
    } catch (err) {
      throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, err instanceof Error ? err.message : String(err));
    }
    const out = route.method.encode(await (route.method.handler as GatewayHandler)(route.method.decode(bytes), gatewayContext(req, route.method.path)));
    if (route.stream) {
      const text = `${JSON.stringify({ result: messageToJson(route.response, out) })}\n`;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    } else {
      send(res, 200, messageToJson(route.response, out));
    }
  } catch (err) {
    if (err instanceof GatewayError && err.grpcStatus === GrpcStatus.RESOURCE_EXHAUSTED) res.setHeader('Connection', 'close');
    const status = err instanceof EtcdError || err instanceof GatewayError ? err.grpcStatus : GrpcStatus.UNKNOWN;
    const message = err instanceof Error ? err.message : String(err);
    send(res, HTTP_STATUS[status] ?? 500, { error: message, message, code: status });
  }
}

const INTEGER_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const INT64_LIMIT = 2n ** 64n;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Checks a request body against its message type the way jsonpb does and returns it with
 * proto field names: a field may be named as in the .proto (`range_end`) or in JSON's
 * lowerCamelCase (`rangeEnd`); unknown fields, non-numeric integers, unknown enum names
 * and values of the wrong JSON type are refused (GatewayError INVALID_ARGUMENT), where
 * protobufjs would coerce them silently.
 */
function normalizeJson(type: protobuf.Type, obj: Record<string, unknown>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => protobuf.util.camelCase(f.name) === key);
    if (field === undefined) throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, `unknown field "${key}" in ${path}`);
    if (value === null) continue;
    const at = `${path}.${field.name}`;
    if (field.repeated) {
      if (!Array.isArray(value)) throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, `${at}: expected an array`);
      out[field.name] = value.map((v, i) => normalizeValue(field, v, `${at}[${i}]`));
    } else {
      out[field.name] = normalizeValue(field, value, at);
    }
  }
  return out;
}

function normalizeValue(field: protobuf.Field, value: unknown, at: string): unknown {
  const bad = (what: string): never => {
    throw new GatewayError(GrpcStatus.INVALID_ARGUMENT, `${at}: ${what}, got ${JSON.stringify(value)}`);
  };
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) bad('expected an object');
    return normalizeJson(resolved, value as Record<string, unknown>, at);
  }
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' && Object.prototype.hasOwnProperty.call(resolved.values, value)) return value;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    return bad(`not a value of ${resolved.name}`);
  }
  if (INTEGER_TYPES.has(field.type)) {
    let n: bigint;
    if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
    else if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) n = BigInt(value);
    else return bad('expected an integer');
    const unsigned = field.type.startsWith('u') || field.type.startsWith('fixed');
    if (unsigned ? n < 0n || n >= INT64_LIMIT : n < -(INT64_LIMIT / 2n) || n >= INT64_LIMIT / 2n) bad('integer out of range');
    return value;
  }
  switch (field.type) {
    case 'bool':
      return typeof value === 'boolean' ? value : bad('expected true or false');
    case 'string':
      return typeof value === 'string' ? value : bad('expected a string');
    case 'bytes':
      return typeof value === 'string' && BASE64.test(value) ? value : bad('expected base64 bytes');
    default:
      return typeof value === 'number' ? value : bad('expected a number');
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
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > maxBytes) {
        // Stop keeping it, let the rest drain, answer, and close the connection after.
        req.off('data', onData);
        req.resume();
        reject(new GatewayError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${size} vs. ${maxBytes})`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

