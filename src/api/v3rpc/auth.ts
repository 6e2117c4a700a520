/**
 * etcdserverpb.Auth, and the auth gate in front of every other service (docs/auth.md "Who may
 * do what"): the caller of a call is found once (token, else certificate CN), the permissions a
 * request needs are checked before it is served or proposed, and the call runs as that caller
 * so every entry it proposes (lock, election and lease calls too) carries it to the applier,
 * which checks writes again at apply. With auth disabled the gate is one boolean per call.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { EtcdError } from '../../errors/errors.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';
import { NO_LEASE_KEYS, checkPutAuth, checkTxnAuth } from '../../auth/checks.js';
import type { CallContext, ServerStream, StreamMethod } from '../grpc/types.js';

/** The caller of a request (etcd's AuthInfo). */
export interface Caller {
  readonly username: string;
  readonly revision: number;
}

/** What the gate and the Auth service need (src/server/auth-server.ts implements it). */
export interface Authenticator {
  readonly enabled: boolean;
  callerOf(ctx: CallContext | undefined): Caller | undefined;
  runAs<T>(ai: Caller | undefined, fn: () => T): T;
  readonly store: {
    readonly revision: number;
    checkRange(ai: Caller | undefined, key: Uint8Array | null | undefined, rangeEnd: Uint8Array | null | undefined, write: boolean): void;
    checkAdmin(ai: Caller | undefined): void;
    isAdmin(ai: Caller | undefined): boolean;
  };
  authenticate(req: etcdserverpb.IAuthenticateRequest): Promise<Uint8Array>;
  userAdd(req: etcdserverpb.IAuthUserAddRequest): Promise<Uint8Array>;
  userChangePassword(req: etcdserverpb.IAuthUserChangePasswordRequest): Promise<Uint8Array>;
  proposeAuth(p: Record<string, unknown>): Promise<Uint8Array>;
  /** Resolves once this member has applied everything committed before the call (a ReadIndex round). */
  sync(): Promise<void>;
}

function isSerializable(path: string, req: any): boolean {
  if (path === '/etcdserverpb.KV/Range') return req.serializable === true;
  if (path === '/etcdserverpb.KV/Txn') return isReadOnlyTxn(req) && (req.success ?? []).concat(req.failure ?? []).every((op: any) => op.requestRange?.serializable === true);
  return false;
}

/** Calls that need the root role while auth is enabled (etcd's isAuthenticated / checkMembershipOperationPermission). */
const ADMIN_PATHS = new Set([
  '/etcdserverpb.KV/Compact',
  '/etcdserverpb.Maintenance/Defragment', '/etcdserverpb.Maintenance/Hash',
  '/etcdserverpb.Maintenance/HashKV', '/etcdserverpb.Maintenance/MoveLeader', '/etcdserverpb.Maintenance/Snapshot',
  '/etcdserverpb.Maintenance/Downgrade',
  '/etcdserverpb.Cluster/MemberAdd', '/etcdserverpb.Cluster/MemberRemove', '/etcdserverpb.Cluster/MemberUpdate',
  '/etcdserverpb.Cluster/MemberPromote',
]);

type Store = Authenticator['store'];

/** grpc-go's codes.Code String() for the codes a watch can be refused with. */
const GO_CODE_NAMES: Record<number, string> = { 3: 'InvalidArgument', 7: 'PermissionDenied', 16: 'Unauthenticated' };

function isReadOnlyTxn(t: etcdserverpb.ITxnRequest): boolean {
  for (const op of [...(t.success ?? []), ...(t.failure ?? [])]) {
    if (op.requestPut || op.requestDeleteRange) return false;
    if (op.requestTxn && !isReadOnlyTxn(op.requestTxn)) return false;
  }
  return true;
}

/** The check before serving `path` (reads: the only check; writes: a first one, the applier decides). */
function checkBefore(s: Store, path: string, req: any, ai: Caller | undefined): void {
  switch (path) {
    case '/etcdserverpb.KV/Range': return s.checkRange(ai, req.key, req.rangeEnd, false);
    case '/etcdserverpb.KV/Put': return checkPutAuth(s, ai, NO_LEASE_KEYS, req);
    case '/etcdserverpb.KV/DeleteRange':
      s.checkRange(ai, req.key, req.rangeEnd, true);
      if (req.prevKv) s.checkRange(ai, req.key, req.rangeEnd, false);
      return;
    case '/etcdserverpb.KV/Txn': return checkTxnAuth(s, ai, NO_LEASE_KEYS, req);
    case '/etcdserverpb.Maintenance/Alarm':
      // Listing alarms needs a user, changing them the root role (etcd 3.5+).
      if ((req.action ?? 0) === 0) {
        if (ai === undefined) throw new EtcdError('ETCD_ERR_AUTH_USER_EMPTY');
        return;
      }
      return s.checkAdmin(ai);
    default:
      if (ADMIN_PATHS.has(path)) s.checkAdmin(ai);
  }
}

/** Reads answered from a store whose auth revision moved meanwhile are refused (etcd's doSerialize). */
function checkAfter(s: Store, path: string, req: any, ai: Caller | undefined, res: unknown): void {
  if (path === '/etcdserverpb.Lease/LeaseTimeToLive' && req.keys === true) checkLeaseKeys(s, ai, res);
  if (ai === undefined || ai.revision === 0 || ai.revision === s.revision) return;
  if (path === '/etcdserverpb.KV/Range' || (path === '/etcdserverpb.KV/Txn' && isReadOnlyTxn(req))) {
    throw new EtcdError('ETCD_ERR_AUTH_OLD_REVISION');
  }
}

/**
 * LeaseTimeToLive with keys shows the lease's keys: READ on each, unless root (etcd 3.5+'s
 * checkLeaseTimeToLive; etcd 3.4 does not check). The keys are those of the answer.
 */
function checkLeaseKeys(s: Store, ai: Caller | undefined, res: unknown): void {
  if (ai === undefined) throw new EtcdError('ETCD_ERR_AUTH_USER_EMPTY');
  try {
    s.checkAdmin(ai);
    return;
  } catch {
    // not root: every key must be readable
  }
  const r = res instanceof Uint8Array ? etcdserverpb.LeaseTimeToLiveResponse.decode(res) : (res as etcdserverpb.ILeaseTimeToLiveResponse);
  for (const k of r.keys ?? []) s.checkRange(ai, k, undefined, false);
}

/** Puts the auth gate in front of unary methods (wrap outermost: it needs the call context). */
export function withAuth(methods: readonly UnaryMethodSpec<any, any>[], auth: Authenticator): UnaryMethodSpec<any, any>[] {
  return methods.map((m) => {
    // Authenticate carries no caller (a stale token must not stop a client from getting a new one).
    if (m.path === '/etcdserverpb.Auth/Authenticate') return m;
    const inner = m.handler as (req: unknown, ctx?: CallContext) => unknown;
    return {
      ...m,
      handler: (req: unknown, ctx?: CallContext) => {
        if (!auth.enabled) return inner(req, ctx);
        const run = (ai: Caller | undefined): Promise<unknown> => {
          const out = auth.runAs(ai, () => inner(req, ctx));
          return Promise.resolve(out).then((res) => {
            checkAfter(auth.store, m.path, req, ai, res);
            return res;
          });
        };
        let ai: Caller | undefined;
        try {
          ai = auth.callerOf(ctx);
          checkBefore(auth.store, m.path, req, ai);
        } catch (err) {
          // This member's view of the auth store may be behind a grant, or a token, that another
          // member already answered: refuse only once it has applied everything committed (a
          // serializable read is answered from the local view, as etcd does).
          const retry = err instanceof EtcdError && (err.code === 'ETCD_ERR_AUTH_PERMISSION_DENIED' || err.code === 'ETCD_ERR_AUTH_INVALID_TOKEN');
          if (!retry || isSerializable(m.path, req)) throw err;
          return auth.sync().then(() => {
            const fresh = auth.callerOf(ctx);
            checkBefore(auth.store, m.path, req, fresh);
            return run(fresh);
          });
        }
        return run(ai);
      },
    } as UnaryMethodSpec<any, any>;
  });
}

/** The gate for streams: Watch creates need READ on their range; Snapshot needs root. */
export function withAuthStream(m: StreamMethod<any, any>, auth: Authenticator, watchHeader?: () => etcdserverpb.IResponseHeader): StreamMethod<any, any> {
  return {
    ...m,
    handler: (stream: ServerStream<any, any>, ctx: CallContext) => {
      if (m.path === '/etcdserverpb.Watch/Watch') return m.handler(watchGate(stream, ctx, auth, watchHeader ?? (() => ({}))), ctx);
      if (auth.enabled && ADMIN_PATHS.has(m.path)) {
        try {
          auth.store.checkAdmin(auth.callerOf(ctx));
        } catch (err) {
          stream.end(err);
          return;
        }
      }
      return m.handler(stream, ctx);
    },
  };
}

/** The gateway's watch check (docs/auth.md): a refusal for a create without READ, or undefined. */
export function gatewayWatchRefusal(auth: Authenticator, header: () => etcdserverpb.IResponseHeader) {
  return (create: etcdserverpb.IWatchCreateRequest, authorization: string | undefined): Uint8Array | undefined => {
    if (!auth.enabled) return undefined;
    try {
      const ai = auth.callerOf({
        metadata: (k) => (k === 'authorization' ? authorization : k === 'grpcgateway-accept' ? 'application/json' : undefined),
        deadline: undefined, signal: new AbortController().signal, path: '/etcdserverpb.Watch/Watch',
      });
      auth.store.checkRange(ai, create.key, create.rangeEnd, false);
      return undefined;
    } catch (err) {
      return watchRefusal(err, header);
    }
  };
}

function watchRefusal(err: unknown, header: () => etcdserverpb.IResponseHeader): Uint8Array {
  // etcd puts the gRPC error's Go string in cancel_reason.
  const e = err instanceof EtcdError ? err : new EtcdError('ETCD_ERR_AUTH_PERMISSION_DENIED');
  const reason = `rpc error: code = ${GO_CODE_NAMES[e.grpcStatus] ?? 'Unknown'} desc = ${e.message}`;
  return etcdserverpb.WatchResponse.encode({ header: header(), watchId: -1, created: true, canceled: true, cancelReason: reason }).finish();
}

function watchGate(stream: ServerStream<any, any>, ctx: CallContext, auth: Authenticator, header: () => etcdserverpb.IResponseHeader): ServerStream<any, any> {
  const denied = (err: unknown): Uint8Array => watchRefusal(err, header);
  return {
    onMessage: (fn) => stream.onMessage((req: etcdserverpb.WatchRequest) => {
      if (auth.enabled && req.createRequest != null) {
        try {
          auth.store.checkRange(auth.callerOf(ctx), req.createRequest.key, req.createRequest.rangeEnd, false);
        } catch (err) {
          stream.send(denied(err));
          return;
        }
      }
      fn(req);
    }),
    onHalfClose: (fn) => stream.onHalfClose(fn),
    onClose: (fn) => stream.onClose(fn),
    send: (res) => stream.send(res),
    onDrain: (fn) => stream.onDrain(fn),
    end: (err) => stream.end(err),
    get closed() { return stream.closed; },
  };
}

export function authMethods(auth: Authenticator): UnaryMethodSpec<any, any>[] {
  const pb = etcdserverpb;
  const S = '/etcdserverpb.Auth/';
  // withAuth runs each call as its caller; these only propose.
  const asCaller = (_ctx: CallContext | undefined, fn: () => Promise<Uint8Array>): Promise<Uint8Array> => fn();
  const simple = <K extends string>(name: string, field: K, reqCodec: { decode(b: Uint8Array): any }, resCodec: any): UnaryMethodSpec<any, any> => ({
    path: S + name,
    decode: (b) => reqCodec.decode(b),
    encode: encodeWith(resCodec),
    handler: (req: unknown, ctx?: CallContext) => asCaller(ctx, () => auth.proposeAuth({ [field]: req })),
  });
  return [
    {
      path: S + 'Authenticate',
      decode: (b) => pb.AuthenticateRequest.decode(b),
      encode: encodeWith(pb.AuthenticateResponse),
      handler: (req: etcdserverpb.AuthenticateRequest) => auth.authenticate(req),
    },
    {
      path: S + 'UserAdd',
      decode: (b) => pb.AuthUserAddRequest.decode(b),
      encode: encodeWith(pb.AuthUserAddResponse),
      handler: (req: etcdserverpb.AuthUserAddRequest, ctx?: CallContext) => {
        // etcd checks the name before hashing; an empty one never reaches the log.
        if ((req.name ?? '') === '') throw new EtcdError('ETCD_ERR_AUTH_USER_EMPTY');
        return asCaller(ctx, () => auth.userAdd(req));
      },
    },
    {
      path: S + 'UserChangePassword',
      decode: (b) => pb.AuthUserChangePasswordRequest.decode(b),
      encode: encodeWith(pb.AuthUserChangePasswordResponse),
      handler: (req: etcdserverpb.AuthUserChangePasswordRequest, ctx?: CallContext) => asCaller(ctx, () => auth.userChangePassword(req)),
    },
    simple('AuthEnable', 'authEnable', pb.AuthEnableRequest, pb.AuthEnableResponse),
    simple('AuthDisable', 'authDisable', pb.AuthDisableRequest, pb.AuthDisableResponse),
    simple('AuthStatus', 'authStatus', pb.AuthStatusRequest, pb.AuthStatusResponse),
    simple('UserGet', 'authUserGet', pb.AuthUserGetRequest, pb.AuthUserGetResponse),
    simple('UserList', 'authUserList', pb.AuthUserListRequest, pb.AuthUserListResponse),
    simple('UserDelete', 'authUserDelete', pb.AuthUserDeleteRequest, pb.AuthUserDeleteResponse),
    simple('UserGrantRole', 'authUserGrantRole', pb.AuthUserGrantRoleRequest, pb.AuthUserGrantRoleResponse),
    simple('UserRevokeRole', 'authUserRevokeRole', pb.AuthUserRevokeRoleRequest, pb.AuthUserRevokeRoleResponse),
    simple('RoleAdd', 'authRoleAdd', pb.AuthRoleAddRequest, pb.AuthRoleAddResponse),
    simple('RoleGet', 'authRoleGet', pb.AuthRoleGetRequest, pb.AuthRoleGetResponse),
    simple('RoleList', 'authRoleList', pb.AuthRoleListRequest, pb.AuthRoleListResponse),
    simple('RoleDelete', 'authRoleDelete', pb.AuthRoleDeleteRequest, pb.AuthRoleDeleteResponse),
    simple('RoleGrantPermission', 'authRoleGrantPermission', pb.AuthRoleGrantPermissionRequest, pb.AuthRoleGrantPermissionResponse),
    simple('RoleRevokePermission', 'authRoleRevokePermission', pb.AuthRoleRevokePermissionRequest, pb.AuthRoleRevokePermissionResponse),
  ];
}
