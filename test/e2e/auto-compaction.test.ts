/**
 * --auto-compaction-mode / --auto-compaction-retention through a real bin/etcd and etcdctl 3.4:
 * in both modes old revisions become compacted by themselves while recent ones stay readable.
 * "Eventually, within a generous bound": never a timing assertion.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster } from './framework/hooks.js';
import { runEtcdctl, etcdctlUnavailableReason } from './framework/etcdctl.js';
import { SUITE_TIMEOUT_MS, serverKind, serverUnavailableReason, sleep } from './framework/process.js';

const skip = serverUnavailableReason() ?? etcdctlUnavailableReason() ?? false;

async function put(endpoint: string, k: string, v: string): Promise<number> {
  const r = await runEtcdctl([endpoint], ['put', k, v, '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { header: { revision: number } }).header.revision;
}

async function compactedBelow(endpoint: string, rev: number): Promise<boolean> {
  const r = await runEtcdctl([endpoint], ['get', 'k', '--rev', String(rev)]);
  return /required revision has been compacted/.test(r.stderr);
}

describe('auto-compaction, revision mode', {
  skip: skip || (serverKind() === 'real' ? 'etcd checks revision retention every 5 minutes; etcd-ts every second' : false),
  timeout: SUITE_TIMEOUT_MS,
}, () => {
  const cluster = useCluster({ name: 'autorev', extraFlags: ['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '20'] });

  it('keeps the last 20 revisions and compacts the rest by itself', async () => {
    let rev = 0;
    for (let i = 0; i < 60; i++) rev = await put(cluster.c.endpoint, 'k', `v${i}`);
    let done = false;
    for (let i = 0; i < 200 && !done; i++) {
      done = await compactedBelow(cluster.c.endpoint, rev - 30);
      if (!done) await sleep(100);
    }
    assert.ok(done, `revision ${rev - 30} was never compacted`);
    // The retained window stays readable.
    const r = await runEtcdctl([cluster.c.endpoint], ['get', 'k', '--rev', String(rev - 19)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(cluster.c.logTail(200), /completed auto revision compaction/);
  });
});

describe('auto-compaction, periodic mode', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'autoper', extraFlags: ['--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '2s'] });

  it('compacts what is older than the retention period by itself', async () => {
    const first = await put(cluster.c.endpoint, 'k', 'first');
    await put(cluster.c.endpoint, 'k', 'second');
    let done = false;
    for (let i = 0; i < 300 && !done; i++) {
      await put(cluster.c.endpoint, 'tick', String(i));
      done = await compactedBelow(cluster.c.endpoint, first);
      if (!done) await sleep(100);
    }
    assert.ok(done, `revision ${first} was never compacted`);
    // etcd 3.6's log line (etcd 3.4 logs "Finished auto-compaction").
    if (serverKind() === 'ours') assert.match(cluster.c.logTail(400), /completed auto periodic compaction/);
  });
});
