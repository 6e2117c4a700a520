/**
 * Structured JSON-lines logger in the shape of etcd's zap logger, so tools that read
 * etcd's logs (and operators' grep habits) keep working:
 *
 *   {"level":"info","ts":"2026-11-23T21:18:16.001234Z","caller":"server/etcd-server.ts","msg":"ready to serve client requests"}
 *
 * Field order is zap's: level, ts, logger (the name, when set: etcd uses "raft" for
 * raft's lines), caller, msg, then the call's fields in insertion order (child fields
 * first). `ts` is UTC with microseconds, Go layout "2006-01-02T15:04:05.000000Z0700", as
 * etcd 3.5.x/3.6 print it (3.4 printed milliseconds). `caller` is a static string chosen
 * by the call site (module path, optionally ":line"): no stack walking.
 * Not copied from zap: sampling of repeated messages (etcd's config samples identical
 * messages after 100 per second) and stack traces on fatal.
 *
 * Cost when a level is disabled: one integer compare. Call sites that would build
 * expensive fields should test `logger.enabled('debug')` first.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'panic', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Numeric severities, zap's order (debug lowest). */
const kSeverity: Readonly<Record<LogLevel, number>> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
  panic: 4,
  fatal: 5,
};

export type LogFields = Readonly<Record<string, unknown>>;

/** Where finished lines go. Each call gets one complete line ending in "\n". */
export interface LogSink {
  write(line: string): void;
  /** Releases the sink (closes a file); optional. */
  close?(): void;
}

export interface LoggerOptions {
  /** Lowest level written. Default "info". */
  readonly level?: LogLevel;
  /**
   * Targets as --log-outputs names them: "default" and "stderr" (standard error),
   * "stdout", or a file path (opened for append). Default ["default"].
   * Ignored when `sinks` is given.
   */
  readonly outputs?: readonly string[];
  /** Explicit sinks (tests, or callers that route lines themselves). */
  readonly sinks?: readonly LogSink[];
  /** Clock in ms since the epoch, fractional for microseconds; default wall clock with µs. */
  readonly now?: () => number;
  /** Called after a "fatal" line is written; default process.exit(1), as zap's Fatal. */
  readonly onFatal?: () => void;
  /** Fields put on every line (`caller` sets the default caller, `logger` the logger name). */
  readonly fields?: LogFields;
}

/** Keys the logger writes itself; call-site fields with these names are dropped. */
const kReserved = new Set(['level', 'ts', 'msg']);

export class Logger {
  readonly level: LogLevel;
  private readonly minSeverity: number;
  private readonly sinks: readonly LogSink[];
  private readonly now: () => number;
  private readonly onFatal: () => void;
  private readonly caller: string;
  private readonly name: string;
  /** Pre-rendered ',"k":v' text of the child fields, built once per child. */
  private readonly boundText: string;

  constructor(opts: LoggerOptions = {}) {
    this.level = opts.level ?? 'info';
    this.minSeverity = kSeverity[this.level];
    this.sinks = opts.sinks ?? sinksForOutputs(opts.outputs ?? ['default']);
    this.now = opts.now ?? wallClockMs;
    this.onFatal = opts.onFatal ?? (() => process.exit(1));
    const { caller, name, text } = renderBound(opts.fields ?? {}, '');
    this.caller = caller ?? '';
    this.name = name ?? '';
    this.boundText = text;
  }

  /** Closes file outputs. Children share sinks: close once, from the root logger, at exit. */
  close(): void {
    for (const s of this.sinks) s.close?.();
  }

  /** A logger that adds `fields` to every line; `caller` in fields replaces the default caller. */
  child(fields: LogFields): Logger {
    const c = Object.create(Logger.prototype) as Logger;
    const { caller, name, text } = renderBound(fields, this.boundText);
    Object.assign(c, {
      level: this.level,
      minSeverity: this.minSeverity,
      sinks: this.sinks,
      now: this.now,
      onFatal: this.onFatal,
      caller: caller ?? this.caller,
      name: name ?? this.name,
      boundText: text,
    });
    return c;
  }

  /** True when lines at `level` are written; use before building costly fields. */
  enabled(level: LogLevel): boolean {
    return kSeverity[level] >= this.minSeverity;
  }

  debug(msg: string, fields?: LogFields): void {
    if (this.minSeverity > 0) return;
    this.write('debug', msg, fields);
  }

  info(msg: string, fields?: LogFields): void {
    if (this.minSeverity > 1) return;
    this.write('info', msg, fields);
  }

  warn(msg: string, fields?: LogFields): void {
    if (this.minSeverity > 2) return;
    this.write('warn', msg, fields);
  }

  error(msg: string, fields?: LogFields): void {
    if (this.minSeverity > 3) return;
    this.write('error', msg, fields);
  }

  /** Writes the line, then throws an Error with `msg` (zap's Panic). */
  panic(msg: string, fields?: LogFields): never {
    this.write('panic', msg, fields);
    throw new Error(msg);
  }

  /** Writes the line, then calls onFatal (default: exit code 1), as zap's Fatal. */
  fatal(msg: string, fields?: LogFields): void {
    this.write('fatal', msg, fields);
    this.onFatal();
  }

  /** Writes one line at a level chosen at run time, without panic/fatal side effects. */
  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (kSeverity[level] < this.minSeverity) return;
    this.write(level, msg, fields);
  }

  private write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    let caller = this.caller;
    let text = this.boundText;
    if (fields !== undefined) {
      for (const key in fields) {
        const v = fields[key];
        if (key === 'caller' && typeof v === 'string') {
          caller = v;
          continue;
        }
        if (kReserved.has(key) || v === undefined) continue;
        text += `,${JSON.stringify(key)}:${encodeValue(v)}`;
      }
    }
    const line =
      `{"level":"${level}","ts":"${formatTs(this.now())}"` +
      (this.name === '' ? '' : `,"logger":${JSON.stringify(this.name)}`) +
      (caller === '' ? '' : `,"caller":${JSON.stringify(caller)}`) +
      `,"msg":${JSON.stringify(msg)}${text}}\n`;
    for (const s of this.sinks) s.write(line);
  }
}

/** A logger that writes nothing (tests, library defaults). */
export function nopLogger(): Logger {
  return new Logger({ sinks: [], level: 'fatal', onFatal: () => {} });
}

/** Collects lines in memory; `entries()` parses them back. For tests. */
export class MemorySink implements LogSink {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/**
 * Sinks for --log-outputs. "default" is etcd's name for "stderr, or journald under
 * systemd"; we have no journald writer, so it is stderr. Files are opened once, for
 * append, and written synchronously (a line is never split or lost on a crash that
 * follows the call).
 */
export function sinksForOutputs(outputs: readonly string[]): LogSink[] {
  const seen = new Set<string>();
  const sinks: LogSink[] = [];
  for (const raw of outputs) {
    const out = raw === 'default' ? 'stderr' : raw;
    if (out === '/dev/null') return []; // zap: "/dev/null" discards everything
    if (seen.has(out)) continue;
    seen.add(out);
    if (out === 'stderr') sinks.push({ write: (l) => void process.stderr.write(l) });
    else if (out === 'stdout') sinks.push({ write: (l) => void process.stdout.write(l) });
    else {
      const fd = openSync(out, 'a');
      let open = true;
      sinks.push({
        write: (l) => {
          if (open) writeSync(fd, l);
        },
        close: () => {
          if (open) closeSync(fd);
          open = false;
        },
      });
    }
  }
  return sinks;
}

function renderBound(fields: LogFields, prefix: string): { caller: string | undefined; name: string | undefined; text: string } {
  let caller: string | undefined;
  let name: string | undefined;
  let text = prefix;
  for (const key in fields) {
    const v = fields[key];
    if (key === 'caller' && typeof v === 'string') {
      caller = v;
      continue;
    }
    if (key === 'logger' && typeof v === 'string') {
      name = v;
      continue;
    }
    if (kReserved.has(key) || v === undefined) continue;
    text += `,${JSON.stringify(key)}:${encodeValue(v)}`;
  }
  return { caller, name, text };
}

const kTimeOrigin = performance.timeOrigin;

/** Wall-clock milliseconds with a microsecond fraction. */
function wallClockMs(): number {
  return kTimeOrigin + performance.now();
}

/** "2006-01-02T15:04:05.000000Z" (Go layout etcd uses), from fractional ms. */
export function formatTs(ms: number): string {
  const whole = Math.floor(ms);
  const micros = Math.min(999, Math.floor((ms - whole) * 1000));
  return `${new Date(whole).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}

/**
 * JSON for one field value, as zap would print it: errors as their message, URLs as
 * "scheme://host:port", bigints as decimal strings (format member IDs as hex at the
 * call site, as etcd does), anything unserialisable as a string instead of a throw.
 */
function encodeValue(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : JSON.stringify(String(v));
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(v.toString());
    default:
      break;
  }
  try {
    const s = JSON.stringify({ v }, replacer).slice(5, -1);
    return s === '' ? 'null' : s;
  } catch {
    return JSON.stringify(String(v));
  }
}

function replacer(this: Record<string, unknown>, key: string, v: unknown): unknown {
  // URL has toJSON (the href, with a trailing "/"): look at the raw value in the holder.
  const raw = this[key];
  if (raw instanceof URL) return `${raw.protocol}//${raw.host}`;
  if (v instanceof Error) return v.message;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

/** etcd's --log-level check: "debug", "info", ... */
export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

/**
 * etcd's lifecycle messages (zap `msg` text, etcd 3.4/3.5), which operators, test
 * harnesses and container health scripts wait for. Use these exact strings; the fields
 * etcd attaches are listed next to each (see docs/configuration.md, "Logging").
 */
export const ETCD_LOG_MSG = {
  /** fields: listen-peer-urls (string[]) */
  configuringPeerListeners: 'configuring peer listeners',
  /** fields: listen-client-urls (string[]) */
  configuringClientListeners: 'configuring client listeners',
  /** fields: etcd-version, name, data-dir, ... (serverConfigLogFields) + member-initialized */
  startingAnEtcdServer: 'starting an etcd server',
  /** fields: path, took */
  openedBackendDb: 'opened backend db',
  /** fields: local-member-id, cluster-id (16-digit hex) */
  startingLocalMember: 'starting local member',
  /** fields: quota-name ("v3-applier"), quota-size-bytes, quota-size ("2.1 GB") */
  enabledBackendQuotaWithDefaultValue: 'enabled backend quota with default value',
  /** fields: quota-name, quota-size-bytes, quota-size (when the flag is non-zero) */
  enabledBackendQuota: 'enabled backend quota',
  /** fields: local-member-id, local-server-version, cluster-version ("to_be_decided") */
  startingEtcdServer: 'starting etcd server',
  /** fields: local-member-id, forward-ticks, forward-duration, election-ticks, election-timeout */
  startedAsSingleNode: 'started as single-node; fast-forwarding election ticks',
  /** fields: local-member-id, initial-advertise-peer-urls, listen-peer-urls, advertise-client-urls, listen-client-urls, listen-metrics-urls */
  nowServingPeerClientMetrics: 'now serving peer/client/metrics',
  /** fields: address ("127.0.0.1:2380") */
  servingPeerTraffic: 'serving peer traffic',
  /** fields: cluster-id, local-member-id, added-peer-id, added-peer-peer-urls */
  addedMember: 'added member',
  /** fields: local-member-id, local-member-attributes ("{Name:n1 ClientURLs:[http://127.0.0.1:2379]}"), request-path, cluster-id, publish-timeout ("7s") */
  publishedLocalMember: 'published local member to cluster through raft',
  /** fields: cluster-version ("3.6") */
  settingUpInitialClusterVersion: 'setting up initial cluster version using v2 API',
  /** fields: cluster-id, local-member-id, cluster-version */
  setInitialClusterVersion: 'set initial cluster version',
  /** fields: cluster-version */
  enabledCapabilitiesForVersion: 'enabled capabilities for version',
  /** fields: cluster-version */
  clusterVersionIsUpdated: 'cluster version is updated',
  /** no fields; once per client listener */
  readyToServeClientRequests: 'ready to serve client requests',
  /** fields: address ("127.0.0.1:2379") */
  servingClientTrafficInsecurely: 'serving client traffic insecurely; this is strongly discouraged!',
  /** fields: signal ("terminated", "interrupt") */
  receivedSignal: 'received signal; shutting down',
  /** fields: name, data-dir, advertise-peer-urls, advertise-client-urls */
  closingEtcdServer: 'closing etcd server',
  /** fields: local-member-id, current-leader-member-id */
  skippedLeadershipTransfer: 'skipped leadership transfer for single voting member cluster',
  /** fields: address */
  stoppingServingPeerTraffic: 'stopping serving peer traffic',
  /** fields: address */
  stoppedServingPeerTraffic: 'stopped serving peer traffic',
  /** fields: name, data-dir, advertise-peer-urls, advertise-client-urls */
  closedEtcdServer: 'closed etcd server',
} as const;
