/**
 * WireGrpcTransport at the frame level (docs/grpc-transport.md "WireGrpcTransport"): a raw
 * socket sends well-formed and malformed HTTP/2 and reads every frame the server answers.
 * The behaviour shared with node:http2 (statuses, clients) is in transport-unary/-stream.test.ts,
 * which run over 'wire' too.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { ClientListener } from '../../../../src/api/grpc/client-listener.js';
import { WireGrpcTransport } from '../../../../src/api/grpc/wire-transport.js';
import type { CallContext, ServerStream } from '../../../../src/api/grpc/types.js';
import { GrpcStatus } from '../../../../src/api/grpc/status.js';
import { HttpRouter } from '../../../../src/api/http/router.js';
import { registerHealthRoutes } from '../../../../src/api/http/health.js';
import { encodeLiterals } from '../../../../src/api/grpc/hpack.js';
import {
  E_COMPRESSION_ERROR,
  E_ENHANCE_YOUR_CALM,
  E_FLOW_CONTROL_ERROR,
  E_FRAME_SIZE_ERROR,
  E_NO_ERROR,
  E_PROTOCOL_ERROR,
  E_REFUSED_STREAM,
  F_ACK,
  F_END_HEADERS,
  F_END_STREAM,
  F_PADDED,
  F_PRIORITY,
  S_INITIAL_WINDOW_SIZE,
  S_MAX_CONCURRENT_STREAMS,
  S_MAX_FRAME_SIZE,
  T_CONTINUATION,
  T_DATA,
  T_GOAWAY,
  T_HEADERS,
  T_PING,
  T_RST_STREAM,
  T_SETTINGS,
  frame,
  rstStreamFrame,
  windowUpdateFrame,
} from '../../../../src/api/grpc/h2-frames.js';
import { RawH2, grpcMessage, requestBlock } from './raw-h2.js';

const UNARY = '/test.Echo/Unary';
const STREAM = '/test.Echo/Stream';
const MAX_RECV = 64 * 1024;

interface Server {
  port: number;
  transport: WireGrpcTransport;
  listener: ClientListener;
  handled: Array<[string, GrpcStatus]>;
  aborted: string[];
  logged: unknown[];
  sends: boolean[];
  drains: number;
  /** Releases calls waiting on 'wait:<name>'. */
  release(name: string): void;
}

async function start(opts: { maxConcurrentStreams?: number } = {}): Promise<Server> {
  const gates = new Map<string, () => void>();
  const waiting = new Map<string, Promise<void>>();
  const gate = (name: string): Promise<void> => {
    let p = waiting.get(name);
    if (p === undefined) {
      p = new Promise<void>((r) => gates.set(name, r));
      waiting.set(name, p);
    }
    return p;
  };
  const s: Partial<Server> & { handled: Array<[string, GrpcStatus]>; aborted: string[]; logged: unknown[]; sends: boolean[]; drains: number } = {
    handled: [],
    aborted: [],
    logged: [],
    sends: [],
    drains: 0,
  };
  const transport = new WireGrpcTransport({
    maxRecvBytes: MAX_RECV,
    onHandled: (p, c) => s.handled.push([p, c]),
    logError: (_m, err) => s.logged.push(err),
    ...(opts.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: opts.maxConcurrentStreams } : {}),
  });
  transport.addUnary<Buffer, Buffer>({
    path: UNARY,
    decode: (b) => Buffer.from(b),
    encode: (b) => b,
    handler: async (req: Buffer, ctx: CallContext) => {
      const text = req.toString();
      if (text.startsWith('wait:')) {
        const name = text.slice(5);
        ctx.signal.addEventListener('abort', () => s.aborted.push(name));
        await gate(name);
        return Buffer.from(`done:${name}`);
      }
      if (text.startsWith('big:')) return Buffer.alloc(Number(text.slice(4)), 0x61);
      if (text.startsWith('meta:')) return Buffer.from(ctx.metadata(text.slice(5)) ?? '<none>');
      return req;
    },
  });
  transport.addStream<Buffer, Buffer>({
    path: STREAM,
    kind: 'bidi',
    decode: (b) => Buffer.from(b),
    encode: (b) => b,
    handler: (stream: ServerStream<Buffer, Buffer>) => {
      let throwOnClose = false;
      stream.onClose(() => {
        if (throwOnClose) throw new Error('a buggy onClose');
      });
      stream.onDrain(() => {
        s.drains++;
        stream.send(Buffer.from('drained'));
      });
      stream.onMessage((m) => {
        const text = m.toString();
        if (text.startsWith('big:')) {
          const [n, count] = text.slice(4).split('x').map(Number);
          for (let i = 0; i < (count ?? 1); i++) s.sends.push(stream.send(Buffer.alloc(n!, 0x62)));
        } else if (text === 'end') stream.end();
        else if (text === 'throw-on-close') {
          throwOnClose = true;
          stream.send(m);
        }
        else stream.send(m);
      });
      stream.onHalfClose(() => stream.end());
    },
  });
  const router = new HttpRouter();
  registerHealthRoutes(router, { alarms: () => [], hasLeader: () => true, isLearner: () => false, read: async () => {} });
  transport.serveNonGrpc(router.handle);
  const listener = new ClientListener({ grpc: transport, http: router.handle });
  const { port } = await listener.listen(0, '127.0.0.1');
  return Object.assign(s, { port, transport, listener, release: (name: string) => { void gate(name); gates.get(name)!(); } }) as Server;
}

function goAwayCode(f: { payload: Buffer } | undefined): number | undefined {
  return f === undefined ? undefined : f.payload.readUInt32BE(4);
}

describe('wire transport: HTTP/2 frames', () => {
  let srv: Server;
  before(async () => {
    srv = await start();
  });
  after(async () => {
    await srv.listener.close();
  });

  it('sends its SETTINGS first, ACKs the client SETTINGS and answers PING with the same payload', async () => {
    const c = await RawH2.connect(srv.port);
    const first = await c.waitFrame(() => true);
    assert.equal(first?.type, T_SETTINGS);
    assert.equal(first?.flags, 0);
    const settings = new Map<number, number>();
    for (let o = 0; o < first!.payload.length; o += 6) settings.set(first!.payload.readUInt16BE(o), first!.payload.readUInt32BE(o + 2));
    assert.equal(settings.get(S_MAX_CONCURRENT_STREAMS), 10_000);
    assert.equal(settings.get(S_INITIAL_WINDOW_SIZE), 0x7fffffff);
    assert.ok((settings.get(S_MAX_FRAME_SIZE) ?? 0) >= 16_384);
    assert.ok(await c.waitFrame((f) => f.type === T_SETTINGS && f.flags === F_ACK));
    c.send(frame(T_PING, 0, 0, Buffer.from('12345678')));
    const pong = await c.waitFrame((f) => f.type === T_PING);
    assert.equal(pong?.flags, F_ACK);
    assert.equal(pong?.payload.toString(), '12345678');
    c.request(1, UNARY, Buffer.from('hello'));
    const r = await c.status(1);
    assert.equal(r.status, '0');
    assert.equal(r.data.subarray(5).toString(), 'hello');
    c.close();
  });

  it('answers a unary call with HEADERS, DATA and trailers in one socket read', async () => {
    const c = await RawH2.connect(srv.port);
    let reads = 0;
    c.request(1, UNARY, Buffer.from('one write'));
    await c.waitFrame((f) => f.type === T_SETTINGS && f.flags === F_ACK);
    c.socket.on('data', () => reads++);
    c.request(3, UNARY, Buffer.from('one write'));
    await c.status(3);
    const frames3 = c.frames.filter((f) => f.id === 3).map((f) => f.type);
    assert.deepEqual(frames3, [T_HEADERS, T_DATA, T_HEADERS]);
    assert.equal(reads, 1, 'the answer came in one TCP read');
    c.close();
  });

  it('answers a bad preface with GOAWAY PROTOCOL_ERROR', async () => {
    const c = await RawH2.connect(srv.port, { preface: false });
    c.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    c.send(frame(T_PING, 0, 0, Buffer.alloc(8))); // not SETTINGS first
    const g = await c.waitFrame((f) => f.type === T_GOAWAY);
    assert.equal(goAwayCode(g), E_PROTOCOL_ERROR);
    await c.waitClosed();
  });

  it('ends the connection with FRAME_SIZE_ERROR on a frame over SETTINGS_MAX_FRAME_SIZE', async () => {
    const c = await RawH2.connect(srv.port);
    const head = Buffer.alloc(9);
    head.writeUIntBE((1 << 20) + 1, 0, 3);
    head[3] = T_DATA;
    head.writeUInt32BE(1, 5);
    c.send(head);
    const g = await c.waitFrame((f) => f.type === T_GOAWAY);
    assert.equal(goAwayCode(g), E_FRAME_SIZE_ERROR);
    await c.waitClosed();
  });

  it('ends the connection with FRAME_SIZE_ERROR on a PING of the wrong size', async () => {
    const c = await RawH2.connect(srv.port);
    c.send(frame(T_PING, 0, 0, Buffer.alloc(7)));
    assert.equal(goAwayCode(await c.waitFrame((f) => f.type === T_GOAWAY)), E_FRAME_SIZE_ERROR);
    await c.waitClosed();
  });

  it('ends the connection with PROTOCOL_ERROR on CONTINUATION without HEADERS', async () => {
    const c = await RawH2.connect(srv.port);
    c.send(frame(T_CONTINUATION, F_END_HEADERS, 1, requestBlock(UNARY)));
    assert.equal(goAwayCode(await c.waitFrame((f) => f.type === T_GOAWAY)), E_PROTOCOL_ERROR);
    await c.waitClosed();
  });

  it('ends the connection with PROTOCOL_ERROR on an even stream id and on a stream id going back', async () => {
    const c = await RawH2.connect(srv.port);
    c.send(frame(T_HEADERS, F_END_HEADERS, 2, requestBlock(UNARY)));
    assert.equal(goAwayCode(await c.waitFrame((f) => f.type === T_GOAWAY)), E_PROTOCOL_ERROR);
    await c.waitClosed();
    const d = await RawH2.connect(srv.port);
    d.request(5, UNARY, Buffer.from('x'));
    await d.status(5);
    d.send(frame(T_HEADERS, F_END_HEADERS, 3, requestBlock(UNARY)));
    const g = await d.waitFrame((f) => f.type === T_GOAWAY);
    assert.equal(goAwayCode(g), E_PROTOCOL_ERROR);
    assert.equal(g!.payload.readUInt32BE(0), 5, 'GOAWAY names the last stream taken');
    await d.waitClosed();
  });

  it('ends the connection with PROTOCOL_ERROR on DATA for an idle stream', async () => {
    const c = await RawH2.connect(srv.port);
    c.send(frame(T_DATA, 0, 7, grpcMessage(Buffer.from('x'))));
    assert.equal(goAwayCode(await c.waitFrame((f) => f.type === T_GOAWAY)), E_PROTOCOL_ERROR);
    await c.waitClosed();
  });

  it('ends the connection with COMPRESSION_ERROR on a header block HPACK cannot decode', async () => {
    const c = await RawH2.connect(srv.port);
    c.send(frame(T_HEADERS, F_END_HEADERS, 1, Buffer.from([0xff, 0xff, 0xff, 0x0f]))); // index far out of range
    assert.equal(goAwayCode(await c.waitFrame((f) => f.type === T_GOAWAY)), E_COMPRESSION_ERROR);
    await c.waitClosed();
  });

  it('reads a header block split across CONTINUATIONs, with padding and priority flags', async () => {
    const c = await RawH2.connect(srv.port);
    const block = requestBlock(UNARY, [['x-long', 'v'.repeat(300)]]);
    const pad = 7;
    const first = Buffer.concat([Buffer.from([pad]), Buffer.from([0, 0, 0, 0, 16]), block.subarray(0, 10), Buffer.alloc(pad)]);
    c.send(
      Buffer.concat([
        frame(T_HEADERS, F_PADDED | F_PRIORITY, 1, first),
        frame(T_CONTINUATION, 0, 1, block.subarray(10, 100)),
        frame(T_CONTINUATION, F_END_HEADERS, 1, block.subarray(100)),
        frame(T_DATA, F_END_STREAM | F_PADDED, 1, Buffer.concat([Buffer.from([3]), grpcMessage(Buffer.from('cont')), Buffer.alloc(3)])),
      ]),
    );
    const r = await c.status(1);
    assert.equal(r.status, '0');
    assert.equal(r.data.subarray(5).toString(), 'cont');
    c.close();
  });

  it('ends the connection with PROTOCOL_ERROR when a frame comes between HEADERS and its CONTINUATION', async () => {
    const c = await RawH2.connect(srv.port);
    const block = requestBlock(UNARY);
    c.send(Buffer.concat([frame(T_HEADERS, 0, 1, block.subarray(0, 5)), frame(T_PING, 0, 0, Buffer.alloc(8))]));
    assert.equal(goAwayCode(await c.waitFrame((f) => f.type === T_GOAWAY)), E_PROTOCOL_ERROR);
    await c.waitClosed();
  });

  it('reassembles a message split across DATA frames (and two messages of one frame, the 5-byte prefix split)', async () => {
    const c = await RawH2.connect(srv.port);
    const msg = grpcMessage(Buffer.from('split-message-'.repeat(1000)));
    c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock(UNARY)));
    c.send(frame(T_DATA, 0, 1, msg.subarray(0, 3)));
    c.send(frame(T_DATA, 0, 1, msg.subarray(3, 5000)));
    c.send(frame(T_DATA, F_END_STREAM, 1, msg.subarray(5000)));
    const r = await c.status(1);
    assert.equal(r.status, '0');
    assert.equal(r.data.subarray(5).toString(), 'split-message-'.repeat(1000));
    c.close();
  });

  it('answers a message over maxRecvBytes with RESOURCE_EXHAUSTED and goes on serving the connection', async () => {
    const c = await RawH2.connect(srv.port);
    const big = grpcMessage(Buffer.alloc(MAX_RECV + 1));
    c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock(UNARY)));
    c.send(frame(T_DATA, 0, 1, big.subarray(0, 16_000)));
    const r = await c.status(1);
    assert.equal(r.status, String(GrpcStatus.RESOURCE_EXHAUSTED));
    assert.equal(r.message, `grpc: received message larger than max (${MAX_RECV + 1} vs. ${MAX_RECV})`);
    // The rest of the oversized message arrives after the answer: dropped, not an error.
    c.send(frame(T_DATA, F_END_STREAM, 1, big.subarray(16_000)));
    c.request(3, UNARY, Buffer.from('after'));
    assert.equal((await c.status(3)).status, '0');
    assert.ok(!c.frames.some((f) => f.type === T_GOAWAY));
    c.close();
  });

  it('sends a big response in pieces within a small client window, and send() reports backpressure until WINDOW_UPDATE', async () => {
    const c = await RawH2.connect(srv.port, { settings: [[S_INITIAL_WINDOW_SIZE, 1000]] });
    await c.waitFrame((f) => f.type === T_SETTINGS && f.flags === F_ACK);
    c.request(1, UNARY, Buffer.from('big:5000'));
    await c.waitFrame((f) => f.id === 1 && f.type === T_DATA);
    await new Promise((r) => setTimeout(r, 50));
    let data = c.frames.filter((f) => f.id === 1 && f.type === T_DATA);
    assert.equal(data.reduce((n, f) => n + f.payload.length, 0), 1000, 'no more than the window went out');
    assert.ok(!c.frames.some((f) => f.id === 1 && f.type === T_HEADERS && f.flags & F_END_STREAM), 'trailers wait for the data');
    for (let i = 0; i < 5; i++) c.send(windowUpdateFrame(1, 1000));
    const r = await c.status(1);
    assert.equal(r.status, '0');
    assert.equal(r.data.length, 5005);
    data = c.frames.filter((f) => f.id === 1 && f.type === T_DATA);
    assert.ok(data.length >= 5 && data.every((f) => f.payload.length <= 1000));

    // A stream: send() returns false once the window is used up; onDrain after WINDOW_UPDATE.
    srv.sends.length = 0;
    const drains = srv.drains;
    c.send(frame(T_HEADERS, F_END_HEADERS, 3, requestBlock(STREAM)));
    c.send(frame(T_DATA, 0, 3, grpcMessage(Buffer.from('big:600x3'))));
    await c.waitFrame((f) => f.id === 3 && f.type === T_DATA);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(srv.sends, [true, false, false]);
    assert.equal(srv.drains, drains);
    c.send(windowUpdateFrame(3, 10_000));
    await c.waitFrame((f) => f.id === 3 && f.type === T_DATA && f.payload.includes('drained'));
    assert.equal(srv.drains, drains + 1);
    c.close();
  });

  it('resets a stream whose window overflows and ends the connection when its window does', async () => {
    const c = await RawH2.connect(srv.port);
    c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock(STREAM)));
    c.send(windowUpdateFrame(1, 0x7fffffff));
    const rst = await c.waitFrame((f) => f.type === T_RST_STREAM && f.id === 1);
    assert.equal(rst?.payload.readUInt32BE(0), E_FLOW_CONTROL_ERROR);
    c.send(windowUpdateFrame(0, 0x7fffffff));
    assert.equal(goAwayCode(await c.waitFrame((f) => f.type === T_GOAWAY)), E_FLOW_CONTROL_ERROR);
    await c.waitClosed();
  });

  it('cancels a call on RST_STREAM: the handler signal aborts, onHandled says CANCELLED, the connection lives', async () => {
    const c = await RawH2.connect(srv.port);
    c.request(1, UNARY, Buffer.from('wait:rst'));
    await waitUntil(() => srv.handled.length >= 0 && srv.transport.connectionCount > 0);
    await new Promise((r) => setTimeout(r, 30));
    c.send(rstStreamFrame(1, 0x8));
    await waitUntil(() => srv.aborted.includes('rst'));
    assert.ok(srv.handled.some(([p, code]) => p === UNARY && code === GrpcStatus.CANCELLED));
    srv.release('rst');
    c.request(3, UNARY, Buffer.from('alive'));
    assert.equal((await c.status(3)).status, '0');
    assert.ok(!c.frames.some((f) => f.id === 1 && f.type === T_DATA), 'nothing sent on the reset stream');
    c.close();
  });

  it('a handler whose onClose throws costs its call only: the error is logged, the connection lives', async () => {
    const c = await RawH2.connect(srv.port);
    c.send(frame(T_HEADERS, F_END_HEADERS, 1, requestBlock(STREAM)));
    c.send(frame(T_DATA, 0, 1, grpcMessage(Buffer.from('throw-on-close'))));
    await c.waitFrame((f) => f.id === 1 && f.type === T_DATA);
    const logged = srv.logged.length;
    c.send(rstStreamFrame(1, 0x8));
    await waitUntil(() => srv.logged.length > logged);
    c.request(3, UNARY, Buffer.from('alive'));
    assert.equal((await c.status(3)).status, '0');
    assert.ok(!c.frames.some((f) => f.type === T_GOAWAY));
    c.close();
  });

  it('cancels the calls of a connection that is lost', async () => {
    const c = await RawH2.connect(srv.port);
    c.request(1, UNARY, Buffer.from('wait:lost'));
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    await waitUntil(() => srv.aborted.includes('lost'));
    srv.release('lost');
  });

  it('takes 3,000 streams opened and reset on one connection (no RST_STREAM flood limit below 100,000)', async () => {
    const c = await RawH2.connect(srv.port);
    const parts: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = 1 + 2 * i;
      parts.push(frame(T_HEADERS, F_END_HEADERS, id, requestBlock(STREAM)));
      parts.push(rstStreamFrame(id, 0x8));
    }
    c.send(Buffer.concat(parts));
    c.request(6001, UNARY, Buffer.from('still here'));
    const r = await c.status(6001);
    assert.equal(r.status, '0');
    assert.ok(!c.frames.some((f) => f.type === T_GOAWAY));
    c.close();
  });

  it('ends a connection that sends PINGs and never reads the ACKs with ENHANCE_YOUR_CALM (not unbounded memory)', async () => {
    const c = await RawH2.connect(srv.port);
    c.socket.pause(); // read nothing: the ACKs pile up in the server's write buffer
    const ping = frame(T_PING, 0, 0, Buffer.alloc(8));
    const burst = Buffer.concat(Array.from({ length: 10_000 }, () => ping));
    // 17 bytes of ACK per PING; well over 16 MiB of them, sent as fast as the server takes them.
    let closed = false;
    let sent = 0;
    c.socket.once('close', () => (closed = true));
    for (let i = 0; i < 150 && !closed; i++) {
      sent += 10_000;
      if (!c.socket.write(burst)) await new Promise<void>((r) => { c.socket.once('drain', r); c.socket.once('close', r); });
    }
    c.socket.resume();
    await c.waitClosed(60_000);
    assert.ok(closed, 'the server closed the connection before all 1.5 million PINGs went');
    const acks = c.frames.filter((f) => f.type === T_PING).length;
    assert.ok(acks < sent, `${acks} ACKs for ${sent} PINGs`);
    // The GOAWAY sits behind the unread ACKs; when it gets through, it says why.
    const g = c.frames.find((f) => f.type === T_GOAWAY);
    if (g !== undefined) assert.equal(goAwayCode(g), E_ENHANCE_YOUR_CALM);
  });

  it('answers 1,000 concurrent calls on one connection', async () => {
    const c = await RawH2.connect(srv.port);
    const parts: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const id = 1 + 2 * i;
      parts.push(frame(T_HEADERS, F_END_HEADERS, id, requestBlock(UNARY)));
      parts.push(frame(T_DATA, F_END_STREAM, id, grpcMessage(Buffer.from(`call-${i}`))));
    }
    c.send(Buffer.concat(parts));
    for (let i = 0; i < 1000; i++) {
      const r = await c.status(1 + 2 * i);
      assert.equal(r.status, '0');
      assert.equal(r.data.subarray(5).toString(), `call-${i}`);
    }
    c.close();
  });

  it('reads Huffman-coded and dynamic-table headers from node:http2 (nghttp2) as a client', async () => {
    const session = http2.connect(`http://127.0.0.1:${srv.port}`);
    try {
      for (let i = 0; i < 5; i++) {
        // The same long value each time: nghttp2 indexes it and then refers to the dynamic table.
        const value = `token-${'z'.repeat(40)}-${i % 2}`;
        const req = session.request({ ':method': 'POST', ':path': UNARY, 'content-type': 'application/grpc', te: 'trailers', 'x-token': value });
        req.end(grpcMessage(Buffer.from('meta:x-token')));
        const body = await new Promise<Buffer>((resolve, reject) => {
          const chunks: Buffer[] = [];
          req.on('data', (d: Buffer) => chunks.push(d));
          req.on('end', () => resolve(Buffer.concat(chunks)));
          req.on('error', reject);
        });
        assert.equal(body.subarray(5).toString(), value);
      }
    } finally {
      session.close();
    }
  });

  it('serves /health to an h2 client that is not gRPC, and 404 for unknown paths', async () => {
    const session = http2.connect(`http://127.0.0.1:${srv.port}`);
    try {
      const get = (path: string, method = 'GET'): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = session.request({ ':path': path, ':method': method });
          let status = 0;
          const chunks: Buffer[] = [];
          req.on('response', (h) => (status = Number(h[':status'])));
          req.on('data', (d: Buffer) => chunks.push(d));
          req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString() }));
          req.on('error', reject);
          req.end();
        });
      const h = await get('/health');
      assert.equal(h.status, 200);
      assert.equal(JSON.parse(h.body).health, 'true');
      const head = await get('/health', 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.body, '', 'a HEAD answer has no body');
      assert.equal((await get('/nothing-here')).status, 404);
    } finally {
      session.close();
    }
  });

  it('serves /health to curl with HTTP/2 prior knowledge (when curl is installed)', async (t) => {
    if (spawnSync('curl', ['--version']).status !== 0) {
      t.skip('curl is not installed');
      return;
    }
    // Asynchronously: the server runs in this process.
    const { stdout: out } = await promisify(execFile)('curl', ['-s', '--http2-prior-knowledge', '-w', '\n%{http_version} %{http_code}', `http://127.0.0.1:${srv.port}/health`]);
    assert.match(out, /"health":"true"/);
    assert.match(out, /\n2 200$/);
  });
});

describe('wire transport: limits and shutdown', () => {
  it('refuses streams over SETTINGS_MAX_CONCURRENT_STREAMS with REFUSED_STREAM', async () => {
    const srv = await start({ maxConcurrentStreams: 2 });
    const c = await RawH2.connect(srv.port);
    c.request(1, UNARY, Buffer.from('wait:a'));
    c.request(3, UNARY, Buffer.from('wait:b'));
    c.request(5, UNARY, Buffer.from('wait:c'));
    const rst = await c.waitFrame((f) => f.type === T_RST_STREAM && f.id === 5);
    assert.equal(rst?.payload.readUInt32BE(0), E_REFUSED_STREAM);
    srv.release('a');
    assert.equal((await c.status(1)).status, '0');
    c.request(7, UNARY, Buffer.from('after'));
    assert.equal((await c.status(7)).status, '0');
    srv.release('b');
    c.close();
    await srv.listener.close();
  });

  it('closes with GOAWAY: calls in flight finish, new streams are not taken, the socket closes', async () => {
    const srv = await start();
    const c = await RawH2.connect(srv.port);
    c.request(1, UNARY, Buffer.from('wait:inflight'));
    await new Promise((r) => setTimeout(r, 50));
    const closed = srv.transport.close(10_000);
    const g = await c.waitFrame((f) => f.type === T_GOAWAY);
    assert.equal(goAwayCode(g), E_NO_ERROR);
    assert.equal(g!.payload.readUInt32BE(0), 1);
    c.request(3, UNARY, Buffer.from('too late'));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!c.closed, 'the connection waits for the call in flight');
    srv.release('inflight');
    const r = await c.status(1);
    assert.equal(r.status, '0');
    assert.equal(r.data.subarray(5).toString(), 'done:inflight');
    await c.waitClosed();
    await closed;
    assert.ok(!c.frames.some((f) => f.id === 3 && f.type === T_HEADERS), 'stream 3 came after the GOAWAY');
    await srv.listener.close();
  });

  it('cancels calls still in flight when the grace period ends', async () => {
    const srv = await start();
    const c = await RawH2.connect(srv.port);
    c.request(1, UNARY, Buffer.from('wait:grace'));
    await new Promise((r) => setTimeout(r, 50));
    await srv.transport.close(100);
    await waitUntil(() => srv.aborted.includes('grace'));
    await c.waitClosed();
    srv.release('grace');
    await srv.listener.close();
  });

  it('answers HEADERS with a bad content-type with HTTP 415 when no HTTP handler is set', async () => {
    const t = new WireGrpcTransport();
    const listener = new ClientListener({ grpc: t });
    const { port } = await listener.listen(0, '127.0.0.1');
    const c = await RawH2.connect(port);
    c.send(frame(T_HEADERS, F_END_HEADERS | F_END_STREAM, 1, encodeLiterals([[':method', 'GET'], [':scheme', 'http'], [':path', '/x'], [':authority', 'a']])));
    const h = await c.waitFrame((f) => f.id === 1 && f.type === T_HEADERS);
    assert.equal(h?.headers?.find((x) => x[0] === ':status')?.[1], '415');
    c.close();
    await listener.close();
  });
});

async function waitUntil(pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('waitUntil: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
