/**
 * The server's typed configuration, built from etcd's flags (src/cli/etcd/flags.ts),
 * ETCD_* variables or a --config-file, and checked the way etcd checks it before it
 * starts. Field names mirror the flag names in camelCase (`--max-request-bytes` →
 * `maxRequestBytes`); durations are milliseconds.
 *
 * main.ts normally calls loadServerConfig (src/cli/etcd/startup.ts), which wraps this
 * with etcd's error output, --help/--version and logger creation. Directly:
 *   const cfg = parseServerConfig(process.argv.slice(2), process.env);   // throws ConfigError
 *   if (cfg.help) → print formatHelp(), exit 0; if (cfg.version) → print formatVersion(cfg.emulatedEtcdVersion), exit 0
 *   const lg = new Logger(loggerOptionsFrom(cfg)); for (const n of cfg.notices) lg.log(n.level, n.msg, n.fields);
 */
import { resolveFlags, ConfigError, parseGoDuration, type ConfigNotice, type FlagValue, type ResolvedFlags } from './flag-parser.js';
import { flagByName, FLAGS, MAX_ELECTION_TIMEOUT_MS } from './flags.js';
import { checkTlsFlags } from './tls-flags.js';
import { formatHelp, formatVersion } from './help.js';
import type { LoggerOptions, LogLevel } from '../util/logger.js';
import { formatUrl, formatUrlList, parseUrl, UrlError, urlHostname, urlScheme } from '../util/urls.js';

export { ConfigError, formatHelp, formatVersion, type ConfigNotice, type FlagValue };

/** etcd's default backend quota when --quota-backend-bytes is 0: 2 GiB. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
/** etcd warns above this quota (8 GiB). */
export const MAX_RECOMMENDED_QUOTA_BACKEND_BYTES = 8 * 1024 * 1024 * 1024;

export interface InitialClusterMember {
  readonly name: string;
  /** Sorted, as etcd sorts them. */
  readonly peerUrls: readonly URL[];
}

export interface ServerConfig {
  // Member
  readonly name: string;
  /** As given, or "<name>.etcd" (relative to the working directory). */
  readonly dataDir: string;
  /** '' = the storage layer's default place inside dataDir. */
  readonly walDir: string;
  readonly snapshotCount: number;
  /**
   * --experimental-snapshot-catchup-entries (3.6: --snapshot-catchup-entries): entries the log
   * keeps below a released index for followers that lag; further behind, a snapshot.
   */
  readonly snapshotCatchupEntries: number;
  /** ms; one Raft tick. */
  readonly heartbeatInterval: number;
  /** ms; a multiple of 5+ heartbeats. electionTicks = round(electionTimeout / heartbeatInterval). */
  readonly electionTimeout: number;
  readonly initialElectionTickAdvance: boolean;
  readonly listenPeerUrls: readonly URL[];
  readonly listenClientUrls: readonly URL[];
  readonly listenClientHttpUrls: readonly URL[];
  readonly maxSnapshots: number;
  readonly maxWals: number;
  /** Effective quota in bytes: the flag, or DEFAULT_QUOTA_BACKEND_BYTES when the flag is 0. */
  readonly quotaBackendBytes: number;
  readonly maxTxnOps: number;
  readonly maxRequestBytes: number;
  readonly maxConcurrentStreams: number;
  readonly enableGrpcGateway: boolean;
  /** --experimental-enable-lease-checkpoint (docs/leases.md). */
  readonly experimentalEnableLeaseCheckpoint: boolean;
  /** ms */
  readonly grpcKeepaliveMinTime: number;
  /** ms */
  readonly grpcKeepaliveInterval: number;
  /** ms */
  readonly grpcKeepaliveTimeout: number;

  // Clustering
  readonly initialAdvertisePeerUrls: readonly URL[];
  /** Parsed --initial-cluster (one member today; see checks below). */
  readonly initialCluster: readonly InitialClusterMember[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly advertiseClientUrls: readonly URL[];
  readonly strictReconfigCheck: boolean;
  readonly preVote: boolean;
  readonly autoCompactionMode: 'periodic' | 'revision';
  /**
   * 0 = automatic compaction off. periodic mode: milliseconds of history to keep
   * ("5" means 5 hours, as in etcd); revision mode: revisions to keep.
   */
  readonly autoCompactionRetention: number;

  // Auth
  readonly authToken: string;
  readonly bcryptCost: number;
  /** seconds */
  readonly authTokenTtl: number;

  // Profiling and monitoring
  readonly enablePprof: boolean;
  readonly metrics: 'basic' | 'extensive';
  readonly listenMetricsUrls: readonly URL[];

  // Logging
  readonly logger: 'zap';
  readonly logOutputs: readonly string[];
  readonly logLevel: LogLevel;

  // Formerly experimental (etcd 3.6 names; the 3.5 --experimental-* spellings set them too)
  /** --compaction-batch-limit: revisions removed per compaction slice. */
  readonly compactionBatchLimit: number;
  /** --compaction-sleep-interval, ms. */
  readonly compactionSleepInterval: number;
  /** --watch-progress-notify-interval, ms. */
  readonly watchProgressNotifyInterval: number;
  /** --backend-batch-interval, ms (0: the default, 1 s): docs/storage-lmdb.md, "Deferred commits". */
  readonly backendBatchInterval: number;
  /** --backend-batch-limit, entries (0: the default, 10,000). */
  readonly backendBatchLimit: number;
  /** --experimental-initial-corrupt-check: compare HashKV with the peers before serving (docs/operations.md). */
  readonly experimentalInitialCorruptCheck: boolean;
  /** ms; --corrupt-check-time (3.5: --experimental-corrupt-check-time): the leader's periodic check, 0 off. */
  readonly corruptCheckTime: number;
  /** --warning-apply-duration, ms. */
  readonly warningApplyDuration: number;

  // etcd-ts
  /** "X.Y.Z": reported by Status.version, /version and --version. */
  readonly emulatedEtcdVersion: string;
  readonly walBatchMaxBytes: number;
  readonly walBatchMaxDelayMs: number;

  // Command
  /** '' when none. */
  readonly configFile: string;
  /** --version was given: print formatVersion(emulatedEtcdVersion) and exit 0 (no other checks ran). */
  readonly version: boolean;
  /** --help / -h was given: print formatHelp() and exit 0 (no other checks ran). */
  readonly help: boolean;

  /** Every flag's value by flag name (including accepted-but-not-effective ones). */
  readonly flags: ReadonlyMap<string, FlagValue>;
  /** Names of flags set explicitly (command line, ETCD_* or config file). */
  readonly flagsExplicitlySet: ReadonlySet<string>;
  /** Lines to log once the logger exists: env vars used/ignored, ignored flags, etc. */
  readonly notices: readonly ConfigNotice[];
}

export interface ParseServerConfigOptions {
  /**
   * The data directory already holds a member. etcd ignores the bootstrap flags
   * (--initial-cluster, --initial-cluster-state, --initial-advertise-peer-urls
   * matching) on restart; pass true to skip those checks the same way.
   */
  readonly dataDirInitialized?: boolean;
}

/**
 * Parses argv (without node and script), env (process.env) and, if named, the config
 * file into a checked ServerConfig. Throws ConfigError (exitCode 2: command-line
 * syntax, 1: everything else) with a message naming the flag and the value.
 */
export function parseServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  opts: ParseServerConfigOptions = {},
): ServerConfig {
  const r = resolveFlags(argv, env);
  const notices = [...r.notices];
  const v = r.values;
  const str = (n: string): string => v.get(n) as string;
  const num = (n: string): number => v.get(n) as number;
  const bool = (n: string): boolean => v.get(n) as boolean;
  const urls = (n: string): URL[] => v.get(n) as URL[];
  const strs = (n: string): string[] => v.get(n) as string[];
  const isSet = (n: string): boolean => r.explicit.has(n);
  /** Value of an etcd 3.6 flag name, or of the 3.5 --experimental-* name it replaces. */
  const renamed = (n: string): FlagValue => {
    const old = flagByName(n)?.replaces;
    return old !== undefined && !isSet(n) && isSet(old) ? (v.get(old) as FlagValue) : (v.get(n) as FlagValue);
  };

  const name = str('name');
  const help = bool('help');
  const version = bool('version');

  const cfgBase = {
    name,
    dataDir: str('data-dir') === '' ? `${name}.etcd` : str('data-dir'),
    walDir: str('wal-dir'),
    snapshotCount: num('snapshot-count'),
    heartbeatInterval: num('heartbeat-interval'),
    electionTimeout: num('election-timeout'),
    initialElectionTickAdvance: bool('initial-election-tick-advance'),
    listenPeerUrls: urls('listen-peer-urls'),
    listenClientUrls: urls('listen-client-urls'),
    listenClientHttpUrls: urls('listen-client-http-urls'),
    maxSnapshots: num('max-snapshots'),
    maxWals: num('max-wals'),
    quotaBackendBytes: num('quota-backend-bytes') === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : num('quota-backend-bytes'),
    maxTxnOps: num('max-txn-ops'),
    backendBatchInterval: num('backend-batch-interval'),
    backendBatchLimit: num('backend-batch-limit'),
    maxRequestBytes: num('max-request-bytes'),
    maxConcurrentStreams: num('max-concurrent-streams'),
    enableGrpcGateway: bool('enable-grpc-gateway'),
    experimentalEnableLeaseCheckpoint: bool('experimental-enable-lease-checkpoint'),
    grpcKeepaliveMinTime: num('grpc-keepalive-min-time'),
    grpcKeepaliveInterval: num('grpc-keepalive-interval'),
    grpcKeepaliveTimeout: num('grpc-keepalive-timeout'),
    initialAdvertisePeerUrls: urls('initial-advertise-peer-urls'),
    initialClusterState: str('initial-cluster-state') as 'new' | 'existing',
    initialClusterToken: str('initial-cluster-token'),
    advertiseClientUrls: urls('advertise-client-urls'),
    strictReconfigCheck: bool('strict-reconfig-check'),
    preVote: bool('pre-vote'),
    autoCompactionMode: str('auto-compaction-mode') as 'periodic' | 'revision',
    authToken: str('auth-token'),
    bcryptCost: num('bcrypt-cost'),
    authTokenTtl: num('auth-token-ttl'),
    enablePprof: bool('enable-pprof'),
    metrics: str('metrics') as 'basic' | 'extensive',
    listenMetricsUrls: urls('listen-metrics-urls'),
    logger: 'zap' as const,
    logOutputs: strs('log-outputs'),
    logLevel: str('log-level') as LogLevel,
    compactionBatchLimit: renamed('compaction-batch-limit') as number,
    compactionSleepInterval: renamed('compaction-sleep-interval') as number,
    watchProgressNotifyInterval: renamed('watch-progress-notify-interval') as number,
    experimentalInitialCorruptCheck: bool('experimental-initial-corrupt-check'),
    corruptCheckTime: renamed('corrupt-check-time') as number,
    snapshotCatchupEntries: renamed('snapshot-catchup-entries') as number,
    warningApplyDuration: renamed('warning-apply-duration') as number,
    emulatedEtcdVersion: str('emulated-etcd-version'),
    walBatchMaxBytes: num('wal-batch-max-bytes'),
    walBatchMaxDelayMs: num('wal-batch-max-delay-ms'),
    configFile: r.configFile ?? '',
    version,
    help,
    flags: v,
    flagsExplicitlySet: r.explicit,
    notices,
  };

  if (help || version) {
    // etcd prints help/version before any other check.
    return { ...cfgBase, initialCluster: [], autoCompactionRetention: 0 };
  }

  // --- etcd's flag verification (etcdmain config.validate / embed.Config.Validate) ----

  for (const spec of FLAGS) {
    if (spec.replaces !== undefined && isSet(spec.name) && isSet(spec.replaces)) {
      fail(`cannot set both --${spec.replaces} and --${spec.name} (the same setting; --${spec.name} is the etcd 3.6 name)`);
    }
  }
  checkFeatureGates(str('feature-gates'));

  // etcd 3.5 removed capnslog; the table admits the name so the error can say so.
  if (str('logger') === 'capnslog') fail('--logger=capnslog is removed in v3.5');

  // etcd drops the default advertise URL when --listen-client-urls is set alone, then
  // refuses to start (command line only; a config file keeps the default). An explicit
  // empty --advertise-client-urls is accepted, as etcd accepts it.
  const missingAdvertise = r.source === 'command-line' && isSet('listen-client-urls') && !isSet('advertise-client-urls');
  const advertiseClientUrls = cfgBase.advertiseClientUrls;

  if (isSet('discovery') && str('discovery') !== '') fail('--discovery: discovery-based bootstrap is not supported yet by etcd-ts; use --initial-cluster');
  if (isSet('discovery-srv') && str('discovery-srv') !== '') fail('--discovery-srv: DNS discovery is not supported yet by etcd-ts; use --initial-cluster');

  for (const flag of ['listen-peer-urls', 'listen-client-urls', 'listen-client-http-urls', 'listen-metrics-urls']) {
    checkBindUrls(flag, urls(flag));
  }
  checkTlsFlags(v, { client: urls('listen-client-urls'), peer: urls('listen-peer-urls'), metrics: urls('listen-metrics-urls') });
  for (const flag of ['initial-advertise-peer-urls', 'advertise-client-urls']) {
    for (const u of urls(flag)) {
      if (urlHostname(u) === '') fail(`unexpected empty host (${formatUrl(u)}) in --${flag}`);
    }
  }

  const tick = cfgBase.heartbeatInterval;
  const election = cfgBase.electionTimeout;
  if (tick === 0) fail(`--heartbeat-interval must be >0 (set to ${tick}ms)`);
  if (election === 0) fail(`--election-timeout must be >0 (set to ${election}ms)`);
  if (5 * tick > election) {
    fail(`--election-timeout[${election}ms] should be at least as 5 times as --heartbeat-interval[${tick}ms]`);
  }
  if (election > MAX_ELECTION_TIMEOUT_MS) {
    fail(`--election-timeout[${election}ms] is too long, and should be set less than ${MAX_ELECTION_TIMEOUT_MS}ms`);
  }
  if (missingAdvertise) {
    fail('--advertise-client-urls is required when --listen-client-urls is set explicitly');
  }

  const autoCompactionRetention = parseCompactionRetention(cfgBase.autoCompactionMode, str('auto-compaction-retention'));

  if (cfgBase.logOutputs.length === 0) fail('--log-outputs must name at least one output');
  if (cfgBase.logOutputs.length > 1 && cfgBase.logOutputs.includes('default')) {
    fail('multi logoutput for "default" is not supported yet');
  }

  if (!/^3\.\d+\.\d+$/.test(cfgBase.emulatedEtcdVersion)) {
    fail(`invalid value ${JSON.stringify(cfgBase.emulatedEtcdVersion)} for flag --emulated-etcd-version: expected an etcd v3 version "3.Y.Z", e.g. "3.6.0"`);
  }

  if (num('quota-backend-bytes') > MAX_RECOMMENDED_QUOTA_BACKEND_BYTES) {
    notices.push({
      level: 'warn',
      msg: 'quota exceeds the maximum value',
      fields: { 'quota-size-bytes': num('quota-backend-bytes'), 'quota-maximum-size-bytes': MAX_RECOMMENDED_QUOTA_BACKEND_BYTES },
    });
  }

  // --initial-cluster: defaults to <name>=<initial-advertise-peer-urls> when --name is
  // not "default" and --initial-cluster was not set (etcd's InitialClusterFromName).
  let initialClusterText = str('initial-cluster');
  if (name !== 'default' && !isSet('initial-cluster')) {
    initialClusterText = cfgBase.initialAdvertisePeerUrls.map((u) => `${name}=${formatUrl(u)}`).join(',');
  }
  const initialCluster = parseInitialCluster(initialClusterText);

  const cfg: ServerConfig = { ...cfgBase, advertiseClientUrls, initialCluster, autoCompactionRetention };
  if (opts.dataDirInitialized !== true) verifyBootstrap(cfg, initialClusterText);
  return cfg;
}

function fail(message: string): never {
  throw new ConfigError(message, 1, 'verify');
}

/** etcd 3.6's feature gates known to etcd-ts's flag check (none is acted on yet). */
export const KNOWN_FEATURE_GATES: readonly string[] = [
  'StopGRPCServiceOnDefrag',
  'TxnModeWriteWithSharedBuffer',
  'InitialCorruptCheck',
  'CompactHashCheck',
  'LeaseCheckpoint',
  'LeaseCheckpointPersist',
  'SetMemberLocalAddr',
  'AllMembersHaveDowngradeCheck',
];

function checkFeatureGates(text: string): void {
  if (text.trim() === '') return;
  for (const part of text.split(',')) {
    const [key = '', value, ...extra] = part.trim().split('=');
    if (value === undefined || extra.length > 0 || !['true', 'false'].includes(value.trim().toLowerCase())) {
      fail(`invalid value ${JSON.stringify(text)} for flag --feature-gates: expected "Name=true|false,...", got ${JSON.stringify(part)}`);
    }
    if (!KNOWN_FEATURE_GATES.includes(key.trim())) {
      fail(`invalid value ${JSON.stringify(text)} for flag --feature-gates: unrecognized feature gate: ${key.trim()}`);
    }
  }
}

function failBootstrap(message: string): never {
  throw new ConfigError(message, 1, 'bootstrap');
}

/**
 * Listen URLs: etcd wants an IP or "localhost" (no name lookup when binding); unix:// and
 * unixs:// name a socket file ("unix://localhost:2379" is the file "localhost:2379").
 */
function checkBindUrls(_flag: string, list: readonly URL[]): void {
  for (const u of list) {
    const scheme = urlScheme(u);
    const shown = formatUrl(u);
    if (scheme === 'unix' || scheme === 'unixs') continue;
    const host = urlHostname(u);
    if (host === 'localhost') continue;
    if (!isIp(host)) fail(`expected IP in URL for binding (${shown})`);
  }
}

function isIp(host: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(host)) {
    return host.split('.').every((p) => Number(p) <= 255);
  }
  return host.includes(':') && /^[0-9a-fA-F:.]+$/.test(host);
}

/**
 * etcd's parseCompactionRetention: a bare integer is hours (periodic) or revisions
 * (revision); otherwise a Go duration (periodic only in etcd-ts: etcd would read "1h"
 * as 3.6e12 revisions, which is never what was meant).
 */
function parseCompactionRetention(mode: 'periodic' | 'revision', text: string): number {
  const bad = (why: string): never => fail(`invalid value ${JSON.stringify(text)} for flag --auto-compaction-retention: ${why}`);
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (!Number.isSafeInteger(n)) bad('value out of range');
    return mode === 'revision' ? n : n * 3_600_000;
  }
  if (mode === 'revision') return bad('with --auto-compaction-mode=revision it must be a whole number of revisions');
  let ms: number;
  try {
    ms = parseGoDuration(text);
  } catch {
    return bad('expected a number of hours or a duration such as "30m" or "1h30m"');
  }
  if (ms < 0) bad('must not be negative');
  return ms;
}

/** Parses "name=url,name=url" (etcd's types.NewURLsMap); a name may repeat to list several URLs. */
export function parseInitialCluster(text: string): InitialClusterMember[] {
  const byName = new Map<string, string[]>();
  if (text.trim() !== '') {
    for (const part of text.split(',')) {
      const eq = part.indexOf('=');
      const name = (eq < 0 ? part : part.slice(0, eq)).trim();
      const url = eq < 0 ? '' : part.slice(eq + 1);
      const list = byName.get(name) ?? [];
      list.push(url);
      byName.set(name, list);
    }
  }
  const members: InitialClusterMember[] = [];
  for (const [name, list] of byName) {
    let peerUrls: URL[];
    try {
      // Not de-duplicated: "n1=a,n1=a" must fail the match below, as in etcd.
      peerUrls = list.map((s) => {
        if (s.trim() === '') throw new UrlError('URL scheme must be http, https, unix, or unixs: ');
        return parseUrl(s);
      });
    } catch (e) {
      failBootstrap(`error setting up initial cluster: ${(e as Error).message}`);
    }
    peerUrls.sort((a, b) => (formatUrl(a) < formatUrl(b) ? -1 : formatUrl(a) > formatUrl(b) ? 1 : 0));
    members.push({ name, peerUrls });
  }
  return members;
}

/**
 * What etcd checks when it bootstraps a new member (etcdserver ServerConfig
 * VerifyBootstrap / advertiseMatchesCluster), then etcd-ts's own limit: no joining an
 * existing cluster (several members in --initial-cluster start a new cluster: docs/cluster.md). parseServerConfig runs it unless told the data dir is initialised; a
 * caller that learns that only later can parse with { dataDirInitialized: true } and
 * call this itself for a fresh data dir. Throws ConfigError (phase 'bootstrap').
 */
export function verifyBootstrap(cfg: ServerConfig, initialClusterText?: string): void {
  initialClusterText ??= cfg.initialCluster.map((m) => m.peerUrls.map((u) => `${m.name}=${formatUrl(u)}`).join(',')).join(',');
  const local = cfg.initialCluster.find((m) => m.name === cfg.name);
  if (local === undefined) {
    failBootstrap(`couldn't find local name ${JSON.stringify(cfg.name)} in the initial cluster configuration`);
  }
  const ap = cfg.initialAdvertisePeerUrls.map(formatUrl).sort();
  const ic = local.peerUrls.map(formatUrl);
  const equal = ap.length === ic.length && ap.every((u, i) => u === ic[i]);
  if (!equal) {
    const detail =
      ap.length !== ic.length
        ? `len([${ap.map((u) => JSON.stringify(u)).join(' ')}]) != len([${ic.map((u) => JSON.stringify(u)).join(' ')}])`
        : `${JSON.stringify(ap.join(','))} != ${JSON.stringify(ic.join(','))}`;
    const apSet = new Set(ap);
    const icSet = new Set(ic);
    const missingFromAp = [...icSet].filter((u) => !apSet.has(u));
    if (missingFromAp.length > 0) {
      failBootstrap(
        `--initial-cluster has ${missingFromAp.map((u) => `${cfg.name}=${u}`).join(',')} but missing from --initial-advertise-peer-urls=${ap.join(',')} (${detail})`,
      );
    }
    const missingFromIc = [...apSet].filter((u) => !icSet.has(u));
    if (missingFromIc.length > 0) {
      failBootstrap(
        `--initial-advertise-peer-urls has ${missingFromIc.join(',')} but missing from --initial-cluster=${cfg.initialAdvertisePeerUrls.map((u) => `${cfg.name}=${formatUrl(u)}`).join(',')}`,
      );
    }
    failBootstrap(`failed to resolve ${ap.join(',')} to match --initial-cluster=${ic.map((u) => `${cfg.name}=${u}`).join(',')} (${detail})`);
  }
}

/** Logger options for `new Logger(...)` from the logging flags. */
export function loggerOptionsFrom(cfg: ServerConfig): LoggerOptions {
  return { level: cfg.logLevel, outputs: cfg.logOutputs };
}

/** Go's time.Duration String() for whole milliseconds: "100ms", "1s", "1m30s", "2h0m0s". */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  if (rest < 1000) return `${neg ? '-' : ''}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = rest / 1000;
  const sText = `${Number(s.toFixed(3))}s`;
  const out = h > 0 ? `${h}h${m}m${sText}` : m > 0 ? `${m}m${sText}` : sText;
  return (neg ? '-' : '') + out;
}

/**
 * Fields for the "starting an etcd server" line, with etcd's field names and
 * formatting (durations as Go prints them, URL lists as arrays of strings).
 */
export function serverConfigLogFields(cfg: ServerConfig): Record<string, unknown> {
  const list = (u: readonly URL[]): string[] => u.map(formatUrl);
  return {
    'etcd-version': cfg.emulatedEtcdVersion,
    'node-version': process.version,
    'go-os': process.platform,
    'go-arch': process.arch,
    name: cfg.name,
    'data-dir': cfg.dataDir,
    'wal-dir': cfg.walDir,
    'heartbeat-interval': formatGoDuration(cfg.heartbeatInterval),
    'election-timeout': formatGoDuration(cfg.electionTimeout),
    'initial-election-tick-advance': cfg.initialElectionTickAdvance,
    'snapshot-count': cfg.snapshotCount,
    'max-wals': cfg.maxWals,
    'max-snapshots': cfg.maxSnapshots,
    'initial-advertise-peer-urls': list(cfg.initialAdvertisePeerUrls),
    'listen-peer-urls': list(cfg.listenPeerUrls),
    'advertise-client-urls': list(cfg.advertiseClientUrls),
    'listen-client-urls': list(cfg.listenClientUrls),
    'listen-metrics-urls': list(cfg.listenMetricsUrls),
    'initial-cluster': cfg.initialCluster.map((m) => m.peerUrls.map((u) => `${m.name}=${formatUrl(u)}`).join(',')).join(','),
    'initial-cluster-state': cfg.initialClusterState,
    'initial-cluster-token': cfg.initialClusterToken,
    'quota-backend-bytes': cfg.quotaBackendBytes,
    'max-request-bytes': cfg.maxRequestBytes,
    'max-concurrent-streams': cfg.maxConcurrentStreams,
    'pre-vote': cfg.preVote,
    'auto-compaction-mode': cfg.autoCompactionMode,
    'auto-compaction-retention': cfg.autoCompactionMode === 'periodic' ? formatGoDuration(cfg.autoCompactionRetention) : String(cfg.autoCompactionRetention),
    'wal-batch-max-bytes': cfg.walBatchMaxBytes,
    'wal-batch-max-delay-ms': cfg.walBatchMaxDelayMs,
  };
}

export { formatUrlList };
export type { ResolvedFlags };
