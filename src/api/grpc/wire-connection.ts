/**
 * One HTTP/2 server connection on a raw socket (RFC 9113), for WireGrpcTransport: frame
 * parsing, SETTINGS, PING, flow control both ways, stream ID rules, RST_STREAM, GOAWAY, and
 * batched writes. It knows nothing of gRPC: new requests go to `WireHost.openStream`, which
 * returns the WireStream (a call) that receives the stream's DATA and end.
 *
 * Writes are batched: frames queued while a socket read is being processed go out in one
 * write at the end of it; frames queued from elsewhere (a handler's promise resolving) go out
 * in one write on the next process.nextTick, which runs after the current microtasks, so the
 * answers of every call resolved together share a write.
 *
 * docs/grpc-transport.md "WireGrpcTransport" lists the frames, settings, limits and what each
 * error does; this file follows it.
 */
import type { Duplex } from 'node:stream';
import { HpackDecoder, HpackError, type HeaderField } from './hpack.js';
import {
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  E_COMPRESSION_ERROR,
  E_ENHANCE_YOUR_CALM,
  E_FLOW_CONTROL_ERROR,
  E_FRAME_SIZE_ERROR,
  E_INTERNAL_ERROR,
  E_NO_ERROR,
  E_PROTOCOL_ERROR,
  E_REFUSED_STREAM,
  E_STREAM_CLOSED,
  F_ACK,
  F_END_HEADERS,
  F_END_STREAM,
  F_PADDED,
  F_PRIORITY,
  FRAME_HEADER_BYTES,
  GRPC_OK_HEADERS_BLOCK,
  GRPC_OK_TRAILERS_BLOCK,
  H2_PREFACE,
  H2ConnectionError,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW,
  S_ENABLE_PUSH,
  S_HEADER_TABLE_SIZE,
  S_INITIAL_WINDOW_SIZE,
  S_MAX_CONCURRENT_STREAMS,
  S_MAX_FRAME_SIZE,
  S_MAX_HEADER_LIST_SIZE,
  SETTINGS_ACK,
  T_CONTINUATION,
  T_DATA,
  T_GOAWAY,
  T_HEADERS,
  T_PING,
  T_PRIORITY,
  T_PUSH_PROMISE,
  T_RST_STREAM,
  T_SETTINGS,
  T_WINDOW_UPDATE,
  frame,
  goAwayFrame,
  headersFrames,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './h2-frames.js';
import type { WireStream } from './wire-stream.js';

/**
 * Our SETTINGS_INITIAL_WINDOW_SIZE and connection window: the largest HTTP/2 allows, so a
 * client never waits for a WINDOW_UPDATE (a 2 MiB Put arrives in one flight). Memory stays
 * bounded anyway: DATA is handed to the call as it arrives, and a call keeps at most one
 * message of maxRecvBytes. Topped up once half is used.
 */
const LOCAL_WINDOW = MAX_WINDOW;
/**
 * Our SETTINGS_MAX_FRAME_SIZE: larger than the default 16 KiB so a big request needs fewer
 * frames; the parser holds at most one frame (plus the read it came in) per connection.
 */
const LOCAL_MAX_FRAME = 1 << 20;
/** Our SETTINGS_MAX_HEADER_LIST_SIZE (decoded size, RFC 9113 6.5.2); gRPC metadata is small. */
export const MAX_HEADER_LIST_BYTES = 64 * 1024;
/** A header block (HEADERS + CONTINUATIONs, compressed) larger than this ends the connection (a CONTINUATION flood). */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;
/** The dynamic table size our HPACK decoder keeps (the HTTP/2 default; we advertise it). */
const HEADER_TABLE_BYTES = 4096;
/**
 * RST_STREAMs a client may send, as a token bucket: a burst, then a rate per second; past it
 * the connection ends with GOAWAY ENHANCE_YOUR_CALM (the rapid-reset attack). The same values
 * as Http2GrpcTransport gives nghttp2: cancelling thousands of watch streams on one connection
 * is ordinary (test/e2e/watch-clients.test.ts).
 */
const STREAM_RESET_BURST = 100_000;
const STREAM_RESET_RATE = 10_000;
/**
 * A stream's send() reports backpressure once the socket holds this much unsent: the client
 * reads slower than we write (HTTP/2 flow control bounds the rest per stream).
 */
const SOCKET_HIGH_WATER_BYTES = 1 << 20;
/**
 * Unsent bytes past which a frame that only answers the client (PING ACK, SETTINGS ACK) ends
 * the connection with ENHANCE_YOUR_CALM: a client that sends PINGs and never reads would
 * otherwise grow our write buffer without bound (flow control bounds only DATA). nghttp2 has
 * the same guard (its outbound queue limit).
 */
const CONTROL_BACKLOG_BYTES_MAX = 16 << 20;
/** Batched frames above this size go out with writev (cork) instead of one joined Buffer. */
const JOIN_LIMIT_BYTES = 64 * 1024;

/** What a connection needs from its transport. */
export interface WireHost {
  readonly maxConcurrentStreams: number;
  /** A new request. Returns its stream, or undefined when it was answered at once (and closed). */
  openStream(conn: WireConnection, id: number, fields: HeaderField[], endStream: boolean): WireStream | undefined;
  connectionClosed(conn: WireConnection): void;
  logError(msg: string, err: unknown): void;
}

function flushTick(c: WireConnection): void {
  c.flush();
}

export class WireConnection {
  readonly socket: Duplex;
  readonly info: { readonly commonName: string } | undefined;
  private readonly host: WireHost;
  private readonly streams = new Map<number, WireStream>();
  private readonly decoder = new HpackDecoder(HEADER_TABLE_BYTES);
  /** Bytes of a frame (or the preface) not complete yet. */
  private pending: Buffer | undefined;
  private prefaceSeen = false;
  private firstFrame = true;
  /** A header block waiting for its CONTINUATIONs. */
  private cont: { id: number; flags: number; parts: Buffer[]; bytes: number } | undefined;
  private lastStreamId = 0;
  /** GOAWAY sent: no new streams; the socket ends when the last stream does. */
  private goingAway = false;
  private peerGoAway = false;
  private dead = false;
  // flow control
  peerInitialWindow = DEFAULT_WINDOW;
  readonly localInitialWindow = LOCAL_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private connSendWindow = DEFAULT_WINDOW;
  private connRecvWindow = LOCAL_WINDOW;
  /** Streams with DATA held back by flow control, in the order they blocked. */
  private readonly blocked = new Set<WireStream>();
  /** Streams waiting for the socket to drain. */
  private readonly socketWaiters = new Set<WireStream>();
  // writes
  private out: Buffer[] = [];
  private outBytes = 0;
  private reading = false;
  private flushScheduled = false;
  // RST_STREAM flood
  private resetTokens = STREAM_RESET_BURST;
  private resetRefillAt = 0;

  constructor(host: WireHost, socket: Duplex, info: { readonly commonName: string } | undefined) {
    this.host = host;
    this.socket = socket;
    this.info = info;
    this.write(
      settingsFrame([
        [S_HEADER_TABLE_SIZE, HEADER_TABLE_BYTES],
        [S_ENABLE_PUSH, 0],
        [S_MAX_CONCURRENT_STREAMS, host.maxConcurrentStreams],
        [S_INITIAL_WINDOW_SIZE, LOCAL_WINDOW],
        [S_MAX_FRAME_SIZE, LOCAL_MAX_FRAME],
        [S_MAX_HEADER_LIST_SIZE, MAX_HEADER_LIST_BYTES],
      ]),
    );
    this.write(windowUpdateFrame(0, LOCAL_WINDOW - DEFAULT_WINDOW));
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('drain', () => this.onSocketDrain());
    socket.on('error', () => {});
    socket.on('close', () => this.onSocketClosed());
    this.flush();
    socket.resume();
  }

  /** Streams in flight (tests, close). */
  get streamCount(): number {
    return this.streams.size;
  }

  get maxFrame(): number {
    return this.peerMaxFrame;
  }

  // ---- writing ----

  write(b: Buffer): void {
    if (this.dead) return;
    this.out.push(b);
    this.outBytes += b.length;
    if (!this.reading && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(flushTick, this);
    }
  }

  flush(): void {
    this.flushScheduled = false;
    const n = this.out.length;
    if (n === 0 || this.dead) return;
    const out = this.out;
    const bytes = this.outBytes;
    this.out = [];
    this.outBytes = 0;
    const socket = this.socket;
    if (n === 1) socket.write(out[0]);
    else if (bytes <= JOIN_LIMIT_BYTES) socket.write(Buffer.concat(out, bytes));
    else {
      socket.cork();
      for (const b of out) socket.write(b);
      socket.uncork();
    }
  }

  /** True when a stream sender should wait (flow control holds its DATA, or the socket is full). */
  congested(s: WireStream): boolean {
    if (s.queue !== undefined) {
      s.wantDrain = true;
      return true;
    }
    if (this.socket.writableLength + this.outBytes > SOCKET_HIGH_WATER_BYTES) {
      s.wantDrain = true;
      this.socketWaiters.add(s);
      return true;
    }
    return false;
  }

  /** HEADERS (+ CONTINUATION) on a stream; with endStream the stream ends here. */
  sendHeaders(s: WireStream, block: Buffer, endStream: boolean): void {
    if (s.localClosed) return;
    this.write(headersFrames(s.id, block, endStream, this.peerMaxFrame));
    if (endStream) this.endLocal(s);
  }

  /**
   * DATA on a stream, as flow control allows; the rest waits for WINDOW_UPDATE. `end`: a
   * trailers block to send after it (END_STREAM), null to end with the DATA, undefined to
   * keep the stream open.
   */
  sendData(s: WireStream, data: Buffer, end: Buffer | null | undefined): void {
    if (s.localClosed) return;
    if (s.queue !== undefined) {
      if (data.length > 0) {
        s.queue.push(data);
        s.queuedBytes += data.length;
      }
      if (end !== undefined) s.pendingEnd = end;
      return;
    }
    const rest = this.pushData(s, data, end === null);
    if (rest !== undefined) {
      s.queue = [rest];
      s.queuedBytes = rest.length;
      if (end !== undefined) s.pendingEnd = end;
      this.blocked.add(s);
      return;
    }
    if (end === null) this.endLocal(s);
    else if (end !== undefined) this.sendHeaders(s, end, true);
  }

  /**
   * The common unary answer in one buffer: HEADERS (200, application/grpc), DATA (the gRPC
   * frame of `message`), trailers (grpc-status 0). Returns false when flow control or the
   * frame size does not let it go at once (the caller then uses sendHeaders/sendData).
   */
  replyUnary(s: WireStream, message: Uint8Array): boolean {
    const len = message.length + 5;
    if (s.localClosed || len > s.sendWindow || len > this.connSendWindow || len > this.peerMaxFrame) return false;
    const hb = GRPC_OK_HEADERS_BLOCK;
    const tb = GRPC_OK_TRAILERS_BLOCK;
    const out = Buffer.allocUnsafe(3 * FRAME_HEADER_BYTES + hb.length + len + tb.length);
    let o = 0;
    writeFrameHeader(out, o, hb.length, T_HEADERS, F_END_HEADERS, s.id);
    o += FRAME_HEADER_BYTES;
    hb.copy(out, o);
    o += hb.length;
    writeFrameHeader(out, o, len, T_DATA, 0, s.id);
    o += FRAME_HEADER_BYTES;
    out[o] = 0;
    out.writeUInt32BE(message.length, o + 1);
    out.set(message, o + 5);
    o += len;
    writeFrameHeader(out, o, tb.length, T_HEADERS, F_END_HEADERS | F_END_STREAM, s.id);
    o += FRAME_HEADER_BYTES;
    tb.copy(out, o);
    s.sendWindow -= len;
    this.connSendWindow -= len;
    this.write(out);
    this.endLocal(s);
    return true;
  }

  /** Reset a stream from our side (the call gave up on it); no callback to the stream. */
  resetStream(s: WireStream, code: number): void {
    if (s.localClosed) return;
    this.write(rstStreamFrame(s.id, code));
    this.removeStream(s);
  }

  /** Send what fits of `data`; returns what did not (undefined when all went). */
  private pushData(s: WireStream, data: Buffer, endStream: boolean): Buffer | undefined {
    let off = 0;
    const total = data.length;
    if (total === 0) {
      if (endStream) this.write(frame(T_DATA, F_END_STREAM, s.id, undefined));
      return undefined;
    }
    while (off < total) {
      const n = Math.min(total - off, s.sendWindow, this.connSendWindow, this.peerMaxFrame);
      if (n <= 0) break;
      const last = off + n === total;
      const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      writeFrameHeader(head, 0, n, T_DATA, last && endStream ? F_END_STREAM : 0, s.id);
      this.write(head);
      this.write(off === 0 && n === total ? data : data.subarray(off, off + n));
      s.sendWindow -= n;
      this.connSendWindow -= n;
      off += n;
    }
    return off < total ? data.subarray(off) : undefined;
  }

  /** Windows opened: let blocked streams go on, in the order they blocked. */
  private pump(): void {
    for (const s of this.blocked) {
      if (this.connSendWindow <= 0) return;
      if (s.sendWindow <= 0) continue;
      const q = s.queue!;
      while (q.length > 0) {
        const head = q[0]!;
        const rest = this.pushData(s, head, q.length === 1 && s.pendingEnd === null);
        if (rest !== undefined) {
          s.queuedBytes -= head.length - rest.length;
          q[0] = rest;
          break;
        }
        s.queuedBytes -= head.length;
        q.shift();
      }
      if (q.length > 0) continue;
      this.blocked.delete(s);
      s.queue = undefined;
      s.queuedBytes = 0;
      const end = s.pendingEnd;
      s.pendingEnd = undefined;
      if (end === null) this.endLocal(s);
      else if (end !== undefined) this.sendHeaders(s, end, true);
      else if (s.wantDrain) {
        s.wantDrain = false;
        s.onWritable();
      }
    }
  }

  private onSocketDrain(): void {
    if (this.socketWaiters.size === 0) return;
    const waiters = [...this.socketWaiters];
    this.socketWaiters.clear();
    for (const s of waiters) {
      if (s.localClosed || s.queue !== undefined) continue;
      s.wantDrain = false;
      s.onWritable();
    }
  }

  /** We sent END_STREAM: the stream is over on our side. */
  private endLocal(s: WireStream): void {
    // The client has not finished sending: tell it to stop (as grpc-go does after trailers).
    if (!s.remoteClosed) this.write(rstStreamFrame(s.id, E_NO_ERROR));
    this.removeStream(s);
  }

  private removeStream(s: WireStream): void {
    s.localClosed = true;
    this.streams.delete(s.id);
    this.blocked.delete(s);
    this.socketWaiters.delete(s);
    s.queue = undefined;
    if ((this.goingAway || this.peerGoAway) && this.streams.size === 0) this.endSocket();
  }

  // ---- closing ----

  /** Graceful close: GOAWAY, no new streams; the socket ends when the last stream does. */
  goAway(): void {
    if (this.goingAway || this.dead) return;
    this.goingAway = true;
    this.write(goAwayFrame(this.lastStreamId, E_NO_ERROR));
    if (this.streams.size === 0) this.endSocket();
  }

  /** Drop the connection now; calls in flight see a cancel. */
  destroy(): void {
    this.cancelAll();
    this.flush();
    this.dead = true;
    this.socket.destroy();
  }

  /** A connection error (RFC 9113 5.4.1): GOAWAY with the code, cancel every call, close. */
  private fail(code: number, reason: string): void {
    if (this.dead) return;
    this.goingAway = true;
    this.write(goAwayFrame(this.lastStreamId, code, reason));
    this.cancelAll();
    this.endSocket();
  }

  private endSocket(): void {
    if (this.dead) return;
    this.flush();
    this.dead = true;
    this.socket.end();
    // A client that never closes its side must not hold the socket.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private cancelAll(): void {
    const all = [...this.streams.values()];
    for (const s of all) {
      this.removeStream(s);
      s.remoteClosed = true;
      try {
        s.onReset();
      } catch (err) {
        this.host.logError('grpc: cancel failed', err);
      }
    }
  }

  private onSocketClosed(): void {
    this.cancelAll();
    this.dead = true;
    this.out = [];
    this.host.connectionClosed(this);
  }

  // ---- reading ----

  private onSocketData(chunk: Buffer): void {
    if (this.dead) return;
    this.reading = true;
    try {
      this.parse(chunk);
    } catch (err) {
      if (err instanceof H2ConnectionError) this.fail(err.code, err.message);
      else if (err instanceof HpackError) this.fail(E_COMPRESSION_ERROR, err.message);
      else {
        this.host.logError('grpc: connection failed', err);
        this.fail(E_INTERNAL_ERROR, 'internal error');
      }
    } finally {
      this.reading = false;
      this.flush();
    }
  }

  private parse(chunk: Buffer): void {
    let buf = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = undefined;
    let off = 0;
    if (!this.prefaceSeen) {
      if (buf.length < H2_PREFACE.length) {
        if (!buf.equals(H2_PREFACE.subarray(0, buf.length))) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'bad client preface');
        this.pending = buf;
        return;
      }
      if (!buf.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'bad client preface');
      this.prefaceSeen = true;
      off = H2_PREFACE.length;
    }
    const len = buf.length;
    while (len - off >= FRAME_HEADER_BYTES && !this.dead) {
      const size = (buf[off]! << 16) | (buf[off + 1]! << 8) | buf[off + 2]!;
      if (size > LOCAL_MAX_FRAME) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, `frame of ${size} bytes over SETTINGS_MAX_FRAME_SIZE ${LOCAL_MAX_FRAME}`);
      if (len - off < FRAME_HEADER_BYTES + size) break;
      const type = buf[off + 3]!;
      const flags = buf[off + 4]!;
      const id = buf.readUInt32BE(off + 5) & 0x7fff_ffff;
      const payload = buf.subarray(off + FRAME_HEADER_BYTES, off + FRAME_HEADER_BYTES + size);
      off += FRAME_HEADER_BYTES + size;
      this.onFrame(type, flags, id, payload);
    }
    if (off < len && !this.dead) {
      buf = off === 0 ? buf : buf.subarray(off);
      // Keep a copy only when the rest is small; a large partial frame keeps its chunk.
      this.pending = buf;
    }
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.firstFrame) {
      this.firstFrame = false;
      if (type !== T_SETTINGS || (flags & F_ACK) !== 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'the client preface must be followed by SETTINGS');
    }
    if (this.cont !== undefined && type !== T_CONTINUATION) {
      throw new H2ConnectionError(E_PROTOCOL_ERROR, 'expected CONTINUATION');
    }
    switch (type) {
      case T_DATA:
        this.onDataFrame(flags, id, payload);
        return;
      case T_HEADERS:
        this.onHeadersFrame(flags, id, payload);
        return;
      case T_CONTINUATION:
        this.onContinuation(flags, id, payload);
        return;
      case T_PRIORITY:
        if (id === 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'PRIORITY length');
        return;
      case T_RST_STREAM:
        this.onRstStream(id, payload);
        return;
      case T_SETTINGS:
        this.onSettings(flags, id, payload);
        return;
      case T_PUSH_PROMISE:
        throw new H2ConnectionError(E_PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case T_PING:
        if (id !== 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'PING length');
        if ((flags & F_ACK) === 0) {
          this.checkControlBacklog();
          this.write(frame(T_PING, F_ACK, 0, payload));
        }
        return;
      case T_GOAWAY:
        if (id !== 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'GOAWAY on a stream');
        if (payload.length < 8) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'GOAWAY length');
        this.peerGoAway = true;
        if (this.streams.size === 0) this.endSocket();
        return;
      case T_WINDOW_UPDATE:
        this.onWindowUpdate(id, payload);
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 4.1)
    }
  }

  /** Strip padding (and the priority fields of HEADERS); PROTOCOL_ERROR when the padding does not fit. */
  private unpad(flags: number, payload: Buffer, priority: boolean): Buffer {
    let start = 0;
    let end = payload.length;
    if (flags & F_PADDED) {
      if (payload.length < 1) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'padded frame too short');
      start = 1;
      end -= payload[0]!;
    }
    if (priority && flags & F_PRIORITY) start += 5;
    if (end < start) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'padding longer than the frame');
    return start === 0 && end === payload.length ? payload : payload.subarray(start, end);
  }

  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'DATA on stream 0');
    if (id > this.lastStreamId) throw new H2ConnectionError(E_PROTOCOL_ERROR, `DATA on idle stream ${id}`);
    // Flow control counts the whole payload, padding included.
    const n = payload.length;
    this.connRecvWindow -= n;
    if (this.connRecvWindow < 0) throw new H2ConnectionError(E_FLOW_CONTROL_ERROR, 'connection window exceeded');
    if (this.connRecvWindow < LOCAL_WINDOW / 2) {
      this.write(windowUpdateFrame(0, LOCAL_WINDOW - this.connRecvWindow));
      this.connRecvWindow = LOCAL_WINDOW;
    }
    const data = this.unpad(flags, payload, false);
    const s = this.streams.get(id);
    if (s === undefined) return; // a stream we already closed: its late DATA is dropped
    if (s.remoteClosed) {
      // RFC 9113 5.1: DATA after END_STREAM is a stream error STREAM_CLOSED.
      this.write(rstStreamFrame(id, E_STREAM_CLOSED));
      this.removeStream(s);
      s.onReset();
      return;
    }
    s.recvWindow -= n;
    if (s.recvWindow < 0) {
      this.write(rstStreamFrame(id, E_FLOW_CONTROL_ERROR));
      this.removeStream(s);
      s.remoteClosed = true;
      s.onReset();
      return;
    }
    if (s.recvWindow < LOCAL_WINDOW / 2 && (flags & F_END_STREAM) === 0) {
      this.write(windowUpdateFrame(id, LOCAL_WINDOW - s.recvWindow));
      s.recvWindow = LOCAL_WINDOW;
    }
    if (data.length > 0) s.onData(data);
    if (flags & F_END_STREAM && !s.localClosed) {
      s.remoteClosed = true;
      s.onRemoteEnd();
    } else if (flags & F_END_STREAM) {
      s.remoteClosed = true;
    }
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'HEADERS on stream 0');
    if ((id & 1) === 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, `client stream ${id} has an even id`);
    const fragment = this.unpad(flags, payload, true);
    if (flags & F_END_HEADERS) {
      this.onHeaderBlock(flags, id, fragment);
      return;
    }
    this.cont = { id, flags, parts: [fragment], bytes: fragment.length };
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const c = this.cont;
    if (c === undefined) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    if (id !== c.id) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'CONTINUATION on another stream');
    c.parts.push(payload);
    c.bytes += payload.length;
    if (c.bytes > MAX_HEADER_BLOCK_BYTES) throw new H2ConnectionError(E_ENHANCE_YOUR_CALM, 'header block too large');
    if ((flags & F_END_HEADERS) === 0) return;
    this.cont = undefined;
    this.onHeaderBlock(c.flags, id, Buffer.concat(c.parts, c.bytes));
  }

  private onHeaderBlock(flags: number, id: number, block: Buffer): void {
    // Decode every block, even one we refuse: the dynamic table must stay in step with the client's.
    const fields = this.decoder.decode(block);
    const endStream = (flags & F_END_STREAM) !== 0;
    const s = this.streams.get(id);
    if (s !== undefined) {
      // Trailers from the client: they must end the stream.
      if (!endStream || s.remoteClosed) {
        this.write(rstStreamFrame(id, E_PROTOCOL_ERROR));
        this.removeStream(s);
        s.remoteClosed = true;
        s.onReset();
        return;
      }
      s.remoteClosed = true;
      s.onRemoteEnd();
      return;
    }
    if (id <= this.lastStreamId) {
      // Trailers (END_STREAM) of a stream we already answered: its END_STREAM crossed our
      // answer. Anything else reuses or goes back in ids (RFC 9113 5.1.1).
      if (endStream) return;
      throw new H2ConnectionError(E_PROTOCOL_ERROR, `stream id ${id} not above ${this.lastStreamId}`);
    }
    this.lastStreamId = id;
    if (this.goingAway || this.peerGoAway) return; // after our GOAWAY: ignored, the client retries elsewhere
    if (this.streams.size >= this.host.maxConcurrentStreams) {
      this.write(rstStreamFrame(id, E_REFUSED_STREAM));
      return;
    }
    let listBytes = 0;
    for (const f of fields) listBytes += f[0].length + f[1].length + 32;
    if (listBytes > MAX_HEADER_LIST_BYTES) {
      this.write(rstStreamFrame(id, E_PROTOCOL_ERROR));
      return;
    }
    const stream = this.host.openStream(this, id, fields, endStream);
    if (stream !== undefined && !stream.localClosed) this.streams.set(id, stream);
  }

  private onRstStream(id: number, payload: Buffer): void {
    if (id === 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'RST_STREAM length');
    if (id > this.lastStreamId) throw new H2ConnectionError(E_PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
    const now = Date.now();
    if (this.resetRefillAt === 0) this.resetRefillAt = now;
    if (now > this.resetRefillAt) {
      this.resetTokens = Math.min(STREAM_RESET_BURST, this.resetTokens + ((now - this.resetRefillAt) * STREAM_RESET_RATE) / 1000);
      this.resetRefillAt = now;
    }
    if (--this.resetTokens < 0) throw new H2ConnectionError(E_ENHANCE_YOUR_CALM, 'too many stream resets');
    const s = this.streams.get(id);
    if (s === undefined) return;
    this.removeStream(s);
    s.remoteClosed = true;
    s.onReset();
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & F_ACK) {
      if (payload.length !== 0) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'SETTINGS length');
    let windowDelta = 0;
    for (let o = 0; o < payload.length; o += 6) {
      const key = payload.readUInt16BE(o);
      const value = payload.readUInt32BE(o + 2);
      switch (key) {
        case S_ENABLE_PUSH:
          if (value > 1) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH not 0 or 1');
          break;
        case S_INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW) throw new H2ConnectionError(E_FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1');
          windowDelta += value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          break;
        case S_MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME || value > MAX_FRAME_SIZE_LIMIT) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
          this.peerMaxFrame = value;
          break;
        default:
          // HEADER_TABLE_SIZE: our encoder never uses the dynamic table. MAX_CONCURRENT_STREAMS:
          // we open no streams. MAX_HEADER_LIST_SIZE: our response headers are small. Unknown: ignored.
          break;
      }
    }
    if (windowDelta !== 0) {
      for (const s of this.streams.values()) {
        s.sendWindow += windowDelta;
        if (s.sendWindow > MAX_WINDOW) throw new H2ConnectionError(E_FLOW_CONTROL_ERROR, 'stream window over 2^31-1');
      }
    }
    this.checkControlBacklog();
    this.write(SETTINGS_ACK);
    if (windowDelta > 0) this.pump();
  }

  /** A client that makes us answer and does not read what we write: a connection error. */
  private checkControlBacklog(): void {
    if (this.socket.writableLength + this.outBytes > CONTROL_BACKLOG_BYTES_MAX) {
      throw new H2ConnectionError(E_ENHANCE_YOUR_CALM, 'the client does not read what it asks for');
    }
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ConnectionError(E_FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const inc = payload.readUInt32BE(0) & 0x7fff_ffff;
    if (id === 0) {
      if (inc === 0) throw new H2ConnectionError(E_PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.connSendWindow += inc;
      if (this.connSendWindow > MAX_WINDOW) throw new H2ConnectionError(E_FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
      this.pump();
      return;
    }
    if (id > this.lastStreamId) throw new H2ConnectionError(E_PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (inc === 0 || s.sendWindow + inc > MAX_WINDOW) {
      this.write(rstStreamFrame(id, inc === 0 ? E_PROTOCOL_ERROR : E_FLOW_CONTROL_ERROR));
      this.removeStream(s);
      s.remoteClosed = true;
      s.onReset();
      return;
    }
    s.sendWindow += inc;
    if (this.blocked.has(s)) this.pump();
  }
}
