/** `etcdctl compaction [--physical] <revision>` */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { parseGoInt } from '../flags.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { CompactionResponseSchema } from '../messages.js';

export const compactionCommand: CommandSpec = {
  path: ['compaction'],
  use: 'compaction [options] <revision>',
  short: 'Compacts the event history in etcd',
  flags: [{ name: 'physical', kind: 'bool', def: 'false', usage: "'true' to wait for compaction to physically remove all old revisions" }],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'compaction command needs 1 argument');
    let rev: bigint;
    try {
      rev = parseGoInt(args[0]!, 10);
    } catch (e) {
      throw new CliExit(ExitCode.Error, (e as Error).message);
    }
    const bytes = etcdserverpb.CompactionRequest.encode({ revision: Number(rev), physical: ctx.flag<boolean>('physical') }).finish();
    await ctx.client().unary(RPC.compact, bytes, CompactionResponseSchema, ctx.deadline()).catch((e) => rpcExit(e));
    ctx.out.stdout(`compacted revision ${rev}\n`);
  },
};
