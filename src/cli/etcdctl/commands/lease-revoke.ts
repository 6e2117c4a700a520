/** `etcdctl lease revoke <leaseID>` */
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { LeaseRevokeResponseSchema, type LeaseRevokeResponse } from '../messages.js';
import { leaseFromArg, leaseIdRequest } from './lease.js';

export const leaseRevokeCommand: CommandSpec = {
  path: ['lease', 'revoke'],
  use: 'lease revoke <leaseID>',
  short: 'Revokes leases',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'lease revoke command needs 1 argument');
    const id = leaseFromArg(args[0]!);
    const printer = ctx.printer();
    const resp = await ctx.client().unary<LeaseRevokeResponse>(RPC.leaseRevoke, leaseIdRequest(id), LeaseRevokeResponseSchema, ctx.deadline())
      .catch((e) => rpcExit(e, ExitCode.Error, (m) => `failed to revoke lease (${m})`));
    printer.revoke(id, resp);
  },
};
