/**
 * etcdserverpb.Cluster (MemberList, MemberAdd, MemberRemove, MemberUpdate, MemberPromote) and
 * Maintenance.MoveLeader, on the operations of src/server/cluster-ops.ts (docs/cluster.md,
 * "Runtime membership"). Errors are EtcdErrors, mapped to gRPC status by the transport.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { EtcdError } from '../../errors/errors.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

/** What the Cluster service calls (declared here, by its consumer). */
export interface ClusterService {
  list(linearizable: boolean): Promise<etcdserverpb.IMember[]>;
  add(peerUrls: readonly string[], isLearner: boolean): Promise<{ member: etcdserverpb.IMember; members: etcdserverpb.IMember[] }>;
  remove(id: bigint): Promise<etcdserverpb.IMember[]>;
  update(id: bigint, peerUrls: readonly string[]): Promise<etcdserverpb.IMember[]>;
  promote(id: bigint): Promise<etcdserverpb.IMember[]>;
  moveLeader(target: bigint): Promise<void>;
}

export interface HeaderSource {
  /** The response header (cluster ID, member ID, raft term, revision). */
  header(revision: number): etcdserverpb.IResponseHeader;
  currentRevision(): number;
}

/** A member ID field as a bigint (protobufjs gives uint64 fields as bigint, number or Long-like). */
function idOf(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  return 0n;
}

export function clusterMethods(c: ClusterService, h: HeaderSource): UnaryMethodSpec<any, any>[] {
  const pb = etcdserverpb;
  const header = (): etcdserverpb.IResponseHeader => h.header(h.currentRevision());
  return [
    {
      path: '/etcdserverpb.Cluster/MemberList',
      decode: (b) => pb.MemberListRequest.decode(b),
      encode: encodeWith(pb.MemberListResponse),
      handler: async (req: etcdserverpb.MemberListRequest) => {
        const members = await c.list(req.linearizable === true);
        return { header: header(), members };
      },
    },
    {
      path: '/etcdserverpb.Cluster/MemberAdd',
      decode: (b) => pb.MemberAddRequest.decode(b),
      encode: encodeWith(pb.MemberAddResponse),
      handler: async (req: etcdserverpb.MemberAddRequest) => {
        const r = await c.add(req.peerURLs ?? [], req.isLearner === true);
        return { header: header(), member: r.member, members: r.members };
      },
    },
    {
      path: '/etcdserverpb.Cluster/MemberRemove',
      decode: (b) => pb.MemberRemoveRequest.decode(b),
      encode: encodeWith(pb.MemberRemoveResponse),
      handler: async (req: etcdserverpb.MemberRemoveRequest) => {
        const id = idOf(req.ID);
        if (id === 0n) throw new EtcdError('ETCD_ERR_MEMBER_NOT_FOUND');
        return { header: header(), members: await c.remove(id) };
      },
    },
    {
      path: '/etcdserverpb.Cluster/MemberUpdate',
      decode: (b) => pb.MemberUpdateRequest.decode(b),
      encode: encodeWith(pb.MemberUpdateResponse),
      handler: async (req: etcdserverpb.MemberUpdateRequest) => {
        const id = idOf(req.ID);
        if (id === 0n) throw new EtcdError('ETCD_ERR_MEMBER_NOT_FOUND');
        return { header: header(), members: await c.update(id, req.peerURLs ?? []) };
      },
    },
    {
      path: '/etcdserverpb.Cluster/MemberPromote',
      decode: (b) => pb.MemberPromoteRequest.decode(b),
      encode: encodeWith(pb.MemberPromoteResponse),
      handler: async (req: etcdserverpb.MemberPromoteRequest) => {
        const id = idOf(req.ID);
        if (id === 0n) throw new EtcdError('ETCD_ERR_MEMBER_NOT_FOUND');
        return { header: header(), members: await c.promote(id) };
      },
    },
    {
      path: '/etcdserverpb.Maintenance/MoveLeader',
      decode: (b) => pb.MoveLeaderRequest.decode(b),
      encode: encodeWith(pb.MoveLeaderResponse),
      handler: async (req: etcdserverpb.MoveLeaderRequest) => {
        await c.moveLeader(idOf(req.targetID));
        return { header: header() };
      },
    },
  ];
}
