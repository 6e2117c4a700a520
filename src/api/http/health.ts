/**
 * etcd's health and version endpoints on the client port:
 *   GET /health   -> 200 {"health":"true","reason":""} | 503 {"health":"false","reason":"..."}
 *   GET /livez    -> 200 "ok" | 503 "[-]<check> failed: <reason>\nlivez check failed"
 *   GET /readyz   -> the same shape with "readyz"
 *   GET /version  -> 200 {"etcdserver":"3.6.0","etcdcluster":"3.6.0"}
 * The checks are callbacks so the server decides what healthy means (leader, alarms, a
 * serializable read); this module only shapes the answers as etcd does.
 */
import type { HttpRouter } from './router.js';
import { sendJson, sendText } from './router.js';

export interface HealthResult {
  readonly ok: boolean;
  /** Why not ok, e.g. 'RAFT NO LEADER' or 'ALARM NOSPACE' (etcd's reasons); '' when ok. */
  readonly reason: string;
}

export type HealthCheck = () => HealthResult | Promise<HealthResult>;

export interface HealthRoutesOptions {
  /** /health; etcd answers it from leader presence, alarms and a test read. */
  health: HealthCheck;
  /** /livez; default: always ok (the process answers). */
  livez?: HealthCheck;
  /** /readyz; default: the health check. */
  readyz?: HealthCheck;
}

const OK: HealthResult = { ok: true, reason: '' };

export function registerHealthRoutes(router: HttpRouter, opts: HealthRoutesOptions): void {
  router.get('/health', async (_req, res) => {
    const r = await opts.health();
    sendJson(res, r.ok ? 200 : 503, { health: r.ok ? 'true' : 'false', reason: r.reason });
  });
  const probe = (kind: 'livez' | 'readyz', check: HealthCheck) => router.get(`/${kind}`, async (_req, res) => {
    const r = await check();
    if (r.ok) sendText(res, 200, 'ok');
    else sendText(res, 503, `[-]${kind} failed: ${r.reason}\n${kind} check failed\n`);
  });
  probe('livez', opts.livez ?? (() => OK));
  probe('readyz', opts.readyz ?? opts.health);
}

export interface VersionInfo {
  /** The etcd server version we report (default 3.6.0, settable as kine's --emulated-etcd-version). */
  readonly etcdserver: string;
  /** The cluster version; etcd reports "not_decided" before the cluster agrees. */
  readonly etcdcluster: string;
  /** Any further fields etcd's /version carries in the emulated version (e.g. storage). */
  readonly [field: string]: string;
}

export function registerVersionRoute(router: HttpRouter, version: VersionInfo | (() => VersionInfo)): void {
  router.get('/version', (_req, res) => {
    sendJson(res, 200, typeof version === 'function' ? version() : version);
  });
}
