/**
 * etcdserverpb.Lease: validate, call the server's lease API (`LeaseApi`, declared here by its
 * consumer), return. LeaseKeepAlive is a bidirectional stream: one answer per request, in order.
 */
import { EtcdError } from '../../errors/errors.js';
import { etcdserverpb } from '../../proto/pb.js';
import type { StreamMethod } from '../grpc/types.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

/** etcd's MaxLeaseTTL (s). */
export const MAX_LEASE_TTL = 9_000_000_000;

export interface LeaseApi {
  leaseGrant(req: etcdserverpb.ILeaseGrantRequest): Promise<Uint8Array>;
  leaseRevoke(req: etcdserverpb.ILeaseRevokeRequest): Promise<Uint8Array>;
  /** `TTL` 0 when the lease does not exist. Throws when this member cannot answer (not leader). */
  leaseKeepAlive(id: bigint): etcdserverpb.ILeaseKeepAliveResponse | Promise<etcdserverpb.ILeaseKeepAliveResponse>;
  /** `TTL` -1 when the lease does not exist. */
  leaseTimeToLive(req: etcdserverpb.ILeaseTimeToLiveRequest): Promise<etcdserverpb.ILeaseTimeToLiveResponse>;
  leaseLeases(): Promise<etcdserverpb.ILeaseLeasesResponse>;
}

export function checkLeaseGrantRequest(req: etcdserverpb.ILeaseGrantRequest): void {
  if (Number(req.TTL ?? 0) > MAX_LEASE_TTL) throw new EtcdError('ETCD_ERR_LEASE_TTL_TOO_LARGE');
}

export function leaseMethods(api: LeaseApi): UnaryMethodSpec<any, any>[] {
  const pb = etcdserverpb;
  return [
    {
      path: '/etcdserverpb.Lease/LeaseGrant',
      decode: (b) => pb.LeaseGrantRequest.decode(b),
      encode: encodeWith(pb.LeaseGrantResponse),
      handler: (req: etcdserverpb.LeaseGrantRequest) => {
        checkLeaseGrantRequest(req);
        return api.leaseGrant(req);
      },
    },
    {
      path: '/etcdserverpb.Lease/LeaseRevoke',
      decode: (b) => pb.LeaseRevokeRequest.decode(b),
      encode: encodeWith(pb.LeaseRevokeResponse),
      handler: (req: etcdserverpb.LeaseRevokeRequest) => api.leaseRevoke(req),
    },
    {
      path: '/etcdserverpb.Lease/LeaseTimeToLive',
      decode: (b) => pb.LeaseTimeToLiveRequest.decode(b),
      encode: encodeWith(pb.LeaseTimeToLiveResponse),
      handler: (req: etcdserverpb.LeaseTimeToLiveRequest) => api.leaseTimeToLive(req),
    },
    {
      path: '/etcdserverpb.Lease/LeaseLeases',
      decode: (b) => pb.LeaseLeasesRequest.decode(b),
      encode: encodeWith(pb.LeaseLeasesResponse),
      handler: () => api.leaseLeases(),
    },
  ];
}

/**
 * The gateway's `/v3/lease/keepalive` (and grpc-gateway's unary view of the stream): one
 * request, one answer.
 */
export function leaseKeepAliveUnary(api: LeaseApi): UnaryMethodSpec<any, any> {
  return {
    path: '/etcdserverpb.Lease/LeaseKeepAlive',
    decode: (b) => etcdserverpb.LeaseKeepAliveRequest.decode(b),
    encode: encodeWith(etcdserverpb.LeaseKeepAliveResponse),
    handler: (req: etcdserverpb.LeaseKeepAliveRequest) => api.leaseKeepAlive(req.ID),
  };
}

/** LeaseKeepAlive: every request answered in arrival order; the first error ends the stream. */
export function leaseKeepAliveStream(api: LeaseApi): StreamMethod<etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.ILeaseKeepAliveResponse> {
  return {
    path: '/etcdserverpb.Lease/LeaseKeepAlive',
    kind: 'bidi',
    decode: (b) => etcdserverpb.LeaseKeepAliveRequest.decode(b),
    encode: (r) => etcdserverpb.LeaseKeepAliveResponse.encode(r).finish(),
    handler: (stream) => {
      // Answers stay in order even if one is asynchronous (a forwarded keep-alive, later).
      let chain: Promise<void> = Promise.resolve();
      let pending = 0;
      let halfClosed = false;
      const fail = (err: unknown) => {
        if (!stream.closed) stream.end(err);
      };
      stream.onMessage((req) => {
        let res: etcdserverpb.ILeaseKeepAliveResponse | Promise<etcdserverpb.ILeaseKeepAliveResponse>;
        try {
          res = api.leaseKeepAlive(req.ID);
        } catch (err) {
          fail(err);
          return;
        }
        if (pending === 0 && !(res instanceof Promise)) {
          stream.send(res);
          return;
        }
        pending++;
        chain = chain.then(async () => {
          try {
            const r = await res;
            if (!stream.closed) stream.send(r);
          } catch (err) {
            fail(err);
          } finally {
            pending--;
            if (pending === 0 && halfClosed && !stream.closed) stream.end();
          }
        });
      });
      stream.onHalfClose(() => {
        halfClosed = true;
        if (pending === 0 && !stream.closed) stream.end();
      });
    },
  };
}
