/**
 * One client port for gRPC and HTTP/1.1, as etcd's (design.md "Contracts with the outside"),
 * in plain text or TLS, on TCP or a unix socket.
 *
 *   accept ──> first byte? ──(TLS port, 0x16)──> TLS handshake ──> checks (ServerTls.check)
 *      │            │                                                  │
 *      │            └─(TLS port, anything else)──> refused: "plain text on a TLS port"
 *      │                                                                  │
 *      └─(plain port; 0x16 0x03: refused, "TLS on a plain-text port")    ▼
 *                         route by ALPN ('h2' / 'http/1.1'), else by the first bytes:
 *                           "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"  -> sniffH2 -> gRPC transport
 *                           anything else                        -> the HTTP/1.1 server
 *
 * Peeked bytes are pushed back with socket.unshift() (node:http2 and node:http read what is
 * buffered before taking the handle), so neither server sees a difference. sniffH2
 * (h2-authority.ts) looks at the first request of each HTTP/2 connection: nearly all go to
 * nghttp2 natively; those whose :authority nghttp2 would refuse go through AuthorityRewriter.
 *
 * Every refused connection gets a short answer the client can show (an HTTP 400 text, or an
 * HTTP/2 GOAWAY whose debug data says why) and one log line, "rejected connection", with
 * the remote address and the reason; nothing a client sends closes the listener.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import type { ConnectionInfo, GrpcTransport } from './types.js';
import type { HttpHandler } from '../http/router.js';
import type { ServerTls } from '../tls/server-tls.js';
import { AuthorityRewriter, H2_PREFACE, sniffH2 } from './h2-authority.js';

/**
 * How long a new connection may stay silent before we drop it. gRPC and HTTP/1.1 clients
 * both speak first; a connection that says nothing holds a file descriptor for nobody.
 * Also the longest an HTTP/2 connection may wait for its first request before it goes to
 * nghttp2 unexamined.
 */
const PEEK_TIMEOUT_MS = 10_000;

export type ListenerLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;

export interface ClientListenerOptions {
  /** The gRPC side; its connectionSink() receives HTTP/2 connections. None: HTTP/1.1 only (the metrics port). */
  grpc?: GrpcTransport;
  /** The HTTP/1.1 side (e.g. HttpRouter.handle); default: 404 for everything. */
  http?: HttpHandler;
  /** Serve TLS (https://, unixs://) with these settings. */
  tls?: ServerTls;
  /** Where refused connections are reported ("rejected connection"). */
  log?: ListenerLog;
  /** Override PEEK_TIMEOUT_MS (tests). */
  peekTimeoutMs?: number;
}

/** The 9-byte header of an empty SETTINGS frame, then a GOAWAY carrying `reason` (RFC 9113 6.8). */
function goAway(code: number, reason: string): Buffer {
  const debug = Buffer.from(reason, 'utf8');
  const f = Buffer.alloc(9 + 9 + 8 + debug.length);
  f[3] = 0x4; // SETTINGS, empty
  f.writeUIntBE(8 + debug.length, 9, 3);
  f[12] = 0x7; // GOAWAY
  f.writeUInt32BE(0, 18); // last stream id
  f.writeUInt32BE(code, 22);
  debug.copy(f, 26);
  return f;
}
const H2_PROTOCOL_ERROR = 0x1;
const H2_INADEQUATE_SECURITY = 0xc;
const H2_HTTP_1_1_REQUIRED = 0xd;

function http400(text: string): string {
  return `HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${text}\n`;
}

export class ClientListener {
  private readonly netServer: net.Server;
  private readonly httpServer: http.Server;
  private readonly tlsServer: tls.Server | undefined;
  private readonly grpc: GrpcTransport | undefined;
  private readonly toGrpc: ReturnType<GrpcTransport['connectionSink']> | undefined;
  private readonly peekTimeoutMs: number;
  private readonly tls: ServerTls | undefined;
  private readonly log: ListenerLog;
  private readonly pending = new Set<net.Socket>();
  private unixPath: string | undefined;
  /** HTTP/2 connections by path taken: native nghttp2, or through AuthorityRewriter (for tests and metrics). */
  readonly h2Connections = { native: 0, rewritten: 0 };

  constructor(opts: ClientListenerOptions) {
    this.grpc = opts.grpc;
    this.toGrpc = opts.grpc?.connectionSink();
    this.peekTimeoutMs = opts.peekTimeoutMs ?? PEEK_TIMEOUT_MS;
    this.tls = opts.tls;
    this.log = opts.log ?? (() => {});
    const handler: HttpHandler =
      opts.http ??
      ((_req, res) => {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
      });
    this.httpServer = http.createServer((req, res) => void handler(req, res));
    this.httpServer.on('clientError', (_err, socket: net.Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    if (this.tls !== undefined) {
      const t = this.tls;
      this.tlsServer = tls.createServer(t.serverOptions());
      this.tlsServer.on('secureConnection', (s: tls.TLSSocket) => this.guard(s, () => this.onSecure(s)));
      this.tlsServer.on('tlsClientError', (err: Error, s: tls.TLSSocket) => {
        this.reject(s, `TLS handshake failed: ${err.message}`, undefined);
      });
    }
    this.netServer = net.createServer({ noDelay: true }, (socket) => this.guard(socket, () => this.onConnection(socket)));
  }

  /** True when this listener serves TLS. */
  get secure(): boolean {
    return this.tls !== undefined;
  }

  listen(port: number, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return this.bind((cb) => this.netServer.listen(port, host, cb)).then(() => this.netServer.address() as net.AddressInfo);
  }

  /** Listen on a unix socket at `path` (etcd: unix://host:port makes a socket file named "host:port"). A stale socket file is removed first, as etcd does. */
  async listenUnix(path: string): Promise<void> {
    if (existsSync(path) && statSync(path).isSocket()) unlinkSync(path);
    await this.bind((cb) => this.netServer.listen(path, cb));
    this.unixPath = path;
  }

  private bind(start: (cb: () => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.netServer.once('error', reject);
      start(() => {
        this.netServer.off('error', reject);
        resolve();
      });
    });
  }

  address(): net.AddressInfo {
    return this.netServer.address() as net.AddressInfo;
  }

  /** Stop accepting, close HTTP/1.1 connections and the gRPC transport (graceMs for in-flight calls). */
  async close(graceMs = 0): Promise<void> {
    const listening = new Promise<void>((resolve) => this.netServer.close(() => resolve()));
    for (const s of this.pending) s.destroy();
    this.httpServer.closeIdleConnections();
    const httpClosed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    const timer = setTimeout(() => this.httpServer.closeAllConnections(), graceMs);
    await Promise.all([this.grpc?.close(graceMs), httpClosed, listening]);
    clearTimeout(timer);
    if (this.unixPath !== undefined && existsSync(this.unixPath)) unlinkSync(this.unixPath);
  }

  /** Run `fn` for one connection; a bug in it costs that connection (logged), never the listener. */
  private guard(socket: net.Socket, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.reject(socket, `internal error: ${err instanceof Error ? err.message : String(err)}`, undefined);
    }
  }

  // ---- accept: TLS or not ----

  private onConnection(socket: net.Socket): void {
    this.peekBytes(socket, (s) => s.length >= 1, (seen) => {
      const looksTls = seen[0] === 0x16; // a TLS handshake record; no HTTP request starts with it
      if (this.tls === undefined) {
        if (looksTls) {
          this.reject(socket, 'client sent a TLS handshake to a plain-text (http) port', http400('Client sent a TLS handshake to a plain-text (http://) port.'));
          return;
        }
        this.classify(socket, seen);
        return;
      }
      if (!looksTls) {
        const h2 = seen.equals(H2_PREFACE.subarray(0, seen.length));
        this.reject(
          socket,
          'client sent plain text to a TLS (https) port',
          h2 ? goAway(H2_PROTOCOL_ERROR, 'this port serves TLS: connect with https') : http400('Client sent an HTTP request to an HTTPS server.'),
        );
        return;
      }
      const next = this.tls.refresh();
      if (next !== undefined) {
        this.tlsServer!.setSecureContext(next);
        this.log('info', 'reloaded TLS certificate files', { 'cert-file': this.tls.settings.certFile });
      }
      socket.unshift(seen);
      this.tlsServer!.emit('connection', socket);
    });
  }

  private onSecure(socket: tls.TLSSocket): void {
    const why = this.tls!.check(socket);
    if (why !== undefined) {
      const alpn = socket.alpnProtocol;
      this.reject(socket, why, alpn === 'h2' ? goAway(H2_INADEQUATE_SECURITY, why) : alpn === 'http/1.1' ? http400(why) : undefined);
      return;
    }
    const info: ConnectionInfo | undefined = this.tls!.identity(socket);
    if (socket.alpnProtocol === 'http/1.1') {
      this.toHttp(socket);
      return;
    }
    // 'h2', or no ALPN: the first bytes decide (and are needed for sniffH2 anyway).
    this.classify(socket, Buffer.alloc(0), info);
  }

  // ---- route: HTTP/2 (gRPC) or HTTP/1.1 ----

  /**
   * Read until `enough(bytes so far)`, then call `then` with what was read (the socket
   * paused; unshift or replay it). Silent sockets are dropped after peekTimeoutMs.
   */
  private peekBytes(socket: net.Socket, enough: (seen: Buffer) => boolean, then: (seen: Buffer) => void): void {
    this.pending.add(socket);
    let seen: Buffer | undefined;
    const done = (): void => {
      this.pending.delete(socket);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.setTimeout(0);
      socket.off('timeout', onTimeout);
    };
    const onData = (chunk: Buffer): void => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      if (!enough(seen)) return;
      done();
      socket.pause();
      const bytes = seen;
      this.guard(socket, () => then(bytes));
    };
    const onError = (): void => {
      done();
      socket.destroy();
    };
    const onTimeout = (): void => {
      done();
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.setTimeout(this.peekTimeoutMs);
    socket.on('timeout', onTimeout);
  }

  /** `seen`: the connection's first bytes (plain, or decrypted under TLS). */
  private classify(socket: net.Socket, seen: Buffer, info?: ConnectionInfo): void {
    if (!settled(seen)) {
      // Could still be the preface: read on.
      if (seen.length > 0) socket.unshift(seen);
      this.peekBytes(socket, settled, (more) => this.classify(socket, more, info));
      return;
    }
    if (!seen.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) {
      socket.unshift(seen);
      this.toHttp(socket);
      return;
    }
    if (this.toGrpc === undefined) {
      this.reject(socket, 'HTTP/2 on a port that serves HTTP/1.1 only', goAway(H2_HTTP_1_1_REQUIRED, 'this port serves HTTP/1.1 only (/metrics, /health)'));
      return;
    }
    const toGrpc = this.toGrpc;
    if (this.grpc!.acceptsAnyAuthority === true) {
      // Our own HTTP/2 framing (wire-transport.ts): no nghttp2 to shield from :authority values.
      this.h2Connections.native++;
      socket.unshift(seen);
      toGrpc(socket, info);
      return;
    }
    this.pending.add(socket);
    sniffH2(
      socket,
      seen,
      { timeoutMs: this.peekTimeoutMs, maxConcurrentStreams: this.grpc!.maxConcurrentStreams },
      (verdict, bytes) => this.guard(socket, () => {
        this.pending.delete(socket);
        if (verdict === 'native') {
          this.h2Connections.native++;
          socket.unshift(bytes);
          // node:http2 refuses a TLS socket without ALPN 'h2' (it expects HTTP/1.1 there); this one spoke HTTP/2.
          if (socket instanceof tls.TLSSocket && socket.alpnProtocol !== 'h2') (socket as { alpnProtocol: string | false | null }).alpnProtocol = 'h2';
          toGrpc(socket, info);
        } else {
          this.h2Connections.rewritten++;
          toGrpc(new AuthorityRewriter(socket, bytes, localAuthority(socket)), info);
        }
      }),
      () => {
        this.pending.delete(socket);
        socket.destroy();
      },
    );
  }

  private toHttp(socket: net.Socket): void {
    this.httpServer.emit('connection', socket);
    socket.resume();
  }

  /** Answer `reply` (if any), close, and log why. */
  private reject(socket: net.Socket, reason: string, reply: Buffer | string | undefined): void {
    this.log('warn', 'rejected connection', {
      'remote-addr': remoteAddr(socket),
      'server-name': socket instanceof tls.TLSSocket ? ((socket as tls.TLSSocket & { servername?: string | false }).servername || '') : '',
      error: reason,
    });
    socket.on('error', () => {});
    if (reply !== undefined && socket.writable) socket.end(reply);
    else socket.destroy();
    setTimeout(() => socket.destroy(), 1000).unref();
  }
}

/** Enough bytes to tell the HTTP/2 preface from anything else. */
function settled(seen: Buffer): boolean {
  return seen.length >= H2_PREFACE.length || !seen.equals(H2_PREFACE.subarray(0, seen.length));
}

function remoteAddr(socket: net.Socket): string {
  if (socket.remoteAddress === undefined) return 'unix';
  return socket.remoteFamily === 'IPv6' ? `[${socket.remoteAddress}]:${socket.remotePort}` : `${socket.remoteAddress}:${socket.remotePort}`;
}

/** The address the client connected to, as an :authority ("localhost" on a unix socket). */
function localAuthority(socket: net.Socket): string {
  const a = socket.localAddress;
  if (a === undefined || a === '') return 'localhost';
  return net.isIPv6(a) ? `[${a}]:${socket.localPort}` : `${a}:${socket.localPort}`;
}
