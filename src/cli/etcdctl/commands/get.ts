/** `etcdctl get [options] <key> [range_end]` */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import type { FlagDef, ParsedFlags } from '../flags.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { RangeResponseSchema, type RangeResponse } from '../messages.js';
import { keyRange } from './keys.js';

export const GET_FLAGS: readonly FlagDef[] = [
  { name: 'consistency', kind: 'string', def: 'l', usage: 'Linearizable(l) or Serializable(s)' },
  { name: 'from-key', kind: 'bool', def: 'false', usage: 'Get keys that are greater than or equal to the given key using byte compare' },
  { name: 'keys-only', kind: 'bool', def: 'false', usage: 'Get only the keys' },
  { name: 'limit', kind: 'int64', def: '0', usage: 'Maximum number of results' },
  { name: 'order', kind: 'string', def: '', usage: 'Order of results; ASCEND or DESCEND (ASCEND by default)' },
  { name: 'prefix', kind: 'bool', def: 'false', usage: 'Get keys with matching prefix' },
  { name: 'print-value-only', kind: 'bool', def: 'false', usage: 'Only write values when using the "simple" output format' },
  { name: 'rev', kind: 'int64', def: '0', usage: 'Specify the kv revision' },
  { name: 'sort-by', kind: 'string', def: '', usage: 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION' },
];

const SortOrder = etcdserverpb.RangeRequest.SortOrder;
const SortTarget = etcdserverpb.RangeRequest.SortTarget;

/** Build the RangeRequest with etcdctl's checks, in etcdctl's order (getGetOp). */
export function getOp(args: readonly string[], flags: ParsedFlags): etcdserverpb.RangeRequest.$Properties {
  const v = <T>(n: string): T => flags.values.get(n) as T;
  if (args.length === 0) throw new CliExit(ExitCode.BadArgs, 'get command needs one argument as key and an optional argument as range_end');
  const prefix = v<boolean>('prefix');
  const fromKey = v<boolean>('from-key');
  if (prefix && fromKey) throw new CliExit(ExitCode.BadArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  const consistency = v<string>('consistency');
  if (consistency !== 's' && consistency !== 'l') {
    throw new CliExit(ExitCode.BadFeature, `unknown consistency flag ${JSON.stringify(consistency)}`);
  }
  if (args.length > 1 && (prefix || fromKey)) {
    throw new CliExit(ExitCode.BadArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set.');
  }
  const orderFlag = v<string>('order');
  let sortOrder: etcdserverpb.RangeRequest.SortOrder = SortOrder.NONE;
  switch (orderFlag.toUpperCase()) {
    case 'ASCEND': sortOrder = SortOrder.ASCEND; break;
    case 'DESCEND': sortOrder = SortOrder.DESCEND; break;
    case '': break;
    default: throw new CliExit(ExitCode.BadFeature, `bad sort order ${orderFlag}`);
  }
  const targetFlag = v<string>('sort-by');
  let sortTarget: etcdserverpb.RangeRequest.SortTarget = SortTarget.KEY;
  switch (targetFlag.toUpperCase()) {
    case 'CREATE': sortTarget = SortTarget.CREATE; break;
    case 'KEY': sortTarget = SortTarget.KEY; break;
    case 'MODIFY': sortTarget = SortTarget.MOD; break;
    case 'VALUE': sortTarget = SortTarget.VALUE; break;
    case 'VERSION': sortTarget = SortTarget.VERSION; break;
    case '': break;
    default: throw new CliExit(ExitCode.BadFeature, `bad sort target ${targetFlag}`);
  }
  // clientv3.WithSort: by key ascending is the server's natural order, so it sends no order
  if (sortTarget === SortTarget.KEY && sortOrder === SortOrder.ASCEND) sortOrder = SortOrder.NONE;
  const { key, rangeEnd } = keyRange(args[0]!, args[1], prefix, fromKey);
  const rev = v<bigint>('rev');
  return {
    key,
    rangeEnd,
    limit: Number(v<bigint>('limit')),
    revision: rev > 0n ? Number(rev) : 0,
    sortOrder,
    sortTarget,
    serializable: consistency === 's',
    keysOnly: v<boolean>('keys-only'),
  };
}

export const getCommand: CommandSpec = {
  path: ['get'],
  use: 'get [options] <key> [range_end]',
  short: 'Gets the key or a range of keys',
  flags: GET_FLAGS,
  async run(ctx, args) {
    const req = getOp(args, ctx.flags);
    const printer = ctx.printer(ctx.flag<boolean>('print-value-only'));
    const bytes = etcdserverpb.RangeRequest.encode(req).finish();
    const resp = await ctx.client().unary<RangeResponse>(RPC.range, bytes, RangeResponseSchema, ctx.deadline()).catch((e) => rpcExit(e));
    printer.get(resp);
  },
};
