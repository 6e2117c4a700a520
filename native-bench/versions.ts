/** The versions that ran: `etcd --version` for the binary, Status.version from the server. */
import { spawnSync } from 'node:child_process';
import { EtcdConn } from '../bench/etcd-client.js';

export function parseEtcdVersion(text: string): string | undefined {
  return /etcd Version:\s*(\S+)/.exec(text)?.[1];
}

export function binaryVersion(cmd: string, pre: string[]): string {
  const r = spawnSync(cmd, [...pre, '--version'], { encoding: 'utf8', timeout: 10_000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const v = parseEtcdVersion(out);
  if (v) return v;
  if (r.status !== 0) return `unavailable (--version exited ${r.status ?? r.signal})`;
  return out.trim().split('\n')[0] ?? 'unknown';
}

export async function serverVersion(endpoint: string): Promise<string> {
  const c = new EtcdConn(endpoint, 3000);
  try {
    return (await c.status()).version;
  } finally {
    c.close();
  }
}
