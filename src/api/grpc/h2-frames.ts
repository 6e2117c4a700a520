/**
 * HTTP/2 (RFC 9113) frame layout, codes and builders for the wire transport
 * (wire-connection.ts; docs/grpc-transport.md "WireGrpcTransport").
 *
 *   +-----------------------------------------------+
 *   |                 Length (24)                   |
 *   +---------------+---------------+---------------+
 *   |   Type (8)    |   Flags (8)   |
 *   +-+-------------+---------------+-------------------------------+
 *   |R|                 Stream Identifier (31)                      |
 *   +=+=============================================================+
 *   |                   Frame Payload (0...)                      ...
 *   +---------------------------------------------------------------+
 */
import { encodeLiterals, type HeaderField } from './hpack.js';

export const FRAME_HEADER_BYTES = 9;
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const T_DATA = 0x0;
export const T_HEADERS = 0x1;
export const T_PRIORITY = 0x2;
export const T_RST_STREAM = 0x3;
export const T_SETTINGS = 0x4;
export const T_PUSH_PROMISE = 0x5;
export const T_PING = 0x6;
export const T_GOAWAY = 0x7;
export const T_WINDOW_UPDATE = 0x8;
export const T_CONTINUATION = 0x9;

export const F_END_STREAM = 0x1;
export const F_ACK = 0x1;
export const F_END_HEADERS = 0x4;
export const F_PADDED = 0x8;
export const F_PRIORITY = 0x20;

/** SETTINGS identifiers (RFC 9113 6.5.2). */
export const S_HEADER_TABLE_SIZE = 0x1;
export const S_ENABLE_PUSH = 0x2;
export const S_MAX_CONCURRENT_STREAMS = 0x3;
export const S_INITIAL_WINDOW_SIZE = 0x4;
export const S_MAX_FRAME_SIZE = 0x5;
export const S_MAX_HEADER_LIST_SIZE = 0x6;

/** Error codes (RFC 9113 7). */
export const E_NO_ERROR = 0x0;
export const E_PROTOCOL_ERROR = 0x1;
export const E_INTERNAL_ERROR = 0x2;
export const E_FLOW_CONTROL_ERROR = 0x3;
export const E_SETTINGS_TIMEOUT = 0x4;
export const E_STREAM_CLOSED = 0x5;
export const E_FRAME_SIZE_ERROR = 0x6;
export const E_REFUSED_STREAM = 0x7;
export const E_CANCEL = 0x8;
export const E_COMPRESSION_ERROR = 0x9;
export const E_ENHANCE_YOUR_CALM = 0xb;

/** The largest flow-control window (2^31-1). */
export const MAX_WINDOW = 0x7fff_ffff;
/** The window every stream and the connection start with (RFC 9113 6.9.2). */
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_FRAME_SIZE_LIMIT = 16_777_215;

/** A connection-level protocol violation: GOAWAY with `code`, then close. */
export class H2ConnectionError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export function writeFrameHeader(buf: Buffer, off: number, length: number, type: number, flags: number, stream: number): void {
  buf[off] = length >>> 16;
  buf[off + 1] = (length >>> 8) & 0xff;
  buf[off + 2] = length & 0xff;
  buf[off + 3] = type;
  buf[off + 4] = flags;
  buf.writeUInt32BE(stream, off + 5);
}

export function frame(type: number, flags: number, stream: number, payload: Buffer | undefined): Buffer {
  const len = payload === undefined ? 0 : payload.length;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + len);
  writeFrameHeader(out, 0, len, type, flags, stream);
  if (payload !== undefined) payload.copy(out, FRAME_HEADER_BYTES);
  return out;
}

export function settingsFrame(pairs: ReadonlyArray<readonly [number, number]>): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + pairs.length * 6);
  writeFrameHeader(out, 0, pairs.length * 6, T_SETTINGS, 0, 0);
  pairs.forEach(([id, v], i) => {
    out.writeUInt16BE(id, FRAME_HEADER_BYTES + i * 6);
    out.writeUInt32BE(v, FRAME_HEADER_BYTES + i * 6 + 2);
  });
  return out;
}

export const SETTINGS_ACK = frame(T_SETTINGS, F_ACK, 0, undefined);

export function windowUpdateFrame(stream: number, increment: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, T_WINDOW_UPDATE, 0, stream);
  out.writeUInt32BE(increment, FRAME_HEADER_BYTES);
  return out;
}

export function rstStreamFrame(stream: number, code: number): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  writeFrameHeader(out, 0, 4, T_RST_STREAM, 0, stream);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES);
  return out;
}

export function goAwayFrame(lastStream: number, code: number, debug = ''): Buffer {
  const d = Buffer.from(debug, 'utf8');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 8 + d.length);
  writeFrameHeader(out, 0, 8 + d.length, T_GOAWAY, 0, 0);
  out.writeUInt32BE(lastStream, FRAME_HEADER_BYTES);
  out.writeUInt32BE(code, FRAME_HEADER_BYTES + 4);
  d.copy(out, FRAME_HEADER_BYTES + 8);
  return out;
}

/** A header block as one HEADERS frame (END_HEADERS), or HEADERS + CONTINUATIONs when over maxFrame. */
export function headersFrames(stream: number, block: Buffer, endStream: boolean, maxFrame: number): Buffer {
  const es = endStream ? F_END_STREAM : 0;
  if (block.length <= maxFrame) {
    const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + block.length);
    writeFrameHeader(out, 0, block.length, T_HEADERS, es | F_END_HEADERS, stream);
    block.copy(out, FRAME_HEADER_BYTES);
    return out;
  }
  const parts: Buffer[] = [];
  for (let off = 0; off < block.length; off += maxFrame) {
    const piece = block.subarray(off, Math.min(block.length, off + maxFrame));
    const last = off + maxFrame >= block.length;
    const type = off === 0 ? T_HEADERS : T_CONTINUATION;
    const flags = (off === 0 ? es : 0) | (last ? F_END_HEADERS : 0);
    parts.push(frame(type, flags, stream, piece));
  }
  return Buffer.concat(parts);
}

// ---- response header blocks, encoded once (HPACK literals; our encoder never indexes) ----

/** ':status: 200' is static index 8: one byte, indexed. */
const STATUS_200 = Buffer.from([0x88]);

/** ':status 200', 'content-type: application/grpc'. */
export const GRPC_OK_HEADERS_BLOCK = Buffer.concat([STATUS_200, encodeLiterals([['content-type', 'application/grpc']])]);
/** Trailers of a successful call: 'grpc-status: 0'. */
export const GRPC_OK_TRAILERS_BLOCK = encodeLiterals([['grpc-status', '0']]);
/** A trailers-only OK (a stream call ended before it sent anything). */
export const GRPC_OK_TRAILERS_ONLY_BLOCK = Buffer.concat([GRPC_OK_HEADERS_BLOCK, GRPC_OK_TRAILERS_BLOCK]);

/** Trailers (or a trailers-only response) with a status and percent-encoded message. */
export function grpcStatusBlock(code: number, encodedMessage: string, withHeaders: boolean): Buffer {
  const fields: HeaderField[] = [['grpc-status', String(code)], ['grpc-message', encodedMessage]];
  const lit = encodeLiterals(fields);
  return withHeaders ? Buffer.concat([GRPC_OK_HEADERS_BLOCK, lit]) : lit;
}

/** HTTP response headers (non-gRPC requests): ':status' then the fields, names lower-cased. */
export function httpHeadersBlock(status: number, fields: readonly HeaderField[]): Buffer {
  return encodeLiterals([[':status', String(status)], ...fields]);
}
