/** `etcdctl del [options] <key> [range_end]` */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import type { FlagDef, ParsedFlags } from '../flags.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { DeleteRangeResponseSchema, type DeleteRangeResponse } from '../messages.js';
import { keyRange } from './keys.js';

export const DEL_FLAGS: readonly FlagDef[] = [
  { name: 'from-key', kind: 'bool', def: 'false', usage: 'delete keys that are greater than or equal to the given key using byte compare' },
  { name: 'prefix', kind: 'bool', def: 'false', usage: 'delete keys with matching prefix' },
  { name: 'prev-kv', kind: 'bool', def: 'false', usage: 'return deleted key-value pairs' },
];

/** Build the DeleteRangeRequest with etcdctl's checks (getDelOp). */
export function delOp(args: readonly string[], flags: ParsedFlags): etcdserverpb.DeleteRangeRequest.$Properties {
  const b = (n: string): boolean => flags.values.get(n) as boolean;
  if (args.length === 0 || args.length > 2) {
    throw new CliExit(ExitCode.BadArgs, 'del command needs one argument as key and an optional argument as range_end');
  }
  const prefix = b('prefix');
  const fromKey = b('from-key');
  if (prefix && fromKey) throw new CliExit(ExitCode.BadArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  if (args.length > 1 && (prefix || fromKey)) {
    throw new CliExit(ExitCode.BadArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set.');
  }
  const { key, rangeEnd } = keyRange(args[0]!, args[1], prefix, fromKey);
  return { key, rangeEnd, prevKv: b('prev-kv') };
}

export const delCommand: CommandSpec = {
  path: ['del'],
  use: 'del [options] <key> [range_end]',
  short: 'Removes the specified key or range of keys [key, range_end)',
  flags: DEL_FLAGS,
  async run(ctx, args) {
    const req = delOp(args, ctx.flags);
    const printer = ctx.printer();
    const bytes = etcdserverpb.DeleteRangeRequest.encode(req).finish();
    const resp = await ctx.client().unary<DeleteRangeResponse>(RPC.deleteRange, bytes, DeleteRangeResponseSchema, ctx.deadline()).catch((e) => rpcExit(e));
    printer.del(resp);
  },
};
