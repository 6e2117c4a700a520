/**
 * Streaming calls through both transports: a bidi echo (Watch-shaped), a server stream
 * (Snapshot-shaped), errors ending a stream, client cancellation reaching onClose.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import { EtcdError, GrpcStatus } from '../../../../src/errors/errors.js';
import type { GrpcTransport } from '../../../../src/api/grpc/types.js';
import { IMPLS, rawClient, startServer, waitFor, type TestServer } from './helpers.js';

const identity = (b: Buffer): Buffer => b;
const watchReq = (key: string): Buffer =>
  Buffer.from(etcdserverpb.WatchRequest.encode({ createRequest: { key: Buffer.from(key) } }).finish());

function addStreams(t: GrpcTransport, closed: string[]): void {
  // Bidi echo: a WatchResponse per WatchRequest, watchId = position; a key 'fail' ends with an EtcdError.
  t.addStream<etcdserverpb.WatchRequest, etcdserverpb.IWatchResponse>({
    path: '/etcdserverpb.Watch/Watch',
    kind: 'bidi',
    decode: (b) => etcdserverpb.WatchRequest.decode(b),
    encode: (r) => etcdserverpb.WatchResponse.encode(r).finish(),
    handler: (stream, ctx) => {
      let n = 0;
      stream.onMessage((req) => {
        const key = Buffer.from(req.createRequest?.key ?? []).toString();
        if (key === 'fail') {
          stream.end(new EtcdError('ETCD_ERR_WATCH_CANCELED'));
          return;
        }
        stream.send({ header: { revision: 9 }, watchId: n++, created: true, events: [{ kv: { key: Buffer.from(key) } }] });
      });
      stream.onHalfClose(() => stream.end());
      stream.onClose(() => closed.push(`watch:${n}:${ctx.signal.aborted}`));
    },
  });
  // Server stream with backpressure: Observe sends 40 x 256 KiB, waiting for onDrain whenever send() says full.
  t.addStream<Uint8Array, etcdserverpb.ISnapshotResponse>({
    path: '/v3electionpb.Election/Observe',
    kind: 'server',
    decode: (b) => b,
    encode: (r) => etcdserverpb.SnapshotResponse.encode(r).finish(),
    handler: (stream) => {
      let i = 0;
      let waits = 0;
      const pump = (): void => {
        while (i < 40) {
          const ok = stream.send({ remainingBytes: 39 - i, blob: Buffer.alloc(256 * 1024, i) });
          i++;
          if (!ok) {
            waits++;
            return; // onDrain resumes
          }
        }
        closed.push(`observe-waits:${waits > 0}`);
        stream.end();
      };
      stream.onDrain(pump);
      stream.onMessage(pump);
    },
  });
  // Server stream: Snapshot sends 5 chunks then ends OK.
  t.addStream<etcdserverpb.SnapshotRequest, etcdserverpb.ISnapshotResponse>({
    path: '/etcdserverpb.Maintenance/Snapshot',
    kind: 'server',
    decode: (b) => etcdserverpb.SnapshotRequest.decode(b),
    encode: (r) => etcdserverpb.SnapshotResponse.encode(r).finish(),
    handler: (stream) => {
      stream.onMessage(() => {
        for (let i = 0; i < 5; i++) stream.send({ remainingBytes: 4 - i, blob: Buffer.alloc(1000, i) });
        stream.end();
      });
    },
  });
}

for (const impl of IMPLS) {
  describe(`streams over ${impl}`, () => {
    let server: TestServer;
    let client: grpc.Client;
    const closed: string[] = [];

    before(async () => {
      server = await startServer(impl, (t) => addStreams(t, closed));
      client = rawClient(server);
    });
    after(async () => {
      client.close();
      await server.close();
    });

    it('echoes a bidi stream and ends it OK on half-close', async () => {
      const call = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, identity);
      const got: Array<{ id: number; key: string }> = [];
      call.on('data', (b: Buffer) => {
        const r = etcdserverpb.WatchResponse.decode(b);
        got.push({ id: Number(r.watchId), key: Buffer.from(r.events[0]!.kv!.key!).toString() });
        if (got.length === 3) call.end();
      });
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => {});
      for (const k of ['a', 'b', 'c']) call.write(watchReq(k));
      assert.equal((await status).code, GrpcStatus.OK);
      assert.deepEqual(got, [
        { id: 0, key: 'a' },
        { id: 1, key: 'b' },
        { id: 2, key: 'c' },
      ]);
      await waitFor(() => closed.includes('watch:3:false'));
    });

    it('ends a bidi stream with an EtcdError status after messages were sent', async () => {
      const call = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, identity);
      let messages = 0;
      call.on('data', () => messages++);
      const err = new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      call.write(watchReq('x'));
      call.write(watchReq('fail'));
      const e = await err;
      assert.equal(e.code, GrpcStatus.CANCELLED);
      assert.equal(e.details, 'etcdserver: watch canceled');
      assert.equal(messages, 1);
    });

    it('calls onClose with an aborted signal when the client cancels', async () => {
      closed.length = 0;
      const call = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, identity);
      call.on('error', () => {});
      call.on('data', () => call.cancel());
      call.write(watchReq('cancel-me'));
      await waitFor(() => closed.includes('watch:1:true')).catch((e: unknown) => {
        throw new Error(`${String(e)}; closed: ${closed.join(',')}`);
      });
    });

    it('streams a server-streaming response', async () => {
      const call = client.makeServerStreamRequest('/etcdserverpb.Maintenance/Snapshot', identity, identity, Buffer.alloc(0));
      const remaining: number[] = [];
      call.on('data', (b: Buffer) => remaining.push(Number(etcdserverpb.SnapshotResponse.decode(b).remainingBytes)));
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      assert.equal(status.code, GrpcStatus.OK);
      assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
    });

    it('honours backpressure: send() reports a full buffer and onDrain resumes', async () => {
      const call = client.makeServerStreamRequest('/v3electionpb.Election/Observe', identity, identity, Buffer.alloc(0));
      let n = 0;
      let bytes = 0;
      call.on('data', (b: Buffer) => {
        n++;
        bytes += b.length;
      });
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      assert.equal(status.code, GrpcStatus.OK);
      assert.equal(n, 40);
      assert.ok(bytes > 40 * 256 * 1024);
      assert.ok(closed.includes('observe-waits:true'));
    });

    it('answers UNIMPLEMENTED on a streaming etcd method nobody registered', async () => {
      const call = client.makeBidiStreamRequest('/etcdserverpb.Lease/LeaseKeepAlive', identity, identity);
      const e = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      assert.equal(e.code, GrpcStatus.UNIMPLEMENTED);
      assert.equal(e.details, 'method LeaseKeepAlive not implemented');
    });
  });
}

for (const impl of IMPLS) {
  describe(`shutdown over ${impl}`, () => {
    it('closes with an open bidi stream: the handler sees onClose, the client an error, close() returns', async () => {
      const closed: string[] = [];
      const server = await startServer(impl, (t) => addStreams(t, closed));
      const client = rawClient(server);
      try {
        const call = client.makeBidiStreamRequest('/etcdserverpb.Watch/Watch', identity, identity);
        const first = new Promise<void>((resolve) => call.once('data', () => resolve()));
        const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
        call.on('error', () => {});
        call.write(watchReq('open'));
        await first;
        // The client never ends its stream: a close() that waited for it would never
        // resolve, and the runner's per-test timeout fails the test (a hang bound, not a timing claim).
        await server.close();
        assert.notEqual((await status).code, GrpcStatus.OK);
        await waitFor(() => closed.length === 1);
      } finally {
        client.close();
      }
    });
  });
}
