/**
 * The client-facing gRPC transport contract (docs/grpc-transport.md).
 *
 * A method handler works on decoded messages; the transport owns framing, codecs,
 * status codes, deadlines and cancellation. Two implementations share this interface:
 * `Http2GrpcTransport` (production, a thin gRPC layer on node:http2) and
 * `GrpcJsTransport` (the reference, on @grpc/grpc-js; used by tests to check the two agree).
 */

/** Per-call information a handler may read. */
export interface CallContext {
  /** The first value of a request metadata key (lower-case), e.g. 'token' for auth. */
  metadata(key: string): string | undefined;
  /** Absolute deadline in ms since the epoch (Date.now() clock), from grpc-timeout. */
  readonly deadline: number | undefined;
  /** Aborted when the client cancels, disconnects, the server shuts down or the deadline passes; not on a normal end. */
  readonly signal: AbortSignal;
  /** The method path, e.g. '/etcdserverpb.KV/Put'. */
  readonly path: string;
  /**
   * The Common Name of the client's verified TLS certificate, when the port checks client
   * certificates (--client-cert-auth); etcd takes it as the user name when no token is sent.
   */
  readonly tlsCommonName?: string | undefined;
}

/** Encode/decode pair for one message type: the generated protobufjs static code fits. */
export interface MethodCodec<Req, Res> {
  /** '/package.Service/Method', exactly as on the wire. */
  readonly path: string;
  /** Throws on malformed bytes; the transport answers INTERNAL "grpc: error unmarshalling request: ...". */
  decode(bytes: Uint8Array): Req;
  encode(res: Res): Uint8Array;
}

export interface UnaryMethod<Req, Res> extends MethodCodec<Req, Res> {
  /** Throw (or reject with) an EtcdError to answer its grpcStatus + message; anything else becomes INTERNAL. */
  handler(req: Req, ctx: CallContext): Promise<Res> | Res;
}

/** A server side of a streaming call, for Watch, LeaseKeepAlive, Snapshot, Observe. */
export interface ServerStream<Req, Res> {
  /** Called for every decoded client message (server-streaming calls get exactly one). */
  onMessage(fn: (req: Req) => void): void;
  /** Called once when the client half-closes (no more messages will come). */
  onHalfClose(fn: () => void): void;
  /** Called once when the call is over for any reason (finished, cancelled, connection lost). */
  onClose(fn: () => void): void;
  /** Send one message. Returns false when the transport's buffer is full: wait for onDrain. */
  send(res: Res): boolean;
  /** Called when a full buffer has drained. */
  onDrain(fn: () => void): void;
  /** Finish the call: OK without an error, else the error's status (EtcdError) or INTERNAL. */
  end(err?: unknown): void;
  /** True once the call is finished or cancelled; send() is then a no-op. */
  readonly closed: boolean;
}

export type StreamKind = 'bidi' | 'server';

export interface StreamMethod<Req, Res> extends MethodCodec<Req, Res> {
  readonly kind: StreamKind;
  handler(stream: ServerStream<Req, Res>, ctx: CallContext): void;
}

export interface GrpcTransportOptions {
  /**
   * Largest message accepted from a client, in bytes. etcd sets it to
   * --max-request-bytes + 512 KiB of gRPC overhead; grpc-go's default is 4 MiB.
   * A larger message is answered RESOURCE_EXHAUSTED.
   */
  maxRecvBytes?: number;
  /** Largest message sent to a client, in bytes (etcd: math.MaxInt32). */
  maxSendBytes?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection (etcd: --max-concurrent-streams, default 2^32-1). */
  maxConcurrentStreams?: number;
  /**
   * Called once per call with the status it ended with (CANCELLED when the client went
   * away first), for metrics such as etcd's grpc_server_handled_total. Keep it cheap.
   */
  onHandled?: (path: string, code: import('../../errors/errors.js').GrpcStatus) => void;
  /** Where handler errors that are not EtcdErrors are logged. Default: console.error. */
  logError?: (msg: string, err: unknown) => void;
}

/** grpc-go's default server max receive size (4 MiB). */
export const DEFAULT_MAX_RECV_BYTES = 4 * 1024 * 1024;
/** etcd's default --max-request-bytes (1.5 MiB) + the 512 KiB gRPC overhead etcd adds. */
export const ETCD_DEFAULT_MAX_RECV_BYTES = 1.5 * 1024 * 1024 + 512 * 1024;
/**
 * Streams per connection we advertise. grpc-go (and so etcd) default to 2^32-1; Node's
 * nghttp2 accepts up to 2^32-1 too, but a bound keeps one connection from holding
 * unbounded server memory. 100 clients share 10 connections in the benchmarks, so
 * 10,000 is far beyond what a healthy client opens; the metric that says it is wrong is
 * clients seeing REFUSED_STREAM.
 */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 10_000;

/** What the listener learnt about a connection (TLS client certificate). */
export interface ConnectionInfo {
  /** Common Name of the verified client certificate (--client-cert-auth). */
  readonly commonName: string;
}

/**
 * A connection handed over by the shared-port listener (client-listener.ts): a socket
 * (plain or TLS), or a stream in front of one (h2-authority.ts AuthorityRewriter).
 */
export type ConnectionSink = (socket: import('node:stream').Duplex, info?: ConnectionInfo) => void;

export interface GrpcTransport {
  addUnary<Req, Res>(m: UnaryMethod<Req, Res>): void;
  addStream<Req, Res>(m: StreamMethod<Req, Res>): void;
  /** A function that takes a plaintext socket whose first bytes are the HTTP/2 preface. */
  connectionSink(): ConnectionSink;
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS this transport's HTTP/2 side advertises. A listener that
   * speaks first on a connection (h2-authority.ts) must advertise the same value, since a
   * client takes the first SETTINGS it sees as the server's limit.
   */
  readonly maxConcurrentStreams: number;
  /**
   * True when the transport parses HTTP/2 itself and takes any :authority: the listener then
   * hands it HTTP/2 connections directly, without sniffH2's look at the first request.
   */
  readonly acceptsAnyAuthority?: boolean;
  /** Stop accepting calls; close open connections after graceMs (default 0: at once). */
  close(graceMs?: number): Promise<void>;
}
