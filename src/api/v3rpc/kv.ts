/**
 * etcdserverpb.KV: validate, call the server (RaftKV), return. Errors are EtcdErrors,
 * mapped to gRPC status by the transport.
 */
import { etcdserverpb } from '../pb.js';
import type { RaftKV } from '../../server/etcd-server.js';
import { checkCompactionRequest, checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest } from './validate.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';

export interface KvLimits {
  readonly maxTxnOps: number;
}

type Pb = typeof etcdserverpb;

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
