/**
 * One gRPC call on a WireConnection stream (wire-connection.ts): the request side
 * (reassembly, decode, deadline, cancellation) and the response side (headers, messages,
 * status trailers), with the same observable behaviour as http2-call.ts (node:http2).
 *
 * A call IS its HTTP/2 stream (it extends WireStream): per unary call we allocate this
 * object, its MessageReader and the one answer buffer (HEADERS + DATA + trailers, written
 * with the connection's batch). A timer only when the client sent grpc-timeout; an
 * AbortController only when a handler reads ctx.signal.
 */
import { CallInbox, HALF_CLOSE } from './call-inbox.js';
import type { HeaderField } from './hpack.js';
import type { CallContext, ServerStream, StreamMethod, UnaryMethod } from './types.js';
import { MessageReader, decodeGrpcMessage, encodeFrame, unaryRequestError, type MessageSink } from './framing.js';
import {
  GrpcStatus,
  GrpcStatusError,
  deadlineExceeded,
  encodeGrpcMessage,
  parseGrpcTimeoutMs,
  toStatus,
} from './status.js';
import { GRPC_OK_HEADERS_BLOCK, GRPC_OK_TRAILERS_BLOCK, GRPC_OK_TRAILERS_ONLY_BLOCK, grpcStatusBlock } from './h2-frames.js';
import { WireStream } from './wire-stream.js';
import type { WireConnection } from './wire-connection.js';

/** What a call needs from its transport: limits, the error log, the metrics callback. */
export interface WireCallEnv {
  readonly maxRecvBytes: number;
  readonly maxSendBytes: number;
  logError(msg: string, err: unknown): void;
  readonly onHandled: ((path: string, code: GrpcStatus) => void) | undefined;
}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 0x7fffffff;
/** Queued in place of a message to mark the client's half-close. */

/** The first value of a header in a decoded block. */
export function headerValue(fields: readonly HeaderField[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f[0] === name) return f[1];
  }
  return undefined;
}

/** A trailers-only answer with a status (unknown path, a refused call): the stream ends here. */
export function respondStatus(conn: WireConnection, s: WireStream, code: GrpcStatus, message: string): void {
  conn.sendHeaders(s, grpcStatusBlock(code, encodeGrpcMessage(message), true), true);
}

function onDeadlineTimer(call: WireCall): void {
  call.onDeadline();
}

/** State shared by unary and streaming calls: context, deadline, cancellation. */
abstract class WireCall extends WireStream implements CallContext {
  readonly path: string;
  deadline: number | undefined;
  protected readonly env: WireCallEnv;
  protected readonly fields: HeaderField[];
  protected readonly reader: MessageReader;
  /** True once a status has been sent or the call was cancelled. */
  protected done = false;
  /** Response HEADERS went out (a later error goes in trailers). */
  protected headersSent = false;
  private timer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private interrupted = false;

  constructor(env: WireCallEnv, conn: WireConnection, id: number, path: string, fields: HeaderField[]) {
    super(conn, id);
    this.env = env;
    this.path = path;
    this.fields = fields;
    this.reader = new MessageReader(env.maxRecvBytes);
    const timeoutMs = parseGrpcTimeoutMs(headerValue(fields, 'grpc-timeout'));
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      if (timeoutMs <= MAX_TIMER_MS) this.timer = setTimeout(onDeadlineTimer, Math.ceil(timeoutMs), this);
    }
  }

  get tlsCommonName(): string | undefined {
    return this.conn.info?.commonName;
  }

  metadata(key: string): string | undefined {
    return headerValue(this.fields, key);
  }

  get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.interrupted) this.abort.abort();
    }
    return this.abort.signal;
  }

  protected decodeMessage<T>(decode: (b: Uint8Array) => T, compressed: boolean, body: Buffer): T {
    // The encoding header is looked up only for a compressed message (a hot path otherwise).
    return decodeGrpcMessage(decode, compressed, body, compressed ? headerValue(this.fields, 'grpc-encoding') : undefined, this.env.maxRecvBytes);
  }

  protected finish(code: GrpcStatus, interrupted = false): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (interrupted) {
      this.interrupted = true;
      this.abort?.abort();
    }
    this.env.onHandled?.(this.path, code);
  }

  /** Send an error status: trailers-only if no headers went out yet, else as trailers (after queued DATA). */
  protected sendError(err: unknown, interrupted = false): void {
    if (this.done) return;
    const { code, message } = toStatus(err, this.env.logError);
    this.finish(code, interrupted);
    if (this.localClosed) return;
    const block = grpcStatusBlock(code, encodeGrpcMessage(message), !this.headersSent);
    if (!this.headersSent) this.conn.sendHeaders(this, block, true);
    else this.conn.sendData(this, Buffer.alloc(0), block);
  }

  onDeadline(): void {
    this.timer = undefined;
    this.sendError(deadlineExceeded(), true);
  }

  /** RST_STREAM from the client, connection lost, or shutdown: a cancel. */
  onReset(): void {
    this.finish(GrpcStatus.CANCELLED, true);
  }
}

/** A unary call: one request message, one response or an error. */
export class WireUnaryCall<Req, Res> extends WireCall implements MessageSink {
  private readonly method: UnaryMethod<Req, Res>;
  private body: Buffer | undefined;
  private compressed = false;
  private count = 0;

  constructor(env: WireCallEnv, conn: WireConnection, id: number, method: UnaryMethod<Req, Res>, fields: HeaderField[]) {
    super(env, conn, id, method.path, fields);
    this.method = method;
  }

  onData(payload: Buffer): void {
    if (this.done) return;
    const err = this.reader.push(payload, this);
    if (err !== undefined) this.sendError(err);
  }

  onMessage(compressed: boolean, body: Buffer): void {
    this.count++;
    this.compressed = compressed;
    this.body = body;
  }

  onRemoteEnd(): void {
    if (this.done) return;
    const invalid = unaryRequestError(this.count, this.reader.partial);
    if (invalid !== undefined) {
      this.sendError(invalid);
      return;
    }
    let res: Promise<Res> | Res;
    try {
      const req = this.decodeMessage(this.method.decode, this.compressed, this.body!);
      this.body = undefined;
      res = this.method.handler(req, this);
    } catch (err) {
      this.sendError(err);
      return;
    }
    if (res instanceof Promise) {
      res.then(
        (r) => this.reply(r),
        (err: unknown) => this.sendError(err),
      );
    } else {
      this.reply(res);
    }
  }

  private reply(res: Res): void {
    if (this.done) return;
    let body: Uint8Array;
    try {
      body = this.method.encode(res);
    } catch (err) {
      this.sendError(err);
      return;
    }
    if (body.length > this.env.maxSendBytes) {
      this.sendError(
        new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: trying to send message larger than max (${body.length} vs. ${this.env.maxSendBytes})`),
      );
      return;
    }
    this.finish(GrpcStatus.OK);
    if (this.localClosed) return;
    if (this.conn.replyUnary(this, body)) return;
    // Too big for one frame or the client's window: headers, DATA as flow control allows, trailers.
    this.headersSent = true;
    this.conn.sendHeaders(this, GRPC_OK_HEADERS_BLOCK, false);
    this.conn.sendData(this, encodeFrame(body), GRPC_OK_TRAILERS_BLOCK);
  }
}

/** A server-streaming or bidi call: the ServerStream a StreamMethod handler drives. */
export class WireStreamCall<Req, Res> extends WireCall implements ServerStream<Req, Res> {
  private readonly method: StreamMethod<Req, Res>;
  private closeFn: (() => void) | undefined;
  private drainFn: (() => void) | undefined;
  private closeFired = false;
  /** Messages and the half-close, held until the handler subscribes (call-inbox.ts). */
  private readonly inbox = new CallInbox<Req>(() => this.done, (err) => this.end(err));
  private readonly sink: MessageSink = { onMessage: (compressed, body) => this.onFrame(compressed, body) };

  constructor(env: WireCallEnv, conn: WireConnection, id: number, method: StreamMethod<Req, Res>, fields: HeaderField[]) {
    super(env, conn, id, method.path, fields);
    this.method = method;
  }

  get closed(): boolean {
    return this.done;
  }

  start(): void {
    try {
      this.method.handler(this, this);
    } catch (err) {
      this.end(err);
    }
  }

  onMessage(fn: (req: Req) => void): void {
    this.inbox.onMessage(fn);
  }
  onHalfClose(fn: () => void): void {
    this.inbox.onHalfClose(fn);
  }
  onClose(fn: () => void): void {
    this.closeFn = fn;
    if (this.done) this.fireClose();
  }
  onDrain(fn: () => void): void {
    this.drainFn = fn;
  }

  send(res: Res): boolean {
    if (this.done || this.localClosed) return false;
    const frame = encodeFrame(this.method.encode(res));
    if (!this.headersSent) {
      this.headersSent = true;
      this.conn.sendHeaders(this, GRPC_OK_HEADERS_BLOCK, false);
    }
    this.conn.sendData(this, frame, undefined);
    return !this.conn.congested(this);
  }

  end(err?: unknown): void {
    if (this.done) return;
    if (err !== undefined) {
      this.sendError(err);
    } else {
      this.finish(GrpcStatus.OK);
      if (!this.localClosed) {
        if (!this.headersSent) this.conn.sendHeaders(this, GRPC_OK_TRAILERS_ONLY_BLOCK, true);
        else this.conn.sendData(this, Buffer.alloc(0), GRPC_OK_TRAILERS_BLOCK);
      }
    }
    this.fireClose();
  }

  override onWritable(): void {
    if (this.done || this.drainFn === undefined) return;
    try {
      this.drainFn();
    } catch (err) {
      this.end(err); // a handler's bug ends its call, not the connection
    }
  }

  override onDeadline(): void {
    super.onDeadline();
    this.fireClose();
  }

  override onReset(): void {
    super.onReset();
    this.fireClose();
  }

  onData(payload: Buffer): void {
    if (this.done) return;
    const err = this.reader.push(payload, this.sink);
    if (err !== undefined) this.end(err);
  }

  onRemoteEnd(): void {
    // A cancelling client may half-close just before its RST_STREAM (grpc-js does): wait a
    // turn so the handler sees a cancel, not a half-close followed by a cancel.
    setImmediate(() => this.inbox.deliver(HALF_CLOSE));
  }

  private fireClose(): void {
    if (this.closeFired || this.closeFn === undefined) return;
    this.closeFired = true;
    try {
      this.closeFn();
    } catch (err) {
      this.env.logError('grpc: onClose handler failed', err); // a handler's bug must not end the connection
    }
  }

  private onFrame(compressed: boolean, body: Buffer): void {
    if (this.done) return;
    let req: Req;
    try {
      req = this.decodeMessage(this.method.decode, compressed, body);
    } catch (e) {
      this.end(e);
      return;
    }
    this.inbox.deliver(req);
  }
}
