/**
 * Builds shim.c (the journaling LD_PRELOAD library) with the machine's C compiler into a
 * temporary directory, and says why it cannot when it cannot.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, makeTempDir, serverKind } from '../../e2e/framework/process.js';
import { skipUnlessRequired } from '../../e2e/framework/required.js';

export const SHIM_SOURCE = join(REPO_ROOT, 'test', 'fault', 'power-loss', 'shim.c');

/** Why the power-loss test cannot run here, or undefined. Under CI=true a missing compiler fails instead. */
export function shimUnavailableReason(): string | undefined {
  if (serverKind() === 'real') {
    // Not a missing tool: Go programs make system calls directly, so an LD_PRELOAD shim sees nothing.
    return 'the power-loss shim works through libc (LD_PRELOAD); etcd is a Go binary that bypasses it';
  }
  return compilerUnavailableReason();
}

/** Why the shim cannot be built and loaded here (no server involved), or undefined. */
export function compilerUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return skipUnlessRequired(`the power-loss shim needs Linux (this is ${process.platform})`);
  const cc = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (cc.error !== undefined || cc.status !== 0) return skipUnlessRequired('gcc not found: it builds the power-loss shim (test/fault/power-loss/shim.c)');
  return undefined;
}

/** Compiles the shim; returns the path of the shared library. */
export function buildShim(): string {
  const out = join(makeTempDir('etcd-ts-powerloss-shim-'), 'powerloss-shim.so');
  const r = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', out, SHIM_SOURCE, '-ldl', '-lpthread'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${SHIM_SOURCE} failed:\n${r.stderr}`);
  return out;
}
