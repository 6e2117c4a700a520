/**
 * --election-timeout and --heartbeat-interval set the minimum lease TTL as etcd derives it:
 * ceil(floor(1.5 x election ticks) x heartbeat), election ticks = election timeout / heartbeat.
 * With 5000 / 100 ms: 75 ticks x 100 ms = 7.5 s -> 8 s (the default 1000 / 100 gives 2 s:
 * test/e2e/lease.test.ts). Passes against the real etcd.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster } from './framework/hooks.js';
import { RawEtcdClient } from './framework/raw.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';

describe('lease minimum TTL follows --election-timeout and --heartbeat-interval', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'lease-flags', extraFlags: ['--heartbeat-interval', '100', '--election-timeout', '5000'] });

  it('a TTL below the minimum is raised to 8 s; one above it is kept', async () => {
    const raw = new RawEtcdClient(cluster.c.endpoint);
    try {
      for (const [asked, granted] of [[1, 8], [7, 8], [9, 9]] as const) {
        const r = await raw.leaseGrant({ TTL: asked });
        assert.ok(r.ok, 'grant');
        assert.equal(Number(r.value.TTL), granted, `TTL ${asked}`);
      }
    } finally {
      raw.close();
    }
  });
});
