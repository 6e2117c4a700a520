/**
 * grpc.health.v1.Health on the client port, as etcd serves it (grpc-go's health server with
 * the service "" set to SERVING): Check answers the status of a service name, or NOT_FOUND
 * "unknown service"; Watch sends the status now and again whenever it changes
 * (SERVICE_UNKNOWN for a name nobody set, without ending the stream).
 *
 * The two messages have one field each, so they are encoded here by hand instead of adding a
 * .proto to the generated code:
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3
 */
import type { CallContext, GrpcTransport, ServerStream } from './types.js';
import { GrpcStatus, GrpcStatusError } from './status.js';

export const enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  SERVICE_UNKNOWN = 3,
}

export interface HealthCheckRequest {
  service: string;
}

/** Decode HealthCheckRequest (unknown fields skipped, as protobuf requires). */
export function decodeHealthCheckRequest(b: Uint8Array): HealthCheckRequest {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  let service = '';
  let i = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (i >= buf.length) throw new Error('unexpected EOF');
      const x = buf[i++]!;
      v += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) return v;
      mul *= 128;
      if (mul > 2 ** 63) throw new Error('varint overflow');
    }
  };
  while (i < buf.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const n = varint();
      if (i + n > buf.length) throw new Error('unexpected EOF');
      if (key >>> 3 === 1) service = buf.toString('utf8', i, i + n);
      i += n;
    } else throw new Error(`cannot parse wire type ${wire}`);
    if (i > buf.length) throw new Error('unexpected EOF');
  }
  return { service };
}

/** Encode HealthCheckResponse (status 0 is the default: no field, as proto3 writes it). */
export function encodeHealthCheckResponse(status: ServingStatus): Uint8Array {
  return status === ServingStatus.UNKNOWN ? new Uint8Array(0) : Uint8Array.of(0x08, status);
}

/** Service name -> status; "" is the whole server. Watchers hear every change. */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>([['', ServingStatus.SERVING]]);
  private readonly watchers = new Set<(service: string) => void>();

  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const w of this.watchers) w(service);
  }

  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  watch(fn: (service: string) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }
}

export function registerHealthService(grpc: GrpcTransport, health: HealthStatus = new HealthStatus()): HealthStatus {
  grpc.addUnary<HealthCheckRequest, ServingStatus>({
    path: '/grpc.health.v1.Health/Check',
    decode: decodeHealthCheckRequest,
    encode: encodeHealthCheckResponse,
    handler: (req) => {
      const s = health.get(req.service);
      if (s === undefined) throw new GrpcStatusError(GrpcStatus.NOT_FOUND, 'unknown service');
      return s;
    },
  });
  grpc.addStream<HealthCheckRequest, ServingStatus>({
    path: '/grpc.health.v1.Health/Watch',
    kind: 'server',
    decode: decodeHealthCheckRequest,
    encode: encodeHealthCheckResponse,
    handler: (stream: ServerStream<HealthCheckRequest, ServingStatus>, _ctx: CallContext) => {
      let last: ServingStatus | undefined;
      let service: string | undefined;
      const send = (): void => {
        const s = health.get(service!) ?? ServingStatus.SERVICE_UNKNOWN;
        if (s === last) return;
        last = s;
        stream.send(s);
      };
      const stop = health.watch((changed) => {
        if (changed === service) send();
      });
      stream.onClose(stop);
      stream.onMessage((req) => {
        service = req.service;
        send();
      });
      stream.onHalfClose(() => {});
    },
  });
  return health;
}
