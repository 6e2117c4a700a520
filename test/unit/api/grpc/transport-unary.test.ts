/**
 * Unary calls through both transports (Http2GrpcTransport, GrpcJsTransport) behind the
 * shared-port listener, from grpc-js and the etcd3 npm client: answers, error mapping,
 * UNIMPLEMENTED, limits, malformed input, deadlines, cancellation, concurrency.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import { ERRORS, EtcdError, GrpcStatus, type ErrorCode } from '../../../../src/errors/errors.js';

const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];
import { GrpcStatusError } from '../../../../src/api/grpc/status.js';
import type { CallContext, GrpcTransport } from '../../../../src/api/grpc/types.js';
import { IMPLS, addFakeKv, putBytes, rawClient, startServer, unaryRaw, waitFor, type TestServer } from './helpers.js';

/** Handlers for the error, deadline and cancellation cases. */
function addTestMethods(t: GrpcTransport, seen: { aborted: string[] }): void {
  addFakeKv(t);
  const method = (name: string, handler: (req: etcdserverpb.CompactionRequest, ctx: CallContext) => unknown) =>
    t.addUnary<etcdserverpb.CompactionRequest, etcdserverpb.ICompactionResponse>({
      path: `/test.T/${name}`,
      decode: (b) => etcdserverpb.CompactionRequest.decode(b),
      encode: (r) => etcdserverpb.CompactionResponse.encode(r).finish(),
      handler: handler as (req: etcdserverpb.CompactionRequest, ctx: CallContext) => etcdserverpb.ICompactionResponse,
    });
  method('Compacted', () => {
    throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
  });
  method('CompactedAsync', async () => {
    await new Promise((r) => setTimeout(r, 1));
    throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
  });
  method('ErrorByIndex', (req) => {
    throw new EtcdError(ERROR_CODES[req.revision]!);
  });
  method('Bug', () => {
    throw new TypeError('x is undefined');
  });
  method('Encoded', () => {
    throw new GrpcStatusError(GrpcStatus.FAILED_PRECONDITION, 'résumé 100% done\nnext line');
  });
  method('Token', (_req, ctx) => ({ header: { revision: Number(ctx.metadata('token')?.length ?? -1) } }));
  method('Slow', (req, ctx) => {
    const signal = ctx.signal;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ header: { revision: req.revision } }), 2000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        seen.aborted.push(`${req.revision}`);
        resolve({ header: { revision: -1 } });
      });
    });
  });
  t.addUnary<etcdserverpb.RangeRequest, etcdserverpb.IRangeResponse>({
    path: '/test.T/BigRange',
    decode: (b) => etcdserverpb.RangeRequest.decode(b),
    encode: (r) => etcdserverpb.RangeResponse.encode(r).finish(),
    handler: (req) => ({ kvs: [{ key: req.key, value: Buffer.alloc(3 * 1024 * 1024, 0x62) }], count: 1 }),
  });
  method('Deadline', (_req, ctx) => ({ header: { revision: ctx.deadline === undefined ? 0 : Math.round((ctx.deadline - Date.now()) / 1000) } }));
}

/** A decoded message as plain JSON data, bytes as hex, for comparing across transports. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function plain(m: unknown): any {
  if (m instanceof Uint8Array) return Buffer.from(m).toString('hex');
  if (Array.isArray(m)) return m.map(plain);
  if (m !== null && typeof m === 'object') {
    return Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]));
  }
  return m;
}

const compaction = (revision: number): Uint8Array => etcdserverpb.CompactionRequest.encode({ revision }).finish();
const MAX_RECV = 64 * 1024;

/** Results per implementation, compared at the end. */
const observed: Record<string, Record<string, unknown>> = {};

for (const impl of IMPLS) {
  describe(`unary over ${impl}`, () => {
    let server: TestServer;
    let client: grpc.Client;
    const seen = { aborted: [] as string[] };
    const handled: Array<[string, number]> = [];
    const record = (name: string, v: unknown): void => {
      (observed[name] ??= {})[impl] = v;
    };

    before(async () => {
      server = await startServer(impl, (t) => addTestMethods(t, seen), { maxRecvBytes: MAX_RECV, onHandled: (p, c) => handled.push([p, c]) });
      client = rawClient(server);
    });
    after(async () => {
      client.close();
      await server.close();
    });

    it('answers Put and Range from a grpc-js client', async () => {
      const put = await unaryRaw(client, '/etcdserverpb.KV/Put', putBytes('k1', 'abc', true));
      assert.equal(put.err, null);
      const putRes = plain(etcdserverpb.PutResponse.decode(put.res!));
      assert.equal(putRes.prevKv.value, Buffer.from('cba').toString('hex'));
      record('put', putRes);
      const range = await unaryRaw(client, '/etcdserverpb.KV/Range', etcdserverpb.RangeRequest.encode({ key: Buffer.from('k1') }).finish());
      assert.equal(range.err, null);
      const rangeRes = plain(etcdserverpb.RangeResponse.decode(range.res!));
      assert.equal(Buffer.from(rangeRes.kvs[0].value, 'hex').toString(), 'value-of-k1');
      record('range', rangeRes);
    });

    it('answers the etcd3 npm client', async () => {
      const etcd = new Etcd3({ hosts: server.address });
      try {
        const put = await etcd.put('etcd3-key').value('v1').exec();
        const got = await etcd.get('etcd3-key').string();
        assert.equal(got, 'value-of-etcd3-key');
        record('etcd3', { put: put.header, got });
        await assert.rejects(etcd.lease(10).grant(), /method LeaseGrant not implemented/);
      } finally {
        etcd.close();
      }
    });

    it('maps an EtcdError to its status and exact message', async () => {
      for (const path of ['/test.T/Compacted', '/test.T/CompactedAsync']) {
        const r = await unaryRaw(client, path, compaction(1));
        assert.equal(r.err?.code, 11);
        assert.equal(r.err?.details, 'etcdserver: mvcc: required revision has been compacted');
      }
    });

    it('carries every error of the catalogue with its exact code and message', async () => {
      for (let i = 0; i < ERROR_CODES.length; i++) {
        const spec = ERRORS[ERROR_CODES[i]!];
        const r = await unaryRaw(client, '/test.T/ErrorByIndex', compaction(i));
        assert.equal(r.err?.code, spec.grpcStatus, ERROR_CODES[i]);
        assert.equal(r.err?.details, spec.message, ERROR_CODES[i]);
      }
    });

    it('percent-encodes grpc-message so clients read it back intact', async () => {
      const r = await unaryRaw(client, '/test.T/Encoded', compaction(1));
      assert.equal(r.err?.code, GrpcStatus.FAILED_PRECONDITION);
      assert.equal(r.err?.details, 'résumé 100% done\nnext line');
    });

    it('answers INTERNAL with a generic message for other errors, and logs them', async () => {
      const r = await unaryRaw(client, '/test.T/Bug', compaction(1));
      assert.equal(r.err?.code, GrpcStatus.INTERNAL);
      assert.equal(r.err?.details, 'etcdserver: internal error');
      assert.ok(server.logged.some((e) => e instanceof TypeError));
    });

    it('passes request metadata to the handler', async () => {
      const md = new grpc.Metadata();
      md.set('token', 'abcdef');
      const r = await unaryRaw(client, '/test.T/Token', compaction(1), { metadata: md });
      assert.equal(etcdserverpb.CompactionResponse.decode(r.res!).header?.revision, 6);
    });

    it('answers UNIMPLEMENTED for etcd methods nobody registered and unknown paths', async () => {
      const lease = await unaryRaw(client, '/etcdserverpb.Lease/LeaseGrant', new Uint8Array());
      assert.equal(lease.err?.code, GrpcStatus.UNIMPLEMENTED);
      assert.equal(lease.err?.details, 'method LeaseGrant not implemented');
      const svc = await unaryRaw(client, '/foo.Bar/Baz', new Uint8Array());
      assert.equal(svc.err?.code, GrpcStatus.UNIMPLEMENTED);
      const method = await unaryRaw(client, '/etcdserverpb.KV/Nope', new Uint8Array());
      assert.equal(method.err?.code, GrpcStatus.UNIMPLEMENTED);
      if (impl !== 'grpcjs') {
        assert.equal(svc.err?.details, 'unknown service foo.Bar');
        assert.equal(method.err?.details, 'unknown method Nope for service etcdserverpb.KV');
      }
    });

    it('rejects a message over maxRecvBytes with RESOURCE_EXHAUSTED and keeps serving', async () => {
      const big = putBytes('big', 'x'.repeat(MAX_RECV + 10));
      const r = await unaryRaw(client, '/etcdserverpb.KV/Put', big);
      assert.equal(r.err?.code, GrpcStatus.RESOURCE_EXHAUSTED);
      if (impl !== 'grpcjs') assert.equal(r.err?.details, `grpc: received message larger than max (${big.length} vs. ${MAX_RECV})`);
      else assert.match(r.err!.details, /larger than max/i);
      const ok = await unaryRaw(client, '/etcdserverpb.KV/Put', putBytes('small', 'x'));
      assert.equal(ok.err, null);
    });

    it('reassembles a request spanning several DATA frames and sends a 3 MiB response', async () => {
      const value = 'v'.repeat(60 * 1024);
      const put = await unaryRaw(client, '/etcdserverpb.KV/Put', putBytes('multi-frame', value, true));
      assert.equal(put.err, null);
      assert.equal(Buffer.from(etcdserverpb.PutResponse.decode(put.res!).prevKv!.value!).toString(), value);
      const big = await unaryRaw(client, '/test.T/BigRange', etcdserverpb.RangeRequest.encode({ key: Buffer.from('big') }).finish());
      assert.equal(big.err, null);
      assert.equal(etcdserverpb.RangeResponse.decode(big.res!).kvs[0]!.value!.length, 3 * 1024 * 1024);
    });

    it('answers malformed protobuf with INTERNAL "grpc: error unmarshalling request" and keeps serving', async () => {
      // field 1, wire type 2 (bytes), length 100, but only 3 bytes follow
      const r = await unaryRaw(client, '/etcdserverpb.KV/Put', Buffer.from([0x0a, 100, 1, 2, 3]));
      assert.equal(r.err?.code, GrpcStatus.INTERNAL);
      assert.match(r.err!.details, /^grpc: error unmarshalling request: /);
      record('malformed', r.err!.details);
      const ok = await unaryRaw(client, '/etcdserverpb.KV/Put', putBytes('after', 'x'));
      assert.equal(ok.err, null);
    });

    it('tells the handler the deadline and answers DEADLINE_EXCEEDED when it passes', async () => {
      const d = await unaryRaw(client, '/test.T/Deadline', compaction(1), { deadlineMs: 30_000 });
      assert.equal(etcdserverpb.CompactionResponse.decode(d.res!).header?.revision, 30);
      const r = await unaryRaw(client, '/test.T/Slow', compaction(42), { deadlineMs: 100 });
      assert.equal(r.err?.code, GrpcStatus.DEADLINE_EXCEEDED);
      // The state that matters: the server aborted the handler (it never answers on its own).
      await waitFor(() => seen.aborted.includes('42'));
    });

    it('aborts the handler signal when the client cancels mid-call', async () => {
      const r = await unaryRaw(client, '/test.T/Slow', compaction(43), { onCall: (c) => setTimeout(() => c.cancel(), 50) });
      assert.equal(r.err?.code, GrpcStatus.CANCELLED);
      await waitFor(() => seen.aborted.includes('43'));
      const ok = await unaryRaw(client, '/etcdserverpb.KV/Put', putBytes('after-cancel', 'x'));
      assert.equal(ok.err, null);
    });

    it('reports each call outcome once through onHandled', async () => {
      await waitFor(() => handled.some(([p, c]) => p === '/test.T/Slow' && c === GrpcStatus.CANCELLED));
      const has = (path: string, code: number): boolean => handled.some(([p, c]) => p === path && c === code);
      assert.ok(has('/etcdserverpb.KV/Put', GrpcStatus.OK));
      assert.ok(has('/test.T/Compacted', GrpcStatus.OUT_OF_RANGE));
      assert.ok(has('/test.T/Bug', GrpcStatus.INTERNAL));
      assert.ok(has('/etcdserverpb.Lease/LeaseGrant', GrpcStatus.UNIMPLEMENTED));
      // The deadline call ends DEADLINE_EXCEEDED, or CANCELLED when the client's own timer
      // fires first and resets the stream (both sides time the same deadline: a fair race).
      const slow = handled.filter(([p]) => p === '/test.T/Slow').map(([, c]) => c);
      assert.equal(slow.length, 2);
      assert.ok(slow.every((c) => c === GrpcStatus.CANCELLED || c === GrpcStatus.DEADLINE_EXCEEDED), String(slow));
    });

    it('answers 200 concurrent calls over 4 connections', async () => {
      const clients = Array.from({ length: 4 }, () => rawClient(server));
      try {
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            unaryRaw(clients[i % 4]!, '/etcdserverpb.KV/Range', etcdserverpb.RangeRequest.encode({ key: Buffer.from(`c${i}`) }).finish()),
          ),
        );
        results.forEach((r, i) => {
          assert.equal(r.err, null);
          const kv = etcdserverpb.RangeResponse.decode(r.res!).kvs[0]!;
          assert.equal(Buffer.from(kv.value!).toString(), `value-of-c${i}`);
        });
      } finally {
        for (const c of clients) c.close();
      }
    });

    it('accepts gzip-compressed requests', async () => {
      const gz = rawClient(server, { 'grpc.default_compression_algorithm': 2 });
      try {
        const r = await unaryRaw(gz, '/etcdserverpb.KV/Range', etcdserverpb.RangeRequest.encode({ key: Buffer.from('gz') }).finish());
        assert.equal(r.err, null);
        assert.equal(Buffer.from(etcdserverpb.RangeResponse.decode(r.res!).kvs[0]!.value!).toString(), 'value-of-gz');
      } finally {
        gz.close();
      }
    });
  });
}

describe('all transports', () => {
  it('gave identical answers', () => {
    for (const name of ['put', 'range', 'etcd3', 'malformed']) {
      const byImpl = observed[name];
      assert.ok(byImpl !== undefined && IMPLS.every((i) => i in byImpl), `missing results for ${name}`);
      assert.deepEqual(byImpl['http2'], byImpl['grpcjs'], name);
      assert.deepEqual(byImpl['wire'], byImpl['grpcjs'], name);
    }
  });
});
