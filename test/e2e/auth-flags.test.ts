/**
 * The auth flags through a real process (docs/auth.md, docs/configuration.md):
 * - `--bcrypt-cost 4`: the hash a user gets has cost 4 (read back from a `snapshot save` of
 *   the member, etcd's authUsers bucket), and the default gives cost 10;
 * - `--auth-token jwt,...` is refused at start with the reason (not yet), `--bcrypt-cost 3` is
 *   refused by the flag's bounds (etcd-ts only: etcd 3.4 takes JWT and falls back on bad costs).
 * `--auth-token-ttl` is tested in auth.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Cluster, READY_TIMEOUT_MS, serverEnv } from './framework/cluster.js';
import { SUITE_TIMEOUT_MS, makeTempDir, serverCommand, serverKind, serverUnavailableReason } from './framework/process.js';
import { etcdctlUnavailableReason, runEtcdctl } from './framework/etcdctl.js';
import { BoltReader } from '../../src/backend/bbolt/reader.js';
import { verifySnapshot } from '../../src/server/snapshot-file.js';
import { authpb } from '../../src/proto/pb.js';

const skip = serverUnavailableReason() ?? etcdctlUnavailableReason('etcdctl') ?? false;

/** The bcrypt cost of user `name`'s stored hash, from a snapshot of the member. */
async function costOf(c: Cluster, name: string): Promise<number> {
  const add = await runEtcdctl(c.endpoints, ['user', 'add', `${name}:pw`]);
  assert.equal(add.code, 0, add.stderr);
  const snap = join(makeTempDir('etcd-ts-auth-flags-'), 'snap.db');
  const save = await runEtcdctl(c.endpoints, ['snapshot', 'save', snap]);
  assert.equal(save.code, 0, save.stderr);
  const { dbBytes } = verifySnapshot(snap, false);
  const reader = BoltReader.open(snap, dbBytes);
  try {
    for (const [k, v] of reader.entries(Buffer.from('authUsers'))) {
      if (Buffer.from(k).toString() !== name) continue;
      const hash = Buffer.from(authpb.User.decode(v).password ?? []).toString();
      const m = /^\$2[aby]\$(\d\d)\$/.exec(hash);
      assert.ok(m !== null, `not a bcrypt hash: ${hash}`);
      return Number(m[1]);
    }
  } finally {
    reader.close();
  }
  throw new Error(`user ${name} not in the snapshot's authUsers bucket`);
}

describe('auth flags through a real process', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  it('--bcrypt-cost 4 hashes with cost 4; the default with 10', async () => {
    const low = await Cluster.start({ name: 'bcrypt4', extraFlags: ['--bcrypt-cost', '4'] });
    try {
      assert.equal(await costOf(low, 'u4'), 4);
    } finally {
      await low.close();
    }
    const dflt = await Cluster.start({ name: 'bcrypt-default' });
    try {
      assert.equal(await costOf(dflt, 'u10'), 10);
    } finally {
      await dflt.close();
    }
  });

  it('--auth-token jwt,... (not yet) and --bcrypt-cost 3 are refused at start', { skip: serverKind() === 'real' ? 'etcd-ts refusals' : false }, () => {
    const run = (args: string[]) => {
      const [cmd, ...pre] = serverCommand();
      return spawnSync(cmd!, [...pre, '--data-dir', join(makeTempDir('etcd-ts-auth-flags-'), 'd'), ...args], { env: serverEnv(), encoding: 'utf8', timeout: READY_TIMEOUT_MS });
    };
    const jwt = run(['--auth-token', 'jwt,pub-key=a.pub,priv-key=a.key,sign-method=RS256']);
    assert.equal(jwt.status, 1);
    assert.match(jwt.stderr, /--auth-token "jwt": only "simple" tokens are supported yet/);
    const cost = run(['--bcrypt-cost', '3']);
    assert.notEqual(cost.status, 0);
    assert.match(cost.stderr + cost.stdout, /bcrypt-cost/);
  });
});
