/**
 * The client-facing gRPC transport: the one import for server wiring (docs/grpc-transport.md).
 *
 *   const grpc = createGrpcTransport('http2', { maxRecvBytes: maxRequestBytes + 512 * 1024 });
 *   grpc.addUnary({ path: '/etcdserverpb.KV/Put', decode, encode, handler });
 *   const router = new HttpRouter(); registerHealthRoutes(router, ...); registerVersionRoute(router, ...);
 *   const port = new ClientListener({ grpc, http: router.handle });
 *   await port.listen(2379, '127.0.0.1');
 *   ...
 *   await port.close(graceMs);   // also closes the transport
 */
import { GrpcJsTransport } from './grpc-js-transport.js';
import { Http2GrpcTransport } from './http2-transport.js';
import { WireGrpcTransport } from './wire-transport.js';
import type { GrpcTransport, GrpcTransportOptions } from './types.js';

export type {
  CallContext,
  ConnectionSink,
  GrpcTransport,
  GrpcTransportOptions,
  MethodCodec,
  ServerStream,
  StreamKind,
  StreamMethod,
  UnaryMethod,
} from './types.js';
export { DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_RECV_BYTES, ETCD_DEFAULT_MAX_RECV_BYTES } from './types.js';
export { GrpcStatus, GrpcStatusError, toStatus, encodeGrpcMessage, decodeGrpcMessage } from './status.js';
export { ETCD_SERVICES, etcdMethodPaths, unimplementedError, type ServiceSpec, type MethodKind } from './etcd-services.js';
export { ClientListener, type ClientListenerOptions } from './client-listener.js';
export { Http2GrpcTransport } from './http2-transport.js';
export { GrpcJsTransport } from './grpc-js-transport.js';
export { WireGrpcTransport } from './wire-transport.js';

/** Which implementation serves clients: 'wire' (own HTTP/2 framing) or 'http2' (node:http2); 'grpc-js' is the reference. */
export type GrpcTransportKind = 'wire' | 'http2' | 'grpc-js';

export function createGrpcTransport(kind: GrpcTransportKind, opts: GrpcTransportOptions = {}): GrpcTransport {
  if (kind === 'wire') return new WireGrpcTransport(opts);
  return kind === 'http2' ? new Http2GrpcTransport(opts) : new GrpcJsTransport(opts);
}
