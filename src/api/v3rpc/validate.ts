/**
 * Checks etcd makes before a request enters the log (etcd's v3rpc key.go checks).
 * Each function throws an EtcdError with etcd's exact message, or returns normally.
 * Pure: no I/O, so it is fuzzed directly (test/unit/api/v3rpc/validate.test.ts).
 *
 * They also clamp revision, version and limit fields beyond +-(2^53 - 1) to that bound:
 * those int64 fields are numbers (docs/decisions/0003-64-bit-ids.md), such values decode to
 * inexact numbers and would wrap to negative when re-encoded into the log. A revision,
 * version or limit that large means "beyond anything stored" either way, so the answer is
 * etcd's. Lease IDs are exact bigints and pass through unchanged.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { EtcdError } from '../../errors/errors.js';
import { isStorableKey } from '../../mvcc/key-index.js';

type RangeRequest = etcdserverpb.IRangeRequest;
type PutRequest = etcdserverpb.IPutRequest;
type DeleteRangeRequest = etcdserverpb.IDeleteRangeRequest;
type TxnRequest = etcdserverpb.ITxnRequest;
type RequestOp = etcdserverpb.IRequestOp;

const SORT_ORDER_MAX = etcdserverpb.RangeRequest.SortOrder.DESCEND;
const SORT_TARGET_MAX = etcdserverpb.RangeRequest.SortTarget.VALUE;

function isEmpty(b: Uint8Array | null | undefined): boolean {
  return b == null || b.length === 0;
}

const SAFE_MAX = Number.MAX_SAFE_INTEGER;

function clamp(v: number | null | undefined): number | null | undefined {
  if (v == null || (v <= SAFE_MAX && v >= -SAFE_MAX)) return v;
  return v > 0 ? SAFE_MAX : -SAFE_MAX;
}

export function checkRangeRequest(r: RangeRequest): void {
  if (isEmpty(r.key)) throw new EtcdError('ETCD_ERR_KV_EMPTY_KEY');
  r.limit = clamp(r.limit);
  r.revision = clamp(r.revision);
  r.minModRevision = clamp(r.minModRevision);
  r.maxModRevision = clamp(r.maxModRevision);
  r.minCreateRevision = clamp(r.minCreateRevision);
  r.maxCreateRevision = clamp(r.maxCreateRevision);
  const order = r.sortOrder ?? 0;
  const target = r.sortTarget ?? 0;
  if (order < 0 || order > SORT_ORDER_MAX || target < 0 || target > SORT_TARGET_MAX) {
    throw new EtcdError('ETCD_ERR_KV_INVALID_SORT_OPTION');
  }
}

export function checkPutRequest(r: PutRequest): void {
  if (isEmpty(r.key)) throw new EtcdError('ETCD_ERR_KV_EMPTY_KEY');
  if (r.ignoreValue && !isEmpty(r.value)) throw new EtcdError('ETCD_ERR_KV_VALUE_PROVIDED');
  if (r.ignoreLease && (r.lease ?? 0n) !== 0n) throw new EtcdError('ETCD_ERR_KV_LEASE_PROVIDED');
  // Our key index lives in LMDB, whose keys are bounded (src/mvcc/key-index.ts); etcd's
  // bbolt takes longer keys. Refused here, before the request uses a log entry.
  if (!isStorableKey(r.key!)) throw new EtcdError('ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
}

export function checkCompactionRequest(r: etcdserverpb.ICompactionRequest): void {
  r.revision = clamp(r.revision);
}

export function checkDeleteRequest(r: DeleteRangeRequest): void {
  if (isEmpty(r.key)) throw new EtcdError('ETCD_ERR_KV_EMPTY_KEY');
}

export function checkTxnRequest(r: TxnRequest, maxTxnOps: number): void {
  checkTxnOps(r, maxTxnOps);
  // Two writes to one key in the same branch are refused (etcd's checkIntervals).
  collectWrites(r.success ?? []);
  collectWrites(r.failure ?? []);
}

function checkTxnOps(r: TxnRequest, maxTxnOps: number): void {
  const compares = r.compare ?? [];
  const success = r.success ?? [];
  const failure = r.failure ?? [];
  const opCount = Math.max(compares.length, success.length, failure.length);
  if (opCount > maxTxnOps) throw new EtcdError('ETCD_ERR_TXN_TOO_MANY_OPS');
  for (const c of compares) {
    if (isEmpty(c.key)) throw new EtcdError('ETCD_ERR_KV_EMPTY_KEY');
    if (c.version != null) c.version = clamp(c.version);
    if (c.createRevision != null) c.createRevision = clamp(c.createRevision);
    if (c.modRevision != null) c.modRevision = clamp(c.modRevision);
  }
  // A nested txn gets what its parent leaves of the budget, as in etcd.
  for (const op of success) checkRequestOp(op, maxTxnOps - opCount);
  for (const op of failure) checkRequestOp(op, maxTxnOps - opCount);
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): void {
  if (op.requestRange) checkRangeRequest(op.requestRange);
  else if (op.requestPut) checkPutRequest(op.requestPut);
  else if (op.requestDeleteRange) checkDeleteRequest(op.requestDeleteRange);
  else if (op.requestTxn) checkTxnOps(op.requestTxn, maxTxnOps);
  // A RequestOp with none of the four set: etcd answers "key not found".
  else throw new EtcdError('ETCD_ERR_KV_KEY_NOT_FOUND');
}

/** A key interval [start, end); end === null means the single key `start`; an empty end means "to the end". */
interface Interval {
  readonly start: Buffer;
  readonly end: Buffer | null;
}

function deleteInterval(d: DeleteRangeRequest): Interval {
  const start = Buffer.from(d.key ?? new Uint8Array());
  const re = d.rangeEnd;
  if (isEmpty(re)) return { start, end: null };
  // "\0" means every key >= start.
  if (re!.length === 1 && re![0] === 0) return { start, end: Buffer.alloc(0) };
  return { start, end: Buffer.from(re!) };
}

function intervalContains(iv: Interval, key: Buffer): boolean {
  if (iv.end === null) return iv.start.equals(key);
  if (Buffer.compare(key, iv.start) < 0) return false;
  return iv.end.length === 0 || Buffer.compare(key, iv.end) < 0;
}

function deletesCover(dels: readonly Interval[], key: Buffer): boolean {
  for (const iv of dels) if (intervalContains(iv, key)) return true;
  return false;
}

/**
 * Returns the keys put and the intervals deleted by one branch (and the branches nested
 * in it), and throws ETCD_ERR_TXN_DUPLICATE_KEY where two of them touch one key.
 * Deletes may overlap each other. A key put in both branches of one nested txn is fine:
 * only one branch runs.
 */
function collectWrites(ops: readonly RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of ops) if (op.requestDeleteRange) dels.push(deleteInterval(op.requestDeleteRange));

  const puts = new Set<string>();
  const dup = (): never => {
    throw new EtcdError('ETCD_ERR_TXN_DUPLICATE_KEY');
  };
  for (const op of ops) {
    if (!op.requestTxn) continue;
    const then = collectWrites(op.requestTxn.success ?? []);
    const other = collectWrites(op.requestTxn.failure ?? []);
    for (const k of then.puts) {
      if (puts.has(k) || deletesCover(dels, Buffer.from(k, 'latin1'))) dup();
      puts.add(k);
    }
    for (const k of other.puts) {
      if (puts.has(k) && !then.puts.has(k)) dup();
      if (deletesCover(dels, Buffer.from(k, 'latin1'))) dup();
      puts.add(k);
    }
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of ops) {
    if (!op.requestPut) continue;
    const key = Buffer.from(op.requestPut.key ?? new Uint8Array());
    const k = key.toString('latin1');
    if (puts.has(k) || deletesCover(dels, key)) dup();
    puts.add(k);
  }
  return { puts, dels };
}
