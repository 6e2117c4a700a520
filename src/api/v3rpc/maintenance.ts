/**
 * etcdserverpb.Maintenance (Status for now) and etcdserverpb.Cluster (MemberList for
 * the one member). The other methods answer UNIMPLEMENTED from the transport.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

export interface StatusSource {
  status(): etcdserverpb.IStatusResponse;
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
  return [
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
