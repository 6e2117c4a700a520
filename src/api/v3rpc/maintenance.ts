/**
 * etcdserverpb.Maintenance (Status, HashKV) and etcdserverpb.Cluster (MemberList: the configured
 * members). The other methods answer UNIMPLEMENTED from the transport.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

export interface StatusSource {
  status(): etcdserverpb.IStatusResponse;
  /** Every member (a cluster); when absent, MemberList lists this member from `identity`. */
  members?(): etcdserverpb.IMember[];
  /** HashKV; when absent the method answers UNIMPLEMENTED. */
  hashKv?(req: etcdserverpb.IHashKVRequest): etcdserverpb.IHashKVResponse;
  header(revision: number): etcdserverpb.IResponseHeader;
  readonly identity: {
    readonly name: string;
    readonly memberId: bigint;
    readonly peerUrls: readonly string[];
    readonly clientUrls: readonly string[];
  };
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
    {
      path: '/etcdserverpb.Cluster/MemberList',
      decode: (b) => pb.MemberListRequest.decode(b),
      encode: encodeWith(pb.MemberListResponse),
      handler: () => {
        const st = s.status();
        const id = s.identity;
        if (s.members !== undefined) return { header: st.header, members: s.members() };
        return {
          header: st.header,
          members: [
            { ID: id.memberId, name: id.name, peerURLs: [...id.peerUrls], clientURLs: [...id.clientUrls], isLearner: false },
          ],
        };
      },
    },
  ];
}
