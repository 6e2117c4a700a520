/**
 * One client port for gRPC and HTTP/1.1, as etcd's (design.md "Contracts with the outside").
 *
 * Each accepted plaintext connection is routed by its first bytes:
 *
 *   "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (the 24-byte HTTP/2 client preface) -> the gRPC transport
 *   anything else                                                      -> the HTTP/1.1 server
 *
 * The peeked bytes are pushed back with socket.unshift() before the connection is handed
 * over, so neither server sees a difference. Under TLS (later) the same split comes from
 * the ALPN protocol ('h2' vs 'http/1.1') of the tls.TLSSocket, with no peeking: route()
 * below is the only place that needs a second branch.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import type { GrpcTransport } from './types.js';
import type { HttpHandler } from '../http/router.js';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * How long a new connection may stay silent before we drop it. gRPC and HTTP/1.1 clients
 * both speak first; a connection that says nothing holds a file descriptor for nobody.
 */
const PEEK_TIMEOUT_MS = 10_000;

export interface ClientListenerOptions {
  /** The gRPC side; its connectionSink() receives HTTP/2 connections. */
  grpc: GrpcTransport;
  /** The HTTP/1.1 side (e.g. HttpRouter.handle); default: 404 for everything. */
  http?: HttpHandler;
  /** Override PEEK_TIMEOUT_MS (tests). */
  peekTimeoutMs?: number;
}

export class ClientListener {
  private readonly netServer: net.Server;
  private readonly httpServer: http.Server;
  private readonly grpc: GrpcTransport;
  private readonly toGrpc: (socket: net.Socket) => void;
  private readonly peekTimeoutMs: number;
  private readonly peeking = new Set<net.Socket>();

  constructor(opts: ClientListenerOptions) {
    this.grpc = opts.grpc;
    this.toGrpc = opts.grpc.connectionSink();
    this.peekTimeoutMs = opts.peekTimeoutMs ?? PEEK_TIMEOUT_MS;
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
    this.netServer = net.createServer({ noDelay: true }, (socket) => this.peek(socket));
  }

  listen(port: number, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.netServer.once('error', reject);
      this.netServer.listen(port, host, () => {
        this.netServer.off('error', reject);
        resolve(this.netServer.address() as net.AddressInfo);
      });
    });
  }

  address(): net.AddressInfo {
    return this.netServer.address() as net.AddressInfo;
  }

  /** Stop accepting, close HTTP/1.1 connections and the gRPC transport (graceMs for in-flight calls). */
  async close(graceMs = 0): Promise<void> {
    const listening = new Promise<void>((resolve) => this.netServer.close(() => resolve()));
    for (const s of this.peeking) s.destroy();
    this.httpServer.closeIdleConnections();
    const httpClosed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    const timer = setTimeout(() => this.httpServer.closeAllConnections(), graceMs);
    await Promise.all([this.grpc.close(graceMs), httpClosed, listening]);
    clearTimeout(timer);
  }

  private peek(socket: net.Socket): void {
    this.peeking.add(socket);
    let seen: Buffer | undefined;
    const done = (): void => {
      this.peeking.delete(socket);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.setTimeout(0);
      socket.off('timeout', onTimeout);
    };
    const onData = (chunk: Buffer): void => {
      seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, H2_PREFACE.length);
      const h2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (h2 && n < H2_PREFACE.length) return; // a prefix of the preface: wait for more
      done();
      socket.pause();
      socket.unshift(seen);
      this.route(socket, h2);
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

  private route(socket: net.Socket, h2: boolean): void {
    if (h2) {
      // node:http2 reads the bytes already buffered on the socket before taking its handle.
      this.toGrpc(socket);
    } else {
      this.httpServer.emit('connection', socket);
      socket.resume();
    }
  }
}
