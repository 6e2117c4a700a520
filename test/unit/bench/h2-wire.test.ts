/**
 * The generator's thin HTTP/2 gRPC client (bench/h2-wire.ts) against node:http2 servers that
 * answer as gRPC servers do: echo, errors as trailers-only answers, big messages (flow control
 * and frame splitting both ways), a stream limit, RST_STREAM, GOAWAY, a dropped connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WireConn, WireCallError } from '../../../bench/h2-wire.js';

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

async function server(handler: Handler, settings: http2.Settings = {}): Promise<{ endpoint: string; close: () => Promise<void>; srv: http2.Http2Server }> {
  const srv = http2.createServer({ settings });
  srv.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => handler(stream, headers, Buffer.concat(chunks)));
    stream.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    srv,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

function grpcFrame(msg: Buffer): Buffer {
  const f = Buffer.alloc(5 + msg.length);
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
}

/** Answers with the request message reversed, as a gRPC server: headers, one message, trailers. */
const echo: Handler = (stream, headers, body) => {
  assert.equal(headers['content-type'], 'application/grpc');
  assert.equal(headers['te'], 'trailers');
  assert.equal(body.readUInt32BE(1), body.length - 5, 'the request is one length-prefixed message');
  const msg = Buffer.from(body.subarray(5)).reverse();
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(grpcFrame(msg));
};

test('unary calls: many at once on one connection, big messages both ways', async () => {
  // A small stream window makes the client wait for WINDOW_UPDATEs (nghttp2 resets a stream
  // that sends beyond its window).
  const s = await server(echo, { initialWindowSize: 4096 });
  const c = new WireConn({ endpoint: s.endpoint, timeoutMs: 5000 });
  try {
    const msgs = Array.from({ length: 200 }, (_, i) => Buffer.from(`message ${i}`));
    const got = await Promise.all(msgs.map((m) => c.call('/test.Echo/Echo', m)));
    got.forEach((g, i) => assert.equal(g.toString(), Buffer.from(msgs[i]!).reverse().toString()));
    // 1 MiB: above the 64 KiB initial windows and the 16 KiB frame size, in both directions
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const [a, b] = await Promise.all([c.call('/test.Echo/Echo', big), c.call('/test.Echo/Echo', big)]);
    assert.ok(a.equals(Buffer.from(big).reverse()) && b.equals(a));
  } finally {
    c.close();
    await s.close();
  }
});

test('errors: trailers-only answers keep their code and message; a non-200 status is UNKNOWN', async () => {
  const s = await server((stream, headers) => {
    if (headers[':path'] === '/test.E/Http') {
      stream.respond({ ':status': 503 }, { endStream: true });
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '9', 'grpc-message': encodeURIComponent('etcdserver: no leader 100%') }, { endStream: true });
  });
  const c = new WireConn({ endpoint: s.endpoint, timeoutMs: 0 });
  try {
    await assert.rejects(c.call('/test.E/E', Buffer.from('x')), (e: unknown) => e instanceof WireCallError && e.code === 9 && e.details === 'etcdserver: no leader 100%');
    await assert.rejects(c.call('/test.E/Http', Buffer.from('x')), (e: unknown) => e instanceof WireCallError && e.code === 2);
    // the connection is still good after errors
    await assert.rejects(c.call('/test.E/E', Buffer.from('y')), (e: unknown) => e instanceof WireCallError && e.code === 9);
  } finally {
    c.close();
    await s.close();
  }
});

test('SETTINGS_MAX_CONCURRENT_STREAMS is respected: calls beyond it wait, none is refused', async () => {
  let open = 0;
  let maxOpen = 0;
  const s = await server((stream, headers, body) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    setTimeout(() => {
      open--;
      echo(stream, headers, body);
    }, 5);
  }, { maxConcurrentStreams: 3 });
  const c = new WireConn({ endpoint: s.endpoint, timeoutMs: 0 });
  try {
    // the first call learns the limit from the server's SETTINGS
    await c.call('/t/E', Buffer.from('first'));
    const got = await Promise.all(Array.from({ length: 30 }, (_, i) => c.call('/t/E', Buffer.from(String(i)))));
    assert.equal(got.length, 30);
    assert.ok(maxOpen <= 3, `at most 3 streams open at once (saw ${maxOpen})`);
  } finally {
    c.close();
    await s.close();
  }
});

test('RST_STREAM fails its call only; a dropped connection fails its calls and the next call reconnects', async () => {
  const s = await server((stream, headers, body) => {
    if (headers[':path'] === '/t/Reset') stream.close(http2.constants.NGHTTP2_CANCEL);
    else if (headers[':path'] === '/t/Drop') stream.session?.destroy();
    else echo(stream, headers, body);
  });
  const c = new WireConn({ endpoint: s.endpoint, timeoutMs: 0 });
  try {
    const [reset, fine] = await Promise.allSettled([c.call('/t/Reset', Buffer.from('a')), c.call('/t/E', Buffer.from('ab'))]);
    assert.equal(reset.status, 'rejected');
    assert.equal(((reset as PromiseRejectedResult).reason as WireCallError).code, 14);
    assert.equal(fine.status, 'fulfilled');
    await assert.rejects(c.call('/t/Drop', Buffer.from('x')), (e: unknown) => e instanceof WireCallError && e.code === 14);
    assert.equal((await c.call('/t/E', Buffer.from('abc'))).toString(), 'cba', 'a new connection after the drop');
  } finally {
    c.close();
    await s.close();
  }
});

test('GOAWAY: calls the server took finish, later calls go to a new connection', async () => {
  let sessions = 0;
  const s = await server((stream, headers, body) => {
    if (headers[':path'] === '/t/Away') {
      echo(stream, headers, body);
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
      return;
    }
    echo(stream, headers, body);
  });
  s.srv.on('session', () => sessions++);
  const c = new WireConn({ endpoint: s.endpoint, timeoutMs: 0 });
  try {
    assert.equal((await c.call('/t/Away', Buffer.from('go'))).toString(), 'og');
    assert.equal((await c.call('/t/E', Buffer.from('after'))).toString(), 'retfa');
    assert.equal(sessions, 2, 'the call after GOAWAY opened a second connection');
  } finally {
    c.close();
    await s.close();
  }
});

test('GOAWAY below an in-flight call: that call was never processed and succeeds on a new connection', async () => {
  let sessions = 0;
  const s = await server((stream, headers, body) => {
    if (stream.id === 3 && sessions === 1) {
      // The second stream of the first connection: "I took stream 1 only".
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
      return;
    }
    if (stream.id === 1 && sessions === 1) {
      setTimeout(() => echo(stream, headers, body), 50);
      return;
    }
    echo(stream, headers, body);
  });
  s.srv.on('session', () => sessions++);
  const c = new WireConn({ endpoint: s.endpoint, timeoutMs: 0 });
  try {
    const [first, second] = await Promise.all([c.call('/t/E', Buffer.from('one')), c.call('/t/E', Buffer.from('two'))]);
    assert.equal(first.toString(), 'eno', 'the call the server took finishes on the first connection');
    assert.equal(second.toString(), 'owt', 'the call it did not take is answered on a new connection');
    assert.equal(sessions, 2);
  } finally {
    c.close();
    await s.close();
  }
});

test('a server that is not there: the call fails with UNAVAILABLE, nothing hangs', async () => {
  const s = await server(echo);
  const endpoint = s.endpoint;
  await s.close();
  const c = new WireConn({ endpoint, timeoutMs: 0 });
  await assert.rejects(c.call('/t/E', Buffer.from('x')), (e: unknown) => e instanceof WireCallError && e.code === 14);
  c.close();
});
