#!/usr/bin/env node
// Runs every compiled test file under dist/test with node's test runner.
// Usage: node scripts/run-tests.mjs [substring filter...]
//
// Bounds, so one hang cannot hold CI until its own limit:
// - every test file, suite and test without its own `timeout` fails after ETCD_TEST_TIMEOUT_MS
//   (default 600 000 ms = 10 min: node applies --test-timeout to each file as a whole too, and a
//   file of process tests takes minutes on a loaded 2-core machine; process suites set their
//   own, SUITE_TIMEOUT_MS);
// - the whole run is killed after ETCD_TEST_RUN_TIMEOUT_MS (default 1 500 000 ms = 25 min),
//   with a message naming the bound, and exits non-zero.
// Both are hang detectors, never pass/fail timing: a healthy run is far below them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = join(import.meta.dirname, '..');
const testRoot = join(root, 'dist', 'test');
const filters = process.argv.slice(2);
const testTimeoutMs = Number(process.env['ETCD_TEST_TIMEOUT_MS'] ?? 600_000);
const runTimeoutMs = Number(process.env['ETCD_TEST_RUN_TIMEOUT_MS'] ?? 1_500_000);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(testRoot, [])
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/test');
  process.exit(1);
}
// Pending features (test/e2e/framework/pending.ts): a second reporter counts their todo tests.
const reportDir = mkdtempSync(join(tmpdir(), 'run-tests-'));
const pendingReport = join(reportDir, 'pending.jsonl');
const reporters = [
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'scripts', 'pending-reporter.mjs')}`, `--test-reporter-destination=${pendingReport}`,
];
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${testTimeoutMs}`, ...reporters, ...files], {
  stdio: 'inherit',
  detached: true, // its own process group, so the watchdog can end it with every server it started
});
const watchdog = setTimeout(() => {
  console.error(`\nrun-tests: the run exceeded ETCD_TEST_RUN_TIMEOUT_MS=${runTimeoutMs} ms; killing it (a hang, not a slow test)`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  process.exitCode = 124;
}, runTimeoutMs);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  });
}
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  if (process.exitCode === undefined) process.exitCode = code ?? (signal ? 1 : 0);
  let lines = [];
  try {
    lines = readFileSync(pendingReport, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    /* no pending tests ran */
  }
  rmSync(reportDir, { recursive: true, force: true });
  for (const t of lines) {
    if (t.passed > 0 && t.failed === 0) {
      console.error(`\nrun-tests: ${t.reason.split(':')[0]}: all ${t.passed} of its todo tests pass. The feature has landed:`);
      console.error('  remove it from PENDING in test/e2e/framework/pending.ts, so its tests count (this fails the run until then).');
      process.exitCode = 1;
    } else {
      console.log(`run-tests: ${t.reason.split(':')[0]}: ${t.passed} todo tests pass, ${t.failed} fail (still pending)`);
    }
  }
});
