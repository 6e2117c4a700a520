/**
 * Put, DeleteRange and Txn against a WriteTxn, with etcd's semantics
 * (etcd: server/etcdserver/txn/{put,delete,txn}.go; code written from the documented behaviour):
 *
 * - every compare of a txn and of its nested txns is evaluated against the state before
 *   the txn runs (the "txn path"), and every op on that path is checked before anything
 *   is written, so a txn either applies completely or fails with nothing written;
 * - a txn with no writes does not bump the revision; all writes share one main revision.
 */
import { EtcdError } from '../errors/errors.js';
import { etcdserverpb } from '../proto/pb.js';
import type { KeyValue } from '../mvcc/kv.js';
import type { WriteTxn } from '../mvcc/kvstore-txn.js';
import type { LmdbReadView } from '../mvcc/kvstore.js';
import { isStorableKey } from '../mvcc/key-index.js';
import { rangeRequest } from '../mvcc/range.js';
import { int } from '../mvcc/revision.js';
import type { LeaseLookup } from './interface.js';

const EMPTY = new Uint8Array(0);
const CT = etcdserverpb.Compare.CompareTarget;
const CR = etcdserverpb.Compare.CompareResult;

type Put = etcdserverpb.PutRequest.$Properties;
type Del = etcdserverpb.DeleteRangeRequest.$Properties;
type Txn = etcdserverpb.TxnRequest.$Properties;
type Op = etcdserverpb.RequestOp.$Properties;
type Cmp = etcdserverpb.Compare.$Properties;

function cmpNum(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareKv(c: Cmp, kv: KeyValue | undefined): boolean {
  let r: number;
  switch (c.target ?? CT.VERSION) {
    case CT.VALUE: r = Buffer.compare(kv?.value ?? EMPTY, c.value ?? EMPTY); break;
    case CT.CREATE: r = cmpNum(kv?.createRevision ?? 0, int(c.createRevision)); break;
    case CT.MOD: r = cmpNum(kv?.modRevision ?? 0, int(c.modRevision)); break;
    case CT.LEASE: r = cmpNum(kv?.lease ?? 0n, c.lease ?? 0n); break;
    case CT.VERSION:
    default: r = cmpNum(kv?.version ?? 0, int(c.version)); break;
  }
  switch (c.result ?? CR.EQUAL) {
    case CR.EQUAL: return r === 0;
    case CR.NOT_EQUAL: return r !== 0;
    case CR.GREATER: return r > 0;
    case CR.LESS: return r < 0;
    default: return true;
  }
}

/** One compare: every key in [key, range_end) must satisfy it; VALUE on no key fails. */
function applyCompare(view: LmdbReadView, c: Cmp): boolean {
  let kvs: KeyValue[];
  try {
    kvs = view.rangeKeys(c.key ?? EMPTY, c.rangeEnd ?? EMPTY, { noValues: c.target !== CT.VALUE }).kvs;
  } catch {
    return false;
  }
  if (kvs.length === 0) return c.target === CT.VALUE ? false : compareKv(c, undefined);
  return kvs.every((kv) => compareKv(c, kv));
}

function chosenOps(t: Txn, ok: boolean): Op[] {
  return (ok ? t.success : t.failure) ?? [];
}

/** Evaluate every compare on the path (depth first) against `view`, before any write. */
export function compareToPath(view: LmdbReadView, t: Txn, path: boolean[] = []): boolean[] {
  const ok = (t.compare ?? []).every((c) => applyCompare(view, c));
  path.push(ok);
  for (const op of chosenOps(t, ok)) if (op.requestTxn) compareToPath(view, op.requestTxn, path);
  return path;
}

export function checkPut(view: LmdbReadView, leases: LeaseLookup, p: Put, leaseFirst: boolean): void {
  const key = p.key ?? EMPTY;
  if (key.length === 0) throw new EtcdError('ETCD_ERR_KV_EMPTY_KEY');
  if (!isStorableKey(key)) throw new EtcdError('ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
  if (p.ignoreValue && (p.value?.length ?? 0) !== 0) throw new EtcdError('ETCD_ERR_KV_VALUE_PROVIDED');
  const lease = p.lease ?? 0n;
  if (p.ignoreLease && lease !== 0n) throw new EtcdError('ETCD_ERR_KV_LEASE_PROVIDED');
  const checkLease = () => {
    if (lease !== 0n && !leases.exists(lease)) throw new EtcdError('ETCD_ERR_LEASE_NOT_FOUND');
  };
  if (leaseFirst) checkLease();
  if ((p.ignoreValue || p.ignoreLease) && view.get(key, view.rev) === undefined) throw new EtcdError('ETCD_ERR_KV_KEY_NOT_FOUND');
  if (!leaseFirst) checkLease();
}

function checkRange(view: LmdbReadView, r: etcdserverpb.RangeRequest.$Properties): void {
  const rev = int(r.revision);
  if (rev === 0) return;
  if (rev > view.rev) throw new EtcdError('ETCD_ERR_MVCC_FUTURE_REV');
  if (rev < view.compactedRev) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
}

/** Check every op on the path; throws the first EtcdError. Returns the next path position. */
export function checkTxn(view: LmdbReadView, leases: LeaseLookup, t: Txn, path: boolean[], pos = 0): number {
  const ok = path[pos++];
  if (ok === undefined) throw new Error('txn path shorter than the txn');
  for (const op of chosenOps(t, ok)) {
    if (op.requestRange) checkRange(view, op.requestRange);
    else if (op.requestPut) checkPut(view, leases, op.requestPut, false);
    else if (op.requestTxn) pos = checkTxn(view, leases, op.requestTxn, path, pos);
  }
  return pos;
}

export function execPut(tw: WriteTxn, p: Put): etcdserverpb.PutResponse.$Properties {
  const key = p.key ?? EMPTY;
  let value = p.value ?? EMPTY;
  let lease = p.lease ?? 0n;
  let prev: KeyValue | undefined;
  if (p.ignoreValue || p.ignoreLease || p.prevKv) {
    const e = tw.get(key, tw.rev);
    prev = e === undefined ? undefined : tw.toKeyValue(Buffer.from(key), e, true);
  }
  if (p.ignoreValue || p.ignoreLease) {
    if (prev === undefined) throw new EtcdError('ETCD_ERR_KV_KEY_NOT_FOUND');
    if (p.ignoreValue) value = prev.value;
    if (p.ignoreLease) lease = prev.lease;
  }
  const revision = tw.put(key, value, lease);
  const resp: etcdserverpb.PutResponse.$Properties = { header: { revision } };
  if (p.prevKv && prev !== undefined) resp.prevKv = prev;
  return resp;
}

export function execDeleteRange(tw: WriteTxn, d: Del): etcdserverpb.DeleteRangeResponse.$Properties {
  const r = tw.deleteRange(d.key ?? EMPTY, d.rangeEnd ?? EMPTY, d.prevKv === true);
  return { header: { revision: r.rev }, deleted: r.deleted, prevKvs: d.prevKv ? r.prevKvs : [] };
}

/** Run the ops on the path. Throws only on a bug or a check that the path missed. */
export function execTxn(tw: WriteTxn, t: Txn, path: boolean[], at: { pos: number }): etcdserverpb.TxnResponse.$Properties {
  const ok = path[at.pos++];
  if (ok === undefined) throw new Error('txn path shorter than the txn');
  const responses: etcdserverpb.ResponseOp.$Properties[] = [];
  for (const op of chosenOps(t, ok)) {
    if (op.requestRange) responses.push({ responseRange: rangeRequest(tw, op.requestRange) });
    else if (op.requestPut) responses.push({ responsePut: execPut(tw, op.requestPut) });
    else if (op.requestDeleteRange) responses.push({ responseDeleteRange: execDeleteRange(tw, op.requestDeleteRange) });
    else if (op.requestTxn) responses.push({ responseTxn: execTxn(tw, op.requestTxn, path, at) });
    else responses.push({});
  }
  return { header: { revision: tw.rev }, succeeded: ok, responses };
}
