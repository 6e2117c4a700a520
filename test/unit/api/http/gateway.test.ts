import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import { HttpRouter } from '../../../../src/api/http/router.js';
import { registerGateway } from '../../../../src/api/http/gateway.js';
import { EtcdError } from '../../../../src/errors/errors.js';
import { encodeWith, type UnaryMethodSpec } from '../../../../src/api/v3rpc/method.js';

// A Range handler that reports what it received: the gateway's conversion is what is tested.
let seen: etcdserverpb.RangeRequest | undefined;
const range: UnaryMethodSpec<etcdserverpb.RangeRequest, etcdserverpb.IRangeResponse> = {
  path: '/etcdserverpb.KV/Range',
  decode: (b) => etcdserverpb.RangeRequest.decode(b),
  encode: encodeWith(etcdserverpb.RangeResponse),
  handler: (req) => {
    seen = req;
    if (Buffer.from(req.key).toString() === 'compacted') throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
    return { header: { revision: 9007199254740991, raftTerm: 2 }, kvs: [{ key: req.key, value: req.rangeEnd, version: 1 }], count: 1 };
  },
};

// A Put handler that echoes 64-bit IDs: the gateway must carry them exactly both ways.
let seenPut: etcdserverpb.PutRequest | undefined;
const putMethod: UnaryMethodSpec<etcdserverpb.PutRequest, etcdserverpb.IPutResponse | Uint8Array> = {
  path: '/etcdserverpb.KV/Put',
  decode: (b) => etcdserverpb.PutRequest.decode(b),
  encode: encodeWith(etcdserverpb.PutResponse),
  handler: (req) => {
    seenPut = req;
    // As the server answers writes: encoded, with the header appended (merged by readers).
    const body = etcdserverpb.PutResponse.encode({ header: { revision: 5 }, prevKv: { key: req.key, lease: req.lease, version: 1 } }).finish();
    const header = etcdserverpb.ResponseHeader.encode({ clusterId: 0xcdf818194e3a8c32n, memberId: 0x8e9e05c52164694dn, revision: 6, raftTerm: 2 }).finish();
    return Buffer.concat([body, Buffer.from([0x0a, header.length]), header]);
  },
};

let server: http.Server;
let base: string;
before(async () => {
  const router = new HttpRouter();
  registerGateway(router, [range, putMethod as UnaryMethodSpec<unknown, unknown>], { maxBodyBytes: 1024 });
  server = http.createServer(router.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(base + path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('proto names and camelCase JSON names both reach the handler', async () => {
  for (const body of [{ key: b64('a'), range_end: b64('z'), count_only: true }, { key: b64('a'), rangeEnd: b64('z'), countOnly: true }]) {
    const r = await post('/v3/kv/range', body);
    assert.equal(r.status, 200);
    assert.equal(Buffer.from(seen!.rangeEnd).toString(), 'z');
    assert.equal(seen!.countOnly, true);
  }
});

test('answers in proto3 JSON: int64 as strings, bytes as base64, zero values omitted', async () => {
  const r = await post('/v3/kv/range', { key: b64('k'), range_end: b64('l'), limit: '10', sort_order: 'DESCEND' });
  assert.equal(r.status, 200);
  assert.equal(seen!.limit, 10);
  assert.equal(seen!.sortOrder, etcdserverpb.RangeRequest.SortOrder.DESCEND);
  assert.deepEqual(r.json, { header: { revision: '9007199254740991', raft_term: '2' }, kvs: [{ key: b64('k'), value: b64('l'), version: '1' }], count: '1' });
});

test('bad bodies are InvalidArgument (HTTP 400) and never reach the handler', async () => {
  const cases: unknown[] = [
    '{not json',
    '[1,2]',
    { key: b64('a'), frobnicate: 1 },
    { key: b64('a'), limit: 'abc' },
    { key: b64('a'), revision: '18446744073709551615' },
    { key: b64('a'), sort_order: 'BOGUS' },
    { key: 1 },
    { key: 'not base64!' },
    { key: b64('a'), count_only: 'yes' },
  ];
  for (const body of cases) {
    seen = undefined;
    const r = await post('/v3/kv/range', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.json)}`);
    assert.equal(r.json['code'], 3);
    assert.equal(typeof r.json['message'], 'string');
    assert.equal(seen, undefined, `${JSON.stringify(body)} reached the handler`);
  }
});

test('handler errors keep their gRPC code, with grpc-gateway\'s HTTP status; oversized bodies are refused', async () => {
  const r = await post('/v3/kv/range', { key: b64('compacted') });
  assert.deepEqual(r, { status: 400, json: { error: 'etcdserver: mvcc: required revision has been compacted', message: 'etcdserver: mvcc: required revision has been compacted', code: 11 } });
  const big = await post('/v3/kv/range', { key: Buffer.alloc(2000).toString('base64') });
  assert.equal(big.status, 429);
  assert.equal(big.json['code'], 8);
});

test('64-bit IDs are exact both ways: lease in, member and cluster IDs out (decision 0003)', async () => {
  const lease = '9223372036854775807'; // int64 max, far above 2^53
  const r = await post('/v3/kv/put', { key: b64('k'), value: b64('v'), lease });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(seenPut!.lease, 9223372036854775807n);
  assert.deepEqual(r.json, {
    header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '6', raft_term: '2' },
    prev_kv: { key: b64('k'), version: '1', lease },
  });
  const neg = await post('/v3/kv/put', { key: b64('k'), lease: '-2' });
  assert.equal(neg.status, 200);
  assert.equal(seenPut!.lease, -2n);
  assert.equal(neg.json['prev_kv'].lease, '-2');
  const bad = await post('/v3/kv/put', { key: b64('k'), lease: '9223372036854775808' });
  assert.equal(bad.status, 400, 'beyond int64 is refused');
});
