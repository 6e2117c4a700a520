/**
 * Reads flag values from the three places etcd reads them, with etcd's rules:
 *
 * 1. Command line, Go `flag` package syntax: `-name v`, `--name v`, `-name=v`,
 *    `--name=v`; booleans as `--flag` or `--flag=false` (never `--flag false`);
 *    parsing stops at the first non-flag argument or `--`, and etcd then refuses
 *    any leftover argument. A repeated flag: the last one wins.
 * 2. Environment: ETCD_<NAME> for each flag not given on the command line. Given on
 *    both → error (etcd: "conflicting environment variable ... is shadowed").
 *    ETCD_* variables matching no flag → a warning notice.
 * 3. --config-file (or ETCD_CONFIG_FILE): a YAML file whose keys are flag names.
 *    When present, every other flag and ETCD_* variable is ignored (etcd's rule),
 *    though the command line must still parse.
 *
 * Exit codes follow etcd: 2 for command-line syntax errors (Go flag.ExitOnError),
 * 1 for everything found after parsing.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseUrlList, UrlError } from '../util/urls.js';
import { envName, flagByEnv, flagByName, flagByYamlKey, FLAGS, type FlagSpec } from './flags.js';

export type FlagValue = string | boolean | number | URL[] | string[];

/** A configuration error with a message fit for the user. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'ETCD_ERR_CONFIG_INVALID';
  /** Process exit code etcd uses for this kind of error: 2 command-line syntax, else 1. */
  readonly exitCode: number;
  /**
   * When etcd would report it: 'parse' (Go flag parsing: message + usage on stderr),
   * 'verify' (etcd logs "failed to verify flags"), 'bootstrap' (etcd logs
   * "failed to start etcd" then fatal "discovery failed").
   */
  readonly phase: 'parse' | 'verify' | 'bootstrap';
  constructor(message: string, exitCode = 1, phase?: 'parse' | 'verify' | 'bootstrap') {
    super(message);
    this.exitCode = exitCode;
    this.phase = phase ?? (exitCode === 2 ? 'parse' : 'verify');
  }
}

/** Something worth logging once the logger exists (it depends on the flags). */
export interface ConfigNotice {
  readonly level: 'info' | 'warn';
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface ResolvedFlags {
  /** Every flag's value: explicit, from the environment or file, or the default. */
  readonly values: ReadonlyMap<string, FlagValue>;
  /** Flags set explicitly (command line, environment, or config file). */
  readonly explicit: ReadonlySet<string>;
  /** Where the explicit values came from. */
  readonly source: 'command-line' | 'config-file';
  readonly configFile: string | undefined;
  readonly notices: readonly ConfigNotice[];
}

/** Environment variables etcd reads itself, outside the flag mapping. */
const kSpecialEnv = new Set(['ETCD_UNSUPPORTED_ARCH']);

/** Parses one textual value for `spec`; throws Error(detail) on a bad value. */
export function parseFlagValue(spec: FlagSpec, text: string): FlagValue {
  switch (spec.type) {
    case 'string':
      return text;
    case 'bool':
      return parseGoBool(text);
    case 'uint': {
      const n = parseGoInt(text, false);
      checkRange(spec, n, String(n));
      return n;
    }
    case 'int': {
      const n = parseGoInt(text, true);
      checkRange(spec, n, String(n));
      return n;
    }
    case 'duration': {
      const ms = parseGoDuration(text);
      checkRange(spec, ms, text);
      return ms;
    }
    case 'urls':
      return parseUrlList(text);
    case 'enum':
      if (spec.values?.includes(text) !== true) {
        throw new Error(`valid values are ${(spec.values ?? []).map((v) => JSON.stringify(v)).join(', ')}`);
      }
      return text;
    case 'strings':
      return text === '' ? [] : [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  }
}

function checkRange(spec: FlagSpec, n: number, shown: string): void {
  if (spec.min !== undefined && n < spec.min) {
    throw new Error(`${shown} is below the minimum ${formatBound(spec, spec.min)}`);
  }
  if (spec.max !== undefined && n > spec.max) {
    throw new Error(`${shown} is above the maximum ${formatBound(spec, spec.max)}`);
  }
}

function formatBound(spec: FlagSpec, n: number): string {
  return spec.type === 'duration' ? `${n}ms` : String(n);
}

/** Go strconv.ParseBool. */
export function parseGoBool(text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new Error('parse error (expected true or false)');
}

/**
 * Go strconv.ParseInt/ParseUint with base 0: decimal, 0x/0o/0b prefixes, a leading 0
 * for octal, "_" between digits when a prefix is used. Limited to 2^53-1 (the
 * largest etcd flag value, max-concurrent-streams, is 2^32-1).
 */
export function parseGoInt(text: string, signed: boolean): number {
  let s = text;
  let negative = false;
  if (signed && (s.startsWith('-') || s.startsWith('+'))) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  let digits = s;
  let radix = 10;
  const lower = s.toLowerCase();
  if (lower.startsWith('0x')) [radix, digits] = [16, s.slice(2)];
  else if (lower.startsWith('0o')) [radix, digits] = [8, s.slice(2)];
  else if (lower.startsWith('0b')) [radix, digits] = [2, s.slice(2)];
  else if (s.length > 1 && s.startsWith('0')) [radix, digits] = [8, s.slice(1)];
  if (radix !== 10) digits = digits.replace(/(?<=[0-9a-fA-F])_(?=[0-9a-fA-F])/g, '');
  const alphabet = '0123456789abcdef'.slice(0, radix);
  if (digits === '' || ![...digits.toLowerCase()].every((c) => alphabet.includes(c))) {
    throw new Error(signed ? 'parse error (expected an integer)' : 'parse error (expected a non-negative integer)');
  }
  const n = Number.parseInt(digits, radix);
  if (!Number.isSafeInteger(n)) throw new Error('value out of range');
  return negative ? -n : n;
}

const kDurationUnitsMs: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go time.ParseDuration ("1h30m", "300ms", "-1.5h", "0"); returns milliseconds. */
export function parseGoDuration(text: string): number {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  const bad = (): Error => new Error('parse error (expected a duration such as "100ms", "5s", "1h30m")');
  if (s === '') throw bad();
  let total = 0;
  const re = /([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m === null) throw bad();
    const num = m[1] ?? '';
    const unit = kDurationUnitsMs[m[2] ?? ''];
    if (num === '' || num === '.' || unit === undefined) throw bad();
    total += Number(num) * unit;
    pos = re.lastIndex;
  }
  return sign * total;
}

interface CommandLine {
  readonly given: Map<string, FlagValue>;
}

/** Go flag-package parsing of argv (without the program name). */
function parseCommandLine(argv: readonly string[]): CommandLine {
  const given = new Map<string, FlagValue>();
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.length < 2 || !arg.startsWith('-')) break;
    let dashes = 1;
    if (arg[1] === '-') {
      dashes = 2;
      if (arg.length === 2) {
        i++; // "--" ends the flags
        break;
      }
    }
    let name = arg.slice(dashes);
    if (name === '' || name.startsWith('-') || name.startsWith('=')) {
      throw new ConfigError(`bad flag syntax: ${arg}`, 2);
    }
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = flagByName(name);
    if (spec === undefined) throw new ConfigError(`flag provided but not defined: -${name}`, 2);
    if (spec.type === 'bool') {
      if (value === undefined) {
        given.set(spec.name, true);
        continue;
      }
      try {
        given.set(spec.name, parseGoBool(value));
      } catch {
        throw new ConfigError(`invalid boolean value ${JSON.stringify(value)} for -${name}: parse error (expected true or false)`, 2);
      }
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new ConfigError(`flag needs an argument: -${name}`, 2);
      value = argv[++i] as string;
    }
    given.set(spec.name, parseOrThrow(spec, value, `flag -${name}`, 2));
  }
  if (i < argv.length) {
    // etcd: fs.Args() non-empty after parsing.
    const prev = i > 0 ? flagByName((argv[i - 1] as string).replace(/^--?/, '')) : undefined;
    const hint = prev?.type === 'bool' ? ` (a boolean flag takes its value after "=": --${prev.name}=${argv[i] as string})` : '';
    throw new ConfigError(`'${argv[i] as string}' is not a valid flag${hint}`, 1);
  }
  return { given };
}

function parseOrThrow(spec: FlagSpec, text: string, where: string, exitCode: number): FlagValue {
  try {
    return parseFlagValue(spec, text);
  } catch (e) {
    const detail = e instanceof UrlError || e instanceof Error ? e.message : String(e);
    throw new ConfigError(`invalid value ${JSON.stringify(text)} for ${where}: ${detail}`, exitCode);
  }
}

/**
 * Resolves every flag from argv, env and (if named) the config file.
 * Throws ConfigError. Never reads a file other than the named config file.
 */
export function resolveFlags(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ResolvedFlags {
  const { given } = parseCommandLine(argv);
  const notices: ConfigNotice[] = [];

  // --help and --version win over everything after a successful parse (etcd prints
  // them before loading the config file or checking the environment).
  if (given.get('help') === true || given.get('version') === true) {
    return finish(given, 'command-line', undefined, notices);
  }

  let configFile = given.get('config-file') as string | undefined;
  if (configFile === undefined || configFile === '') {
    const fromEnv = env[envName('config-file')];
    if (fromEnv !== undefined && fromEnv !== '') configFile = fromEnv;
  }
  if (configFile !== undefined && configFile !== '') {
    notices.push({
      level: 'info',
      msg: 'loaded server configuration, other configuration command line flags and environment variables will be ignored if provided',
      fields: { path: configFile },
    });
    const fromFile = readConfigFile(configFile, notices);
    fromFile.set('config-file', configFile);
    return finish(fromFile, 'config-file', configFile, notices);
  }

  // Environment, for flags not on the command line.
  const explicit = new Map(given);
  const keys = Object.keys(env).filter((k) => k.startsWith('ETCD_')).sort();
  for (const key of keys) {
    const val = env[key];
    if (val === undefined || val === '') continue;
    if (key === 'ETCD_VERSION') {
      notices.push({ level: 'warn', msg: 'cannot set special environment variable', fields: { key, value: val } });
      continue;
    }
    const spec = flagByEnv(key);
    if (spec === undefined) {
      if (!kSpecialEnv.has(key)) {
        notices.push({ level: 'warn', msg: 'unrecognized environment variable', fields: { 'environment-variable': `${key}=${val}` } });
      }
      continue;
    }
    if (given.has(spec.name)) {
      throw new ConfigError(
        `conflicting environment variable ${JSON.stringify(key)} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
      );
    }
    explicit.set(spec.name, parseOrThrow(spec, val, key, 1));
    notices.push({ level: 'info', msg: 'recognized and used environment variable', fields: { 'variable-name': key, 'variable-value': val } });
  }
  return finish(explicit, 'command-line', undefined, notices);
}

function finish(
  explicit: Map<string, FlagValue>,
  source: ResolvedFlags['source'],
  configFile: string | undefined,
  notices: ConfigNotice[],
): ResolvedFlags {
  const values = new Map<string, FlagValue>();
  for (const spec of FLAGS) {
    const v = explicit.get(spec.name);
    values.set(spec.name, v !== undefined ? v : parseFlagValue(spec, spec.default));
  }
  for (const spec of FLAGS) {
    if (spec.effective || !explicit.has(spec.name)) continue;
    const v = explicit.get(spec.name) as FlagValue;
    if (sameValue(v, parseFlagValue(spec, spec.default))) continue;
    notices.push({
      level: 'warn',
      msg: 'flag is accepted but not yet effective in etcd-ts; its value is ignored',
      fields: { flag: `--${spec.name}`, value: showValue(v) },
    });
  }
  return { values, explicit: new Set(explicit.keys()), source, configFile, notices };
}

function sameValue(a: FlagValue, b: FlagValue): boolean {
  return showValue(a) === showValue(b);
}

/** A value as the user would type it (URL lists joined with ","). */
export function showValue(v: FlagValue): string {
  if (Array.isArray(v)) return v.map((x) => (x instanceof URL ? `${x.protocol}//${x.host}` : x)).join(',');
  return String(v);
}

/**
 * Reads the YAML config file (YAML 1.1, as etcd's go-yaml v2 reads it: `yes`/`no` are
 * booleans). Types must match the flag's type the way etcd's JSON decoding demands:
 * strings for text and URL lists, numbers for integers, booleans for booleans.
 * Durations: an integer (nanoseconds, as Go's time.Duration decodes) or, an etcd-ts
 * extension, a Go duration string. Lists (log-outputs, cipher-suites...): a YAML
 * sequence or a comma-separated string. Unknown keys are ignored, as etcd ignores
 * them, with a warning notice.
 */
function readConfigFile(path: string, notices: ConfigNotice[]): Map<string, FlagValue> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new ConfigError(`open ${path}: ${why}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { version: '1.1', prettyErrors: true });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? '';
    throw new ConfigError(`error parsing config file ${path}: ${msg}`);
  }
  const out = new Map<string, FlagValue>();
  if (doc === null || doc === undefined) return out;
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(`error parsing config file ${path}: the top level must be a mapping of flag names to values`);
  }
  const visit = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix + k;
      const spec = flagByYamlKey(key);
      if (spec === undefined) {
        if (prefix === '' && (k === 'client-transport-security' || k === 'peer-transport-security') && v !== null && typeof v === 'object' && !Array.isArray(v)) {
          visit(v as Record<string, unknown>, `${k}.`);
          continue;
        }
        notices.push({ level: 'warn', msg: 'ignored unrecognized configuration file key', fields: { path, key } });
        continue;
      }
      if (v === null) continue; // "key:" with no value leaves the default, as Go's decoder does
      out.set(spec.name, yamlValue(spec, v, path, key));
    }
  };
  visit(doc as Record<string, unknown>, '');
  return out;
}

function yamlValue(spec: FlagSpec, v: unknown, path: string, key: string): FlagValue {
  const typeError = (want: string): ConfigError =>
    new ConfigError(`error parsing config file ${path}: key ${JSON.stringify(key)}: expected ${want}, got ${describe(v)}`);
  const where = `key ${JSON.stringify(key)} in config file ${path}`;
  switch (spec.type) {
    case 'string':
    case 'enum':
      if (typeof v !== 'string') throw typeError('a string');
      return parseOrThrow(spec, v, where, 1);
    case 'urls':
      // etcd: a comma-separated string; etcd-ts also takes a YAML list of URLs.
      if (typeof v === 'string') return parseOrThrow(spec, v, where, 1);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return parseOrThrow(spec, v.join(','), where, 1);
      throw typeError('a comma-separated string of URLs');
    case 'bool':
      if (typeof v !== 'boolean') throw typeError('true or false');
      return v;
    case 'uint':
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(spec.type === 'uint' ? 'a non-negative integer' : 'an integer');
      return parseOrThrow(spec, String(v), where, 1);
    case 'duration':
      if (typeof v === 'number' && Number.isInteger(v)) {
        const ms = v / 1e6;
        try {
          checkRange(spec, ms, `${v}ns`);
        } catch (e) {
          throw new ConfigError(`invalid value ${v} for ${where}: ${(e as Error).message}`);
        }
        return ms;
      }
      if (typeof v === 'string') return parseOrThrow(spec, v, where, 1);
      throw typeError('a duration (integer nanoseconds or a string such as "5s")');
    case 'strings':
      if (typeof v === 'string') return parseOrThrow(spec, v, where, 1);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return parseOrThrow(spec, v.join(','), where, 1);
      throw typeError('a list of strings');
  }
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  return `${typeof v} (${JSON.stringify(v)})`;
}
