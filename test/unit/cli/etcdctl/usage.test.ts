import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCommand } from '../../../../src/cli/etcdctl/commands/get.js';
import { commandUsage } from '../../../../src/cli/etcdctl/usage.js';
import { run } from '../../../../src/cli/etcdctl/etcdctl.js';
import { REPO_ROOT } from '../../../e2e/framework/process.js';

function fixture(name: string): { stdout: string; stderr: string; exitCode: number } {
  const r = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'etcdctl-3.4', name), 'utf8')) as { stdout: string; stderr: string; exitCode: number };
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
}

test('get usage is byte-identical to etcdctl 3.4 (fixture 114, endpoint port normalised)', () => {
  assert.equal(commandUsage(getCommand).replace('127.0.0.1:2379', '127.0.0.1:<PORT>'), fixture('114-unknown-flag.json').stdout);
});

async function runCapture(argv: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = '';
  let stderr = '';
  const exitCode = await run(argv, { stdout: (s) => (stdout += String(s)), stderr: (s) => (stderr += s) }, {}, async () => '');
  return { stdout: stdout.replace('127.0.0.1:2379', '127.0.0.1:<PORT>'), stderr, exitCode };
}

test('unknown flag and unknown command, as cobra in etcdctl 3.4 (fixtures 113, 114)', async () => {
  assert.deepEqual(await runCapture(['get', '--frobnicate', 'foo']), fixture('114-unknown-flag.json'));
  assert.deepEqual(await runCapture(['frobnicate']), fixture('113-unknown-command.json'));
});

test('usage errors need no server (fixtures 052, 068, 109, 131, 132)', async () => {
  for (const [argv, name] of [
    [['get', '--prefix', '--from-key', 'foo'], '052-get-prefix-and-from-key.json'],
    [['put'], '068-put-no-args.json'],
    [['compaction'], '109-compaction-no-arg.json'],
    [['lease', 'revoke', 'zz'], '131-lease-revoke-bad-id.json'],
    [['lease', 'grant'], '132-lease-grant-no-ttl.json'],
  ] as const) {
    assert.deepEqual(await runCapture([...argv]), fixture(name), name);
  }
});
