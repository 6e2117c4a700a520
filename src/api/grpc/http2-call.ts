/**
 * One gRPC call on a node:http2 stream: the request side (reassembly, decode, deadline,
 * cancellation) and the response side (headers, messages, status trailers).
 *
 * Unary calls answer "headers + one DATA frame + trailers" on success and a trailers-only
 * response (one HEADERS frame with grpc-status, END_STREAM) on error, as grpc-go does.
 * Per call we allocate this object, the reader, the response frame and (only when the
 * client sets a deadline or a handler reads ctx.signal) a timer and an AbortController.
 */
import { CallInbox, HALF_CLOSE } from './call-inbox.js';
import type { Http2Session, ServerHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders, ServerStreamResponseOptions } from 'node:http2';
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

/** What a call needs from its transport: limits and the error log. */
export interface CallEnv {
  readonly maxRecvBytes: number;
  readonly maxSendBytes: number;
  logError(msg: string, err: unknown): void;
  readonly onHandled: ((path: string, code: GrpcStatus) => void) | undefined;
  connectionInfo(session: Http2Session | undefined): { readonly commonName: string } | undefined;
}

const OK_HEADERS: OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
const OK_TRAILERS: OutgoingHttpHeaders = { 'grpc-status': '0' };
// grpc-go sends no date header; skipping it saves formatting a date per response.
const RESPOND_WITH_TRAILERS = { waitForTrailers: true, sendDate: false } as ServerStreamResponseOptions;
const RESPOND_END = { endStream: true, sendDate: false } as ServerStreamResponseOptions;

function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}
function ignoreError(): void {}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 0x7fffffff;

/** Queued in place of a message to mark the client's half-close. */

/** Answer a trailers-only error on a stream nobody else handles (unknown path, bad content-type). */
export function respondError(stream: ServerHttp2Stream, code: GrpcStatus, message: string): void {
  stream.on('error', ignoreError);
  if (stream.headersSent || stream.destroyed) return;
  stream.respond(
    { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) },
    RESPOND_END,
  );
  stream.resume(); // discard whatever the client still sends
}

/** State shared by unary and streaming calls: context, deadline, cancellation. */
abstract class Http2Call implements CallContext {
  readonly path: string;
  deadline: number | undefined;
  protected readonly env: CallEnv;
  protected readonly stream: ServerHttp2Stream;
  protected readonly headers: IncomingHttpHeaders;
  protected readonly reader: MessageReader;
  /** True once a status has been sent or the stream is gone. */
  protected done = false;
  private timer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  /** The call ended by cancel, disconnect or deadline: the signal is (or will be) aborted. */
  private interrupted = false;

  constructor(env: CallEnv, path: string, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
    this.env = env;
    this.path = path;
    this.stream = stream;
    this.headers = headers;
    this.reader = new MessageReader(env.maxRecvBytes);
    const timeoutMs = parseGrpcTimeoutMs(headers['grpc-timeout'] as string | undefined);
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      // setTimeout fires at once for delays past 2^31-1 ms (~24.8 days): such deadlines never fire.
      if (timeoutMs <= MAX_TIMER_MS) this.timer = setTimeout(() => this.onDeadline(), Math.ceil(timeoutMs));
    }
    stream.on('error', ignoreError);
    stream.on('close', () => this.onStreamClosed());
  }

  get tlsCommonName(): string | undefined {
    return this.env.connectionInfo(this.stream.session)?.commonName;
  }

  metadata(key: string): string | undefined {
    const v = this.headers[key];
    return Array.isArray(v) ? v[0] : v;
  }

  get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.interrupted) this.abort.abort();
    }
    return this.abort.signal;
  }

  /** Turn the body of one received message into a request, or throw a status error. */
  protected decodeMessage<T>(decode: (b: Uint8Array) => T, compressed: boolean, body: Buffer): T {
    // The encoding header is looked up only for a compressed message (a hot path otherwise).
    return decodeGrpcMessage(decode, compressed, body, compressed ? this.headers['grpc-encoding'] as string | undefined : undefined, this.env.maxRecvBytes);
  }

  /**
   * Mark finished with `code`; clears the deadline, reports the outcome, and aborts the
   * signal when the call ended because of the client or the clock (cancel, lost
   * connection, shutdown, deadline) rather than by an answer.
   */
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

  /** Send an error status: trailers-only if no headers went out yet, else as trailers. */
  protected sendError(err: unknown, interrupted = false): void {
    if (this.done) return;
    const { code, message } = toStatus(err, this.env.logError);
    const stream = this.stream;
    this.finish(code, interrupted);
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) },
        RESPOND_END,
      );
    } else {
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) }));
      stream.end();
    }
    if (!stream.readableEnded) stream.resume();
  }

  protected onDeadline(): void {
    this.timer = undefined;
    this.sendError(deadlineExceeded(), true);
  }

  protected onStreamClosed(): void {
    this.finish(GrpcStatus.CANCELLED, true);
  }
}

/** A unary call: one request message, one response or an error. */
export class Http2UnaryCall<Req, Res> extends Http2Call implements MessageSink {
  private readonly method: UnaryMethod<Req, Res>;
  private body: Buffer | undefined;
  private compressed = false;
  private count = 0;

  constructor(env: CallEnv, method: UnaryMethod<Req, Res>, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
    super(env, method.path, stream, headers);
    this.method = method;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onEnd());
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    const err = this.reader.push(chunk, this);
    if (err !== undefined) this.sendError(err);
  }

  onMessage(compressed: boolean, body: Buffer): void {
    this.count++;
    this.compressed = compressed;
    this.body = body;
  }

  private onEnd(): void {
    if (this.done) return;
    if (this.stream.aborted) {
      this.onStreamClosed(); // the client reset the stream: a cancel, not a half-close
      return;
    }
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
    let frame: Buffer;
    try {
      frame = encodeFrame(this.method.encode(res));
    } catch (err) {
      this.sendError(err);
      return;
    }
    if (frame.length - 5 > this.env.maxSendBytes) {
      this.sendError(
        new GrpcStatusError(
          GrpcStatus.RESOURCE_EXHAUSTED,
          `grpc: trying to send message larger than max (${frame.length - 5} vs. ${this.env.maxSendBytes})`,
        ),
      );
      return;
    }
    this.finish(GrpcStatus.OK);
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    stream.respond(OK_HEADERS, RESPOND_WITH_TRAILERS);
    stream.on('wantTrailers', sendOkTrailers);
    stream.end(frame);
  }
}

/** A server-streaming or bidi call: the ServerStream a StreamMethod handler drives. */
export class Http2StreamCall<Req, Res> extends Http2Call implements ServerStream<Req, Res> {
  private readonly method: StreamMethod<Req, Res>;
  private closeFn: (() => void) | undefined;
  private drainFn: (() => void) | undefined;
  private closeFired = false;
  /** Messages and the half-close, held until the handler subscribes (call-inbox.ts). */
  private readonly inbox = new CallInbox<Req>(() => this.done, (err) => this.end(err));
  /** ServerStream already has an onMessage (for handlers), so frames arrive through this. */
  private readonly sink: MessageSink = { onMessage: (compressed, body) => this.onFrame(compressed, body) };

  constructor(env: CallEnv, method: StreamMethod<Req, Res>, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
    super(env, method.path, stream, headers);
    this.method = method;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    // A cancelling client may half-close just before its RST_STREAM (grpc-js does): wait a
    // turn so the handler sees a cancel, not a half-close followed by a cancel.
    stream.on('end', () => setImmediate(() => (stream.aborted ? this.onStreamClosed() : this.inbox.deliver(HALF_CLOSE))));
    stream.on('drain', () => this.drainFn?.());
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
    if (this.done) return false;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return false;
    const frame = encodeFrame(this.method.encode(res));
    if (!stream.headersSent) stream.respond(OK_HEADERS, RESPOND_WITH_TRAILERS);
    return stream.write(frame);
  }

  end(err?: unknown): void {
    if (this.done) return;
    if (err !== undefined) {
      this.sendError(err);
    } else {
      const stream = this.stream;
      this.finish(GrpcStatus.OK);
      if (!stream.destroyed && !stream.closed) {
        if (!stream.headersSent) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, RESPOND_END);
        } else {
          stream.on('wantTrailers', sendOkTrailers);
          stream.end();
        }
        if (!stream.readableEnded) stream.resume();
      }
    }
    this.fireClose();
  }

  protected override onDeadline(): void {
    super.onDeadline();
    this.fireClose();
  }

  protected override onStreamClosed(): void {
    super.onStreamClosed();
    this.fireClose();
  }

  private fireClose(): void {
    if (this.closeFired || this.closeFn === undefined) return;
    this.closeFired = true;
    this.closeFn();
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    const err = this.reader.push(chunk, this.sink);
    if (err !== undefined) this.end(err);
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
