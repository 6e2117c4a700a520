/** `etcdctl lease list` */
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { ExitCode, rpcExit } from '../global.js';
import { LeaseLeasesResponseSchema, type LeaseLeasesResponse } from '../messages.js';

export const leaseListCommand: CommandSpec = {
  path: ['lease', 'list'],
  use: 'lease list',
  short: 'List all active leases',
  flags: [],
  async run(ctx) {
    const printer = ctx.printer();
    const resp = await ctx.client().unary<LeaseLeasesResponse>(RPC.leaseLeases, new Uint8Array(0), LeaseLeasesResponseSchema, ctx.deadline())
      .catch((e) => rpcExit(e, ExitCode.BadConnection));
    printer.leases(resp);
  },
};
