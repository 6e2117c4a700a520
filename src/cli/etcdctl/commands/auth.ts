/** `etcdctl auth enable|disable` (etcdctl 3.4's auth_command.go). */
import { etcdserverpb } from '../../../proto/pb.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode } from '../global.js';
import { RpcError } from '../client.js';
import { authCall } from './auth-calls.js';

const pb = etcdserverpb;

export const authEnableCommand: CommandSpec = {
  path: ['auth', 'enable'],
  use: 'enable',
  short: 'Enables authentication',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 0) throw new CliExit(ExitCode.BadArgs, 'auth enable command does not accept any arguments');
    const client = ctx.client();
    // As etcdctl: when the root user lacks role root, add the role, grant it, and try again.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.unaryRaw('/etcdserverpb.Auth/AuthEnable', pb.AuthEnableRequest.encode({}).finish(), ctx.deadline());
        break;
      } catch (err) {
        if (!(err instanceof RpcError) || err.message !== 'etcdserver: root user does not have root role' || attempt > 0) {
          throw new CliExit(ExitCode.Error, err instanceof Error ? err.message : String(err));
        }
        try {
          await client.unaryRaw('/etcdserverpb.Auth/RoleAdd', pb.AuthRoleAddRequest.encode({ name: 'root' }).finish(), ctx.deadline());
        } catch (e) {
          if (!(e instanceof RpcError) || e.message !== 'etcdserver: role name already exists') throw new CliExit(ExitCode.Error, (e as Error).message);
        }
        await client.unaryRaw('/etcdserverpb.Auth/UserGrantRole', pb.AuthUserGrantRoleRequest.encode({ user: 'root', role: 'root' }).finish(), ctx.deadline())
          .catch((e: Error) => { throw new CliExit(ExitCode.Error, e.message); });
      }
    }
    ctx.out.stdout('Authentication Enabled\n');
  },
};

export const authDisableCommand: CommandSpec = {
  path: ['auth', 'disable'],
  use: 'disable',
  short: 'Disables authentication',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 0) throw new CliExit(ExitCode.BadArgs, 'auth disable command does not accept any arguments');
    await authCall(ctx, 'AuthDisable', pb.AuthDisableRequest, {}, pb.AuthDisableResponse);
    ctx.out.stdout('Authentication Disabled\n');
  },
};
