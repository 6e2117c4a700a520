/**
 * v3lockpb.Lock and v3electionpb.Election on the client port: validate, call the member's
 * lock/election implementation (declared here by its consumer), return. Waiting calls end
 * when the client cancels (the call's signal).
 */
import { etcdserverpb, mvccpb, v3electionpb, v3lockpb } from '../../proto/pb.js';
import type { CallContext, StreamMethod } from '../grpc/types.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

type Header = etcdserverpb.IResponseHeader;
type LeaderKey = v3electionpb.ILeaderKey;

export interface LockApi {
  lock(name: Uint8Array, lease: bigint, signal?: AbortSignal): Promise<{ header: Header; key: Uint8Array }>;
  unlock(key: Uint8Array): Promise<Uint8Array>;
}

export interface ElectionApi {
  campaign(name: Uint8Array, lease: bigint, value: Uint8Array, signal?: AbortSignal): Promise<{ header: Header; leader: LeaderKey }>;
  proclaim(leader: LeaderKey, value: Uint8Array): Promise<Header>;
  leader(name: Uint8Array): Promise<{ header: Header; kv: mvccpb.IKeyValue }>;
  resign(leader: LeaderKey): Promise<Header>;
  observe(name: Uint8Array, send: (kv: mvccpb.IKeyValue, header: Header) => void, signal: AbortSignal): Promise<void>;
}

const EMPTY = new Uint8Array(0);

export function lockMethods(api: LockApi): UnaryMethodSpec<any, any>[] {
  return [
    {
      path: '/v3lockpb.Lock/Lock',
      decode: (b) => v3lockpb.LockRequest.decode(b),
      encode: encodeWith(v3lockpb.LockResponse),
      handler: (req: v3lockpb.LockRequest, ctx?: CallContext) => api.lock(req.name ?? EMPTY, req.lease ?? 0n, ctx?.signal),
    },
    {
      path: '/v3lockpb.Lock/Unlock',
      decode: (b) => v3lockpb.UnlockRequest.decode(b),
      encode: encodeWith(v3lockpb.UnlockResponse),
      // DeleteRangeResponse and UnlockResponse share field 1 (header): the encoded answer fits.
      handler: (req: v3lockpb.UnlockRequest) => api.unlock(req.key ?? EMPTY).then((b) => ({ header: etcdserverpb.DeleteRangeResponse.decode(b).header })),
    },
  ];
}

export function electionMethods(api: ElectionApi): UnaryMethodSpec<any, any>[] {
  const pb = v3electionpb;
  return [
    {
      path: '/v3electionpb.Election/Campaign',
      decode: (b) => pb.CampaignRequest.decode(b),
      encode: encodeWith(pb.CampaignResponse),
      handler: (req: v3electionpb.CampaignRequest, ctx?: CallContext) =>
        api.campaign(req.name ?? EMPTY, req.lease ?? 0n, req.value ?? EMPTY, ctx?.signal),
    },
    {
      path: '/v3electionpb.Election/Proclaim',
      decode: (b) => pb.ProclaimRequest.decode(b),
      encode: encodeWith(pb.ProclaimResponse),
      handler: async (req: v3electionpb.ProclaimRequest) => ({ header: await api.proclaim(req.leader ?? {}, req.value ?? EMPTY) }),
    },
    {
      path: '/v3electionpb.Election/Leader',
      decode: (b) => pb.LeaderRequest.decode(b),
      encode: encodeWith(pb.LeaderResponse),
      handler: (req: v3electionpb.LeaderRequest) => api.leader(req.name ?? EMPTY),
    },
    {
      path: '/v3electionpb.Election/Resign',
      decode: (b) => pb.ResignRequest.decode(b),
      encode: encodeWith(pb.ResignResponse),
      handler: async (req: v3electionpb.ResignRequest) => ({ header: await api.resign(req.leader ?? {}) }),
    },
  ];
}

/** Observe: the leader now and at every change, until the client goes away. */
export function electionObserve(api: ElectionApi): StreamMethod<v3electionpb.LeaderRequest, v3electionpb.ILeaderResponse> {
  return {
    path: '/v3electionpb.Election/Observe',
    kind: 'server',
    decode: (b) => v3electionpb.LeaderRequest.decode(b),
    encode: (r) => v3electionpb.LeaderResponse.encode(r).finish(),
    handler: (stream, ctx) => {
      stream.onMessage((req) => {
        api.observe(req.name ?? EMPTY, (kv, header) => stream.send({ header, kv }), ctx.signal).then(
          () => { if (!stream.closed) stream.end(); },
          (err: unknown) => { if (!stream.closed) stream.end(err); },
        );
      });
    },
  };
}
