/**
 * The first steps of `etcd` (for main.ts): parse the configuration, answer --help and
 * --version, report configuration errors the way etcd does, create the logger and log
 * what the configuration step noticed. Never throws for a configuration problem and
 * never exits by itself: it returns what to do, so main.ts stays the only place that
 * ends the process and tests can drive it with fake outputs.
 *
 *   const s = loadServerConfig(process.argv.slice(2), process.env);
 *   if (s.kind === 'exit') process.exit(s.code);
 *   const { config, logger } = s;   // logger already used for the notices
 *
 * Error output matches etcd 3.5:
 * - command-line syntax (exit 2): the message, then the usage block, on stderr;
 * - verification (exit 1): {"level":"warn",...,"msg":"failed to verify flags","error":...}
 *   (plus "advertise client URLs are not set" for that case);
 * - bootstrap (exit 1): warn "failed to start etcd", then fatal "discovery failed".
 */
import { ConfigError, parseServerConfig, loggerOptionsFrom, type ServerConfig, type ParseServerConfigOptions } from '../../config/config.js';
import { Logger, type LogSink } from '../../util/logger.js';
import { formatHelp, formatVersion, USAGE } from '../../config/help.js';

export interface StartupOutputs {
  /** Where --help and --version go (default process.stdout). */
  readonly stdout?: (text: string) => void;
  /** Where syntax errors and, by default, error log lines go (default process.stderr). */
  readonly stderr?: (text: string) => void;
  /** Sinks for the logger used before the configuration is known (tests). */
  readonly bootstrapSinks?: readonly LogSink[];
  /** Sinks replacing --log-outputs for the server's logger (tests). */
  readonly sinks?: readonly LogSink[];
}

export type Startup =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'run'; readonly config: ServerConfig; readonly logger: Logger };

const kCaller = 'cli/etcd/startup.ts';

export function loadServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: StartupOutputs = {},
  opts: ParseServerConfigOptions = {},
): Startup {
  const stdout = out.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderr = out.stderr ?? ((t: string) => void process.stderr.write(t));
  let config: ServerConfig;
  try {
    config = parseServerConfig(argv, env, opts);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (e.phase === 'parse') {
      stderr(`${e.message}\n${USAGE}`);
      return { kind: 'exit', code: e.exitCode };
    }
    // etcd logs with a default zap logger (info, stderr) when the flags were not usable.
    const lg = new Logger({
      sinks: out.bootstrapSinks ?? [{ write: stderr }],
      onFatal: () => {},
      fields: { caller: kCaller },
    });
    if (e.phase === 'bootstrap') {
      lg.warn('failed to start etcd', { error: e.message });
      lg.fatal('discovery failed', { error: e.message });
    } else {
      lg.warn('failed to verify flags', { error: e.message });
      if (e.message.startsWith('--advertise-client-urls is required')) {
        lg.warn('advertise client URLs are not set', { error: e.message });
      }
    }
    return { kind: 'exit', code: e.exitCode };
  }
  if (config.help) {
    stdout(formatHelp());
    return { kind: 'exit', code: 0 };
  }
  if (config.version) {
    stdout(formatVersion(config.emulatedEtcdVersion));
    return { kind: 'exit', code: 0 };
  }
  let logger: Logger;
  try {
    logger = new Logger(out.sinks !== undefined ? { level: config.logLevel, sinks: out.sinks } : loggerOptionsFrom(config));
  } catch (e) {
    // A --log-outputs file that cannot be opened.
    const lg = new Logger({ sinks: out.bootstrapSinks ?? [{ write: stderr }], fields: { caller: kCaller } });
    lg.warn('failed to verify flags', { error: `cannot open --log-outputs target: ${(e as Error).message}` });
    return { kind: 'exit', code: 1 };
  }
  const lg = logger.child({ caller: kCaller });
  for (const n of config.notices) lg.log(n.level, n.msg, n.fields);
  return { kind: 'run', config, logger };
}
