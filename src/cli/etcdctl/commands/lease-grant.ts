/** `etcdctl lease grant <ttl>` */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { parseGoInt } from '../flags.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { LeaseGrantResponseSchema, type LeaseGrantResponse } from '../messages.js';

export const leaseGrantCommand: CommandSpec = {
  path: ['lease', 'grant'],
  use: 'lease grant <ttl>',
  short: 'Creates leases',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'lease grant command needs TTL argument');
    let ttl: bigint;
    try {
      ttl = parseGoInt(args[0]!, 10);
    } catch (e) {
      throw new CliExit(ExitCode.BadArgs, `bad TTL (${(e as Error).message})`);
    }
    const printer = ctx.printer();
    const bytes = etcdserverpb.LeaseGrantRequest.encode({ TTL: Number(ttl) }).finish();
    const resp = await ctx.client().unary<LeaseGrantResponse>(RPC.leaseGrant, bytes, LeaseGrantResponseSchema, ctx.deadline())
      .catch((e) => rpcExit(e, ExitCode.Error, (m) => `failed to grant lease (${m})`));
    printer.grant(resp);
  },
};
