/**
 * etcd's health and version endpoints (etcd 3.6 etcdhttp/health.go), on the client port and
 * the metrics listener:
 *
 *   GET /health[?serializable=true][&exclude=NOSPACE...]
 *     200 {"health":"true","reason":""}
 *     503 {"health":"false","reason":"ALARM NOSPACE" | "ALARM CORRUPT" | "RAFT NO LEADER" | "RANGE ERROR:<error>"}
 *     checks in order: active alarms (minus the excluded ones), a leader (unless serializable),
 *     a keys-only Range with limit 1 (serializable when asked);
 *   GET /livez, /readyz[?exclude=<check>...][&verbose]
 *     200 "ok\n" (with ?verbose: "[+]<check> ok\n" per check first)
 *     503 "[+]<check> ok\n[-]<check> failed: <error>\n...\n" (every check run, as etcd's http.Error)
 *     livez: serializable_read; readyz: data_corruption, serializable_read, linearizable_read, non_learner;
 *     and each check alone at /livez/<check>, /readyz/<check>;
 *   GET /version  -> 200 {"etcdserver":"3.6.0","etcdcluster":"3.6.0"}
 * Other methods: 405 with Allow: GET.
 */
import type { ServerResponse } from 'node:http';
import type { HttpRouter } from './router.js';
import { sendJson, sendText } from './router.js';

/** What the health endpoints need of the server. */
export interface HealthServer {
  /** Active alarms (etcdserverpb.AlarmType: 1 NOSPACE, 2 CORRUPT). */
  alarms(): readonly { readonly alarm: number }[];
  hasLeader(): boolean;
  isLearner(): boolean;
  /** A keys-only Range with limit 1; rejects with the error it got. */
  read(serializable: boolean): Promise<void>;
}

/** Counts for /metrics (etcd_server_health_success/failures, etcd_server_healthcheck{,s_total}). */
export interface HealthStats {
  success: number;
  failures: number;
  /** `${type}/${name}` -> last result and totals. */
  readonly checks: Map<string, { ok: boolean; success: number; error: number }>;
}

export function newHealthStats(): HealthStats {
  return { success: 0, failures: 0, checks: new Map() };
}

const ALARM_REASON: Record<number, string> = { 1: 'ALARM NOSPACE', 2: 'ALARM CORRUPT' };
const ALARM_NAME: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

function query(url: string | undefined): URLSearchParams {
  const q = (url ?? '').indexOf('?');
  return new URLSearchParams(q < 0 ? '' : (url ?? '').slice(q + 1));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function checkHealth(s: HealthServer, excluded: ReadonlySet<string>, serializable: boolean): Promise<{ health: string; reason: string }> {
  for (const a of s.alarms()) {
    if (excluded.has(ALARM_NAME[a.alarm] ?? String(a.alarm))) continue;
    return { health: 'false', reason: ALARM_REASON[a.alarm] ?? 'ALARM UNKNOWN' };
  }
  if (!serializable && !s.hasLeader()) return { health: 'false', reason: 'RAFT NO LEADER' };
  try {
    await s.read(serializable);
  } catch (err) {
    return { health: 'false', reason: `RANGE ERROR:${message(err)}` };
  }
  return { health: 'true', reason: '' };
}

type Check = () => Promise<void>;

export function registerHealthRoutes(router: HttpRouter, s: HealthServer, stats: HealthStats = newHealthStats()): HealthStats {
  router.get('/health', async (req, res) => {
    const q = query(req.url);
    const excluded = new Set(q.getAll('exclude').filter((x) => x !== ''));
    const h = await checkHealth(s, excluded, q.get('serializable') === 'true');
    if (h.health === 'true') {
      stats.success++;
      sendJson(res, 200, h);
    } else {
      stats.failures++;
      sendText(res, 503, JSON.stringify(h) + '\n');
    }
  });
  const read = (serializable: boolean): Check => () => s.read(serializable);
  const registries: Record<'livez' | 'readyz', [string, Check][]> = {
    livez: [['serializable_read', read(true)]],
    readyz: [
      ['data_corruption', async () => {
        if (s.alarms().some((a) => a.alarm === 2)) throw new Error('alarm activated: CORRUPT');
      }],
      ['serializable_read', read(true)],
      ['linearizable_read', read(false)],
      ['non_learner', async () => {
        if (s.isLearner()) throw new Error('not supported for learner');
      }],
    ],
  };
  for (const type of ['livez', 'readyz'] as const) {
    const all = registries[type];
    const run = async (checks: [string, Check][]): Promise<{ ok: boolean; text: string }> => {
      let ok = true;
      let text = '';
      for (const [name, check] of checks) {
        let err: unknown;
        try {
          await check();
        } catch (e) {
          err = e;
        }
        const key = `${type}/${name}`;
        const st = stats.checks.get(key) ?? { ok: true, success: 0, error: 0 };
        stats.checks.set(key, st);
        st.ok = err === undefined;
        if (err === undefined) {
          st.success++;
          text += `[+]${name} ok\n`;
        } else {
          st.error++;
          ok = false;
          text += `[-]${name} failed: ${message(err)}\n`;
        }
      }
      return { ok, text };
    };
    const answer = (res: ServerResponse, verbose: boolean, r: { ok: boolean; text: string }): void => {
      if (!r.ok) {
        sendText(res, 503, r.text + '\n');
        return;
      }
      res.setHeader('X-Content-Type-Options', 'nosniff');
      sendText(res, 200, (verbose ? r.text : '') + 'ok\n');
    };
    router.get(`/${type}`, async (req, res) => {
      const q = query(req.url);
      const excluded = new Set(q.getAll('exclude'));
      answer(res, q.has('verbose'), await run(all.filter(([name]) => !excluded.has(name))));
    });
    for (const entry of all) {
      router.get(`/${type}/${entry[0]}`, async (req, res) => {
        answer(res, query(req.url).has('verbose'), await run([entry]));
      });
    }
  }
  return stats;
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
