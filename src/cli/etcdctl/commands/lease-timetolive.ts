/** `etcdctl lease timetolive <leaseID> [--keys]` */
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { LeaseTimeToLiveResponseSchema, type LeaseTimeToLiveResponse } from '../messages.js';
import { appendVarintField } from '../wire.js';
import { leaseFromArg, leaseIdRequest } from './lease.js';

export const leaseTimeToLiveCommand: CommandSpec = {
  path: ['lease', 'timetolive'],
  use: 'lease timetolive <leaseID> [options]',
  short: 'Get lease information',
  flags: [{ name: 'keys', kind: 'bool', def: 'false', usage: 'Get keys attached to this lease' }],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'lease timetolive command needs lease ID as argument');
    const keys = ctx.flag<boolean>('keys');
    const id = leaseFromArg(args[0]!);
    const printer = ctx.printer();
    const req = appendVarintField(leaseIdRequest(id), 2, keys ? 1n : 0n);
    const resp = await ctx.client().unary<LeaseTimeToLiveResponse>(RPC.leaseTimeToLive, req, LeaseTimeToLiveResponseSchema, ctx.deadline())
      .catch((e) => rpcExit(e, ExitCode.BadConnection));
    printer.timeToLive(resp, keys);
  },
};
