/**
 * Leases, locks and elections through the real etcdctl 3.4 (and our etcdctl where it has the
 * command): `lease grant|revoke|timetolive --keys|list|keep-alive [--once]`, `put --lease`,
 * `lock` (held, and with a command to run), `elect`. etcdctl's lock and elect are client-side
 * recipes (a session lease, keys under the name, a keep-alive stream); waiting behind another
 * holder needs Watch, so those steps are pending on the watch feature.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { useCluster } from './framework/hooks.js';
import { pending } from './framework/pending.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason, sleep } from './framework/process.js';
import { etcdctlCommand, etcdctlEnv, etcdctlUnavailableReason, runEtcdctl } from './framework/clients.js';

/** A long-running etcdctl whose stdout lines we wait for (bounded), then stop. */
class Running {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;
  constructor(endpoints: string[], args: string[]) {
    const [bin, ...pre] = etcdctlCommand('etcdctl');
    this.child = spawn(bin!, [...pre, `--endpoints=${endpoints.join(',')}`, ...args], { env: etcdctlEnv() });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.err += d));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }
  async waitFor(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    for (const start = Date.now(); ; ) {
      const m = this.out.match(re);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() - start > timeoutMs) {
        assert.fail(`etcdctl never printed ${re} (exit ${this.child.exitCode}); stdout: ${JSON.stringify(this.out)} stderr: ${JSON.stringify(this.err)}`);
      }
      await sleep(50);
    }
  }
  stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

const skip = serverUnavailableReason() ?? etcdctlUnavailableReason('etcdctl') ?? false;

describe('etcdctl 3.4: leases, lock, elect', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'etcdctl-lease' });
  const ctl = async (...args: string[]) => {
    const r = await runEtcdctl(cluster.c.endpoints, args);
    return { ...r, stderr: r.stderr.split('\n').filter((l) => !l.startsWith('{"level":')).join('\n') };
  };

  it('lease grant, put --lease, timetolive --keys, list, keep-alive --once, revoke', async () => {
    const g = await ctl('lease', 'grant', '60');
    const id = g.stdout.match(/^lease ([0-9a-f]+) granted with TTL\(60s\)\n$/)?.[1];
    assert.ok(id !== undefined, `grant: ${g.stdout}${g.stderr}`);
    assert.equal((await ctl('put', `--lease=${id}`, 'lk1', 'v1')).stdout, 'OK\n');
    assert.equal((await ctl('put', `--lease=${id}`, 'lk2', 'v2')).stdout, 'OK\n');
    const ttl = await ctl('lease', 'timetolive', '--keys', id);
    // etcd lists a lease's keys in Go map order (either order against the real etcd).
    assert.match(ttl.stdout, new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\((59|60)s\\), attached keys\\(\\[(lk1 lk2|lk2 lk1)\\]\\)\\n$`));
    const list = await ctl('lease', 'list');
    assert.match(list.stdout, /^found \d+ leases\n/);
    assert.ok(list.stdout.split('\n').includes(id), list.stdout);
    assert.equal((await ctl('lease', 'keep-alive', '--once', id)).stdout, `lease ${id} keepalived with TTL(60)\n`);
    assert.equal((await ctl('lease', 'revoke', id)).stdout, `lease ${id} revoked\n`);
    assert.equal((await ctl('get', '--prefix', 'lk')).stdout, '');
    const gone = await ctl('lease', 'timetolive', id);
    assert.equal(gone.stdout, `lease ${id} already expired\n`);
    const again = await ctl('lease', 'keep-alive', '--once', id);
    assert.deepEqual([again.code, again.stderr], [2, 'Error: etcdserver: requested lease not found\n']);
    const put = await ctl('put', `--lease=${id}`, 'lk3', 'v');
    assert.deepEqual([put.code, put.stderr], [1, 'Error: etcdserver: requested lease not found\n']);
  });

  it('bad input: TTL too large, revoke of an unknown lease (a client-chosen ID that exists: lease.test.ts)', async () => {
    const big = await ctl('lease', 'grant', '9000000001');
    assert.deepEqual([big.code, big.stderr], [1, 'Error: failed to grant lease (etcdserver: too large lease TTL)\n']);
    const rv = await ctl('lease', 'revoke', 'abc123');
    assert.deepEqual([rv.code, rv.stderr], [1, 'Error: failed to revoke lease (etcdserver: requested lease not found)\n']);
  });

  it('lease keep-alive streams renewals until stopped (short TTL: one every TTL/3)', async () => {
    const id = (await ctl('lease', 'grant', '3')).stdout.match(/^lease ([0-9a-f]+) granted/)?.[1];
    assert.ok(id);
    const ka = new Running(cluster.c.endpoints, ['lease', 'keep-alive', id]);
    try {
      await ka.waitFor(new RegExp(`(lease ${id} keepalived with TTL\\(3\\)\\n){3}`));
    } finally {
      await ka.stop('SIGKILL');
    }
    // held past its TTL by the keep-alives: still there
    assert.match((await ctl('lease', 'timetolive', id)).stdout, /remaining\(\d+s\)/);
  });

  it('lock with a command to run: runs it holding the lock, then releases', async () => {
    const r = await ctl('lock', 'job-lock', '--', 'sh', '-c', 'echo holding');
    assert.deepEqual([r.code, r.stdout], [0, 'holding\n']);
    assert.equal((await ctl('get', '--prefix', 'job-lock/')).stdout, '', 'released: its key is gone');
  });

  it('lock held: prints the key (name/<lease hex>), the key lives with the session lease, unlocked on SIGINT', async () => {
    const l = new Running(cluster.c.endpoints, ['lock', 'held-lock']);
    const m = await l.waitFor(/^(held-lock\/[0-9a-f]+)\n/);
    const key = m[1]!;
    const get = await ctl('-w', 'json', 'get', key);
    const lease = (JSON.parse(get.stdout) as { kvs?: { lease?: number | string }[] }).kvs?.[0]?.lease;
    assert.ok(lease !== undefined && String(lease) !== '0', `the lock key carries the session lease: ${get.stdout}`);
    assert.equal(await l.stop('SIGINT'), 0);
    assert.equal((await ctl('get', key)).stdout, '', 'unlocked');
  });

  it('elect: the candidate becomes leader and proclaims its value', async () => {
    const e = new Running(cluster.c.endpoints, ['elect', 'my-election', 'alice']);
    try {
      const m = await e.waitFor(/^(my-election\/[0-9a-f]+)\nalice\n/);
      assert.equal((await ctl('get', '--print-value-only', m[1]!)).stdout, 'alice\n');
    } finally {
      await e.stop('SIGINT');
    }
  });

  it('two lockers wait for each other (needs Watch)', { todo: pending('watch') }, async () => {
    const first = new Running(cluster.c.endpoints, ['lock', 'contended']);
    await first.waitFor(/^contended\/[0-9a-f]+\n/);
    const second = new Running(cluster.c.endpoints, ['lock', 'contended', '--', 'sh', '-c', 'echo second-holds']);
    try {
      await sleep(1000);
      assert.equal(second.out, '', 'the second locker waits while the first holds the lock');
      assert.equal(await first.stop('SIGINT'), 0);
      await second.waitFor(/^second-holds\n/);
      assert.equal(await second.exited, 0);
    } finally {
      first.child.kill('SIGKILL');
      second.child.kill('SIGKILL');
    }
  });

  // etcdctl 3.4 prints the current leader (a Get), then watches; without Watch it may exit first.
  it('elect -l observes the leader (needs Watch)', { todo: pending('watch') }, async () => {
    const e = new Running(cluster.c.endpoints, ['elect', 'observed', 'bob']);
    const o = new Running(cluster.c.endpoints, ['elect', '-l', 'observed']);
    try {
      await e.waitFor(/^observed\/[0-9a-f]+\nbob\n/);
      await o.waitFor(/^observed\/[0-9a-f]+\nbob\n/);
    } finally {
      e.child.kill('SIGKILL');
      o.child.kill('SIGKILL');
    }
  });
});
