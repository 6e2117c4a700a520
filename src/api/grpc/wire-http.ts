/**
 * HTTP/2 requests that are not gRPC on a WireConnection (/health, /metrics, the JSON gateway
 * and its streaming /v3/watch; curl and browsers choose h2 over TLS): a small request and
 * response with the part of node's IncomingMessage / ServerResponse surface HttpRouter and
 * its handlers use (src/api/http): req.method, url, headers, 'data'/'end'/'error', resume;
 * res.writeHead, setHeader, getHeader, headersSent, write (false under backpressure, then
 * 'drain'), end, destroy, destroyed, writableEnded, 'close'.
 *
 * Not the hot path: an exchange allocates a Readable and an EventEmitter.
 */
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HeaderField } from './hpack.js';
import { E_CANCEL, httpHeadersBlock } from './h2-frames.js';
import { WireStream } from './wire-stream.js';
import type { WireConnection } from './wire-connection.js';
import type { HttpHandler } from '../http/router.js';

/** Headers HTTP/2 forbids (RFC 9113 8.2.2); HTTP/1.1 handlers may set them. */
const CONNECTION_HEADERS = new Set(['connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'proxy-connection']);

class WireHttpResponse extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  private readonly headers = new Map<string, string | string[]>();

  constructor(private readonly ex: WireHttpExchange) {
    super();
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.headers.set(name.toLowerCase(), Array.isArray(value) ? [...(value as string[])] : String(value));
    return this;
  }
  getHeader(name: string): string | string[] | undefined {
    return this.headers.get(name.toLowerCase());
  }
  hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }
  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }

  writeHead(status: number, headers?: Record<string, string | number | readonly string[]>): this {
    if (this.headersSent) return this;
    this.statusCode = status;
    if (headers !== undefined) for (const [k, v] of Object.entries(headers)) this.setHeader(k, v);
    this.flushHeaders();
    return this;
  }

  flushHeaders(): void {
    if (this.headersSent || this.destroyed) return;
    this.headersSent = true;
    const fields: HeaderField[] = [];
    for (const [k, v] of this.headers) {
      if (CONNECTION_HEADERS.has(k)) continue;
      if (Array.isArray(v)) for (const one of v) fields.push([k, one]);
      else fields.push([k, v as string]);
    }
    this.ex.conn.sendHeaders(this.ex, httpHeadersBlock(this.statusCode, fields), false);
  }

  write(chunk: string | Uint8Array, encoding?: BufferEncoding | (() => void), cb?: () => void): boolean {
    if (this.writableEnded || this.destroyed) return false;
    this.flushHeaders();
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buf.length > 0 && !this.ex.head) this.ex.conn.sendData(this.ex, buf, undefined);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (done !== undefined) process.nextTick(done);
    return !this.ex.conn.congested(this.ex);
  }

  end(chunk?: string | Uint8Array | (() => void), encoding?: BufferEncoding | (() => void), cb?: () => void): this {
    if (this.writableEnded || this.destroyed) return this;
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    }
    if (typeof encoding === 'function') cb = encoding;
    this.flushHeaders();
    this.writableEnded = true;
    const buf = chunk === undefined ? Buffer.alloc(0) : typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? encoding : 'utf8') : Buffer.from(chunk);
    this.ex.conn.sendData(this.ex, this.ex.head ? Buffer.alloc(0) : buf, null); // a HEAD answer has headers only
    if (cb !== undefined) process.nextTick(cb);
    this.ex.closed();
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.ex.conn.resetStream(this.ex, E_CANCEL);
    this.ex.closed();
    return this;
  }

  markDestroyed(): void {
    this.destroyed = true;
  }
}

/** One non-gRPC request/response on a stream. */
export class WireHttpExchange extends WireStream {
  private readonly req: Readable;
  private readonly res: WireHttpResponse;
  private over = false;
  /** A HEAD request: the response carries no body (RFC 9110 9.3.2). */
  head = false;

  constructor(conn: WireConnection, id: number, fields: HeaderField[], endStream: boolean, handler: HttpHandler) {
    super(conn, id);
    const req = new Readable({ read() {} }) as Readable & Record<string, unknown>;
    const headers: Record<string, string> = {};
    let method = 'GET';
    let path = '/';
    for (const [k, v] of fields) {
      if (k === ':method') method = v;
      else if (k === ':path') path = v;
      else if (k === ':authority') headers['host'] ??= v;
      else if (k[0] !== ':') headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    }
    this.head = method === 'HEAD';
    req['method'] = method;
    req['url'] = path;
    req['headers'] = headers;
    req['httpVersion'] = '2.0';
    req['httpVersionMajor'] = 2;
    req['httpVersionMinor'] = 0;
    req['socket'] = conn.socket;
    this.req = req;
    this.res = new WireHttpResponse(this);
    if (endStream) {
      this.remoteClosed = true;
      req.push(null);
    }
    void handler(req as unknown as IncomingMessage, this.res as unknown as ServerResponse);
  }

  onData(payload: Buffer): void {
    this.req.push(Buffer.from(payload)); // a copy: the payload is a view of the socket's read
  }

  onRemoteEnd(): void {
    this.req.push(null);
  }

  onReset(): void {
    this.req.destroy();
    this.closed();
  }

  override onWritable(): void {
    if (!this.over) this.res.emit('drain');
  }

  /** The exchange is over (answered, destroyed or reset): 'close' once. */
  closed(): void {
    if (this.over) return;
    this.over = true;
    this.res.markDestroyed();
    process.nextTick(() => this.res.emit('close'));
  }
}
