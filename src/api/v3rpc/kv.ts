/**
 * etcdserverpb.KV: validate, call the server (RaftKV), return. Errors are EtcdErrors,
 * mapped to gRPC status by the transport.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { checkCompactionRequest, checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest } from './validate.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

export interface KvLimits {
  readonly maxTxnOps: number;
}

type Pb = typeof etcdserverpb;

/** The operations the gRPC layer calls (etcd's RaftKV). Responses may come encoded, header filled. */
export interface RaftKV {
  serveRange(req: etcdserverpb.IRangeRequest): Promise<etcdserverpb.IRangeResponse | Uint8Array>;
  put(req: etcdserverpb.IPutRequest): Promise<Uint8Array>;
  deleteRange(req: etcdserverpb.IDeleteRangeRequest): Promise<Uint8Array>;
  txn(req: etcdserverpb.ITxnRequest): Promise<Uint8Array | etcdserverpb.ITxnResponse>;
  compact(req: etcdserverpb.ICompactionRequest): Promise<Uint8Array>;
}

export function kvMethods(kv: RaftKV, limits: KvLimits): UnaryMethodSpec<any, any>[] {
  const pb: Pb = etcdserverpb;
  return [
    {
      path: '/etcdserverpb.KV/Range',
      decode: (b) => pb.RangeRequest.decode(b),
      encode: encodeWith(pb.RangeResponse),
      handler: (req: etcdserverpb.RangeRequest) => {
        checkRangeRequest(req);
        return kv.serveRange(req);
      },
    },
    {
      path: '/etcdserverpb.KV/Put',
      decode: (b) => pb.PutRequest.decode(b),
      encode: encodeWith(pb.PutResponse),
      handler: (req: etcdserverpb.PutRequest) => {
        checkPutRequest(req);
        return kv.put(req);
      },
    },
    {
      path: '/etcdserverpb.KV/DeleteRange',
      decode: (b) => pb.DeleteRangeRequest.decode(b),
      encode: encodeWith(pb.DeleteRangeResponse),
      handler: (req: etcdserverpb.DeleteRangeRequest) => {
        checkDeleteRequest(req);
        return kv.deleteRange(req);
      },
    },
    {
      path: '/etcdserverpb.KV/Txn',
      decode: (b) => pb.TxnRequest.decode(b),
      encode: encodeWith(pb.TxnResponse),
      handler: (req: etcdserverpb.TxnRequest) => {
        checkTxnRequest(req, limits.maxTxnOps);
        return kv.txn(req);
      },
    },
    {
      path: '/etcdserverpb.KV/Compact',
      decode: (b) => pb.CompactionRequest.decode(b),
      encode: encodeWith(pb.CompactionResponse),
      handler: (req: etcdserverpb.CompactionRequest) => {
        checkCompactionRequest(req);
        return kv.compact(req);
      },
    },
  ];
}
