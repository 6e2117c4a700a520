/**
 * etcdutl's command line: `etcdutl <command> [subcommand] [args] [--flag value | --flag=value | --bool]`.
 * Flags are etcd's (etcdutl 3.5/3.6 and etcdctl 3.4 `snapshot restore`); an unknown flag is an error.
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagSpec {
  readonly name: string;
  readonly kind: 'string' | 'bool' | 'int';
  readonly default: string | boolean | number;
  readonly short?: string;
}

export interface Parsed {
  readonly args: string[];
  readonly flags: Map<string, string | boolean | number>;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): Parsed {
  const flags = new Map<string, string | boolean | number>(specs.map((s) => [s.name, s.default]));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = specs.find((s) => s.name === name || s.short === name);
    if (spec === undefined) throw new UsageError(`unknown flag: ${a}`);
    if (spec.kind === 'bool') {
      const v = eq >= 0 ? body.slice(eq + 1) : 'true';
      if (v !== 'true' && v !== 'false') throw new UsageError(`invalid argument ${JSON.stringify(v)} for ${a}`);
      flags.set(spec.name, v === 'true');
      continue;
    }
    let v: string;
    if (eq >= 0) v = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${a}`);
      v = argv[++i]!;
    }
    if (spec.kind === 'int') {
      if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`invalid argument ${JSON.stringify(v)} for ${a}: not an integer`);
      flags.set(spec.name, Number(v));
    } else {
      flags.set(spec.name, v);
    }
  }
  return { args, flags };
}

export const str = (p: Parsed, n: string): string => String(p.flags.get(n) ?? '');
export const bool = (p: Parsed, n: string): boolean => p.flags.get(n) === true;
export const int = (p: Parsed, n: string): number => Number(p.flags.get(n) ?? 0);
