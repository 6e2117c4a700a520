/**
 * Differential check against the real etcd binary (3.4 in this environment), for inputs
 * etcd refuses before it starts anything: same exit code, and our message begins like
 * etcd's (we may add detail after etcd's text). Skipped when no etcd binary is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseServerConfig } from '../../../../src/config/config.js';
import { skipUnlessRequired } from '../../../e2e/framework/required.js';

const ETCD = process.env['ETCD_COMPAT_BIN'] ?? '/usr/bin/etcd';
// Under CI=true a missing etcd fails the run (CI installs etcd-server; a skip would hide this check).
const skip = skipUnlessRequired(existsSync(ETCD) ? undefined : `no etcd binary at ${ETCD}`) ?? false;

interface Case {
  readonly argv: string[];
  readonly env?: Record<string, string>;
}

const cases: Case[] = [
  { argv: ['--bad-flag'] },
  { argv: ['-bad-flag=1'] },
  { argv: ['--data_dir=x'] },
  { argv: ['---name'] },
  { argv: ['--name'] },
  { argv: ['--max-txn-ops=abc'] },
  { argv: ['--max-txn-ops=-1'] },
  { argv: ['--max-request-bytes', '1k'] },
  { argv: ['--heartbeat-interval=abc'] },
  { argv: ['--enable-pprof=maybe'] },
  { argv: ['--initial-cluster-state=foo'] },
  { argv: ['--listen-client-urls=notaurl'] },
  { argv: ['--listen-client-urls=http://127.0.0.1:2379/foo'] },
  { argv: ['--enable-pprof', 'false'] },
  { argv: ['extra'] },
  { argv: ['--', '--name', 'x'] },
  { argv: ['--listen-client-urls', 'http://127.0.0.1:2379'] },
  { argv: ['--election-timeout', '100'] },
  { argv: ['--heartbeat-interval', '0'] },
  { argv: ['--name', 'x'], env: { ETCD_NAME: 'y' } },
  { argv: [], env: { ETCD_MAX_TXN_OPS: 'abc' } },
];

/** etcd's message: the Go flag line, or the text of "error verifying flags, <msg>. See 'etcd --help'." / zap "error". */
function etcdMessage(stderr: string): string {
  const verifying = /error verifying flags, (.*)\. See 'etcd --help'\./.exec(stderr);
  if (verifying?.[1] !== undefined) return verifying[1];
  const conflict = /pkg\/flags: (conflicting environment variable .*)$/m.exec(stderr);
  if (conflict?.[1] !== undefined) return conflict[1];
  for (const line of stderr.split('\n')) {
    if (line.startsWith('{')) {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e['msg'] === 'failed to verify flags') return String(e['error']);
    }
  }
  return stderr.split('\n')[0] ?? '';
}

test('etcd and etcd-ts refuse the same inputs the same way', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-compat-'));
  try {
    for (const c of cases) {
      const env = { PATH: process.env['PATH'] ?? '', ...c.env };
      const real = spawnSync(ETCD, c.argv, { cwd: dir, env, encoding: 'utf8', timeout: 60_000 }); // a hang bound: every case is refused at once
      assert.notEqual(real.status, null, `etcd ${c.argv.join(' ')} did not exit by itself`);
      let ours: ConfigError | undefined;
      try {
        parseServerConfig(c.argv, c.env ?? {});
      } catch (e) {
        if (e instanceof ConfigError) ours = e;
        else throw e;
      }
      const label = `${JSON.stringify(c.env ?? {})} etcd ${c.argv.join(' ')}`;
      assert.ok(ours !== undefined, `${label}: etcd-ts accepted what etcd refused`);
      assert.equal(ours.exitCode, real.status, `${label}: exit code`);
      const theirs = etcdMessage(real.stderr);
      // etcd's text up to its first ": " starts ours (the detail after it may differ: ours is more specific).
      const head = theirs.split(': ')[0] ?? '';
      assert.ok(head !== '' && ours.message.startsWith(head), `${label}: message\n ours:   ${ours.message}\n theirs: ${theirs}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
