/**
 * GrpcJsTransport: the reference implementation of GrpcTransport on @grpc/grpc-js's Server.
 * Tests run the same calls against it and Http2GrpcTransport and check the answers agree.
 *
 * Messages cross grpc-js as raw bytes (identity serializers) and are decoded here, so a
 * malformed request gets the same "grpc: error unmarshalling request: ..." as in ours.
 * Known differences (grpc-js's own wording, not ours): an unknown service or method is
 * "The server does not implement the method /x/y"; a deadline is "Deadline exceeded";
 * an oversized message is "Received message larger than max (N vs. M)".
 */
import * as grpc from '@grpc/grpc-js';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type {
  CallContext,
  ConnectionSink,
  GrpcTransport,
  GrpcTransportOptions,
  ServerStream,
  StreamMethod,
  UnaryMethod,
} from './types.js';
import { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_RECV_BYTES } from './types.js';
import { etcdMethodPaths, unimplementedError, type MethodKind } from './etcd-services.js';
import { GrpcStatus, toStatus, unmarshalError, type Status } from './status.js';

const identity = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function toServiceError({ code, message }: Status): Partial<grpc.ServiceError> {
  return { code: code as number as grpc.status, details: message, metadata: new grpc.Metadata() };
}

function decodeOrThrow<T>(decode: (b: Uint8Array) => T, bytes: Buffer): T {
  try {
    return decode(bytes);
  } catch (err) {
    throw unmarshalError(err);
  }
}

type AnyCall = grpc.ServerUnaryCall<Buffer, Buffer> | grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>;

/** CallContext over a grpc-js call. */
class GrpcJsContext implements CallContext {
  readonly path: string;
  readonly deadline: number | undefined;
  private readonly call: AnyCall;
  private abort: AbortController | undefined;

  constructor(path: string, call: AnyCall) {
    this.path = path;
    this.call = call;
    const d = call.getDeadline();
    const ms = d instanceof Date ? d.getTime() : d;
    this.deadline = Number.isFinite(ms) ? ms : undefined;
  }

  metadata(key: string): string | undefined {
    const v = this.call.metadata.get(key)[0];
    return v === undefined ? undefined : typeof v === 'string' ? v : v.toString('latin1');
  }

  get signal(): AbortSignal {
    if (this.abort === undefined) {
      const ac = new AbortController();
      this.abort = ac;
      if (this.call.cancelled) ac.abort();
      else (this.call as grpc.ServerUnaryCall<Buffer, Buffer>).once('cancelled', () => ac.abort());
    }
    return this.abort.signal;
  }
}

/** ServerStream over a grpc-js server-streaming or bidi call. */
class GrpcJsServerStream<Req, Res> implements ServerStream<Req, Res> {
  closed = false;
  private readonly method: StreamMethod<Req, Res>;
  private readonly call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>;
  private readonly log: (msg: string, err: unknown) => void;
  private closeFn: (() => void) | undefined;
  private closeFired = false;
  private readonly onHandled: ((path: string, code: GrpcStatus) => void) | undefined;

  constructor(
    method: StreamMethod<Req, Res>,
    call: GrpcJsServerStream<Req, Res>['call'],
    log: (msg: string, err: unknown) => void,
    onHandled: ((path: string, code: GrpcStatus) => void) | undefined,
  ) {
    this.method = method;
    this.call = call;
    this.log = log;
    this.onHandled = onHandled;
    call.on('error', () => {});
    call.once('cancelled', () => {
      if (!this.closed) this.onHandled?.(this.method.path, GrpcStatus.CANCELLED);
      this.markClosed();
    });
  }

  onMessage(fn: (req: Req) => void): void {
    const wrap = (bytes: Buffer): void => {
      if (this.closed) return;
      let req: Req;
      try {
        req = decodeOrThrow(this.method.decode, bytes);
      } catch (err) {
        this.end(err);
        return;
      }
      try {
        fn(req);
      } catch (err) {
        this.end(err);
      }
    };
    if (this.method.kind === 'server') {
      const req = (this.call as grpc.ServerWritableStream<Buffer, Buffer>).request;
      queueMicrotask(() => wrap(req));
    } else {
      this.call.on('data', wrap);
    }
  }

  onHalfClose(fn: () => void): void {
    if (this.method.kind === 'server') queueMicrotask(() => !this.closed && fn());
    // grpc-js pushes end-of-stream when the client resets the stream too, and reports the
    // cancellation just after: wait a turn so a cancel is not mistaken for a half-close.
    else this.call.on('end', () => setImmediate(() => !this.closed && !this.call.cancelled && fn()));
  }

  onClose(fn: () => void): void {
    this.closeFn = fn;
    if (this.closed) this.fireClose();
  }

  onDrain(fn: () => void): void {
    this.call.on('drain', fn);
  }

  send(res: Res): boolean {
    if (this.closed) return false;
    return this.call.write(toBuffer(this.method.encode(res)));
  }

  end(err?: unknown): void {
    if (this.closed) return;
    if (err === undefined) {
      this.onHandled?.(this.method.path, GrpcStatus.OK);
      this.call.end();
    } else {
      const status = toStatus(err, this.log);
      this.onHandled?.(this.method.path, status.code);
      this.call.emit('error', toServiceError(status));
    }
    this.markClosed();
  }

  private markClosed(): void {
    this.closed = true;
    this.fireClose();
  }

  private fireClose(): void {
    if (this.closeFired || this.closeFn === undefined) return;
    this.closeFired = true;
    this.closeFn();
  }
}

export class GrpcJsTransport implements GrpcTransport {
  private readonly server: grpc.Server;
  private readonly log: (msg: string, err: unknown) => void;
  private readonly registered = new Set<string>();
  private readonly onHandled: ((path: string, code: GrpcStatus) => void) | undefined;
  private injector: grpc.ConnectionInjector | undefined;
  readonly maxConcurrentStreams: number;

  constructor(opts: GrpcTransportOptions = {}) {
    this.maxConcurrentStreams = opts.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS;
    this.log = opts.logError ?? ((msg, err) => console.error(msg, err));
    this.onHandled = opts.onHandled;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': opts.maxRecvBytes ?? DEFAULT_MAX_RECV_BYTES,
      'grpc.max_send_message_length': opts.maxSendBytes ?? 0x7fffffff,
      'grpc.max_concurrent_streams': this.maxConcurrentStreams,
    });
    // Every etcd method answers UNIMPLEMENTED until a handler is added, as in ours.
    for (const [path, kind] of etcdMethodPaths()) this.registerStub(path, kind);
  }

  addUnary<Req, Res>(m: UnaryMethod<Req, Res>): void {
    this.claim(m.path);
    const log = this.log;
    const onHandled = this.onHandled;
    const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      const ctx = new GrpcJsContext(m.path, call);
      let answered = false;
      if (onHandled !== undefined) {
        call.once('cancelled', () => {
          if (!answered) onHandled(m.path, GrpcStatus.CANCELLED);
          answered = true;
        });
      }
      const fail = (err: unknown): void => {
        if (answered) return;
        answered = true;
        const status = toStatus(err, log);
        onHandled?.(m.path, status.code);
        callback(toServiceError(status));
      };
      const ok = (res: Res): void => {
        if (answered) return;
        let bytes: Buffer;
        try {
          bytes = toBuffer(m.encode(res));
        } catch (err) {
          fail(err);
          return;
        }
        answered = true;
        onHandled?.(m.path, GrpcStatus.OK);
        callback(null, bytes);
      };
      try {
        const res = m.handler(decodeOrThrow(m.decode, call.request), ctx);
        if (res instanceof Promise) res.then(ok, fail);
        else ok(res);
      } catch (err) {
        fail(err);
      }
    };
    this.server.register(m.path, handler, identity, identity, 'unary');
  }

  addStream<Req, Res>(m: StreamMethod<Req, Res>): void {
    this.claim(m.path);
    const log = this.log;
    const handler = (call: grpc.ServerWritableStream<Buffer, Buffer> | grpc.ServerDuplexStream<Buffer, Buffer>): void => {
      const stream = new GrpcJsServerStream(m, call, log, this.onHandled);
      try {
        m.handler(stream, new GrpcJsContext(m.path, call));
      } catch (err) {
        stream.end(err);
      }
    };
    this.server.register(m.path, handler, identity, identity, m.kind === 'bidi' ? 'bidi' : 'serverStream');
  }

  connectionSink(): ConnectionSink {
    this.injector ??= this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const injector = this.injector;
    return (socket: Duplex) => injector.injectConnection(socket);
  }

  /** Listen on a port of its own; for benchmarks and tests. */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
        if (err) reject(err);
        else resolve({ address: host, family: 'IPv4', port: bound });
      });
    });
  }

  close(graceMs = 0): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.forceShutdown(), graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
      this.injector?.drain(graceMs);
    });
  }

  private claim(path: string): void {
    if (this.registered.has(path)) throw new Error(`grpc: method ${path} registered twice`);
    this.registered.add(path);
    this.server.unregister(path); // the UNIMPLEMENTED stub, if any
  }

  private registerStub(path: string, kind: MethodKind): void {
    const status = toServiceError({ code: GrpcStatus.UNIMPLEMENTED, message: unimplementedError(path, []).message });
    if (kind === 'unary') {
      const h = (_call: unknown, cb: grpc.sendUnaryData<Buffer>): void => {
        this.onHandled?.(path, GrpcStatus.UNIMPLEMENTED);
        cb(status);
      };
      this.server.register(path, h, identity, identity, 'unary');
    } else {
      const h = (call: grpc.ServerWritableStream<Buffer, Buffer>): void => {
        this.onHandled?.(path, GrpcStatus.UNIMPLEMENTED);
        call.on('error', () => {});
        call.emit('error', status);
      };
      this.server.register(path, h, identity, identity, kind === 'bidi' ? 'bidi' : 'serverStream');
    }
  }
}
