/** `etcdctl endpoint status`: Maintenance.Status of every --endpoints entry, in order. */
import { RPC, RpcError } from '../client.js';
import type { CommandSpec } from '../command.js';
import { CLUSTER_FLAG, endpointsFromCluster } from './endpoints.js';
import { CliExit, ExitCode } from '../global.js';
import { StatusResponseSchema, type StatusResponse } from '../messages.js';
import type { EndpointStatus } from '../printers/printer.js';

export const endpointStatusCommand: CommandSpec = {
  path: ['endpoint', 'status'],
  use: 'endpoint status',
  short: 'Prints out the status of endpoints specified in `--endpoints` flag',
  long: `When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
The items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.`,
  flags: [],
  inheritedFlags: [CLUSTER_FLAG],
  async run(ctx) {
    const printer = ctx.printer();
    const list: EndpointStatus[] = [];
    let failed = false;
    for (const ep of await endpointsFromCluster(ctx)) {
      try {
        const resp = await ctx.client(ep).unary<StatusResponse>(RPC.status, new Uint8Array(0), StatusResponseSchema, ctx.deadline());
        list.push({ ep, resp });
      } catch (e) {
        if (!(e instanceof RpcError)) throw e;
        ctx.out.stderr(`Failed to get the status of endpoint ${ep} (${e.message})\n`);
        failed = true;
      }
    }
    printer.endpointStatus(list);
    if (failed) throw new CliExit(ExitCode.Error, '', true);
  },
};
