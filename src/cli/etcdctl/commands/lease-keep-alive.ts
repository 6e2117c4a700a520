/** `etcdctl lease keep-alive [--once] <leaseID>` */
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { hex016 } from '../go-format.js';
import { LeaseKeepAliveResponseSchema, type LeaseKeepAliveResponse } from '../messages.js';
import { SimplePrinter } from '../printers/simple.js';
import { leaseFromArg, leaseIdRequest } from './lease.js';

const LEASE_NOT_FOUND = 'etcdserver: requested lease not found';

export const leaseKeepAliveCommand: CommandSpec = {
  path: ['lease', 'keep-alive'],
  use: 'lease keep-alive [options] <leaseID>',
  short: 'Keeps leases alive (renew)',
  flags: [{ name: 'once', kind: 'bool', def: 'false', usage: 'Resets the keep-alive time to its original value and exits immediately' }],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'lease keep-alive command needs lease ID as argument');
    const id = leaseFromArg(args[0]!);
    const printer = ctx.printer();
    const client = ctx.client();
    const once = async (): Promise<LeaseKeepAliveResponse | undefined> => {
      // no deadline on keep-alives in etcdctl; a day stands in for "none"
      const resp = await client
        .streamOnce<LeaseKeepAliveResponse>(RPC.leaseKeepAlive, leaseIdRequest(id), LeaseKeepAliveResponseSchema, new Date(Date.now() + 86400_000))
        .catch((e) => rpcExit(e, ExitCode.BadConnection));
      if (resp.msg.ttl <= 0n) return undefined;
      printer.keepAlive(resp);
      return resp.msg;
    };
    if (ctx.flag<boolean>('once')) {
      if ((await once()) === undefined) throw new CliExit(ExitCode.BadConnection, LEASE_NOT_FOUND);
      return;
    }
    for (;;) {
      const r = await once();
      if (r === undefined) break;
      await new Promise((res) => setTimeout(res, Math.max(500, (Number(r.ttl) * 1000) / 3)));
    }
    if (printer instanceof SimplePrinter) ctx.out.stdout(`lease ${hex016(id)} expired or revoked.\n`);
  },
};
