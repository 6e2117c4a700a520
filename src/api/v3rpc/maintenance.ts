/**
 * etcdserverpb.Maintenance (Status, HashKV). MoveLeader and the Cluster service are in
 * cluster.ts; the other methods answer UNIMPLEMENTED from the transport.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

export interface StatusSource {
  status(): etcdserverpb.IStatusResponse;
  /** HashKV; when absent the method answers UNIMPLEMENTED. */
  hashKv?(req: etcdserverpb.IHashKVRequest): etcdserverpb.IHashKVResponse;
  header(revision: number): etcdserverpb.IResponseHeader;
}

export function maintenanceMethods(s: StatusSource): UnaryMethodSpec<any, any>[] {
  const pb = etcdserverpb;
  const hashKv = s.hashKv?.bind(s);
  const extra: UnaryMethodSpec<any, any>[] =
    hashKv === undefined
      ? []
      : [
          {
            path: '/etcdserverpb.Maintenance/HashKV',
            decode: (b) => pb.HashKVRequest.decode(b),
            encode: encodeWith(pb.HashKVResponse),
            handler: (req: etcdserverpb.IHashKVRequest) => hashKv(req),
          },
        ];
  return [
    ...extra,
    {
      path: '/etcdserverpb.Maintenance/Status',
      decode: (b) => pb.StatusRequest.decode(b),
      encode: encodeWith(pb.StatusResponse),
      handler: () => s.status(),
    },
  ];
}
