/**
 * A thin HTTP/2 client for gRPC unary calls, written on a raw socket, for the load generator
 * only (issue 13: on 2 cores the generator's CPU is taken from the server it measures).
 *
 * Per call it writes one HEADERS frame whose block is encoded once per method path (HPACK
 * literals without indexing, src/api/grpc/hpack.ts) and one DATA frame (gRPC's 5-byte prefix
 * and the message); per answer it decodes the server's header blocks (the decoder must see
 * every block to keep HPACK's dynamic table in step) and joins the DATA. No timers, no
 * streams objects, no async hooks: node:http2's client costs about 250 us of CPU per call
 * here, this about a tenth of it.
 *
 * What it does of HTTP/2 (RFC 9113): the preface and SETTINGS (ACKed both ways); PING ACKs;
 * flow control both ways (our receive windows are opened wide once and topped up; the send
 * side respects the server's connection and stream windows and frame size, queueing what does
 * not fit); SETTINGS_MAX_CONCURRENT_STREAMS (calls beyond it wait); GOAWAY lets the calls the
 * server took finish and starts the others again on a new connection; RST_STREAM fails its
 * call; a broken connection fails every call on it and the next call reconnects. Not done: server push (disabled in our SETTINGS), priorities, padding is
 * accepted on receipt but never sent.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { HpackDecoder, encodeLiterals, type HeaderField } from '../src/api/grpc/hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T_DATA = 0x0;
const T_HEADERS = 0x1;
const T_RST_STREAM = 0x3;
const T_SETTINGS = 0x4;
const T_PING = 0x6;
const T_GOAWAY = 0x7;
const T_WINDOW_UPDATE = 0x8;
const T_CONTINUATION = 0x9;
const F_END_STREAM = 0x1;
const F_ACK = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;

/** Our receive windows: the largest HTTP/2 allows, topped up when half is used. */
const MAX_WINDOW = 0x7fff_ffff;

/** gRPC status codes used here (grpc-js numbering). */
export const UNAVAILABLE = 14;
export const INTERNAL = 13;

export class WireCallError extends Error {
  constructor(readonly code: number, readonly details: string) {
    super(`${code}: ${details}`);
  }
}

export interface WireOptions {
  /** host:port */
  readonly endpoint: string;
  /** TLS context options (ALPN h2 is added); undefined: plain text. */
  readonly tls?: tls.ConnectionOptions;
  /** Sent as grpc-timeout on every call; 0: none. */
  readonly timeoutMs: number;
}

interface Call {
  readonly id: number;
  readonly resolve: (body: Buffer) => void;
  readonly reject: (err: Error) => void;
  chunks: Buffer[];
  status: string | undefined;
  message: string;
  /** Bytes of the request's DATA not yet sent (flow control); undefined when all sent. */
  pending: Buffer | undefined;
  sendWindow: number;
  /** Starts the same call again on the next connection (a GOAWAY said the server never took it). */
  readonly restart: () => void;
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return h;
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, stream), payload]);
}

function settingsPayload(pairs: Array<[number, number]>): Buffer {
  const b = Buffer.allocUnsafe(pairs.length * 6);
  pairs.forEach(([id, v], i) => {
    b.writeUInt16BE(id, i * 6);
    b.writeUInt32BE(v, i * 6 + 2);
  });
  return b;
}

function windowUpdate(stream: number, increment: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment, 0);
  return frame(T_WINDOW_UPDATE, 0, stream, p);
}

/** One HTTP/2 connection carrying unary gRPC calls. */
export class WireConn {
  readonly #opts: WireOptions;
  readonly #blocks = new Map<string, Buffer>();
  #socket: net.Socket | undefined;
  #dead: Error | undefined;
  #decoder = new HpackDecoder();
  #nextId = 1;
  readonly #calls = new Map<number, Call>();
  /** Calls waiting for a stream slot (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly #waiting: Array<() => void> = [];
  /** Calls with DATA held back by flow control, in order. */
  readonly #blocked: Call[] = [];
  #peerMaxStreams = 100; // until the server's SETTINGS say otherwise (RFC 9113 6.5.2 suggests >= 100)
  #peerInitialWindow = 65_535;
  #peerMaxFrame = 16_384;
  #connSendWindow = 65_535;
  #connReceived = 0;
  #out: Buffer[] = [];
  #outSocket: net.Socket | undefined;
  #flushScheduled = false;
  // frame parsing
  #buf: Buffer = Buffer.alloc(0);
  #headerBlock: Buffer[] | undefined;
  #headerStream = 0;
  #headerEndStream = false;

  constructor(opts: WireOptions) {
    this.#opts = opts;
  }

  /** One unary call: `message` is the encoded protobuf; resolves with the response's. */
  call(path: string, message: Uint8Array): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const start = (): void => {
        const socket = this.#connect();
        const id = this.#nextId;
        this.#nextId += 2;
        const body = Buffer.allocUnsafe(5 + message.length);
        body[0] = 0;
        body.writeUInt32BE(message.length, 1);
        body.set(message, 5);
        const c: Call = { id, resolve, reject, chunks: [], status: undefined, message: '', pending: body, sendWindow: this.#peerInitialWindow, restart: start };
        this.#calls.set(id, c);
        this.#send(socket, frameHeader(this.#block(path).length, T_HEADERS, F_END_HEADERS, id));
        this.#send(socket, this.#block(path));
        this.#sendData(c);
        // Alone on the connection: nothing to share a write with, so no turn of the loop to wait.
        if (this.#calls.size === 1) this.#flush();
        if (c.pending !== undefined) this.#blocked.push(c);
      };
      // After a GOAWAY the connection finishes its calls; new ones wait for the next connection.
      if (this.#calls.size >= this.#peerMaxStreams || (this.#dead !== undefined && this.#calls.size > 0)) this.#waiting.push(start);
      else {
        if (this.#dead !== undefined) this.#reset();
        start();
      }
    });
  }

  close(): void {
    this.#socket?.end();
    this.#socket = undefined;
  }

  #block(path: string): Buffer {
    let b = this.#blocks.get(path);
    if (b === undefined) {
      const fields: HeaderField[] = [
        [':method', 'POST'],
        [':scheme', this.#opts.tls === undefined ? 'http' : 'https'],
        [':path', path],
        [':authority', this.#opts.endpoint],
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ];
      if (this.#opts.timeoutMs > 0) fields.push(['grpc-timeout', `${this.#opts.timeoutMs}m`]);
      b = encodeLiterals(fields);
      this.#blocks.set(path, b);
    }
    return b;
  }

  #connect(): net.Socket {
    if (this.#socket !== undefined) return this.#socket;
    const [host, port] = splitHostPort(this.#opts.endpoint);
    const socket =
      this.#opts.tls === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({ host, port, servername: net.isIP(host) === 0 ? host : undefined, ALPNProtocols: ['h2'], ...this.#opts.tls });
    socket.setNoDelay(true);
    this.#socket = socket;
    this.#dead = undefined;
    this.#decoder = new HpackDecoder();
    this.#buf = Buffer.alloc(0);
    this.#nextId = 1;
    this.#connSendWindow = 65_535;
    this.#peerInitialWindow = 65_535;
    this.#connReceived = 0;
    socket.write(
      Buffer.concat([
        PREFACE,
        // ENABLE_PUSH 0, INITIAL_WINDOW_SIZE max
        frame(T_SETTINGS, 0, 0, settingsPayload([[0x2, 0], [0x4, MAX_WINDOW]])),
        windowUpdate(0, MAX_WINDOW - 65_535),
      ]),
    );
    // Events of a connection that was replaced are ignored.
    socket.on('data', (d: Buffer) => {
      if (socket === this.#socket) this.#onData(d);
    });
    socket.on('error', (err) => {
      if (socket === this.#socket) this.#fail(new WireCallError(UNAVAILABLE, `connection: ${err.message}`));
    });
    socket.on('close', () => {
      if (socket === this.#socket) this.#fail(new WireCallError(UNAVAILABLE, 'connection closed'));
    });
    return socket;
  }

  #reset(): void {
    const s = this.#socket;
    this.#socket = undefined;
    s?.destroy();
  }

  #fail(err: Error): void {
    const calls = [...this.#calls.values()];
    this.#calls.clear();
    this.#blocked.length = 0;
    this.#reset();
    this.#dead = undefined;
    for (const c of calls) c.reject(err);
    // Waiting calls start on a new connection.
    this.#drainWaiting();
  }

  #drainWaiting(): void {
    if (this.#dead !== undefined && this.#calls.size > 0) return; // the old connection is finishing
    if (this.#dead !== undefined && this.#socket !== undefined && this.#waiting.length > 0) this.#reset();
    while (this.#waiting.length > 0 && this.#calls.size < this.#peerMaxStreams) this.#waiting.shift()!();
  }

  /** Send as much of c.pending as the windows allow; END_STREAM on the last frame. */
  #sendData(c: Call): void {
    const socket = this.#socket!;
    while (c.pending !== undefined) {
      const n = Math.min(c.pending.length, this.#peerMaxFrame, this.#connSendWindow, c.sendWindow);
      if (n <= 0 && c.pending.length > 0) return;
      const last = n === c.pending.length;
      this.#send(socket, frameHeader(n, T_DATA, last ? F_END_STREAM : 0, c.id));
      this.#send(socket, c.pending.subarray(0, n));
      this.#connSendWindow -= n;
      c.sendWindow -= n;
      c.pending = last ? undefined : c.pending.subarray(n);
    }
  }

  /**
   * Queue bytes for `socket`; everything queued in one turn of the event loop goes out in one
   * write (calls started together from one batch of answers share a TCP segment).
   */
  #send(socket: net.Socket, b: Buffer): void {
    if (this.#outSocket !== socket) {
      this.#out = [];
      this.#outSocket = socket;
    }
    this.#out.push(b);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushScheduled = false;
    const out = this.#out;
    const to = this.#outSocket;
    this.#out = [];
    if (out.length === 0 || to === undefined || to !== this.#socket) return;
    to.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  #unblock(): void {
    const socket = this.#socket;
    if (socket === undefined) return;
    while (this.#blocked.length > 0) {
      const c = this.#blocked[0]!;
      this.#sendData(c);
      if (c.pending !== undefined) break;
      this.#blocked.shift();
    }
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    let off = 0;
    const b = this.#buf;
    const socket = this.#socket;
    try {
      while (b.length - off >= 9) {
        const len = b.readUIntBE(off, 3);
        if (b.length - off < 9 + len) break;
        this.#onFrame(b[off + 3]!, b[off + 4]!, b.readUInt32BE(off + 5) & 0x7fff_ffff, b.subarray(off + 9, off + 9 + len));
        off += 9 + len;
        // A frame ended this connection (GOAWAY, then a new one): the rest of `b` is the old one's.
        if (this.#socket !== socket) return;
      }
    } catch (err) {
      this.#fail(new WireCallError(INTERNAL, `protocol: ${(err as Error).message}`));
      this.#reset();
      return;
    }
    this.#buf = off === b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(off));
  }

  #onFrame(type: number, flags: number, stream: number, p: Buffer): void {
    switch (type) {
      case T_DATA: {
        const data = flags & F_PADDED ? p.subarray(1, p.length - p[0]!) : p;
        const c = this.#calls.get(stream);
        if (c !== undefined && data.length > 0) c.chunks.push(Buffer.from(data));
        this.#connReceived += p.length;
        if (this.#connReceived > MAX_WINDOW / 2) {
          if (this.#socket !== undefined) this.#send(this.#socket, windowUpdate(0, this.#connReceived));
          this.#connReceived = 0;
        }
        if (flags & F_END_STREAM) this.#finish(stream);
        return;
      }
      case T_HEADERS: {
        let block = p;
        if (flags & F_PADDED) block = block.subarray(1, block.length - block[0]!);
        if (flags & F_PRIORITY) block = block.subarray(5);
        this.#headerStream = stream;
        this.#headerEndStream = (flags & F_END_STREAM) !== 0;
        if (flags & F_END_HEADERS) this.#onHeaders(stream, this.#headerEndStream, block);
        else this.#headerBlock = [Buffer.from(block)];
        return;
      }
      case T_CONTINUATION: {
        if (this.#headerBlock === undefined || stream !== this.#headerStream) throw new Error('unexpected CONTINUATION');
        this.#headerBlock.push(Buffer.from(p));
        if (flags & F_END_HEADERS) {
          const block = Buffer.concat(this.#headerBlock);
          this.#headerBlock = undefined;
          this.#onHeaders(stream, this.#headerEndStream, block);
        }
        return;
      }
      case T_RST_STREAM: {
        const c = this.#calls.get(stream);
        if (c !== undefined) this.#end(c, new WireCallError(UNAVAILABLE, `stream reset (code ${p.readUInt32BE(0)})`));
        return;
      }
      case T_SETTINGS: {
        if (flags & F_ACK) return;
        for (let i = 0; i + 6 <= p.length; i += 6) {
          const id = p.readUInt16BE(i);
          const v = p.readUInt32BE(i + 2);
          if (id === 0x3) this.#peerMaxStreams = v;
          else if (id === 0x4) {
            const delta = v - this.#peerInitialWindow;
            this.#peerInitialWindow = v;
            for (const c of this.#calls.values()) c.sendWindow += delta;
          } else if (id === 0x5) this.#peerMaxFrame = v;
        }
        if (this.#socket !== undefined) this.#send(this.#socket, frameHeader(0, T_SETTINGS, F_ACK, 0));
        this.#unblock();
        this.#drainWaiting();
        return;
      }
      case T_PING:
        if (!(flags & F_ACK) && this.#socket !== undefined) this.#send(this.#socket, frame(T_PING, F_ACK, 0, Buffer.from(p)));
        return;
      case T_GOAWAY: {
        const last = p.readUInt32BE(0) & 0x7fff_ffff;
        this.#dead = new WireCallError(UNAVAILABLE, `GOAWAY (code ${p.readUInt32BE(4)}) ${p.subarray(8).toString('utf8')}`);
        // Streams above `last` were never processed (RFC 9113 6.8): they start again on the next
        // connection, after the calls the server took have finished on this one.
        for (const c of [...this.#calls.values()]) {
          if (c.id <= last) continue;
          this.#calls.delete(c.id);
          const i = this.#blocked.indexOf(c);
          if (i >= 0) this.#blocked.splice(i, 1);
          this.#waiting.push(c.restart);
        }
        this.#drainWaiting();
        return;
      }
      case T_WINDOW_UPDATE: {
        const inc = p.readUInt32BE(0) & 0x7fff_ffff;
        if (stream === 0) this.#connSendWindow += inc;
        else {
          const c = this.#calls.get(stream);
          if (c !== undefined) c.sendWindow += inc;
        }
        this.#unblock();
        return;
      }
      default:
        return; // PRIORITY, PUSH_PROMISE (disabled), unknown types: ignored as RFC 9113 says
    }
  }

  #onHeaders(stream: number, endStream: boolean, block: Buffer): void {
    const fields = this.#decoder.decode(block); // always: the dynamic table must stay in step
    const c = this.#calls.get(stream);
    if (c === undefined) return;
    for (const [name, value] of fields) {
      if (name === ':status' && value !== '200') {
        c.status ??= '2'; // UNKNOWN, as grpc-js maps a non-200 HTTP status without grpc-status
        c.message = `HTTP status ${value}`;
      } else if (name === 'grpc-status') c.status = value;
      else if (name === 'grpc-message') c.message = value;
    }
    if (endStream) this.#finish(stream);
  }

  #finish(stream: number): void {
    const c = this.#calls.get(stream);
    if (c === undefined) return;
    if (c.status === undefined) {
      this.#end(c, new WireCallError(UNAVAILABLE, 'stream ended without grpc-status'));
      return;
    }
    const code = Number(c.status);
    if (code !== 0) {
      this.#end(c, new WireCallError(code, decodeURIComponent(c.message)));
      return;
    }
    const body = c.chunks.length === 1 ? c.chunks[0]! : Buffer.concat(c.chunks);
    if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) {
      this.#end(c, new WireCallError(INTERNAL, `bad response framing (${body.length} bytes)`));
      return;
    }
    this.#end(c, undefined, body.subarray(5));
  }

  #end(c: Call, err: Error | undefined, body?: Buffer): void {
    this.#calls.delete(c.id);
    const i = this.#blocked.indexOf(c);
    if (i >= 0) this.#blocked.splice(i, 1);
    if (err !== undefined) c.reject(err);
    else c.resolve(body!);
    this.#drainWaiting();
  }
}

function splitHostPort(endpoint: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(endpoint);
  if (m === null) throw new Error(`endpoint ${endpoint}: expected host:port`);
  return [m[1]!, Number(m[2])];
}
