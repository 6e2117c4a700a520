/**
 * Http2GrpcTransport: the production gRPC server, a thin layer on node:http2
 * (docs/decisions/0002-grpc-transport.md says why not grpc-js or connect).
 *
 * It speaks the server half of gRPC over HTTP/2 (PROTOCOL-HTTP2.md): POST to
 * /service/method with content-type application/grpc*, length-prefixed messages,
 * grpc-timeout deadlines, status in grpc-status / grpc-message trailers.
 * Connections come from the shared-port listener (listener.ts) through connectionSink(),
 * or from listen() when the transport owns a port by itself (benchmarks).
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type {
  ConnectionInfo,
  ConnectionSink,
  GrpcTransport,
  GrpcTransportOptions,
  StreamMethod,
  UnaryMethod,
} from './types.js';
import { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_RECV_BYTES } from './types.js';
import { Http2StreamCall, Http2UnaryCall, respondError, type CallEnv } from './http2-call.js';
import { unimplementedError } from './etcd-services.js';
import { MethodTable } from './method-table.js';
import { GrpcStatus } from './status.js';

/**
 * Per-stream flow-control window we advertise. nghttp2's default (64 KiB) makes a
 * 1.5 MiB Put wait for ~24 WINDOW_UPDATE round trips; 1 MiB lets one arrive in two.
 * Bounded so 100 streams x window stays small next to maxSessionMemory.
 */
const INITIAL_WINDOW_BYTES = 1 << 20;
/** Connection-level window: enough for several large requests in flight per connection. */
const SESSION_WINDOW_BYTES = 16 << 20;
/**
 * nghttp2's per-session memory cap in MiB (Node's default 10). Many streams with large
 * windows need more; past the cap Node refuses new streams (ENHANCE_YOUR_CALM), the
 * signal that this is too small.
 */
const MAX_SESSION_MEMORY_MB = 64;

/**
 * nghttp2's limit on streams a client may reset (RST_STREAM), as a token bucket: a burst, then
 * a rate per second. Past it nghttp2 ends the whole connection with GOAWAY INTERNAL_ERROR, so
 * every call on it fails ("Session closed with error code 2"). Its defaults (1,000, then 33/s,
 * the rapid-reset mitigation) ended connections of ordinary clients: cancelling 1,000 watch
 * streams twice on one connection, which the real etcd takes 12 times in a row
 * (test/e2e/watch-clients.test.ts). A reset stream costs us one stream's setup; the stream
 * limit per connection (SETTINGS_MAX_CONCURRENT_STREAMS) still bounds the work in flight.
 */
const STREAM_RESET_BURST = 100_000;
const STREAM_RESET_RATE = 10_000;


export class Http2GrpcTransport implements GrpcTransport, CallEnv {
  readonly maxRecvBytes: number;
  readonly maxSendBytes: number;
  readonly onHandled: ((path: string, code: GrpcStatus) => void) | undefined;
  private readonly server: http2.Http2Server;
  private readonly methods = new MethodTable();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  /** What the listener knew about each session's connection (TLS client CN), for CallContext.tlsCommonName. */
  private readonly sessionInfo = new WeakMap<http2.Http2Session, ConnectionInfo>();
  /** Set for the duration of server.emit('connection'), which creates the session synchronously. */
  private incomingInfo: ConnectionInfo | undefined;
  private readonly log: (msg: string, err: unknown) => void;
  private closing = false;
  readonly maxConcurrentStreams: number;
  /** Answers HTTP/2 requests that are not gRPC (curl and browsers negotiate h2 over TLS). */
  private httpFallback: ((req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void) | undefined;

  constructor(opts: GrpcTransportOptions = {}) {
    this.maxRecvBytes = opts.maxRecvBytes ?? DEFAULT_MAX_RECV_BYTES;
    this.maxSendBytes = opts.maxSendBytes ?? 0x7fffffff;
    this.log = opts.logError ?? ((msg, err) => console.error(msg, err));
    this.onHandled = opts.onHandled;
    this.maxConcurrentStreams = opts.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
    this.server = http2.createServer({
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      streamResetBurst: STREAM_RESET_BURST,
      streamResetRate: STREAM_RESET_RATE,
      settings: {
        maxConcurrentStreams: this.maxConcurrentStreams,
        initialWindowSize: INITIAL_WINDOW_BYTES,
        enablePush: false,
      },
    });
    this.server.on('session', (session) => this.onSession(session));
    this.server.on('stream', (stream, headers, _flags, rawHeaders) => {
      try {
        this.onStream(stream, headers, rawHeaders);
      } catch (err) {
        // A bug of ours must cost one call, not the process.
        this.log('grpc: stream setup failed', err);
        stream.on('error', () => {});
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    });
    this.server.on('sessionError', () => {});
  }

  /** Bound, so calls may pass it around as a plain function. */
  readonly logError = (msg: string, err: unknown): void => this.log(msg, err);

  addUnary<Req, Res>(m: UnaryMethod<Req, Res>): void {
    this.methods.addUnary(m);
  }

  addStream<Req, Res>(m: StreamMethod<Req, Res>): void {
    this.methods.addStream(m);
  }

  /**
   * Serve HTTP/2 requests that are not gRPC (no application/grpc content-type) with an
   * HTTP handler, through node:http2's compatibility request/response: etcd answers /health,
   * /metrics and the gateway over h2 too, and over TLS curl and browsers choose h2.
   * Without one they get HTTP 415, as the gRPC spec says.
   */
  serveNonGrpc(handler: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void): void {
    this.httpFallback = handler;
  }

  /** Paths with a handler, unary and streaming. */
  paths(): string[] {
    return this.methods.paths();
  }

  connectionSink(): ConnectionSink {
    return (socket: Duplex, info?: ConnectionInfo) => {
      if (this.closing) {
        socket.destroy();
        return;
      }
      this.incomingInfo = info;
      try {
        this.server.emit('connection', socket);
      } finally {
        this.incomingInfo = undefined;
      }
    };
  }

  /** The listener's facts about the connection a stream came on. */
  connectionInfo(session: http2.Http2Session | undefined): ConnectionInfo | undefined {
    return session === undefined ? undefined : this.sessionInfo.get(session);
  }

  /** Listen on a port of its own (no HTTP/1.1 on it); for benchmarks and tests. */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  async close(graceMs = 0): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => {
      if (this.server.listening) this.server.close(() => resolve());
      else resolve();
    });
    for (const s of this.sessions) s.close();
    if (this.sessions.size > 0) {
      const timer = setTimeout(() => {
        for (const s of this.sessions) s.destroy();
      }, graceMs);
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (this.sessions.size === 0) {
            clearTimeout(timer);
            resolve();
          } else {
            setTimeout(check, 5);
          }
        };
        check();
      });
    }
    await closed;
  }

  private onSession(session: http2.ServerHttp2Session): void {
    this.sessions.add(session);
    if (this.incomingInfo !== undefined) this.sessionInfo.set(session, this.incomingInfo);
    session.on('error', () => {});
    session.once('close', () => this.sessions.delete(session));
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW_BYTES);
      } catch {
        // the session closed before it connected
      }
    });
    if (this.closing) session.close();
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    const path = headers[':path'] ?? '';
    const contentType = headers['content-type'];
    if (headers[':method'] !== 'POST' || contentType === undefined || !contentType.startsWith('application/grpc')) {
      if (this.httpFallback !== undefined) {
        const req = new http2.Http2ServerRequest(stream, headers, {}, rawHeaders);
        const res = new http2.Http2ServerResponse(stream);
        this.httpFallback(req, res);
        return;
      }
      // Not gRPC: the gRPC spec answers HTTP 415 to a wrong content-type.
      stream.on('error', () => {});
      stream.respond({ ':status': 415, 'content-type': 'text/plain' }, { endStream: true });
      stream.resume();
      return;
    }
    const u = this.methods.unary(path);
    if (u !== undefined) {
      new Http2UnaryCall(this, u, stream, headers);
      return;
    }
    const s = this.methods.stream(path);
    if (s !== undefined) {
      new Http2StreamCall(this, s, stream, headers).start();
      return;
    }
    const err = unimplementedError(path, this.paths());
    respondError(stream, GrpcStatus.UNIMPLEMENTED, err.message);
    this.onHandled?.(path, GrpcStatus.UNIMPLEMENTED);
  }
}
