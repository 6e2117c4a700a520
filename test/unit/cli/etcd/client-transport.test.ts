/** bin/etcd's choice of client gRPC transport by ETCDTS_GRPC_TRANSPORT (docs/grpc-transport.md "Choosing the transport"). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CLIENT_TRANSPORT, clientTransportKind, openClientTransport } from '../../../../src/cli/etcd/client-transport.js';
import { WireGrpcTransport } from '../../../../src/api/grpc/wire-transport.js';
import { Http2GrpcTransport } from '../../../../src/api/grpc/http2-transport.js';

describe('client transport selection', () => {
  it('defaults to the wire transport; node and wire are taken; anything else is refused', () => {
    assert.equal(DEFAULT_CLIENT_TRANSPORT, 'wire');
    assert.equal(clientTransportKind({}), 'wire');
    assert.equal(clientTransportKind({ ETCDTS_GRPC_TRANSPORT: '' }), 'wire');
    assert.equal(clientTransportKind({ ETCDTS_GRPC_TRANSPORT: 'node' }), 'node');
    assert.equal(clientTransportKind({ ETCDTS_GRPC_TRANSPORT: 'wire' }), 'wire');
    assert.throws(() => clientTransportKind({ ETCDTS_GRPC_TRANSPORT: 'grpc-js' }), /must be 'wire' or 'node'/);
  });

  it('opens the transport of each kind with the options given', async () => {
    const w = openClientTransport({ maxConcurrentStreams: 7 }, 'wire');
    assert.ok(w.grpc instanceof WireGrpcTransport);
    assert.equal(w.grpc.maxConcurrentStreams, 7);
    const n = openClientTransport({ maxConcurrentStreams: 9 }, 'node');
    assert.ok(n.grpc instanceof Http2GrpcTransport);
    assert.equal(n.grpc.maxConcurrentStreams, 9);
    await Promise.all([w.grpc.close(), n.grpc.close()]);
  });
});
