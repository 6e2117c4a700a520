/**
 * The catalogue of errors a client can see: etcd's exact gRPC status code and message,
 * plus a stable code of ours (ETCD_ERR_<LAYER>_<CONDITION>).
 *
 * Errors cross threads (apply worker -> main thread) as their `code` only: look them up
 * with `errorByCode`. Messages are etcd's strings, verbatim, so clients map them correctly.
 */

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export enum GrpcStatus {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

export interface ErrorSpec {
  readonly grpcStatus: GrpcStatus;
  readonly message: string;
}

const S = GrpcStatus;

/** Every client-visible error. Keys are our stable codes. */
export const ERRORS = {
  ETCD_ERR_KV_EMPTY_KEY: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  ETCD_ERR_KV_KEY_NOT_FOUND: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  ETCD_ERR_KV_VALUE_PROVIDED: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  ETCD_ERR_KV_LEASE_PROVIDED: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  ETCD_ERR_TXN_TOO_MANY_OPS: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: too many operations in txn request' },
  ETCD_ERR_TXN_DUPLICATE_KEY: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: duplicate key given in txn request' },
  ETCD_ERR_KV_INVALID_SORT_OPTION: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: invalid sort option' },
  ETCD_ERR_API_INVALID_CLIENT_API_VERSION: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: invalid client api version' },
  ETCD_ERR_MVCC_COMPACTED: { grpcStatus: S.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' },
  ETCD_ERR_MVCC_FUTURE_REV: { grpcStatus: S.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision is a future revision' },
  ETCD_ERR_MVCC_NO_SPACE: { grpcStatus: S.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' },

  ETCD_ERR_LEASE_NOT_FOUND: { grpcStatus: S.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  ETCD_ERR_LEASE_EXIST: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: lease already exists' },
  ETCD_ERR_LEASE_TTL_TOO_LARGE: { grpcStatus: S.OUT_OF_RANGE, message: 'etcdserver: too large lease TTL' },

  // v3election passes these through as plain errors: gRPC UNKNOWN, no "etcdserver:" prefix (etcd 3.4.23 answers so).
  ETCD_ERR_ELECTION_NOT_LEADER: { grpcStatus: S.UNKNOWN, message: 'election: not leader' },
  ETCD_ERR_ELECTION_NO_LEADER: { grpcStatus: S.UNKNOWN, message: 'election: no leader' },

  ETCD_ERR_WATCH_CANCELED: { grpcStatus: S.CANCELLED, message: 'etcdserver: watch canceled' },

  ETCD_ERR_MEMBER_EXIST: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: member ID already exist' },
  ETCD_ERR_MEMBER_PEER_URL_EXIST: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: Peer URLs already exists' },
  ETCD_ERR_MEMBER_NOT_ENOUGH_STARTED: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: re-configuration failed due to not enough started members' },
  ETCD_ERR_MEMBER_BAD_URLS: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: given member URLs are invalid' },
  ETCD_ERR_MEMBER_NOT_FOUND: { grpcStatus: S.NOT_FOUND, message: 'etcdserver: member not found' },
  ETCD_ERR_MEMBER_NOT_LEARNER: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member' },
  ETCD_ERR_MEMBER_LEARNER_NOT_READY: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member which is in sync with leader' },
  ETCD_ERR_MEMBER_TOO_MANY_LEARNERS: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: too many learner members in cluster' },
  ETCD_ERR_CLUSTER_ID_MISMATCH: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: cluster ID mismatch' },

  ETCD_ERR_SERVER_REQUEST_TOO_LARGE: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: request is too large' },
  ETCD_ERR_SERVER_TOO_MANY_REQUESTS: { grpcStatus: S.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' },

  ETCD_ERR_AUTH_ROOT_USER_NOT_EXIST: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: root user does not exist' },
  ETCD_ERR_AUTH_ROOT_ROLE_NOT_EXIST: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: root user does not have root role' },
  ETCD_ERR_AUTH_USER_ALREADY_EXIST: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: user name already exists' },
  ETCD_ERR_AUTH_USER_EMPTY: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: user name is empty' },
  ETCD_ERR_AUTH_USER_NOT_FOUND: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: user name not found' },
  ETCD_ERR_AUTH_ROLE_ALREADY_EXIST: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: role name already exists' },
  ETCD_ERR_AUTH_ROLE_NOT_FOUND: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: role name not found' },
  ETCD_ERR_AUTH_ROLE_EMPTY: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: role name is empty' },
  ETCD_ERR_AUTH_FAILED: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: authentication failed, invalid user ID or password' },
  ETCD_ERR_AUTH_PERMISSION_NOT_GIVEN: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: permission not given' },
  ETCD_ERR_AUTH_PERMISSION_DENIED: { grpcStatus: S.PERMISSION_DENIED, message: 'etcdserver: permission denied' },
  ETCD_ERR_AUTH_ROLE_NOT_GRANTED: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: role is not granted to the user' },
  ETCD_ERR_AUTH_PERMISSION_NOT_GRANTED: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: permission is not granted to the role' },
  ETCD_ERR_AUTH_NOT_ENABLED: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: authentication is not enabled' },
  ETCD_ERR_AUTH_INVALID_TOKEN: { grpcStatus: S.UNAUTHENTICATED, message: 'etcdserver: invalid auth token' },
  ETCD_ERR_AUTH_INVALID_MGMT: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: invalid auth management' },
  ETCD_ERR_AUTH_OLD_REVISION: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: revision of auth store is old' },
  // golang.org/x/crypto's bcrypt error, passed through as a plain error (gRPC UNKNOWN) by etcd 3.5+.
  // Not in etcd's gRPC error table: passed through as a plain error (gRPC UNKNOWN), as etcd 3.4 answers.
  ETCD_ERR_AUTH_NO_PASSWORD_USER: { grpcStatus: S.UNKNOWN, message: 'auth: authentication failed, password was given for no password user' },
  ETCD_ERR_AUTH_PASSWORD_TOO_LONG: { grpcStatus: S.UNKNOWN, message: 'bcrypt: password length exceeds 72 bytes' },

  ETCD_ERR_RAFT_NO_LEADER: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: no leader' },
  ETCD_ERR_RAFT_NOT_LEADER: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
  ETCD_ERR_RAFT_LEADER_CHANGED: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: leader changed' },
  ETCD_ERR_SERVER_NOT_CAPABLE: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: not capable' },
  ETCD_ERR_SERVER_STOPPED: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: server stopped' },
  ETCD_ERR_SERVER_TIMEOUT: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: request timed out' },
  ETCD_ERR_SERVER_TIMEOUT_LEADER_FAIL: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: request timed out, possibly due to previous leader failure' },
  ETCD_ERR_SERVER_TIMEOUT_CONNECTION_LOST: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: request timed out, possibly due to connection lost' },
  ETCD_ERR_SERVER_TIMEOUT_WAIT_APPLIED: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: request timed out, waiting for the applied index took too long' },
  ETCD_ERR_SERVER_UNHEALTHY: { grpcStatus: S.UNAVAILABLE, message: 'etcdserver: unhealthy cluster' },
  ETCD_ERR_SERVER_CORRUPT: { grpcStatus: S.DATA_LOSS, message: 'etcdserver: corrupt cluster' },
  ETCD_ERR_SERVER_NOT_SUPPORTED_FOR_LEARNER: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: rpc not supported for learner' },
  ETCD_ERR_SERVER_BAD_LEADER_TRANSFEREE: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: bad leader transferee' },
  ETCD_ERR_SERVER_WRONG_DOWNGRADE_VERSION_FORMAT: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: wrong downgrade target version format' },
  ETCD_ERR_SERVER_INVALID_DOWNGRADE_TARGET_VERSION: { grpcStatus: S.INVALID_ARGUMENT, message: 'etcdserver: invalid downgrade target version' },
  ETCD_ERR_SERVER_NO_INFLIGHT_DOWNGRADE: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: no inflight downgrade job' },
  /** Not etcd's: a downgrade job cannot be started (the store's format does not depend on the version; use --emulated-etcd-version). */
  ETCD_ERR_SERVER_DOWNGRADE_NOT_SUPPORTED: { grpcStatus: S.FAILED_PRECONDITION, message: 'etcdserver: downgrade is not supported by etcd-ts; restart with --emulated-etcd-version instead' },
  ETCD_ERR_SERVER_TIMEOUT_LEADER_TRANSFER: { grpcStatus: S.DEADLINE_EXCEEDED, message: 'etcdserver: request timed out, leader transfer took too long' },

  /** Not etcd's: raised by the applier (src/apply/interface.ts) for a request type it does not apply yet. */
  ETCD_ERR_APPLY_UNSUPPORTED_REQUEST: { grpcStatus: S.UNIMPLEMENTED, message: 'etcdserver: request type not supported by this server yet' },
  /** Not etcd's: a member started alone runs without Raft (docs/cluster.md) and cannot change membership. */
  ETCD_ERR_CLUSTER_SINGLE_NODE: { grpcStatus: S.UNIMPLEMENTED, message: 'etcd-ts: membership changes need a member started with more than one member in --initial-cluster' },

} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** A client-visible error. Serialise across threads with `code` only. */
export class EtcdError extends Error {
  readonly code: ErrorCode;
  readonly grpcStatus: GrpcStatus;

  constructor(code: ErrorCode) {
    const spec: ErrorSpec = ERRORS[code];
    super(spec.message);
    this.name = 'EtcdError';
    this.code = code;
    this.grpcStatus = spec.grpcStatus;
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERRORS, code);
}

/** Rebuild an error from the code that crossed a thread boundary. */
export function errorByCode(code: string): EtcdError {
  if (!isErrorCode(code)) throw new Error(`unknown error code ${code}`);
  return new EtcdError(code);
}

/** The reverse mapping, used by clients (our etcdctl): a gRPC message to our code, if it is one of ours. */
const CODE_BY_MESSAGE = new Map<string, ErrorCode>(
  (Object.keys(ERRORS) as ErrorCode[]).map((code) => [ERRORS[code].message, code]),
);

export function codeByMessage(message: string): ErrorCode | undefined {
  return CODE_BY_MESSAGE.get(message);
}
