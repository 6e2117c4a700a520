/**
 * Process plumbing for the process-level tests: which server binary to run, free ports,
 * temporary directories, spawning with output captured to a file, kill -9, and a last-resort
 * reaper so that no server outlives the test process (even when a test fails or throws).
 *
 * The server under test is chosen by ETCD_TEST_SERVER:
 *   - unset or `ours`: `node bin/etcd` with this process's node (process.execPath);
 *   - `real`: the real etcd (ETCD_BIN, default /usr/bin/etcd), used to prove the tests right
 *     and to record fixtures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { appendFileSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from './required.js';

export type ServerKind = 'real' | 'ours';

/** The repository root: the nearest directory above this file holding package.json. */
export const REPO_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
})();

export function serverKind(): ServerKind {
  const v = (process.env['ETCD_TEST_SERVER'] ?? 'ours').trim();
  if (v === 'real') return 'real';
  if (v === '' || v === 'ours') return 'ours';
  throw new Error(`ETCD_TEST_SERVER must be "real" or "ours" (or unset), got ${JSON.stringify(v)}`);
}

/** The real etcd binary (only used with ETCD_TEST_SERVER=real). */
export const REAL_ETCD_BIN: string = process.env['ETCD_BIN'] ?? '/usr/bin/etcd';

/** Argv prefix that starts the server under test (flags are appended). */
export function serverCommand(kind: ServerKind = serverKind()): string[] {
  if (kind === 'real') return [REAL_ETCD_BIN];
  return [process.execPath, join(REPO_ROOT, 'bin', 'etcd')];
}

/**
 * Why the server under test cannot be started at all, or undefined if it can. Tests pass this
 * to `{ skip }` so that a checkout where bin/etcd is not built yet (or a CI machine without the
 * real etcd when ETCD_TEST_SERVER=real) reports skipped tests with a reason instead of failures.
 */
export function serverUnavailableReason(kind: ServerKind = serverKind()): string | undefined {
  if (kind === 'real') {
    return skipUnlessRequired(existsSync(REAL_ETCD_BIN) ? undefined : `ETCD_TEST_SERVER=real but ${REAL_ETCD_BIN} does not exist`);
  }
  const main = join(REPO_ROOT, 'dist', 'src', 'cli', 'etcd', 'main.js');
  return skipUnlessRequired(existsSync(main) ? undefined : `our server is not built yet (${main} missing); set ETCD_TEST_SERVER=real to run against the real etcd`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. Ports handed out by this process are never repeated. */
const handedOut = new Set<number>();
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('could not find a free port');
}

/** Whether something can bind host:port right now. */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

const tempDirs: string[] = [];
/** A fresh directory under the OS temp dir, removed when the test process exits (unless ETCD_TEST_KEEP=1). */
export function makeTempDir(prefix = 'etcd-ts-e2e-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** File that receives the process's stdout and stderr (appended, so restarts keep history). */
  logFile: string;
}

const live = new Set<ServerProcess>();

/** One OS process, with its combined output in `logFile`. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly argv: readonly string[];
  readonly logFile: string;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(argv: readonly string[], opts: SpawnOptions) {
    if (argv.length === 0) throw new Error('empty argv');
    this.argv = argv;
    this.logFile = opts.logFile;
    const fd = openSync(opts.logFile, 'a');
    try {
      this.child = spawn(argv[0]!, argv.slice(1), {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        stdio: ['ignore', fd, fd],
        detached: false,
      });
    } finally {
      closeSync(fd);
    }
    live.add(this);
    this.exited = new Promise((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exitInfo !== undefined) return;
        this.exitInfo = { code, signal };
        live.delete(this);
        resolve(this.exitInfo);
      };
      this.child.once('exit', done);
      this.child.once('error', (err) => {
        // spawn failure (ENOENT...): record it in the log so the failure message shows it.
        try {
          appendFileSync(opts.logFile, `spawn ${argv.join(' ')} failed: ${String(err)}\n`);
        } catch {
          /* ignore */
        }
        done(127, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process has exited, and how. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<void> {
    if (this.exitInfo === undefined) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; waits until the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exitInfo !== undefined) return;
    try {
      this.child.kill('SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** The last `lines` lines of the process's output. */
  tail(lines = 40): string {
    return tailOfFile(this.logFile, lines);
  }
}

export function tailOfFile(file: string, lines = 40): string {
  try {
    const text = readFileSync(file, 'utf8');
    const all = text.split('\n');
    return all.slice(Math.max(0, all.length - lines - 1)).join('\n');
  } catch (err) {
    return `(no log: ${String(err)})`;
  }
}

/** Kill every process this module started that is still running (synchronous: safe in 'exit'). */
export function killAllStarted(): void {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

let reaperInstalled = false;
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.on('exit', () => {
    killAllStarted();
    if (process.env['ETCD_TEST_KEEP'] !== '1') {
      for (const d of tempDirs) {
        try {
          rmSync(d, { recursive: true, force: true });
        } catch {
          /* ignore */
        }
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllStarted();
      process.exit(130);
    });
  }
}
installReaper();

/** Spawn a process with output captured; it is killed when the test process exits at the latest. */
export function startProcess(argv: readonly string[], opts: SpawnOptions): ServerProcess {
  return new ServerProcess(argv, opts);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Upper bound on one suite (a describe) in ms, so a server that hangs fails the run instead of
 * stalling it; generous, since pass/fail never depends on timing. ETCD_TEST_SUITE_TIMEOUT_MS.
 */
export const SUITE_TIMEOUT_MS = Number(process.env['ETCD_TEST_SUITE_TIMEOUT_MS'] ?? 480_000);
