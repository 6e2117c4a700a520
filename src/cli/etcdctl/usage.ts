/**
 * The usage text etcdctl 3.4 prints for a command (on `--help` and, on stdout, after an
 * unknown flag): its NAME/USAGE/DESCRIPTION/OPTIONS/GLOBAL OPTIONS template, flags listed as
 * `  -w, --write-out="simple"<TAB>usage`, aligned by text/tabwriter.
 */
import { helpFlag, type CommandSpec } from './command.js';
import type { FlagDef } from './flags.js';
import { tabwrite } from './go-format.js';
import { GLOBAL_FLAGS } from './global.js';

/** One flag's usage line (tab before the description), in etcdctl's format. */
export function flagUsageLine(f: FlagDef): string {
  let s = f.short !== undefined ? `  -${f.short}, --${f.name}` : `      --${f.name}`;
  const value = f.kind === 'string' ? JSON.stringify(f.def) : f.def;
  s += f.kind === 'bool' ? `[=${value}]` : `=${value}`;
  return `${s}\t${f.usage}\n`;
}

function flagsBlock(flags: readonly FlagDef[]): string {
  return [...flags].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(flagUsageLine).join('');
}

export function commandUsage(spec: CommandSpec): string {
  let t = `NAME:\n\t${spec.path.join(' ')} - ${spec.short}\n\nUSAGE:\n\tetcdctl ${spec.use} [flags]\n\n`;
  if (spec.long !== undefined) {
    t += 'DESCRIPTION:\n' + spec.long.split('\n').map((l) => `\t${l}\n`).join('') + '\n';
  }
  t += 'OPTIONS:\n' + flagsBlock([...spec.flags, helpFlag(spec)]);
  t += '\nGLOBAL OPTIONS:\n' + flagsBlock([...GLOBAL_FLAGS, ...(spec.inheritedFlags ?? [])]);
  return tabwrite(t) + '\n';
}
