/**
 * Accept every :authority an etcd client sends, though nghttp2 (inside node:http2) refuses
 * some of them.
 *
 * nghttp2 resets a request stream with PROTOCOL_ERROR, before Node sees it, when :authority
 * is missing, empty, or holds a byte outside its authority set (letters, digits and
 * `!$%&'()*+,-.:;=@[]_~`; so no `/`). etcd's Go client v3.4 and v3.5.0 send
 * `:authority: http://127.0.0.1:2379` for per-endpoint calls (Status, HashKV, Defragment:
 * they dial `passthrough:///<endpoint>`, etcd issue #13192), and the real etcd (grpc-go)
 * answers them. Node has no option to turn that check off.
 *
 * So the listener looks at the first request of every HTTP/2 connection before nghttp2 does:
 *
 *   client                       listener (sniffH2)                    nghttp2
 *   preface, SETTINGS      --->  answers an empty SETTINGS at once
 *   SETTINGS ACK           --->  swallowed (it acknowledges ours, not nghttp2's)
 *   PING                   --->  answered while sniffing (never forwarded)
 *   HEADERS (1st request)  --->  decoded (HPACK); its :authority decides:
 *                                  valid   -> the socket itself goes to nghttp2 (native, fast)
 *                                  invalid -> AuthorityRewriter: a JS stream in between that
 *                                             re-encodes every request header block with a
 *                                             valid :authority, for the whole connection
 *
 * Almost every connection takes the native path and pays only this first look. The few that
 * need rewriting (etcdctl's per-endpoint calls) pay a JS stream hop per chunk; their
 * header blocks are decoded with the client's dynamic table and re-encoded as literals
 * without indexing, so nghttp2's table stays empty and in step. DATA and every other frame
 * pass through untouched. A connection whose first request has a valid :authority and a
 * later one an invalid one would still be reset: no client we know does that (a gRPC
 * channel has one authority).
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { HpackDecoder, HpackError, encodeLiterals, type HeaderField } from './hpack.js';

export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const FRAME_HEADER = 9;
const T_HEADERS = 1;
const T_SETTINGS = 4;
const T_PING = 6;
const T_CONTINUATION = 9;
const F_ACK = 0x1;
const F_END_STREAM = 0x1;
const F_END_HEADERS = 0x4;
const F_PADDED = 0x8;
const F_PRIORITY = 0x20;
/** SETTINGS_MAX_FRAME_SIZE nghttp2 accepts by default (Node does not raise it): re-encoded blocks are cut to it. */
const MAX_FRAME_BYTES = 16_384;
/** A frame larger than this is not HTTP/2 as Node speaks it (16 MiB is the protocol's cap). */
const FRAME_LIMIT = 1 << 24;
/** A header block (HEADERS + CONTINUATIONs) we buffer to decode: nghttp2's own cap is 64 KiB of headers by default. */
const MAX_HEADER_BLOCK = 256 * 1024;

/**
 * What sniffH2 may hold before the first request decides: flow control bounds DATA (64 KiB
 * windows until nghttp2's SETTINGS), so only a client flooding control frames gets here.
 */
const MAX_SNIFF_BYTES = 1 << 20;

/**
 * The SETTINGS frame sent before nghttp2 takes over: SETTINGS_MAX_CONCURRENT_STREAMS (0x3) and
 * SETTINGS_ENABLE_PUSH (0x2) = 0, as nghttp2's will say. The windows stay at the protocol's
 * defaults until nghttp2's SETTINGS raises them.
 */
function firstSettings(maxConcurrentStreams: number): Buffer {
  const f = Buffer.alloc(9 + 12);
  f.writeUIntBE(12, 0, 3);
  f[3] = T_SETTINGS;
  f.writeUInt16BE(0x2, 9);
  f.writeUInt32BE(0, 11);
  f.writeUInt16BE(0x3, 15);
  f.writeUInt32BE(maxConcurrentStreams, 17);
  return f;
}

// nghttp2's authority characters (lib/nghttp2_http.c check_authority), as a lookup table.
const VALID = new Uint8Array(256);
for (const ch of "!$%&'()*+,-.:;=@[]_~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") VALID[ch.charCodeAt(0)] = 1;

/** Would nghttp2 accept this :authority value? (undefined: the field is missing, which it refuses too.) */
export function isValidAuthority(v: string | undefined): boolean {
  if (v === undefined || v.length === 0) return false;
  for (let i = 0; i < v.length; i++) if (VALID[v.charCodeAt(i)] !== 1) return false;
  return true;
}

/**
 * A valid :authority for a request that sent `v`: the host[:port] inside a URL
 * (`http://127.0.0.1:2379` -> `127.0.0.1:2379`, `unix://localhost:1234` -> `localhost:1234`),
 * else `fallback` (the address the client connected to). The server never acts on it.
 */
export function fixAuthority(v: string | undefined, fallback: string): string {
  if (isValidAuthority(v)) return v!;
  const m = v === undefined ? null : /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(v);
  if (m !== null && isValidAuthority(m[1])) return m[1]!;
  return isValidAuthority(fallback) ? fallback : 'localhost';
}

function frameHeader(len: number, type: number, flags: number, streamId: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER);
  h.writeUIntBE(len, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return h;
}

/** The header block fragment of a HEADERS frame payload (padding and priority removed) and its priority bytes. */
function headersFragment(flags: number, payload: Buffer): { fragment: Buffer; priority: Buffer | undefined } {
  let start = 0;
  let end = payload.length;
  if (flags & F_PADDED) {
    if (payload.length < 1) throw new HpackError('h2: HEADERS too short for its padding');
    end -= payload[0]!;
    start = 1;
  }
  let priority: Buffer | undefined;
  if (flags & F_PRIORITY) {
    priority = payload.subarray(start, start + 5);
    start += 5;
  }
  if (end < start) throw new HpackError('h2: HEADERS padding longer than the frame');
  return { fragment: payload.subarray(start, end), priority };
}

/** Frames cut from a byte stream; `rest` holds an incomplete tail. */
class FrameCutter {
  private rest: Buffer | undefined;

  /** Calls `each` with every complete frame in order; returns false if a frame is impossibly large. */
  push(chunk: Buffer, each: (type: number, flags: number, streamId: number, frame: Buffer) => void): boolean {
    const buf = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = undefined;
    let off = 0;
    while (buf.length - off >= FRAME_HEADER) {
      const len = buf.readUIntBE(off, 3);
      if (len > FRAME_LIMIT) return false;
      if (buf.length - off < FRAME_HEADER + len) break;
      const frame = buf.subarray(off, off + FRAME_HEADER + len);
      each(buf[off + 3]!, buf[off + 4]!, buf.readUInt32BE(off + 5) & 0x7fffffff, frame);
      off += FRAME_HEADER + len;
    }
    if (off < buf.length) this.rest = buf.subarray(off);
    return true;
  }

  get buffered(): Buffer | undefined {
    return this.rest;
  }
}

export type SniffVerdict = 'native' | 'rewrite';

export interface SniffOptions {
  /** Give up waiting for the first request after this long and go native. */
  timeoutMs: number;
  /**
   * SETTINGS_MAX_CONCURRENT_STREAMS for the SETTINGS sent at once: nghttp2's own SETTINGS
   * comes only after the verdict, and clients take the first one as the server's limit.
   */
  maxConcurrentStreams: number;
}

/**
 * Watch the start of an HTTP/2 connection whose first bytes (`initial`, from the preface on)
 * were already read; see the file comment. `done` gets the verdict and every byte read so
 * far minus what was consumed here (our SETTINGS' ACK, PINGs), to be unshifted or replayed.
 * `fail` is called (and nothing else) if the connection ends or breaks the protocol first.
 */
export function sniffH2(
  socket: Socket,
  initial: Buffer,
  opts: SniffOptions,
  done: (verdict: SniffVerdict, bytes: Buffer) => void,
  fail: (reason: string) => void,
): void {
  const kept: Buffer[] = [H2_PREFACE];
  const cutter = new FrameCutter();
  const decoder = new HpackDecoder();
  let acked = false;
  let verdict: SniffVerdict | undefined;
  let block: Buffer[] | undefined; // fragments of the first request's header block
  let finished = false;
  let keptBytes = 0;

  const finish = (v: SniffVerdict): void => {
    finished = true;
    socket.pause();
    cleanup();
    const tail = cutter.buffered;
    done(v, Buffer.concat(tail === undefined ? kept : [...kept, tail]));
  };
  const abort = (reason: string): void => {
    finished = true;
    socket.pause();
    cleanup();
    fail(reason);
  };
  const onFrame = (type: number, flags: number, _streamId: number, frame: Buffer): void => {
    if (type === T_SETTINGS && flags & F_ACK && !acked) {
      acked = true; // ours: nghttp2 never sent a SETTINGS this could acknowledge
      return;
    }
    if (type === T_PING && !(flags & F_ACK) && verdict === undefined) {
      const pong = Buffer.from(frame);
      pong[4] = F_ACK;
      socket.write(pong);
      return;
    }
    kept.push(frame);
    keptBytes += frame.length;
    if (keptBytes > MAX_SNIFF_BYTES) throw new HpackError('h2: too much before the first request');
    if (verdict !== undefined) return;
    if (type === T_HEADERS && block === undefined) {
      const { fragment } = headersFragment(flags, frame.subarray(FRAME_HEADER));
      block = [fragment];
      if (flags & F_END_HEADERS) decide();
    } else if (type === T_CONTINUATION && block !== undefined) {
      block.push(frame.subarray(FRAME_HEADER));
      if (block.reduce((n, b) => n + b.length, 0) > MAX_HEADER_BLOCK) throw new HpackError('h2: header block too large');
      if (flags & F_END_HEADERS) decide();
    }
  };
  const decide = (): void => {
    const fields = decoder.decode(Buffer.concat(block!));
    const authority = fields.find((f) => f[0] === ':authority')?.[1];
    verdict = isValidAuthority(authority) ? 'native' : 'rewrite';
  };
  const onData = (chunk: Buffer): void => {
    try {
      if (!cutter.push(chunk, onFrame)) return abort('h2: frame larger than the protocol allows');
    } catch (err) {
      return abort(err instanceof Error ? err.message : String(err));
    }
    if (acked && verdict !== undefined) finish(verdict);
  };
  const onEnd = (): void => abort('connection closed before its first request');
  const onError = (err: Error): void => abort(err.message);
  const onTimeout = (): void => finish(verdict ?? 'native');
  const cleanup = (): void => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
    socket.off('timeout', onTimeout);
    socket.setTimeout(0);
  };

  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('timeout', onTimeout);
  socket.setTimeout(opts.timeoutMs);
  socket.write(firstSettings(opts.maxConcurrentStreams));
  const rest = initial.subarray(H2_PREFACE.length);
  if (rest.length > 0) onData(Buffer.from(rest));
  if (!finished) socket.resume();
}

/**
 * The JS stream that stands between a client and nghttp2 for a connection that sends
 * :authority values nghttp2 refuses: request header blocks are decoded and re-encoded with
 * a valid :authority (fixAuthority), everything else passes through as it came.
 */
export class AuthorityRewriter extends Duplex {
  private readonly socket: Socket;
  private readonly cutter = new FrameCutter();
  private readonly decoder = new HpackDecoder();
  private readonly fallback: string;
  private prefaceLeft = H2_PREFACE.length;
  /** Highest client stream that has sent its request headers: later HEADERS on it are trailers. */
  private lastRequestStream = 0;
  private pending: { streamId: number; flags: number; priority: Buffer | undefined; fragments: Buffer[]; size: number } | undefined;

  /**
   * @param replay bytes already read from the socket, from the preface on
   * @param fallback the :authority to use when the client's holds no host (the local address)
   */
  constructor(socket: Socket, replay: Buffer, fallback: string) {
    super({ allowHalfOpen: false });
    this.socket = socket;
    this.fallback = fallback;
    socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    if (replay.length > 0) this.onSocketData(replay);
  }

  /** The socket below (for TLS peer certificates and addresses). */
  get inner(): Socket {
    return this.socket;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.socket.write(chunk)) cb();
    else this.socket.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  private onSocketData(chunk: Buffer): void {
    if (this.prefaceLeft > 0) {
      const n = Math.min(this.prefaceLeft, chunk.length);
      this.prefaceLeft -= n;
      if (!this.push(chunk.subarray(0, n))) this.socket.pause();
      chunk = chunk.subarray(n);
      if (chunk.length === 0) return;
    }
    const out: Buffer[] = [];
    let ok: boolean;
    try {
      ok = this.cutter.push(chunk, (type, flags, streamId, frame) => this.onFrame(type, flags, streamId, frame, out));
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (!ok) {
      this.destroy(new Error('h2: frame larger than the protocol allows'));
      return;
    }
    if (out.length > 0 && !this.push(out.length === 1 ? out[0]! : Buffer.concat(out))) this.socket.pause();
  }

  private onFrame(type: number, flags: number, streamId: number, frame: Buffer, out: Buffer[]): void {
    if (type === T_HEADERS) {
      const { fragment, priority } = headersFragment(flags, frame.subarray(FRAME_HEADER));
      this.pending = { streamId, flags, priority, fragments: [fragment], size: fragment.length };
    } else if (type === T_CONTINUATION && this.pending !== undefined) {
      this.pending.fragments.push(frame.subarray(FRAME_HEADER));
      this.pending.size += frame.length - FRAME_HEADER;
      if (this.pending.size > MAX_HEADER_BLOCK) throw new HpackError('h2: header block too large');
    } else {
      // DATA and the rest, untouched (a CONTINUATION without HEADERS: nghttp2 will refuse it).
      out.push(frame);
      return;
    }
    if (!(flags & F_END_HEADERS)) return;
    const p = this.pending;
    this.pending = undefined;
    let fields: HeaderField[] = this.decoder.decode(Buffer.concat(p.fragments));
    if (p.streamId > this.lastRequestStream) {
      this.lastRequestStream = p.streamId;
      const i = fields.findIndex((f) => f[0] === ':authority');
      const authority = fixAuthority(i >= 0 ? fields[i]![1] : undefined, this.fallback);
      if (i >= 0) fields[i] = [':authority', authority];
      else fields = [...fields.filter((f) => f[0].startsWith(':')), [':authority', authority], ...fields.filter((f) => !f[0].startsWith(':'))];
    }
    this.emitHeaders(p.streamId, p.flags & F_END_STREAM, p.priority, encodeLiterals(fields), out);
  }

  private emitHeaders(streamId: number, endStream: number, priority: Buffer | undefined, block: Buffer, out: Buffer[]): void {
    const first = priority === undefined ? 0 : priority.length;
    let off = Math.min(block.length, MAX_FRAME_BYTES - first);
    const flags = endStream | (priority !== undefined ? F_PRIORITY : 0) | (off === block.length ? F_END_HEADERS : 0);
    out.push(frameHeader(first + off, T_HEADERS, flags, streamId));
    if (priority !== undefined) out.push(Buffer.from(priority));
    out.push(block.subarray(0, off));
    while (off < block.length) {
      const n = Math.min(block.length - off, MAX_FRAME_BYTES);
      out.push(frameHeader(n, T_CONTINUATION, off + n === block.length ? F_END_HEADERS : 0, streamId));
      out.push(block.subarray(off, off + n));
      off += n;
    }
  }
}
