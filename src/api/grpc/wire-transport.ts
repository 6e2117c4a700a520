/**
 * WireGrpcTransport: the gRPC server on our own HTTP/2 framing (wire-connection.ts) instead
 * of node:http2 (issue 13: node:http2's JS stream machinery cost ~30 us of CPU and ~20 KB of
 * garbage per call). Same contract and observable behaviour as Http2GrpcTransport; design,
 * frames, settings, limits and errors in docs/grpc-transport.md "WireGrpcTransport".
 *
 * It accepts any :authority (h2-authority.ts's rewrite exists only for nghttp2), so the
 * shared-port listener hands it connections directly (`acceptsAnyAuthority`).
 */
import type { Duplex } from 'node:stream';
import type { ConnectionInfo, ConnectionSink, GrpcTransport, GrpcTransportOptions, StreamMethod, UnaryMethod } from './types.js';
import { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_RECV_BYTES } from './types.js';
import type { HeaderField } from './hpack.js';
import { WireConnection, type WireHost } from './wire-connection.js';
import { WireStream } from './wire-stream.js';
import { WireStreamCall, WireUnaryCall, respondStatus, type WireCallEnv } from './wire-call.js';
import { WireHttpExchange } from './wire-http.js';
import { httpHeadersBlock } from './h2-frames.js';
import { unimplementedError } from './etcd-services.js';
import { MethodTable } from './method-table.js';
import { GrpcStatus } from './status.js';
import type { HttpHandler } from '../http/router.js';


/** A stream answered at once (no handler state): ends on its own answer, ignores what follows. */
class AnsweredStream extends WireStream {
  onData(): void {}
  onRemoteEnd(): void {}
  onReset(): void {}
}

export class WireGrpcTransport implements GrpcTransport, WireHost, WireCallEnv {
  readonly maxRecvBytes: number;
  readonly maxSendBytes: number;
  readonly maxConcurrentStreams: number;
  readonly onHandled: ((path: string, code: GrpcStatus) => void) | undefined;
  /** The shared-port listener skips the :authority check (h2-authority.ts): we accept any. */
  readonly acceptsAnyAuthority = true;
  private readonly methods = new MethodTable();
  private readonly connections = new Set<WireConnection>();
  private readonly log: (msg: string, err: unknown) => void;
  private httpFallback: HttpHandler | undefined;
  private closing = false;
  private closeWaiters: Array<() => void> = [];

  constructor(opts: GrpcTransportOptions = {}) {
    this.maxRecvBytes = opts.maxRecvBytes ?? DEFAULT_MAX_RECV_BYTES;
    this.maxSendBytes = opts.maxSendBytes ?? 0x7fffffff;
    this.log = opts.logError ?? ((msg, err) => console.error(msg, err));
    this.onHandled = opts.onHandled;
    this.maxConcurrentStreams = opts.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
  }

  readonly logError = (msg: string, err: unknown): void => this.log(msg, err);

  addUnary<Req, Res>(m: UnaryMethod<Req, Res>): void {
    this.methods.addUnary(m);
  }

  addStream<Req, Res>(m: StreamMethod<Req, Res>): void {
    this.methods.addStream(m);
  }

  /** Serve HTTP/2 requests that are not gRPC with an HTTP handler (HttpRouter.handle); without one: HTTP 415. */
  serveNonGrpc(handler: HttpHandler): void {
    this.httpFallback = handler;
  }

  paths(): string[] {
    return this.methods.paths();
  }

  /** Connections open now (tests). */
  get connectionCount(): number {
    return this.connections.size;
  }

  connectionSink(): ConnectionSink {
    return (socket: Duplex, info?: ConnectionInfo) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      if ('setNoDelay' in socket && typeof socket.setNoDelay === 'function') (socket as import('node:net').Socket).setNoDelay(true);
      this.connections.add(new WireConnection(this, socket, info));
    };
  }

  async close(graceMs = 0): Promise<void> {
    this.closing = true;
    if (this.connections.size === 0) return;
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    for (const c of this.connections) c.goAway();
    const timer = setTimeout(() => {
      for (const c of this.connections) c.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }

  connectionClosed(conn: WireConnection): void {
    this.connections.delete(conn);
    if (this.connections.size === 0 && this.closeWaiters.length > 0) {
      const waiters = this.closeWaiters;
      this.closeWaiters = [];
      for (const w of waiters) w();
    }
  }

  openStream(conn: WireConnection, id: number, fields: HeaderField[], endStream: boolean): WireStream | undefined {
    let method: string | undefined;
    let path: string | undefined;
    let contentType: string | undefined;
    for (const [k, v] of fields) {
      if (k === ':path') path ??= v;
      else if (k === ':method') method ??= v;
      else if (k === 'content-type') contentType ??= v;
    }
    if (method !== 'POST' || contentType === undefined || !contentType.startsWith('application/grpc')) {
      if (this.httpFallback !== undefined && path !== undefined && method !== undefined) {
        return new WireHttpExchange(conn, id, fields, endStream, this.httpFallback);
      }
      // Not gRPC: the gRPC spec answers HTTP 415 to a wrong content-type.
      const s = new AnsweredStream(conn, id);
      if (endStream) s.remoteClosed = true;
      conn.sendHeaders(s, httpHeadersBlock(415, [['content-type', 'text/plain']]), true);
      return s;
    }
    path ??= '';
    const u = this.methods.unary(path);
    if (u !== undefined) {
      const call = new WireUnaryCall(this, conn, id, u, fields);
      if (endStream) {
        call.remoteClosed = true;
        call.onRemoteEnd();
      }
      return call;
    }
    const sm = this.methods.stream(path);
    if (sm !== undefined) {
      const call = new WireStreamCall(this, conn, id, sm, fields);
      call.start();
      if (endStream && !call.localClosed) {
        call.remoteClosed = true;
        call.onRemoteEnd();
      }
      return call;
    }
    const s = new AnsweredStream(conn, id);
    if (endStream) s.remoteClosed = true;
    respondStatus(conn, s, GrpcStatus.UNIMPLEMENTED, unimplementedError(path, this.paths()).message);
    this.onHandled?.(path, GrpcStatus.UNIMPLEMENTED);
    return s;
  }
}
