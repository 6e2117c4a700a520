/** What every command file exports: its cobra-like definition and its run function. */
import type { FlagDef } from './flags.js';
import type { Context } from './global.js';

export interface CommandSpec {
  /** Words after `etcdctl`: ['get'], ['endpoint', 'status']. */
  readonly path: readonly string[];
  /** The use line after `etcdctl ` (cobra's Use), without ` [flags]`. */
  readonly use: string;
  readonly short: string;
  /** Description lines shown in usage. */
  readonly long?: string;
  /** Local flags (help is added for every command). */
  readonly flags: readonly FlagDef[];
  /** Flags of the parent command (cobra persistent flags), listed with the global ones. */
  readonly inheritedFlags?: readonly FlagDef[];
  run(ctx: Context, args: string[]): Promise<void>;
}

/** The -h/--help flag every command has. */
export function helpFlag(spec: Pick<CommandSpec, 'path'>): FlagDef {
  return { name: 'help', short: 'h', kind: 'bool', def: 'false', usage: `help for ${spec.path[spec.path.length - 1]}` };
}
