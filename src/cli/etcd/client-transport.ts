/**
 * Which gRPC transport bin/etcd serves clients with (docs/grpc-transport.md "Choosing the
 * transport"): WireGrpcTransport (our own HTTP/2 framing) or Http2GrpcTransport (node:http2),
 * chosen by the environment variable ETCDTS_GRPC_TRANSPORT ('wire' | 'node'), a fallback for
 * comparing the two, not a flag.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { Http2GrpcTransport } from '../../api/grpc/http2-transport.js';
import { WireGrpcTransport } from '../../api/grpc/wire-transport.js';
import type { GrpcTransport, GrpcTransportOptions } from '../../api/grpc/types.js';

export type ClientTransportKind = 'wire' | 'node';

/** The transport bin/etcd uses when ETCDTS_GRPC_TRANSPORT is unset. */
export const DEFAULT_CLIENT_TRANSPORT: ClientTransportKind = 'wire';

export interface ClientTransport {
  readonly kind: ClientTransportKind;
  readonly grpc: GrpcTransport;
  /** Serve HTTP/2 requests that are not gRPC (/health, /metrics, the gateway) with the router. */
  serveNonGrpc(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
}

export function clientTransportKind(env: NodeJS.ProcessEnv = process.env): ClientTransportKind {
  const v = env['ETCDTS_GRPC_TRANSPORT'];
  if (v === undefined || v === '') return DEFAULT_CLIENT_TRANSPORT;
  if (v === 'wire' || v === 'node') return v;
  throw new Error(`ETCDTS_GRPC_TRANSPORT must be 'wire' or 'node', not '${v}'`);
}

export function openClientTransport(opts: GrpcTransportOptions, kind: ClientTransportKind = clientTransportKind()): ClientTransport {
  if (kind === 'wire') {
    const grpc = new WireGrpcTransport(opts);
    return { kind, grpc, serveNonGrpc: (h) => grpc.serveNonGrpc(h) };
  }
  const grpc = new Http2GrpcTransport(opts);
  return {
    kind,
    grpc,
    serveNonGrpc: (h) => grpc.serveNonGrpc(h as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void),
  };
}
