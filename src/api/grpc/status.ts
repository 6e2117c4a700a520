/**
 * gRPC status on the wire: mapping errors to (code, message), percent-encoding
 * grpc-message, and parsing grpc-timeout. Wording follows grpc-go, which etcd uses,
 * so clients see the same strings from etcd-ts as from etcd.
 */
import { EtcdError, GrpcStatus } from '../../errors/errors.js';

export { GrpcStatus };

/** An error carrying a gRPC status that is not one of etcd's (transport-level errors). */
export class GrpcStatusError extends Error {
  readonly grpcStatus: GrpcStatus;
  constructor(grpcStatus: GrpcStatus, message: string) {
    super(message);
    this.name = 'GrpcStatusError';
    this.grpcStatus = grpcStatus;
  }
}

export interface Status {
  code: GrpcStatus;
  message: string;
}

/** The generic message sent for an unexpected (non-etcd) handler error; the error itself is logged. */
export const INTERNAL_ERROR_MESSAGE = 'etcdserver: internal error';

/**
 * Map a handler error to a status: EtcdError and GrpcStatusError keep their code and
 * message; anything else is INTERNAL with a generic message (and `log` is called).
 */
export function toStatus(err: unknown, log?: (msg: string, err: unknown) => void): Status {
  if (err instanceof EtcdError || err instanceof GrpcStatusError) {
    return { code: err.grpcStatus, message: err.message };
  }
  log?.('grpc handler failed', err);
  return { code: GrpcStatus.INTERNAL, message: INTERNAL_ERROR_MESSAGE };
}

const HEX = '0123456789ABCDEF';

/**
 * Percent-encode a grpc-message value (gRPC spec, PROTOCOL-HTTP2.md "Responses"):
 * the UTF-8 bytes outside printable ASCII 0x20-0x7E, and '%', become %XX.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  const bytes = Buffer.from(message, 'utf8');
  let out = '';
  for (const b of bytes) {
    if (b < 0x20 || b > 0x7e || b === 0x25) out += '%' + HEX[b >> 4] + HEX[b & 15];
    else out += String.fromCharCode(b);
  }
  return out;
}

/** The inverse of encodeGrpcMessage; malformed escapes are kept as they are (spec: "decode leniently"). */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * Parse a grpc-timeout header ("1*8DIGIT unit", unit one of H M S m u n) to milliseconds.
 * Returns undefined when absent or malformed (grpc-go then rejects the call; we ignore it).
 */
export function parseGrpcTimeoutMs(value: string | undefined): number | undefined {
  if (value === undefined || value.length < 2 || value.length > 9) return undefined;
  const unit = UNIT_MS[value[value.length - 1]!];
  if (unit === undefined) return undefined;
  let n = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n * unit;
}

/** grpc-go's message for a request over the server's max receive size. */
export function messageTooLarge(size: number, max: number): GrpcStatusError {
  return new GrpcStatusError(GrpcStatus.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${size} vs. ${max})`);
}

/** grpc-go's message for request bytes the codec cannot parse. */
export function unmarshalError(err: unknown): GrpcStatusError {
  return new GrpcStatusError(GrpcStatus.INTERNAL, `grpc: error unmarshalling request: ${goProtoReason(err)}`);
}

/**
 * grpc-go reports what Go's protobuf decoder says; protobufjs words the same failures
 * differently. A message cut short is Go's "unexpected EOF"; anything else it cannot
 * parse is "proto: cannot parse invalid wire-format data".
 */
function goProtoReason(err: unknown): string {
  const detail = err instanceof Error ? err.message : String(err);
  if (detail.startsWith('index out of range')) return 'unexpected EOF';
  return 'proto: cannot parse invalid wire-format data';
}

/** What grpc-go's server answers when the deadline passes while a handler runs. */
export function deadlineExceeded(): GrpcStatusError {
  return new GrpcStatusError(GrpcStatus.DEADLINE_EXCEEDED, 'context deadline exceeded');
}
