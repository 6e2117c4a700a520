/**
 * Lease calls on a follower (docs/cluster.md, "Lease calls on a follower"): keep-alive,
 * TimeToLive and Leases are answered by the leader's lessor alone, so a follower forwards them
 * over the peer transport (POST /leases/<op>, protobuf both ways), as etcd forwards them to its
 * leader's peer URL. Grants and revokes need none of this: they are log entries, and proposals
 * are forwarded by Raft.
 *
 * Answers: 200 with the response message; 409 with an error code of the catalogue (the
 * leader's EtcdError, rethrown as it is on the follower, e.g. "requested lease not found");
 * anything else is a transport failure, which the follower reports as
 * `etcdserver: leader changed` (the client retries, as with etcd).
 */
import { EtcdError, isErrorCode } from '../../errors/errors.js';
import { etcdserverpb } from '../../proto/pb.js';
import type { NodeId } from '../../raftpb/types.js';
import type { LeaseId } from '../../util/pure/id64.js';
import type { LeaseForwarder } from '../lease-server.js';

export const LEASE_OPS = { keepAlive: 'keepalive', timeToLive: 'timetolive', leases: 'leases' } as const;
const STATUS_OK = 200;
const STATUS_ETCD_ERROR = 409;

/** What the forwarder needs of the peer transport. */
export interface LeasePeer {
  requestLease(to: NodeId, op: string, body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Buffer }>;
}

/** What the serving side needs of the leader's lease API (LeaseServer). */
export interface LocalLeases {
  /** This member leads now: a forwarded call is answered here, never forwarded again. */
  isLeader(): boolean;
  leaseKeepAlive(id: LeaseId): etcdserverpb.ILeaseKeepAliveResponse | Promise<etcdserverpb.ILeaseKeepAliveResponse>;
  leaseTimeToLive(req: etcdserverpb.ILeaseTimeToLiveRequest): Promise<etcdserverpb.ILeaseTimeToLiveResponse>;
  leaseLeases(): Promise<etcdserverpb.ILeaseLeasesResponse>;
}

/** A follower's LeaseForwarder: the call goes to `leader()` (0n: none known). */
export function peerLeaseForwarder(peer: LeasePeer, leader: () => NodeId, timeoutMs: number): LeaseForwarder {
  const call = async <T>(op: string, body: Uint8Array, decode: (b: Uint8Array) => T): Promise<T> => {
    const to = leader();
    if (to === 0n) throw new EtcdError('ETCD_ERR_RAFT_NO_LEADER');
    let r: { status: number; body: Buffer };
    try {
      r = await peer.requestLease(to, op, body, timeoutMs);
    } catch {
      throw new EtcdError('ETCD_ERR_RAFT_LEADER_CHANGED');
    }
    if (r.status === STATUS_OK) return decode(r.body);
    const code = r.body.toString('utf8');
    if (r.status === STATUS_ETCD_ERROR && isErrorCode(code)) throw new EtcdError(code);
    throw new EtcdError('ETCD_ERR_RAFT_LEADER_CHANGED');
  };
  return {
    keepAlive: (id) =>
      call(LEASE_OPS.keepAlive, etcdserverpb.LeaseKeepAliveRequest.encode({ ID: id }).finish(), (b) => etcdserverpb.LeaseKeepAliveResponse.decode(b)),
    timeToLive: (req) =>
      call(LEASE_OPS.timeToLive, etcdserverpb.LeaseTimeToLiveRequest.encode(req).finish(), (b) => etcdserverpb.LeaseTimeToLiveResponse.decode(b)),
    leases: () => call(LEASE_OPS.leases, etcdserverpb.LeaseLeasesRequest.encode({}).finish(), (b) => etcdserverpb.LeaseLeasesResponse.decode(b)),
  };
}

/** The leader's side: answers a forwarded call with the local lease API. */
export function serveLeaseCall(leases: LocalLeases): (op: string, body: Buffer) => Promise<{ status: number; body: Uint8Array }> {
  return async (op, body) => {
    try {
      if (!leases.isLeader()) throw new EtcdError('ETCD_ERR_RAFT_NOT_LEADER');
      switch (op) {
        case LEASE_OPS.keepAlive: {
          const req = etcdserverpb.LeaseKeepAliveRequest.decode(body);
          return { status: STATUS_OK, body: etcdserverpb.LeaseKeepAliveResponse.encode(await leases.leaseKeepAlive(req.ID)).finish() };
        }
        case LEASE_OPS.timeToLive: {
          const req = etcdserverpb.LeaseTimeToLiveRequest.decode(body);
          return { status: STATUS_OK, body: etcdserverpb.LeaseTimeToLiveResponse.encode(await leases.leaseTimeToLive(req)).finish() };
        }
        case LEASE_OPS.leases:
          return { status: STATUS_OK, body: etcdserverpb.LeaseLeasesResponse.encode(await leases.leaseLeases()).finish() };
        default:
          return { status: 404, body: Buffer.from(`unknown lease call ${op}`) };
      }
    } catch (err) {
      if (err instanceof EtcdError) return { status: STATUS_ETCD_ERROR, body: Buffer.from(err.code) };
      if (err instanceof Error && /invalid wire type|index out of range|illegal/i.test(err.message)) {
        return { status: 400, body: Buffer.from(`malformed ${op} request: ${err.message}`) };
      }
      throw err;
    }
  };
}
