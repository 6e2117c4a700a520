/**
 * One client port for gRPC and HTTP/1.1: the listener routes by the first bytes, the
 * HTTP router answers etcd's /health, /livez, /readyz, /version, and bad input on a raw
 * socket neither crashes the process nor stops the port from serving.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ClientListener } from '../../../../src/api/grpc/client-listener.js';
import { Http2GrpcTransport } from '../../../../src/api/grpc/http2-transport.js';
import { HttpRouter } from '../../../../src/api/http/router.js';
import { registerHealthRoutes, registerVersionRoute, type HealthResult } from '../../../../src/api/http/health.js';
import { IMPLS, putBytes, rawClient, startServer, unaryRaw, type TestServer } from '../grpc/helpers.js';

interface HttpAnswer {
  status: number;
  body: string;
  type: string | undefined;
}

function request(port: number, path: string, method = 'GET'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Write bytes on a raw TCP connection and collect what comes back until the server closes it (or ms pass). */
function rawExchange(port: number, bytes: string | Buffer, ms = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => s.destroy(), ms);
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.write(bytes);
  });
}

for (const impl of IMPLS) {
  describe(`client port with ${impl}`, () => {
    let server: TestServer;
    let client: grpc.Client;
    before(async () => {
      server = await startServer(impl);
      client = rawClient(server);
    });
    after(async () => {
      client.close();
      await server.close();
    });

    it('serves gRPC and HTTP/1.1 /health and /version on the same port', async () => {
      const put = await unaryRaw(client, '/etcdserverpb.KV/Put', putBytes('k', 'v'));
      assert.equal(put.err, null);
      const health = await request(server.port, '/health');
      assert.equal(health.status, 200);
      assert.equal(health.type, 'application/json');
      assert.deepEqual(JSON.parse(health.body), { health: 'true', reason: '' });
      const version = await request(server.port, '/version');
      assert.equal(version.status, 200);
      assert.deepEqual(JSON.parse(version.body), { etcdserver: '3.6.0', etcdcluster: '3.6.0' });
      assert.deepEqual(await request(server.port, '/livez'), { status: 200, body: 'ok', type: 'text/plain; charset=utf-8' });
      assert.equal((await request(server.port, '/readyz?verbose')).status, 200);
    });

    it('answers 404 for unknown paths and 405 for wrong methods', async () => {
      const nf = await request(server.port, '/nope');
      assert.equal(nf.status, 404);
      assert.equal(nf.body, '404 page not found\n');
      assert.equal((await request(server.port, '/health', 'POST')).status, 405);
    });

    it('survives garbage, a partial preface and a broken HTTP/2 session, and keeps serving', async () => {
      const garbage = await rawExchange(server.port, 'GARBAGE \x00\x01\x02 nonsense\r\n\r\n');
      assert.match(garbage, /^HTTP\/1\.1 400 Bad Request/);
      await rawExchange(server.port, 'PRI * HTTP', 200); // a prefix of the preface, then silence
      await rawExchange(server.port, Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.alloc(64, 0xff)]), 500);
      await rawExchange(server.port, Buffer.alloc(3, 0), 200);
      const put = await unaryRaw(client, '/etcdserverpb.KV/Put', putBytes('still', 'here'));
      assert.equal(put.err, null);
      assert.equal((await request(server.port, '/health')).status, 200);
    });
  });
}

describe('http router and health checks', () => {
  let listener: ClientListener;
  let port: number;
  let health: HealthResult = { ok: false, reason: 'RAFT NO LEADER' };
  before(async () => {
    const router = new HttpRouter({ logError: () => {} });
    registerHealthRoutes(router, { health: async () => health, livez: () => ({ ok: false, reason: 'stuck' }) });
    registerVersionRoute(router, () => ({ etcdserver: '3.5.13', etcdcluster: '3.5.0', storage: '3.5.0' }));
    router.prefix(['POST'], '/v3/', (req, res) => {
      res.writeHead(200);
      res.end(`gateway ${req.url}`);
    });
    router.get('/boom', () => {
      throw new Error('handler bug');
    });
    listener = new ClientListener({ grpc: new Http2GrpcTransport(), http: router.handle, peekTimeoutMs: 100 });
    port = (await listener.listen(0)).port;
  });
  after(() => listener.close());

  it('reports unhealthy as etcd does, then healthy', async () => {
    const bad = await request(port, '/health');
    assert.equal(bad.status, 503);
    assert.deepEqual(JSON.parse(bad.body), { health: 'false', reason: 'RAFT NO LEADER' });
    assert.equal((await request(port, '/readyz')).status, 503);
    const live = await request(port, '/livez');
    assert.equal(live.status, 503);
    assert.equal(live.body, '[-]livez failed: stuck\nlivez check failed\n');
    health = { ok: true, reason: '' };
    assert.deepEqual(JSON.parse((await request(port, '/health')).body), { health: 'true', reason: '' });
  });

  it('serves a version callback, prefix routes and 500 on a handler bug', async () => {
    assert.deepEqual(JSON.parse((await request(port, '/version')).body), { etcdserver: '3.5.13', etcdcluster: '3.5.0', storage: '3.5.0' });
    assert.deepEqual(await request(port, '/v3/kv/range', 'POST'), { status: 200, body: 'gateway /v3/kv/range', type: undefined });
    assert.equal((await request(port, '/boom')).status, 500);
  });

  it('drops a connection that stays silent past the peek timeout', async () => {
    // We never write and never close: only the server's peek timeout can end the connection.
    // If it does not, this waits until the runner's per-test timeout fails the test.
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {}); // a reset is as good as a FIN: the server ended it
    await new Promise<void>((resolve) => s.on('close', () => resolve()));
  });
});
