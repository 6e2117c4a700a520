/**
 * etcdctl (API v3), the project's own: same commands, flags, output formats, error texts and
 * exit codes as etcdctl 3.4. Finds the command in argv, parses its flags with the global ones,
 * runs it, and turns a CliExit into `Error: ...` and an exit code.
 */
import type { CommandSpec } from './command.js';
import { helpFlag } from './command.js';
import { COMMANDS, ETCDCTL_TOP_LEVEL, GROUPS, NOT_IMPLEMENTED } from './commands/index.js';
import { applyEnv, FlagError, parseFlags, type FlagDef } from './flags.js';
import { CliExit, Context, ExitCode, GLOBAL_FLAGS, globalOptions } from './global.js';
import type { Output } from './printers/printer.js';
import { UnsupportedFormat } from './printers/printer.js';
import { commandUsage, flagUsageLine } from './usage.js';
import { tabwrite } from './go-format.js';

/** Where the command path ends: indices of the command words in argv. */
export function findCommandWords(argv: readonly string[]): number[] {
  const takesValue = new Set<string>();
  for (const f of GLOBAL_FLAGS) {
    if (f.kind !== 'bool') {
      takesValue.add(`--${f.name}`);
      if (f.short !== undefined) takesValue.add(`-${f.short}`);
    }
  }
  const words: number[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-') && a.length > 1) {
      if (!a.includes('=') && takesValue.has(a)) i++;
      continue;
    }
    if (words.length === 1 && GROUPS[argv[words[0]!]!] === undefined) break;
    words.push(i);
  }
  return words;
}

function levenshtein(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

/** cobra's "unknown command" error, with its suggestions. */
export function unknownCommandMessage(word: string): string {
  const suggestions = ETCDCTL_TOP_LEVEL.filter((c) => levenshtein(word, c) <= 2 || c.startsWith(word.toLowerCase()));
  let msg = `unknown command ${JSON.stringify(word)} for "etcdctl"`;
  if (suggestions.length > 0) msg += `\n\nDid you mean this?\n${suggestions.map((s) => `\t${s}\n`).join('')}`;
  return msg;
}

function groupUsage(group: string): string {
  const subs = COMMANDS.filter((c) => c.path[0] === group && c.path.length === 2);
  let t = `NAME:\n\t${group} - ${GROUPS[group]}\n\nUSAGE:\n\tetcdctl ${group} <subcommand> [flags]\n\nAPI VERSION:\n\t3.4\n\n\nCOMMANDS:\n`;
  t += subs.map((c) => `\t${c.path[1]}\t${c.short}\n`).join('');
  t += '\nOPTIONS:\n' + flagUsageLine({ name: 'help', short: 'h', kind: 'bool', def: 'false', usage: `help for ${group}` });
  t += '\nGLOBAL OPTIONS:\n' + [...GLOBAL_FLAGS].map(flagUsageLine).join('');
  return tabwrite(t) + '\n';
}

function rootUsage(): string {
  const top = new Map<string, string>();
  for (const c of COMMANDS) top.set(c.path[0]!, c.path.length === 1 ? c.short : GROUPS[c.path[0]!]!);
  let t = 'NAME:\n\tetcdctl - A simple command line client for etcd3.\n\nUSAGE:\n\tetcdctl [flags]\n\nVERSION:\n\t3.4.23\n\nAPI VERSION:\n\t3.4\n\n\nCOMMANDS:\n';
  t += [...top].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, s]) => `\t${n}\t${s}\n`).join('');
  t += '\nOPTIONS:\n' + [...GLOBAL_FLAGS, { name: 'help', short: 'h', kind: 'bool', def: 'false', usage: 'help for etcdctl' } as FlagDef]
    .sort((a, b) => (a.name < b.name ? -1 : 1)).map(flagUsageLine).join('');
  return tabwrite(t) + '\n';
}

/** Run etcdctl with `argv` (without node and script); returns the exit code. */
export async function run(argv: readonly string[], out: Output, env: NodeJS.ProcessEnv, stdin: () => Promise<string>): Promise<number> {
  const words = findCommandWords(argv);
  const fail = (e: unknown): number => {
    if (e instanceof UnsupportedFormat) {
      out.stderr(`Error: ${e.message}\n`);
      return ExitCode.BadFeature;
    }
    if (e instanceof CliExit) {
      if (e.message.startsWith('panic: ')) out.stderr(`${e.message}\n`);
      else if (!e.silent) out.stderr(`Error: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  };

  if (words.length === 0) {
    try {
      parseFlags(argv, [...GLOBAL_FLAGS, { name: 'help', short: 'h', kind: 'bool', def: 'false', usage: 'help for etcdctl' }]);
    } catch (e) {
      if (!(e instanceof FlagError)) throw e;
      out.stderr(`Error: ${e.message}\n`);
      out.stdout(rootUsage());
      out.stderr(`\nError: ${e.message}\n`);
      return ExitCode.Error;
    }
    out.stdout(rootUsage());
    return 0;
  }
  const verb = argv[words[0]!]!;
  if (GROUPS[verb] !== undefined && words.length === 1) {
    out.stdout(groupUsage(verb));
    return 0;
  }
  const path = words.map((i) => argv[i]!);
  const spec: CommandSpec | undefined = COMMANDS.find((c) => c.path.length === path.length && c.path.every((w, i) => w === path[i]));
  if (spec === undefined) {
    const missing = [path.join(' '), verb].find((p) => NOT_IMPLEMENTED.includes(p));
    if (missing !== undefined) {
      out.stderr(`Error: "etcdctl ${missing}" is not implemented by this etcdctl (etcd-ts) yet\n`);
      return ExitCode.BadFeature;
    }
    if (GROUPS[verb] !== undefined) {
      out.stdout(groupUsage(verb));
      return 0;
    }
    const msg = unknownCommandMessage(verb);
    out.stderr(`Error: ${msg}\nRun 'etcdctl --help' for usage.\n`);
    out.stderr(`Error: ${msg}\n`);
    return ExitCode.Error;
  }

  const rest = argv.filter((_, i) => !words.includes(i));
  const defs: FlagDef[] = [...GLOBAL_FLAGS, ...(spec.inheritedFlags ?? []), ...spec.flags, helpFlag(spec)];
  let parsed;
  try {
    parsed = parseFlags(rest, defs);
    applyEnv(parsed, GLOBAL_FLAGS, 'ETCDCTL', env);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    out.stderr(`Error: ${e.message}\n`);
    out.stdout(commandUsage(spec));
    out.stderr(`\nError: ${e.message}\n`);
    return ExitCode.Error;
  }
  if (parsed.values.get('help') === true) {
    out.stdout(commandUsage(spec));
    return 0;
  }
  const ctx = new Context(globalOptions(parsed), parsed, out, stdin);
  try {
    await spec.run(ctx, parsed.positionals);
    return 0;
  } catch (e) {
    return fail(e);
  } finally {
    ctx.close();
  }
}
