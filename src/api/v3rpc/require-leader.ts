/**
 * etcd's "hasleader" request metadata (clientv3.WithRequireLeader, which etcdctl and the Go
 * client set for watches and may set for any call): with `hasleader: true`, a member that knows
 * no leader answers "etcdserver: no leader" at once instead of waiting for one.
 */
import { EtcdError } from '../../errors/errors.js';
import type { CallContext } from '../grpc/types.js';
import type { UnaryMethodSpec } from './method.js';

/** The metadata key etcd's clients send (rpctypes.MetadataRequireLeaderKey). */
export const REQUIRE_LEADER_KEY = 'hasleader';

export function withRequireLeader(methods: readonly UnaryMethodSpec<any, any>[], hasLeader: () => boolean): UnaryMethodSpec<any, any>[] {
  return methods.map((m) => ({
    ...m,
    handler: (req: unknown, ctx?: CallContext) => {
      if (ctx?.metadata(REQUIRE_LEADER_KEY) === 'true' && !hasLeader()) throw new EtcdError('ETCD_ERR_RAFT_NO_LEADER');
      return m.handler(req);
    },
  }));
}
