/**
 * The client port accepts every :authority etcd clients send (h2-authority.ts): a URL with a
 * scheme (etcd's Go client v3.4/v3.5.0 per-endpoint calls, etcd issue #13192), an empty one,
 * none at all, and a valid host:port; connections with a valid one go to nghttp2 natively.
 * Requests are sent with node:http2's client (real HPACK: Huffman and the dynamic table) and
 * with hand-written frames for what no client library sends (no :authority).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ClientListener } from '../../../../src/api/grpc/client-listener.js';
import { Http2GrpcTransport } from '../../../../src/api/grpc/http2-transport.js';
import { fixAuthority, isValidAuthority } from '../../../../src/api/grpc/h2-authority.js';
import { registerHealthService } from '../../../../src/api/grpc/health-service.js';
import { addFakeKv } from './helpers.js';
import { etcdserverpb } from '../../../../src/proto/pb.js';

const RANGE = Buffer.from(etcdserverpb.RangeRequest.encode({ key: Buffer.from('k') }).finish());
const frameOf = (msg: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);

/** One unary call on a node:http2 session with the given :authority; resolves to grpc-status. */
function call(session: http2.ClientHttp2Session, authority: string, path = '/etcdserverpb.KV/Range', body = RANGE): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': path, ':authority': authority, 'content-type': 'application/grpc', te: 'trailers' });
    let status: string | undefined;
    req.on('response', (h) => (status = (h['grpc-status'] as string | undefined) ?? status));
    req.on('trailers', (t) => (status = t['grpc-status'] as string));
    req.on('data', () => {});
    req.on('error', reject);
    req.on('close', () => (req.rstCode !== 0 && status === undefined ? reject(new Error(`RST_STREAM ${req.rstCode}`)) : resolve(status ?? 'none')));
    req.end(frameOf(body));
  });
}

// ---- hand-written HTTP/2 for requests without :authority ----
const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
const lit = (name: string, value: string): Buffer => Buffer.concat([Buffer.from([0x00]), str(name), str(value)]);
function frame(type: number, flags: number, sid: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(sid, 5);
  return Buffer.concat([h, payload]);
}
/** Send one request with these header fields on a fresh connection; the frame types answered (3 = RST_STREAM). */
function rawRequest(port: number, fields: Buffer[]): Promise<{ types: number[]; grpcStatus: string | undefined }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      // acknowledge the server's SETTINGS as a client must
      s.write(frame(4, 1, 0, Buffer.alloc(0)));
    });
    s.on('error', () => {});
    s.write(Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      frame(4, 0, 0, Buffer.alloc(0)),
      frame(1, 0x4, 1, Buffer.concat(fields)),
      frame(0, 0x1, 1, frameOf(RANGE)),
    ]));
    setTimeout(() => {
      s.destroy();
      const types: number[] = [];
      for (let o = 0; o + 9 <= got.length; o += 9 + got.readUIntBE(o, 3)) types.push(got[o + 3]!);
      const text = got.toString('latin1');
      resolve({ types, grpcStatus: /grpc-status.?0/.test(text) || text.includes('grpc-status') ? 'seen' : undefined });
    }, 300);
  });
}

describe(':authority values nghttp2 refuses are accepted on the client port', () => {
  let listener: ClientListener;
  let port: number;
  before(async () => {
    const t = new Http2GrpcTransport();
    addFakeKv(t);
    registerHealthService(t);
    listener = new ClientListener({ grpc: t });
    port = (await listener.listen(0)).port;
  });
  after(() => listener.close());

  it('knows which values nghttp2 accepts, and what to put instead', () => {
    for (const ok of ['127.0.0.1:2379', 'localhost', '[::1]:2379', 'x%2Fy', 'unix:localhost:1']) assert.ok(isValidAuthority(ok), ok);
    for (const bad of [undefined, '', 'http://127.0.0.1:2379', 'a b', 'x?y', 'é']) assert.ok(!isValidAuthority(bad), String(bad));
    assert.equal(fixAuthority('http://127.0.0.1:2379', 'fb:1'), '127.0.0.1:2379');
    assert.equal(fixAuthority('unix://localhost:1234', 'fb:1'), 'localhost:1234');
    assert.equal(fixAuthority('unix:///tmp/sock', 'fb:1'), 'fb:1');
    assert.equal(fixAuthority(undefined, 'fb:1'), 'fb:1');
    assert.equal(fixAuthority('', ''), 'localhost');
  });

  it('a URL authority (etcdctl 3.4 endpoint status), many calls on one connection: every one answered', async () => {
    const before = { ...listener.h2Connections };
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      // 200 calls: node's encoder indexes the authority once, then refers to it; other fields
      // churn the dynamic table so the authority is evicted and sent again.
      for (let i = 0; i < 200; i++) {
        const path = i % 3 === 0 ? '/etcdserverpb.KV/Range' : '/etcdserverpb.KV/Put';
        const body = i % 3 === 0 ? RANGE : Buffer.from(etcdserverpb.PutRequest.encode({ key: Buffer.from(`k${i}`) }).finish());
        const req = await call(session, i % 50 === 49 ? `http://127.0.0.1:${port}/x${i}` : `http://127.0.0.1:${port}`, path, body);
        assert.equal(req, '0', `call ${i}`);
      }
      // concurrent calls on the same connection
      const all = await Promise.all(Array.from({ length: 50 }, () => call(session, `http://127.0.0.1:${port}`)));
      assert.deepEqual(new Set(all), new Set(['0']));
    } finally {
      session.close();
    }
    assert.equal(listener.h2Connections.rewritten, before.rewritten + 1);
  });

  it('a valid authority goes to nghttp2 natively (grpc-js client), and still works', async () => {
    const before = { ...listener.h2Connections };
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const res = await new Promise<Buffer>((resolve, reject) =>
        c.makeUnaryRequest('/etcdserverpb.KV/Range', (b: Buffer) => b, (b: Buffer) => b, RANGE, (err, v) => (err ? reject(err) : resolve(v!))),
      );
      assert.ok(res.length > 0);
    } finally {
      c.close();
    }
    assert.equal(listener.h2Connections.native, before.native + 1);
    assert.equal(listener.h2Connections.rewritten, before.rewritten);
  });

  for (const [name, fields] of [
    ['no :authority', [lit(':method', 'POST'), lit(':scheme', 'http'), lit(':path', '/etcdserverpb.KV/Range'), lit('content-type', 'application/grpc')]],
    ['an empty :authority', [lit(':method', 'POST'), lit(':scheme', 'http'), lit(':path', '/etcdserverpb.KV/Range'), lit(':authority', ''), lit('content-type', 'application/grpc')]],
    ['a unix URL :authority', [lit(':method', 'POST'), lit(':scheme', 'http'), lit(':path', '/etcdserverpb.KV/Range'), lit(':authority', 'unix:///tmp/etcd.sock'), lit('content-type', 'application/grpc')]],
  ] as const) {
    it(`${name}: answered, not reset`, async () => {
      const r = await rawRequest(port, [...fields]);
      assert.ok(!r.types.includes(3), `RST_STREAM in ${r.types.join(',')}`);
      assert.ok(r.types.includes(1), `no HEADERS answer in ${r.types.join(',')}`);
    });
  }

  it('grpc.health.v1.Health/Check answers SERVING for "", NOT_FOUND for an unknown service', async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const ask = (service: string): Promise<{ status: string | undefined; body: Buffer }> =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
          let status: string | undefined;
          const chunks: Buffer[] = [];
          req.on('response', (h) => (status = (h['grpc-status'] as string | undefined) ?? status));
          req.on('trailers', (t) => (status = t['grpc-status'] as string));
          req.on('data', (d: Buffer) => chunks.push(d));
          req.on('error', reject);
          req.on('close', () => resolve({ status, body: Buffer.concat(chunks) }));
          const msg = service === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]);
          req.end(frameOf(msg));
        });
      const ok = await ask('');
      assert.equal(ok.status, '0');
      assert.deepEqual([...ok.body], [0, 0, 0, 0, 2, 0x08, 1]); // status: SERVING
      assert.equal((await ask('nope')).status, String(grpc.status.NOT_FOUND));
    } finally {
      session.close();
    }
  });

  it('garbage after the preface closes that connection only', async () => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.resume();
    s.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, Buffer.alloc(0)), frame(1, 0x4, 1, Buffer.from([0xff, 0xff, 0xff]))]));
    await new Promise((r) => s.on('close', r));
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      assert.equal(await call(session, `127.0.0.1:${port}`), '0');
    } finally {
      session.close();
    }
  });

  it('a connection idle past the sniff timeout goes to nghttp2 unexamined and still works; PINGs are answered meanwhile', async () => {
    const t = new Http2GrpcTransport();
    addFakeKv(t);
    const idle = new ClientListener({ grpc: t, peekTimeoutMs: 300 });
    const p = (await idle.listen(0)).port;
    const session = http2.connect(`http://127.0.0.1:${p}`);
    try {
      await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
      const rtt = await new Promise<number>((resolve, reject) => session.ping((err, ms) => (err ? reject(err) : resolve(ms))));
      assert.ok(rtt >= 0);
      await new Promise((r) => setTimeout(r, 600));
      assert.deepEqual(idle.h2Connections, { native: 1, rewritten: 0 });
      assert.equal(await call(session, `127.0.0.1:${p}`), '0');
    } finally {
      session.close();
      await idle.close();
    }
  });
});
