/**
 * The plain client port answers what etcdctl 3.4 sends for per-endpoint calls: it dials
 * `passthrough:///http://127.0.0.1:N` and sends `:authority: http://127.0.0.1:N`, which
 * node:http2 alone resets (PROTOCOL_ERROR) and etcd answers (issue 11, etcd issue #13192).
 * Also the gRPC health service (grpc.health.v1.Health), as etcd serves it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { useCluster } from './framework/hooks.js';
import { etcdctlUnavailableReason, runEtcdctl } from './framework/clients.js';
import { serverUnavailableReason, SUITE_TIMEOUT_MS } from './framework/process.js';

const skipServer = serverUnavailableReason() ?? false;

describe('etcdctl 3.4 with http:// endpoints (the :authority it sends)', { skip: skipServer || etcdctlUnavailableReason() || false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'authority' });

  it('endpoint status succeeds', async () => {
    const ep = cluster.c.members[0]!.clientUrl;
    const r = await runEtcdctl([ep], ['endpoint', 'status', '-w', 'json']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /RST_STREAM/);
    const status = JSON.parse(r.stdout) as Array<{ Endpoint: string; Status: { header: { revision: number } } }>;
    assert.equal(status[0]!.Endpoint, ep);
    assert.ok(status[0]!.Status.header.revision >= 1);
  });

  it('endpoint health succeeds', async () => {
    const r = await runEtcdctl([cluster.c.members[0]!.clientUrl], ['endpoint', 'health']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /is healthy: successfully committed proposal/);
  });

  it('endpoint hashkv and defrag reach the server (answered, never reset)', async () => {
    const ep = cluster.c.members[0]!.clientUrl;
    for (const args of [['endpoint', 'hashkv'], ['defrag']]) {
      const r = await runEtcdctl([ep], args);
      assert.doesNotMatch(r.stderr, /RST_STREAM|PROTOCOL_ERROR/, args.join(' '));
      // the real etcd answers both; etcd-ts answers HashKV and Defragment UNIMPLEMENTED for now
      if (r.code !== 0) assert.match(r.stderr, /Unimplemented/, args.join(' '));
    }
  });
});

describe('grpc.health.v1.Health on the client port', { skip: skipServer, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'grpchealth' });
  const id = (b: Buffer): Buffer => b;

  it('Check("") answers SERVING; an unknown service NOT_FOUND "unknown service"', async () => {
    const c = new grpc.Client(cluster.c.endpoint, grpc.credentials.createInsecure());
    try {
      const check = (service: string): Promise<Buffer> =>
        new Promise((resolve, reject) =>
          c.makeUnaryRequest('/grpc.health.v1.Health/Check', id, id, service === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]), (err, v) =>
            err ? reject(err) : resolve(v!),
          ),
        );
      assert.deepEqual([...(await check(''))], [0x08, 0x01]); // status: SERVING (1)
      await assert.rejects(check('no.such.Service'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && e.details === 'unknown service');
    } finally {
      c.close();
    }
  });

  it('Watch("") sends SERVING first', async () => {
    const c = new grpc.Client(cluster.c.endpoint, grpc.credentials.createInsecure());
    try {
      const first = await new Promise<Buffer>((resolve, reject) => {
        const call = c.makeServerStreamRequest('/grpc.health.v1.Health/Watch', id, id, Buffer.alloc(0));
        call.on('data', (d: Buffer) => {
          resolve(d);
          call.cancel();
        });
        call.on('error', (e: grpc.ServiceError) => {
          if (e.code !== grpc.status.CANCELLED) reject(e);
        });
      });
      assert.deepEqual([...first], [0x08, 0x01]);
    } finally {
      c.close();
    }
  });
});
