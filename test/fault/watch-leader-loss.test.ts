/**
 * A watch opened with `hasleader=true` (etcdctl 3.4's `watch` does, as kube-apiserver does) on a
 * member that loses its leader ends with "etcdserver: no leader" after a few election timeouts
 * (etcd's monitorLeader; src/server/leader-monitor.ts), so the client can go to a member that has
 * a leader. Three members with a short election timeout; the watch is on member 0; it sees an
 * event while the cluster is whole; then the two others are killed (-9), and the etcdctl process
 * must end by itself, saying why. The same test passes against etcd 3.4.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { Cluster } from '../e2e/framework/cluster.js';
import { etcdctlCommand, etcdctlEnv, etcdctlUnavailableReason, runEtcdctl } from '../e2e/framework/etcdctl.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason, sleep } from '../e2e/framework/process.js';

const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;
/** Bound on waiting for the watch to end: far above etcd's 3 election timeouts, so no timing is asserted. */
const END_WAIT_MS = 30_000;

describe('hasleader watch on a member that lost its leader', { skip: serverUnavailableReason() ?? etcdctlUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  let watcher: ChildProcess | undefined;
  after(async () => {
    watcher?.kill('SIGKILL');
    await cluster?.close();
  });

  it('sees events while there is a leader, then ends with "no leader" once the quorum is gone', async () => {
    cluster = await Cluster.start({
      name: 'wll',
      size: 3,
      extraFlags: ['--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS)],
    });
    const [m0, m1, m2] = cluster.members;
    const [bin, ...pre] = etcdctlCommand();
    const w = spawn(bin!, [...pre, `--endpoints=${m0!.endpoint}`, 'watch', '--prefix', 'wl/'], { env: etcdctlEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    watcher = w;
    let stdout = '';
    let stderr = '';
    w.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    w.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => w.on('close', (code) => resolve(code)));

    // The watch works while the cluster is whole (put through another member).
    for (let i = 0; i < 100 && !stdout.includes('first'); i++) {
      const r = await runEtcdctl([m1!.endpoint], ['put', `wl/${i}`, 'first']);
      assert.equal(r.code, 0, r.stderr);
      await sleep(100);
    }
    assert.match(stdout, /first/, `the watch saw no event: stdout ${stdout} stderr ${stderr}`);
    assert.equal(w.exitCode, null, 'the watch is still open while there is a leader');

    await m1!.kill9();
    await m2!.kill9();
    const code = await Promise.race([exited, sleep(END_WAIT_MS).then(() => 'still running' as const)]);
    assert.notEqual(code, 'still running', `the watch did not end within ${END_WAIT_MS} ms without a leader; stderr: ${stderr}\n${cluster.logTail(20)}`);
    assert.match(stderr, /no leader/, `stderr: ${stderr}`);
  });
});
