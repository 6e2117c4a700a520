/**
 * The gRPC services etcd serves (proto/etcdserverpb/rpc.proto, v3lockpb, v3electionpb),
 * and the UNIMPLEMENTED answers for paths nobody registered, worded as grpc-go words them:
 *   - a method of an etcd service we have not implemented yet: "method Put not implemented"
 *     (what grpc-go's generated Unimplemented*Server stubs return);
 *   - an unknown method of a known service: "unknown method Foo for service etcdserverpb.KV";
 *   - an unknown service: "unknown service foo.Bar";
 *   - a path that is not /service/method: "malformed method name: \"/x\"".
 */
import { GrpcStatus, GrpcStatusError } from './status.js';

export type MethodKind = 'unary' | 'server' | 'bidi';

export interface ServiceSpec {
  /** Fully qualified service name, e.g. 'etcdserverpb.KV'. */
  readonly name: string;
  readonly methods: Readonly<Record<string, MethodKind>>;
}

export const ETCD_SERVICES: readonly ServiceSpec[] = [
  { name: 'etcdserverpb.KV', methods: { Range: 'unary', Put: 'unary', DeleteRange: 'unary', Txn: 'unary', Compact: 'unary' } },
  { name: 'etcdserverpb.Watch', methods: { Watch: 'bidi' } },
  {
    name: 'etcdserverpb.Lease',
    methods: { LeaseGrant: 'unary', LeaseRevoke: 'unary', LeaseKeepAlive: 'bidi', LeaseTimeToLive: 'unary', LeaseLeases: 'unary' },
  },
  {
    name: 'etcdserverpb.Cluster',
    methods: { MemberAdd: 'unary', MemberRemove: 'unary', MemberUpdate: 'unary', MemberList: 'unary', MemberPromote: 'unary' },
  },
  {
    name: 'etcdserverpb.Maintenance',
    methods: {
      Alarm: 'unary', Status: 'unary', Defragment: 'unary', Hash: 'unary', HashKV: 'unary',
      Snapshot: 'server', MoveLeader: 'unary', Downgrade: 'unary',
    },
  },
  {
    name: 'etcdserverpb.Auth',
    methods: {
      AuthEnable: 'unary', AuthDisable: 'unary', AuthStatus: 'unary', Authenticate: 'unary',
      UserAdd: 'unary', UserGet: 'unary', UserList: 'unary', UserDelete: 'unary',
      UserChangePassword: 'unary', UserGrantRole: 'unary', UserRevokeRole: 'unary',
      RoleAdd: 'unary', RoleGet: 'unary', RoleList: 'unary', RoleDelete: 'unary',
      RoleGrantPermission: 'unary', RoleRevokePermission: 'unary',
    },
  },
  { name: 'v3lockpb.Lock', methods: { Lock: 'unary', Unlock: 'unary' } },
  { name: 'v3electionpb.Election', methods: { Campaign: 'unary', Proclaim: 'unary', Leader: 'unary', Observe: 'server', Resign: 'unary' } },
];

/** Every etcd method path with its kind, e.g. '/etcdserverpb.KV/Put' -> 'unary'. */
export function etcdMethodPaths(services: readonly ServiceSpec[] = ETCD_SERVICES): Map<string, MethodKind> {
  const out = new Map<string, MethodKind>();
  for (const s of services) {
    for (const [m, kind] of Object.entries(s.methods)) out.set(`/${s.name}/${m}`, kind);
  }
  return out;
}

/**
 * The error for a call to `path` that no handler serves. `registeredPaths` are the
 * paths the transport serves (so services we serve count as known).
 */
export function unimplementedError(
  path: string,
  registeredPaths: Iterable<string>,
  services: readonly ServiceSpec[] = ETCD_SERVICES,
): GrpcStatusError {
  const slash = path.lastIndexOf('/');
  if (path[0] !== '/' || slash <= 0) {
    return new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `malformed method name: ${JSON.stringify(path)}`);
  }
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  const spec = services.find((s) => s.name === service);
  if (spec !== undefined && Object.prototype.hasOwnProperty.call(spec.methods, method)) {
    return new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `method ${method} not implemented`);
  }
  let known = spec !== undefined;
  if (!known) {
    const prefix = `/${service}/`;
    for (const p of registeredPaths) {
      if (p.startsWith(prefix)) {
        known = true;
        break;
      }
    }
  }
  return known
    ? new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `unknown method ${method} for service ${service}`)
    : new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `unknown service ${service}`);
}
