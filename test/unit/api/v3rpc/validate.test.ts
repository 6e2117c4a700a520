import '../../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import { EtcdError } from '../../../../src/errors/errors.js';
import {
  checkCompactionRequest,
  checkPutRequest,
  checkRangeRequest,
  checkTxnRequest,
} from '../../../../src/api/v3rpc/validate.js';

const b = (s: string) => Buffer.from(s);
const put = (k: string) => ({ requestPut: { key: b(k), value: b('v') } });
const del = (k: string, end?: string) => ({ requestDeleteRange: { key: b(k), rangeEnd: end === undefined ? undefined : b(end) } });
const get = (k: string) => ({ requestRange: { key: b(k) } });
const code = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    assert.ok(e instanceof EtcdError, `expected EtcdError, got ${String(e)}`);
    return e.code;
  }
};

test('range: empty key and bad sort options are refused', () => {
  assert.equal(code(() => checkRangeRequest({ key: new Uint8Array() })), 'ETCD_ERR_KV_EMPTY_KEY');
  assert.equal(code(() => checkRangeRequest({ key: b('a'), sortOrder: 3 as etcdserverpb.RangeRequest.SortOrder })), 'ETCD_ERR_KV_INVALID_SORT_OPTION');
  assert.equal(code(() => checkRangeRequest({ key: b('a'), sortTarget: 9 as etcdserverpb.RangeRequest.SortTarget })), 'ETCD_ERR_KV_INVALID_SORT_OPTION');
  assert.equal(code(() => checkRangeRequest({ key: b('a'), sortOrder: 2, sortTarget: 4 })), undefined);
});

test('put: ignore_value with a value, ignore_lease with a lease; 64-bit lease IDs pass exactly', () => {
  assert.equal(code(() => checkPutRequest({ key: b('a'), value: b('x'), ignoreValue: true })), 'ETCD_ERR_KV_VALUE_PROVIDED');
  assert.equal(code(() => checkPutRequest({ key: b('a'), lease: 5n, ignoreLease: true })), 'ETCD_ERR_KV_LEASE_PROVIDED');
  const big = { key: b('a'), lease: (1n << 62n) + 1n };
  assert.equal(code(() => checkPutRequest(big)), undefined);
  assert.equal(big.lease, (1n << 62n) + 1n, 'a lease ID is never clamped or rounded');
  assert.equal(code(() => checkPutRequest({ key: b(''), value: b('x') })), 'ETCD_ERR_KV_EMPTY_KEY');
  assert.equal(code(() => checkPutRequest({ key: b('a'), ignoreValue: true })), undefined);
});

test('txn: too many ops, counted per list', () => {
  const ops = Array.from({ length: 129 }, (_, i) => put(`k${i}`));
  assert.equal(code(() => checkTxnRequest({ success: ops }, 128)), 'ETCD_ERR_TXN_TOO_MANY_OPS');
  assert.equal(code(() => checkTxnRequest({ success: ops.slice(0, 128), failure: ops.slice(0, 128) }, 128)), undefined);
  const nested = { requestTxn: { success: ops } };
  assert.equal(code(() => checkTxnRequest({ success: [nested] }, 128)), 'ETCD_ERR_TXN_TOO_MANY_OPS');
  // the nested budget is what the parent leaves: 128 - 2 = 126
  const two = [{ requestTxn: { success: ops.slice(0, 126) } }, put('z')];
  assert.equal(code(() => checkTxnRequest({ success: two }, 128)), undefined);
  const over = [{ requestTxn: { success: ops.slice(0, 127) } }, put('z')];
  assert.equal(code(() => checkTxnRequest({ success: over }, 128)), 'ETCD_ERR_TXN_TOO_MANY_OPS');
});

test('txn: duplicate keys in one branch', () => {
  assert.equal(code(() => checkTxnRequest({ success: [put('a'), put('a')] }, 128)), 'ETCD_ERR_TXN_DUPLICATE_KEY');
  assert.equal(code(() => checkTxnRequest({ success: [put('a')], failure: [put('a')] }, 128)), undefined);
  // a put inside a deleted range
  assert.equal(code(() => checkTxnRequest({ success: [del('a', 'c'), put('b')] }, 128)), 'ETCD_ERR_TXN_DUPLICATE_KEY');
  assert.equal(code(() => checkTxnRequest({ success: [del('a', 'c'), put('c')] }, 128)), undefined);
  // from-key delete covers everything after
  assert.equal(code(() => checkTxnRequest({ success: [del('a', '\0'), put('zzz')] }, 128)), 'ETCD_ERR_TXN_DUPLICATE_KEY');
  // overlapping deletes are fine; reads never conflict
  assert.equal(code(() => checkTxnRequest({ success: [del('a', 'c'), del('b', 'd'), get('b'), get('b')] }, 128)), undefined);
  // nested: the same key in then/else of one nested txn is fine, but not next to a put at this level
  const nestedBoth = { requestTxn: { success: [put('x')], failure: [put('x')] } };
  assert.equal(code(() => checkTxnRequest({ success: [nestedBoth] }, 128)), undefined);
  assert.equal(code(() => checkTxnRequest({ success: [nestedBoth, put('x')] }, 128)), 'ETCD_ERR_TXN_DUPLICATE_KEY');
  // a nested put under a delete at this level
  assert.equal(code(() => checkTxnRequest({ success: [del('x'), { requestTxn: { success: [put('x')] } }] }, 128)), 'ETCD_ERR_TXN_DUPLICATE_KEY');
  // empty compare key
  assert.equal(code(() => checkTxnRequest({ compare: [{ key: new Uint8Array() }] }, 128)), 'ETCD_ERR_KV_EMPTY_KEY');
});

test('fuzz: decoding random bytes then validating never throws anything but EtcdError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      let req: etcdserverpb.TxnRequest;
      try {
        req = etcdserverpb.TxnRequest.decode(bytes);
      } catch {
        return; // malformed protobuf is the transport's business
      }
      code(() => checkTxnRequest(req, 128));
    }),
    { numRuns: 2000 },
  );
});

test('an empty RequestOp is "key not found", as etcd answers it', () => {
  assert.equal(code(() => checkTxnRequest({ success: [{}] }, 128)), 'ETCD_ERR_KV_KEY_NOT_FOUND');
  assert.equal(code(() => checkTxnRequest({ success: [{ requestTxn: { failure: [{}] } }] }, 128)), 'ETCD_ERR_KV_KEY_NOT_FOUND');
});

test('a key longer than the store takes is refused before it enters the log', () => {
  assert.equal(code(() => checkPutRequest({ key: Buffer.alloc(1900, 'k'), value: b('v') })), undefined);
  assert.equal(code(() => checkPutRequest({ key: Buffer.alloc(4000, 'k'), value: b('v') })), 'ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
  assert.equal(code(() => checkTxnRequest({ success: [{ requestPut: { key: Buffer.alloc(4000, 'k') } }] }, 128)), 'ETCD_ERR_SERVER_REQUEST_TOO_LARGE');
});

test('int64 fields beyond 2^53 are clamped, so they keep their meaning when re-encoded', () => {
  const big = 9223372036854775807; // MaxInt64 as it decodes: an inexact number
  const r: etcdserverpb.IRangeRequest = { key: b('a'), maxModRevision: big, revision: -big, limit: big };
  checkRangeRequest(r);
  assert.equal(r.maxModRevision, Number.MAX_SAFE_INTEGER);
  assert.equal(r.revision, -Number.MAX_SAFE_INTEGER);
  assert.equal(r.limit, Number.MAX_SAFE_INTEGER);
  const back = etcdserverpb.RangeRequest.decode(etcdserverpb.RangeRequest.encode(r).finish());
  assert.equal(back.maxModRevision, Number.MAX_SAFE_INTEGER, 're-encoding keeps the value positive');
  const t: etcdserverpb.ITxnRequest = { compare: [{ key: b('a'), target: 2, result: 2, modRevision: big }] };
  checkTxnRequest(t, 128);
  assert.equal(t.compare![0]!.modRevision, Number.MAX_SAFE_INTEGER);
  const c: etcdserverpb.ICompactionRequest = { revision: big };
  checkCompactionRequest(c);
  assert.equal(c.revision, Number.MAX_SAFE_INTEGER);
  // ordinary values are left alone
  const small: etcdserverpb.IRangeRequest = { key: b('a'), revision: 42 };
  checkRangeRequest(small);
  assert.equal(small.revision, 42);
});
