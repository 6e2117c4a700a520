/**
 * Command-line flags of `npm run bench -- <workload> [flags]`.
 *
 * Flag names follow etcd's tools/benchmark where a flag exists there (--conns, --clients,
 * --total, --key-size, --val-size, --key-space-size, --sequential-keys, --target-leader,
 * --consistency, --limit, --rate, --rw-ratio, --streams, --watch-per-stream,
 * --watched-key-total, --put-rate). Pure: no I/O, so it is unit-tested.
 */

/** Workloads, named as in etcd's benchmark tool. */
export const WORKLOADS = [
  'put', 'range', 'txn-put', 'txn-mixed', 'watch', 'watch-latency', 'lease-keepalive', 'lease-grant-revoke', 'gateway',
  'kube-create-delete', 'kube-list', 'kube-count',
] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface BenchOptions {
  workload: Workload;
  endpoints: string[];
  /** gRPC channels (TCP connections), spread over the worker threads. */
  conns: number;
  /** concurrent requests in flight (closed loop: each client waits for its answer). */
  clients: number;
  /** worker threads generating load; 0 = min(clients, cpus). */
  threads: number;
  /** stop after this many requests; 0 = use durationS. */
  total: number;
  /** stop after this many seconds, when total is 0. */
  durationS: number;
  /** requests per second over all clients; 0 = unlimited. */
  rate: number;
  keySize: number;
  valSize: number;
  keySpaceSize: number;
  sequentialKeys: boolean;
  targetLeader: boolean;
  /** range: 'l' linearizable, 's' serializable. */
  consistency: 'l' | 's';
  /** range: max keys per response; 0 = no limit. */
  limit: number;
  /** write every key of the key space once before measuring (range, txn-*). */
  prefill: boolean;
  /** txn-mixed: reads per write. */
  rwRatio: number;
  /** watch: gRPC watch streams, watchers on each, distinct watched keys, puts/s. */
  streams: number;
  watchPerStream: number;
  watchedKeyTotal: number;
  putRate: number;
  /** any workload: watchers that never see an event, opened before the clock starts, over this many streams. */
  idleWatchers: number;
  idleStreams: number;
  /** gateway: 'put' or 'range'. */
  gatewayOp: 'put' | 'range';
  /** per-request deadline; 0 = none. */
  timeoutMs: number;
  json: boolean;
  progress: boolean;
  /** TLS (etcd's benchmark flags): CA bundle, client certificate and key; all empty: plain text. */
  cacert: string;
  cert: string;
  key: string;
}

export const DEFAULTS: Omit<BenchOptions, 'workload'> = {
  endpoints: ['127.0.0.1:2379'],
  conns: 1,
  clients: 1,
  threads: 0,
  total: 10000,
  durationS: 0,
  rate: 0,
  keySize: 8,
  valSize: 256,
  keySpaceSize: 1,
  sequentialKeys: false,
  targetLeader: false,
  consistency: 'l',
  limit: 0,
  prefill: false,
  rwRatio: 1,
  streams: 10,
  watchPerStream: 100,
  watchedKeyTotal: 1,
  putRate: 100,
  idleWatchers: 0,
  idleStreams: 100,
  gatewayOp: 'put',
  timeoutMs: 10000,
  json: false,
  progress: true,
  cacert: '',
  cert: '',
  key: '',
};

export class ArgError extends Error {}

type Kind = 'int' | 'num' | 'bool' | 'str' | 'list';
const FLAGS: Record<string, [keyof BenchOptions, Kind]> = {
  endpoints: ['endpoints', 'list'],
  conns: ['conns', 'int'],
  clients: ['clients', 'int'],
  threads: ['threads', 'int'],
  total: ['total', 'int'],
  duration: ['durationS', 'num'],
  rate: ['rate', 'num'],
  'key-size': ['keySize', 'int'],
  'val-size': ['valSize', 'int'],
  'key-space-size': ['keySpaceSize', 'int'],
  'sequential-keys': ['sequentialKeys', 'bool'],
  'target-leader': ['targetLeader', 'bool'],
  consistency: ['consistency', 'str'],
  limit: ['limit', 'int'],
  prefill: ['prefill', 'bool'],
  'rw-ratio': ['rwRatio', 'num'],
  streams: ['streams', 'int'],
  'watch-per-stream': ['watchPerStream', 'int'],
  'watched-key-total': ['watchedKeyTotal', 'int'],
  'put-rate': ['putRate', 'num'],
  'idle-watchers': ['idleWatchers', 'int'],
  'idle-streams': ['idleStreams', 'int'],
  'gateway-op': ['gatewayOp', 'str'],
  timeout: ['timeoutMs', 'int'],
  json: ['json', 'bool'],
  progress: ['progress', 'bool'],
  cacert: ['cacert', 'str'],
  cert: ['cert', 'str'],
  key: ['key', 'str'],
};

/** Strips a URL scheme so grpc-js gets host:port ("http://127.0.0.1:2379" -> "127.0.0.1:2379"). */
export function normalizeEndpoint(e: string): string {
  return e.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
}

/** Parses "30s", "2m", "500ms" or a bare number of seconds. */
export function parseDurationS(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new ArgError(`invalid duration: ${v}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

function convert(name: string, kind: Kind, raw: string): unknown {
  switch (kind) {
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new ArgError(`--${name} takes true or false, got ${raw}`);
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new ArgError(`--${name} needs a non-negative integer, got ${raw}`);
      return n;
    }
    case 'num': {
      const n = name === 'duration' ? parseDurationS(raw) : Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new ArgError(`--${name} needs a non-negative number, got ${raw}`);
      return n;
    }
    case 'list':
      return raw.split(',').filter((s) => s.length > 0).map(normalizeEndpoint);
    case 'str':
      return raw;
  }
}

/** Parses argv (without node and script). Throws ArgError with a message for the user. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const positional: string[] = [];
  const opts: Record<string, unknown> = { ...DEFAULTS };
  let totalGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    let negated = false;
    if (!(name in FLAGS) && name.startsWith('no-') && name.slice(3) in FLAGS) {
      name = name.slice(3);
      negated = true;
    }
    const spec = FLAGS[name];
    if (!spec) throw new ArgError(`unknown flag --${name}`);
    const [key, kind] = spec;
    if (kind === 'bool' && value === undefined) {
      const next = argv[i + 1];
      value = next === 'true' || next === 'false' ? (i++, next) : 'true';
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new ArgError(`--${name} needs a value`);
    }
    let v = convert(name, kind, value);
    if (negated) v = !v;
    if (key === 'total') totalGiven = true;
    opts[key] = v;
  }
  if (positional.length !== 1) throw new ArgError(`expected one workload (${WORKLOADS.join(', ')})`);
  const workload = positional[0] as Workload;
  if (!WORKLOADS.includes(workload)) throw new ArgError(`unknown workload ${workload}; one of ${WORKLOADS.join(', ')}`);
  const o = { ...opts, workload } as BenchOptions;
  if ((o.durationS as number) > 0 && !totalGiven) o.total = 0;
  if (o.total > 0 && o.durationS > 0) throw new ArgError('give --total or --duration, not both');
  if (o.total === 0 && o.durationS === 0) throw new ArgError('give --total or --duration');
  if (o.consistency !== 'l' && o.consistency !== 's') throw new ArgError('--consistency is l or s');
  if (o.gatewayOp !== 'put' && o.gatewayOp !== 'range') throw new ArgError('--gateway-op is put or range');
  if (o.clients < 1 || o.conns < 1) throw new ArgError('--clients and --conns must be >= 1');
  if (o.conns > o.clients) o.conns = o.clients;
  if (o.keySpaceSize < 1) throw new ArgError('--key-space-size must be >= 1');
  if (o.endpoints.length === 0) throw new ArgError('--endpoints is empty');
  if (o.streams < 1 || o.watchPerStream < 1 || o.watchedKeyTotal < 1) throw new ArgError('watch counts must be >= 1');
  if (o.idleWatchers < 0 || o.idleStreams < 1) throw new ArgError('--idle-watchers must be >= 0 and --idle-streams >= 1');
  return o;
}

export const USAGE = `usage: npm run bench -- <workload> [flags]
workloads: ${WORKLOADS.join(', ')}
  --endpoints a:p,b:q   --conns N  --clients N  --threads N (0 = auto)
  --total N | --duration 30s      --rate N (req/s, 0 = unlimited)
  --key-size 8  --val-size 256  --key-space-size N  --sequential-keys  --target-leader  --prefill
  range: --consistency l|s --limit N      txn-mixed: --rw-ratio R
  kube-apiserver's shapes (use --prefill): txn-put (update), kube-create-delete (create txn on a new
  key, then the conditional delete of it), kube-list (a --limit page, default 500, from a random key at
  one fixed revision), kube-count (count_only over the key space)
  watch / watch-latency: --streams N --watch-per-stream N --watched-key-total N --put-rate N (puts = --total/--duration)
  --idle-watchers N --idle-streams M: N watchers that see no events, open during the workload
  gateway: --gateway-op put|range (HTTP/JSON with autocannon)
  --json (one JSON line)  --no-progress  --timeout ms (0 = no deadline)
  TLS: --cacert ca.pem [--cert client.pem --key client.key]`;
