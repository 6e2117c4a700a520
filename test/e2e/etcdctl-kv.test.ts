/**
 * Replays the scripted etcdctl session (etcdctl-script.ts) against the server under test and
 * compares every step — exit code, stdout, stderr, after normalise() — with what the real
 * etcd 3.4 answered (test/fixtures/etcdctl-3.4/, recorded by test/fixtures/record.ts).
 *
 * Runs once per etcdctl available: the real etcdctl 3.4 and, once built, our bin/etcdctl
 * (whose output must be byte-identical to etcdctl 3.4's).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { useCluster } from './framework/hooks.js';
import { pending } from './framework/pending.js';
import { REPO_ROOT, SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';
import { etcdctlUnavailableReason, runEtcdctl, type EtcdctlKind } from './framework/clients.js';
import { STEPS, ScriptRun, commandLine, fixtureFileName, type Recorded } from './etcdctl-script.js';

const FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixtures', 'etcdctl-3.4');

function loadFixture(index: number): Recorded {
  const step = STEPS[index]!;
  const file = join(FIXTURE_DIR, fixtureFileName(index, step));
  const rec = JSON.parse(readFileSync(file, 'utf8')) as Recorded;
  // The script and the fixtures must agree: re-record if you changed the script.
  assert.deepEqual(rec.args, step.args, `${file}: args differ from the script; re-record (see docs/testing.md)`);
  assert.equal(rec.stdin, step.stdin, `${file}: stdin differs from the script; re-record`);
  return rec;
}

function dropClientLogLines(stderr: string): string {
  return stderr
    .split('\n')
    .filter((l) => !l.startsWith('{"level":'))
    .join('\n');
}

for (const kind of ['etcdctl', 'our-etcdctl'] as const satisfies readonly EtcdctlKind[]) {
  const skip = serverUnavailableReason() ?? etcdctlUnavailableReason(kind) ?? false;
  describe(`etcdctl replay (${kind}) matches etcd 3.4 fixtures`, { skip, timeout: SUITE_TIMEOUT_MS }, () => {
    const cluster = useCluster({ name: 'replay' });
    const run = new ScriptRun();
    for (const [i, step] of STEPS.entries()) {
      it(`${String(i + 1).padStart(3, '0')} ${commandLine(step)}`, { todo: pending(step.feature) }, async () => {
        const want = loadFixture(i);
        const r = await runEtcdctl(cluster.c.endpoints, run.args(step), {
          kind,
          ...(step.stdin !== undefined ? { stdin: step.stdin } : {}),
        });
        run.observe(step, r.stdout);
        const got = { exitCode: r.code, stdout: run.normalise(r.stdout), stderr: run.normalise(r.stderr) };
        // etcdctl 3.4 also logs each failed gRPC attempt as a zap JSON line on stderr
        // ("retrying of unary invoker failed"). With the real etcdctl those lines are compared
        // too (they carry the server's status code and message); our etcdctl need not mimic them.
        const wantStderr = kind === 'our-etcdctl' ? dropClientLogLines(want.stderr) : want.stderr;
        if (kind === 'our-etcdctl') got.stderr = dropClientLogLines(got.stderr);
        assert.deepEqual(
          got,
          { exitCode: want.exitCode, stdout: want.stdout, stderr: wantStderr },
          `${want.command}${step.stdin !== undefined ? `\nstdin:\n${step.stdin}` : ''}`,
        );
      });
    }
  });
}
