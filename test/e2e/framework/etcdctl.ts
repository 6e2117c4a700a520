/**
 * Running etcdctl: the real etcdctl 3.4 (ETCDCTL_BIN, default `etcdctl` on PATH) or our
 * bin/etcdctl, with ETCDCTL_API=3; stdout, stderr and exit code come back, stdin goes in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './process.js';
import { skipUnlessRequired } from './required.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal (then `signal` is set). */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type EtcdctlKind = 'etcdctl' | 'our-etcdctl';

/** Argv prefix for an etcdctl of the given kind. */
export function etcdctlCommand(kind: EtcdctlKind = 'etcdctl'): string[] {
  if (kind === 'our-etcdctl') return [process.execPath, join(REPO_ROOT, 'bin', 'etcdctl')];
  return [process.env['ETCDCTL_BIN'] ?? 'etcdctl'];
}

/** Why an etcdctl of this kind cannot run here, or undefined. */
export function etcdctlUnavailableReason(kind: EtcdctlKind = 'etcdctl'): string | undefined {
  if (kind === 'our-etcdctl') {
    const main = join(REPO_ROOT, 'dist', 'src', 'cli', 'etcdctl', 'main.js');
    return skipUnlessRequired(existsSync(main) ? undefined : `our etcdctl is not built yet (${main} missing)`);
  }
  const bin = etcdctlCommand(kind)[0]!;
  const r = spawnSync(bin, ['version'], { env: etcdctlEnv(), encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    return skipUnlessRequired(`etcdctl not runnable (${bin}: ${r.error?.message ?? r.stderr}); install Debian's etcd-client`);
  }
  return undefined;
}

/** The environment for etcdctl: ours minus any ETCDCTL_* the caller had, plus ETCDCTL_API=3. */
export function etcdctlEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
  env['ETCDCTL_API'] = '3';
  return env;
}

export interface RunOptions {
  stdin?: string;
  timeoutMs?: number;
  kind?: EtcdctlKind;
}

/** Run `etcdctl --endpoints=<endpoints> <args...>` and collect its output and exit code. */
export function runEtcdctl(endpoints: string[], args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [bin, ...pre] = etcdctlCommand(opts.kind);
  const argv = [...pre, `--endpoints=${endpoints.join(',')}`, ...args];
  return runCommand(bin!, argv, opts.stdin, opts.timeoutMs ?? 30_000, etcdctlEnv());
}

export function runCommand(
  bin: string,
  argv: string[],
  stdin: string | undefined,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
    child.stdin.on('error', () => {
      /* the process may exit before reading stdin */
    });
    child.stdin.end(stdin ?? '');
  });
}

