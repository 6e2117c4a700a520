/**
 * Command-line flags with the semantics etcdctl's flag library (spf13/pflag) has, because
 * scripts depend on them: `--name=value`, `--name value`, `-w json`, `-wjson`, bool flags
 * with an optional `=value`, positionals anywhere, `--` ends flags, and pflag's error texts.
 */
import { parseGoDuration } from './go-format.js';

export type FlagKind = 'bool' | 'string' | 'int64' | 'duration' | 'stringSlice';

export interface FlagDef {
  readonly name: string;
  readonly short?: string;
  readonly kind: FlagKind;
  /** The default, as pflag shows it in usage (`DefValue`). */
  readonly def: string;
  readonly usage: string;
}

export type FlagValue = boolean | string | bigint | number | string[];

/** A usage error from flag parsing; the message is pflag's. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

export interface ParsedFlags {
  readonly values: Map<string, FlagValue>;
  /** Flags given on the command line (or from the environment). */
  readonly changed: Set<string>;
  readonly positionals: string[];
}

/** strconv.ParseBool */
export function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** strconv.ParseInt(s, base, 64); throws Go's error text. base 0 = by prefix (0x, 0o, 0b, 0). */
export function parseGoInt(s: string, base: 0 | 10 | 16): bigint {
  const syntax = (): Error => new Error(`strconv.ParseInt: parsing ${goQuoteSimple(s)}: invalid syntax`);
  let t = s;
  let neg = false;
  if (t.startsWith('+') || t.startsWith('-')) {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  if (t === '') throw syntax();
  let b: number = base;
  if (base === 0) {
    b = 10;
    if (/^0[xX]/.test(t)) {
      b = 16;
      t = t.slice(2);
    } else if (/^0[oO]/.test(t)) {
      b = 8;
      t = t.slice(2);
    } else if (/^0[bB]/.test(t)) {
      b = 2;
      t = t.slice(2);
    } else if (t.length > 1 && t[0] === '0') {
      b = 8;
      t = t.slice(1);
    }
    t = t.replace(/_/g, '');
  }
  const digits = b === 16 ? /^[0-9a-fA-F]+$/ : b === 10 ? /^[0-9]+$/ : b === 8 ? /^[0-7]+$/ : /^[01]+$/;
  if (!digits.test(t)) throw syntax();
  let v = 0n;
  for (const c of t) v = v * BigInt(b) + BigInt(parseInt(c, 16));
  if (neg) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) throw new Error(`strconv.ParseInt: parsing ${goQuoteSimple(s)}: value out of range`);
  return v;
}

function goQuoteSimple(s: string): string {
  return JSON.stringify(s);
}

function convert(def: FlagDef, raw: string, prev: FlagValue | undefined, changedBefore: boolean): FlagValue {
  const bad = (why: string): FlagError =>
    new FlagError(`invalid argument ${JSON.stringify(raw)} for "${def.short ? `-${def.short}, ` : ''}--${def.name}" flag: ${why}`);
  switch (def.kind) {
    case 'bool': {
      const b = parseGoBool(raw);
      if (b === undefined) throw bad(`strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
      return b;
    }
    case 'string':
      return raw;
    case 'int64':
      try {
        return parseGoInt(raw, 0);
      } catch (e) {
        throw bad((e as Error).message);
      }
    case 'duration': {
      const ns = parseGoDuration(raw);
      if (ns === undefined) throw bad(`time: invalid duration ${JSON.stringify(raw)}`);
      return ns;
    }
    case 'stringSlice': {
      const items = raw === '' ? [] : raw.split(',').map((x) => x.trim());
      return changedBefore && Array.isArray(prev) ? [...prev, ...items] : items;
    }
  }
}

export function defaultValue(def: FlagDef): FlagValue {
  switch (def.kind) {
    case 'bool':
      return def.def === 'true';
    case 'string':
      return def.def;
    case 'int64':
      return BigInt(def.def);
    case 'duration':
      return parseGoDuration(def.def) ?? 0;
    case 'stringSlice':
      return def.def.replace(/^\[|\]$/g, '').split(',').filter((x) => x !== '');
  }
}

/** Parse `args` against `defs`, pflag-style. Throws FlagError on unknown flags or bad values. */
export function parseFlags(args: readonly string[], defs: readonly FlagDef[]): ParsedFlags {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const byShort = new Map(defs.filter((d) => d.short !== undefined).map((d) => [d.short!, d]));
  const values = new Map<string, FlagValue>(defs.map((d) => [d.name, defaultValue(d)]));
  const changed = new Set<string>();
  const positionals: string[] = [];
  const set = (def: FlagDef, raw: string): void => {
    values.set(def.name, convert(def, raw, values.get(def.name), changed.has(def.name)));
    changed.add(def.name);
  };

  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const body = a.slice(2);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const def = byName.get(name);
      if (def === undefined) throw new FlagError(`unknown flag: --${name}`);
      if (eq >= 0) set(def, body.slice(eq + 1));
      else if (def.kind === 'bool') set(def, 'true');
      else if (i + 1 < args.length) set(def, args[++i]!);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      const shorts = a.slice(1);
      for (let j = 0; j < shorts.length; j++) {
        const c = shorts[j]!;
        const def = byShort.get(c);
        if (def === undefined) throw new FlagError(`unknown shorthand flag: '${c}' in -${shorts}`);
        const rest = shorts.slice(j + 1);
        if (rest.startsWith('=')) {
          set(def, rest.slice(1));
          break;
        }
        if (def.kind === 'bool') {
          set(def, 'true');
          continue;
        }
        if (rest !== '') set(def, rest);
        else if (i + 1 < args.length) set(def, args[++i]!);
        else throw new FlagError(`flag needs an argument: '${c}' in -${shorts}`);
        break;
      }
      continue;
    }
    positionals.push(a);
  }
  return { values, changed, positionals };
}

/** Read `PREFIX_FLAG_NAME` environment variables for flags not given on the command line. */
export function applyEnv(parsed: ParsedFlags, defs: readonly FlagDef[], prefix: string, env: NodeJS.ProcessEnv): void {
  for (const def of defs) {
    if (parsed.changed.has(def.name)) continue;
    const key = `${prefix}_${def.name.toUpperCase().replace(/-/g, '_')}`;
    const raw = env[key];
    if (raw === undefined) continue;
    try {
      parsed.values.set(def.name, convert(def, raw, undefined, false));
    } catch (e) {
      throw new FlagError(`invalid value ${JSON.stringify(raw)} for ${key}: ${(e as Error).message}`);
    }
    parsed.changed.add(def.name);
  }
}
