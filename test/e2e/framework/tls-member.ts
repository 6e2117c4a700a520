/**
 * A one-member server started with any flags (TLS, unix sockets, metrics URLs), for the TLS
 * tests: the standard Cluster starts http:// members only. Ready means GET /health answers 200
 * on the given probe URL (over TLS with the given credentials).
 */
import * as https from 'node:https';
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverEnv, READY_TIMEOUT_MS } from './cluster.js';
import { makeTempDir, serverCommand, sleep, startProcess, type ServerProcess } from './process.js';

export interface Creds {
  ca?: string;
  cert?: string;
  key?: string;
  /** Skip server certificate verification (auto TLS). */
  insecure?: boolean;
}

export function httpsGet(url: string, creds: Creds = {}, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'GET',
        timeout: timeoutMs,
        agent: false,
        ...(u.protocol === 'https:'
          ? {
              ca: creds.ca !== undefined ? readFileSync(creds.ca) : undefined,
              cert: creds.cert !== undefined ? readFileSync(creds.cert) : undefined,
              key: creds.key !== undefined ? readFileSync(creds.key) : undefined,
              rejectUnauthorized: creds.insecure !== true,
            }
          : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface FlagMember {
  proc: ServerProcess;
  workDir: string;
  dataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

/** Start a member with `flags` (after --name/--data-dir) in a fresh work dir; wait until `probeUrl` /health answers. */
export async function startFlagMember(flags: string[], probeUrl: string, creds: Creds = {}, workDir = makeTempDir('etcd-ts-tls-')): Promise<FlagMember> {
  const dataDir = join(workDir, 'data');
  const logFile = join(workDir, 'server.log');
  const proc = startProcess([...serverCommand(), '--name', 'tls', '--data-dir', dataDir, ...flags], { cwd: workDir, env: serverEnv(), logFile });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: unknown;
  for (;;) {
    if (proc.exit !== undefined) throw new Error(`server exited (code ${proc.exit.code})\n${proc.tail()}`);
    try {
      const r = await httpsGet(`${probeUrl}/health`, creds, 1000);
      if (r.status === 200) break;
      last = `HTTP ${r.status} ${r.body}`;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`server not ready: ${String(last)}\n${proc.tail()}`);
    await sleep(100);
  }
  return { proc, workDir, dataDir, logFile, stop: () => proc.stop() };
}

/** Start a member expected to refuse its flags; its exit code and output. */
export async function startRefused(flags: string[]): Promise<{ code: number | null; output: string }> {
  const workDir = makeTempDir('etcd-ts-tls-');
  const logFile = join(workDir, 'server.log');
  const proc = startProcess([...serverCommand(), '--name', 'tls', '--data-dir', join(workDir, 'data'), ...flags], { cwd: workDir, env: serverEnv(), logFile });
  const timer = setTimeout(() => void proc.kill9(), 15_000);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { code: exit.code, output: readFileSync(logFile, 'utf8') };
}
