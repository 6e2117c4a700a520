/**
 * gRPC length-prefixed messages (PROTOCOL-HTTP2.md "Length-Prefixed-Message"):
 *
 *   offset 0      1 byte   Compressed-Flag (0 = identity, 1 = compressed with grpc-encoding)
 *   offset 1..4   4 bytes  Message-Length, big-endian unsigned
 *   offset 5..    Message-Length bytes of (possibly compressed) protobuf
 *
 * A DATA frame may carry part of a message or several messages; MessageReader
 * reassembles them. The common case, one whole message in one chunk, copies nothing.
 */
import { gunzipSync, inflateSync } from 'node:zlib';
import { messageTooLarge, GrpcStatus, GrpcStatusError, unmarshalError } from './status.js';

export const FRAME_HEADER_BYTES = 5;

/** Receives reassembled messages; an object with a method (not a closure) so a call allocates none per chunk. */
export interface MessageSink {
  onMessage(compressed: boolean, body: Buffer): void;
}

export class MessageReader {
  private readonly maxRecvBytes: number;
  /** Chunks of an incomplete frame, joined once the frame is complete (no quadratic copying). */
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** Bytes (header + body) the incomplete frame needs, or -1 while its header is incomplete. */
  private need = -1;

  constructor(maxRecvBytes: number) {
    this.maxRecvBytes = maxRecvBytes;
  }

  /** True when a message has been started but not finished. */
  get partial(): boolean {
    return this.chunkBytes > 0;
  }

  /**
   * Feed one chunk; calls sink.onMessage for every complete message, in order.
   * Returns an error (and stops) when a message is larger than maxRecvBytes.
   */
  push(chunk: Buffer, sink: MessageSink): GrpcStatusError | undefined {
    let buf = chunk;
    if (this.chunkBytes > 0) {
      this.chunks.push(chunk);
      this.chunkBytes += chunk.length;
      if (this.need < 0 && this.chunkBytes >= FRAME_HEADER_BYTES) {
        const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.chunkBytes);
        this.chunks = [head];
        const size = head.readUInt32BE(1);
        if (size > this.maxRecvBytes) return messageTooLarge(size, this.maxRecvBytes);
        this.need = FRAME_HEADER_BYTES + size;
      }
      if (this.need < 0 || this.chunkBytes < this.need) return undefined;
      buf = Buffer.concat(this.chunks, this.chunkBytes);
      this.chunks = [];
      this.chunkBytes = 0;
      this.need = -1;
    }
    let off = 0;
    while (buf.length - off >= FRAME_HEADER_BYTES) {
      const size = buf.readUInt32BE(off + 1);
      if (size > this.maxRecvBytes) return messageTooLarge(size, this.maxRecvBytes);
      const end = off + FRAME_HEADER_BYTES + size;
      if (end > buf.length) {
        this.need = end - off;
        break;
      }
      sink.onMessage(buf[off] !== 0, buf.subarray(off + FRAME_HEADER_BYTES, end));
      off = end;
    }
    if (off < buf.length) {
      const rest = off === 0 ? buf : buf.subarray(off);
      this.chunks.push(rest);
      this.chunkBytes = rest.length;
    }
    return undefined;
  }
}

/** Frame one encoded message (identity encoding). */
export function encodeFrame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/**
 * One received message as a request (both server transports): decompressed per the call's
 * grpc-encoding when flagged compressed, then decoded. Failures are status errors with
 * grpc-go's texts (an unknown encoding, a message over maxRecvBytes once decompressed, bytes
 * that do not decode).
 */
export function decodeGrpcMessage<T>(decode: (b: Uint8Array) => T, compressed: boolean, body: Buffer, encoding: string | undefined, maxRecvBytes: number): T {
  const bytes = compressed ? decompress(body, encoding, maxRecvBytes) : body;
  try {
    return decode(bytes);
  } catch (err) {
    throw unmarshalError(err);
  }
}

function decompress(body: Buffer, encoding: string | undefined, maxRecvBytes: number): Buffer {
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `grpc: Decompressor is not installed for grpc-encoding "${encoding ?? 'identity'}"`);
  }
  let out: Buffer;
  try {
    out = encoding === 'gzip' ? gunzipSync(body, { maxOutputLength: maxRecvBytes + 1 }) : inflateSync(body, { maxOutputLength: maxRecvBytes + 1 });
  } catch (err) {
    // zlib stops at maxOutputLength with a RangeError rather than returning the longer output:
    // the message is over the limit (grpc-go reads at most max + 1 bytes and reports that).
    if ((err as { code?: unknown }).code !== 'ERR_BUFFER_TOO_LARGE') {
      throw new GrpcStatusError(GrpcStatus.INTERNAL, `grpc: failed to decompress the received message: ${err instanceof Error ? err.message : String(err)}`);
    }
    throw new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: received message after decompression larger than max (${maxRecvBytes + 1} vs. ${maxRecvBytes})`);
  }
  if (out.length > maxRecvBytes) {
    throw new GrpcStatusError(
      GrpcStatus.RESOURCE_EXHAUSTED,
      `grpc: received message after decompression larger than max (${out.length} vs. ${maxRecvBytes})`,
    );
  }
  return out;
}

/**
 * A unary call's request once the client half-closed: undefined when it was exactly one whole
 * message, else the status grpc-go answers (none, several, or one cut short).
 */
export function unaryRequestError(messages: number, partial: boolean): GrpcStatusError | undefined {
  if (messages === 1 && !partial) return undefined;
  return new GrpcStatusError(
    GrpcStatus.INTERNAL,
    messages === 0 ? 'grpc: error unmarshalling request: EOF' : 'grpc: client streaming protocol violation: want one message',
  );
}
