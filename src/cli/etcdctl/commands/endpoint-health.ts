/**
 * `etcdctl endpoint health`: a linearizable get of the key "health" on every endpoint, in
 * parallel (a permission-denied answer still proves the proposal went through consensus).
 */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC, RpcError } from '../client.js';
import type { CommandSpec } from '../command.js';
import { CLUSTER_FLAG, endpointsFromCluster } from './endpoints.js';
import { CliExit, ExitCode } from '../global.js';
import { formatGoDuration } from '../go-format.js';
import { RangeResponseSchema } from '../messages.js';
import type { EndpointHealth } from '../printers/printer.js';
import { bytesOf } from './keys.js';

const PERMISSION_DENIED = 'etcdserver: permission denied';

export const endpointHealthCommand: CommandSpec = {
  path: ['endpoint', 'health'],
  use: 'endpoint health',
  short: 'Checks the healthiness of endpoints specified in `--endpoints` flag',
  flags: [],
  inheritedFlags: [CLUSTER_FLAG],
  async run(ctx) {
    const printer = ctx.printer();
    const req = etcdserverpb.RangeRequest.encode({ key: bytesOf('health') }).finish();
    const results: EndpointHealth[] = [];
    await Promise.all(
      (await endpointsFromCluster(ctx)).map(async (ep) => {
        const start = process.hrtime.bigint();
        let error = '';
        try {
          await ctx.client(ep).unary(RPC.range, req, RangeResponseSchema, ctx.deadline());
        } catch (e) {
          if (!(e instanceof RpcError)) throw e;
          if (e.message !== PERMISSION_DENIED) error = e.message;
        }
        const took = formatGoDuration(process.hrtime.bigint() - start);
        results.push({ ep, health: error === '', took, error });
      }),
    );
    printer.endpointHealth(results);
    if (results.some((r) => !r.health)) throw new CliExit(ExitCode.Error, 'unhealthy cluster');
  },
};
