/**
 * Schemas of the etcd responses etcdctl prints (field numbers from proto/, JSON names from the
 * Go structs' json tags, which is what etcdctl 3.4's `-w json` shows), and their decoded shapes.
 */
import { decodeMessage, type FieldSpec, type MessageSchema } from './wire.js';

const f = (no: number, name: string, json: string, kind: FieldSpec['kind'], repeated = false): FieldSpec =>
  repeated ? { no, name, json, kind, repeated } : { no, name, json, kind };

export const ResponseHeaderSchema: MessageSchema = {
  name: 'ResponseHeader',
  fields: [
    f(1, 'clusterId', 'cluster_id', 'uint64'),
    f(2, 'memberId', 'member_id', 'uint64'),
    f(3, 'revision', 'revision', 'int64'),
    f(4, 'raftTerm', 'raft_term', 'uint64'),
  ],
};

export const KeyValueSchema: MessageSchema = {
  name: 'KeyValue',
  fields: [
    f(1, 'key', 'key', 'bytes'),
    f(2, 'createRevision', 'create_revision', 'int64'),
    f(3, 'modRevision', 'mod_revision', 'int64'),
    f(4, 'version', 'version', 'int64'),
    f(5, 'value', 'value', 'bytes'),
    f(6, 'lease', 'lease', 'int64'),
  ],
};

export const RangeResponseSchema: MessageSchema = {
  name: 'RangeResponse',
  fields: [
    f(1, 'header', 'header', ResponseHeaderSchema),
    f(2, 'kvs', 'kvs', KeyValueSchema, true),
    f(3, 'more', 'more', 'bool'),
    f(4, 'count', 'count', 'int64'),
  ],
};

export const PutResponseSchema: MessageSchema = {
  name: 'PutResponse',
  fields: [f(1, 'header', 'header', ResponseHeaderSchema), f(2, 'prevKv', 'prev_kv', KeyValueSchema)],
};

export const DeleteRangeResponseSchema: MessageSchema = {
  name: 'DeleteRangeResponse',
  fields: [
    f(1, 'header', 'header', ResponseHeaderSchema),
    f(2, 'deleted', 'deleted', 'int64'),
    f(3, 'prevKvs', 'prev_kvs', KeyValueSchema, true),
  ],
};

const ResponseOpFields: FieldSpec[] = [];
export const ResponseOpSchema: MessageSchema = { name: 'ResponseOp', fields: ResponseOpFields, oneof: 'Response' };

export const TxnResponseSchema: MessageSchema = {
  name: 'TxnResponse',
  fields: [
    f(1, 'header', 'header', ResponseHeaderSchema),
    f(2, 'succeeded', 'succeeded', 'bool'),
    f(3, 'responses', 'responses', ResponseOpSchema, true),
  ],
};

ResponseOpFields.push(
  f(1, 'responseRange', 'ResponseRange', RangeResponseSchema),
  f(2, 'responsePut', 'ResponsePut', PutResponseSchema),
  f(3, 'responseDeleteRange', 'ResponseDeleteRange', DeleteRangeResponseSchema),
  f(4, 'responseTxn', 'ResponseTxn', TxnResponseSchema),
);

export const CompactionResponseSchema: MessageSchema = {
  name: 'CompactionResponse',
  fields: [f(1, 'header', 'header', ResponseHeaderSchema)],
};

export const StatusResponseSchema: MessageSchema = {
  name: 'StatusResponse',
  fields: [
    f(1, 'header', 'header', ResponseHeaderSchema),
    f(2, 'version', 'version', 'string'),
    f(3, 'dbSize', 'dbSize', 'int64'),
    f(4, 'leader', 'leader', 'uint64'),
    f(5, 'raftIndex', 'raftIndex', 'uint64'),
    f(6, 'raftTerm', 'raftTerm', 'uint64'),
    f(7, 'raftAppliedIndex', 'raftAppliedIndex', 'uint64'),
    f(8, 'errors', 'errors', 'string', true),
    f(9, 'dbSizeInUse', 'dbSizeInUse', 'int64'),
    f(10, 'isLearner', 'isLearner', 'bool'),
  ],
};

export const MemberSchema: MessageSchema = {
  name: 'Member',
  fields: [
    f(1, 'id', 'ID', 'uint64'),
    f(2, 'name', 'name', 'string'),
    f(3, 'peerURLs', 'peerURLs', 'string', true),
    f(4, 'clientURLs', 'clientURLs', 'string', true),
    f(5, 'isLearner', 'isLearner', 'bool'),
  ],
};

export const MemberListResponseSchema: MessageSchema = {
  name: 'MemberListResponse',
  fields: [f(1, 'header', 'header', ResponseHeaderSchema), f(2, 'members', 'members', MemberSchema, true)],
};

export const LeaseGrantResponseSchema: MessageSchema = {
  name: 'LeaseGrantResponse',
  fields: [
    f(1, 'header', 'header', ResponseHeaderSchema),
    f(2, 'id', 'ID', 'int64'),
    f(3, 'ttl', 'TTL', 'int64'),
    f(4, 'error', 'Error', 'string'),
  ],
};

export const LeaseRevokeResponseSchema: MessageSchema = {
  name: 'LeaseRevokeResponse',
  fields: [f(1, 'header', 'header', ResponseHeaderSchema)],
};

export const LeaseKeepAliveResponseSchema: MessageSchema = {
  name: 'LeaseKeepAliveResponse',
  fields: [f(1, 'header', 'header', ResponseHeaderSchema), f(2, 'id', 'ID', 'int64'), f(3, 'ttl', 'TTL', 'int64')],
};

export const LeaseTimeToLiveResponseSchema: MessageSchema = {
  name: 'LeaseTimeToLiveResponse',
  fields: [
    f(1, 'header', 'header', ResponseHeaderSchema),
    f(2, 'id', 'id', 'int64'),
    f(3, 'ttl', 'ttl', 'int64'),
    f(4, 'grantedTtl', 'granted-ttl', 'int64'),
    f(5, 'keys', 'keys', 'bytes', true),
  ],
};

export const LeaseStatusSchema: MessageSchema = { name: 'LeaseStatus', fields: [f(1, 'id', 'id', 'int64')] };

export const LeaseLeasesResponseSchema: MessageSchema = {
  name: 'LeaseLeasesResponse',
  fields: [f(1, 'header', 'header', ResponseHeaderSchema), f(2, 'leases', 'leases', LeaseStatusSchema, true)],
};

export const EventSchema: MessageSchema = {
  name: 'Event',
  fields: [f(1, 'type', 'type', 'int64'), f(2, 'kv', 'kv', KeyValueSchema), f(3, 'prevKv', 'prev_kv', KeyValueSchema)],
};

export const WatchResponseSchema: MessageSchema = {
  name: 'WatchResponse',
  fields: [
    f(1, 'header', 'header', ResponseHeaderSchema),
    f(2, 'watchId', 'watch_id', 'int64'),
    f(3, 'created', 'created', 'bool'),
    f(4, 'canceled', 'canceled', 'bool'),
    f(5, 'compactRevision', 'compact_revision', 'int64'),
    f(6, 'cancelReason', 'cancel_reason', 'string'),
    f(7, 'fragment', 'fragment', 'bool'),
    f(11, 'events', 'events', EventSchema, true),
  ],
};

// ---- decoded shapes -------------------------------------------------------------------------

export interface ResponseHeader {
  clusterId: bigint;
  memberId: bigint;
  revision: bigint;
  raftTerm: bigint;
}
export interface KeyValue {
  key: Uint8Array;
  createRevision: bigint;
  modRevision: bigint;
  version: bigint;
  value: Uint8Array;
  lease: bigint;
}
export interface RangeResponse {
  header?: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: bigint;
}
export interface PutResponse {
  header?: ResponseHeader;
  prevKv?: KeyValue;
}
export interface DeleteRangeResponse {
  header?: ResponseHeader;
  deleted: bigint;
  prevKvs: KeyValue[];
}
export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
  responseDeleteRange?: DeleteRangeResponse;
  responseTxn?: TxnResponse;
}
export interface TxnResponse {
  header?: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}
export interface CompactionResponse {
  header?: ResponseHeader;
}
export interface StatusResponse {
  header?: ResponseHeader;
  version: string;
  dbSize: bigint;
  leader: bigint;
  raftIndex: bigint;
  raftTerm: bigint;
  raftAppliedIndex: bigint;
  errors: string[];
  dbSizeInUse: bigint;
  isLearner: boolean;
}
export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}
export interface MemberListResponse {
  header?: ResponseHeader;
  members: Member[];
}
export interface LeaseGrantResponse {
  header?: ResponseHeader;
  id: bigint;
  ttl: bigint;
  error: string;
}
export interface LeaseRevokeResponse {
  header?: ResponseHeader;
}
export interface LeaseKeepAliveResponse {
  header?: ResponseHeader;
  id: bigint;
  ttl: bigint;
}
export interface LeaseTimeToLiveResponse {
  header?: ResponseHeader;
  id: bigint;
  ttl: bigint;
  grantedTtl: bigint;
  keys: Uint8Array[];
}
export interface LeaseLeasesResponse {
  header?: ResponseHeader;
  leases: { id: bigint }[];
}

export interface Event {
  /** 0 PUT, 1 DELETE */
  type: bigint;
  kv?: KeyValue;
  prevKv?: KeyValue;
}
export interface WatchResponse {
  header?: ResponseHeader;
  watchId: bigint;
  created: boolean;
  canceled: boolean;
  compactRevision: bigint;
  cancelReason: string;
  fragment: boolean;
  events: Event[];
}

/** A decoded response together with its wire bytes (`-w protobuf` prints those). */
export interface Decoded<T> {
  readonly msg: T;
  readonly raw: Uint8Array;
  readonly schema: MessageSchema;
}

export function decodeAs<T>(schema: MessageSchema, raw: Uint8Array): Decoded<T> {
  return { msg: decodeMessage(schema, raw) as unknown as T, raw, schema };
}
