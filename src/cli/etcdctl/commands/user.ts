/** `etcdctl user add|delete|get|list|passwd|grant-role|revoke-role` (etcdctl 3.4's user_command.go, simple output). */
import { etcdserverpb } from '../../../proto/pb.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode } from '../global.js';
import { authCall } from './auth-calls.js';

const pb = etcdserverpb;

/** The password of `user add` / `user passwd`: name:password, --new-user-password, or stdin with --interactive=false. */
async function passwordOf(ctx: Parameters<CommandSpec['run']>[0], given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  const flag = ctx.flags.values.get('new-user-password') as string | undefined;
  if (flag !== undefined && flag !== '') return flag;
  if (ctx.flag<boolean>('interactive') === false) return (await ctx.stdin()).split('\n')[0] ?? '';
  throw new CliExit(ExitCode.BadArgs, 'password is required: give <name>:<password>, --new-user-password or --interactive=false with the password on stdin (no prompt in this etcdctl)');
}

const INTERACTIVE = { name: 'interactive', kind: 'bool', def: 'true', usage: 'Read password from stdin instead of interactive terminal' } as const;

export const userAddCommand: CommandSpec = {
  path: ['user', 'add'],
  use: 'add <user name or user:password> [options]',
  short: 'Adds a new user',
  flags: [
    INTERACTIVE,
    { name: 'new-user-password', kind: 'string', def: '', usage: 'Supply password from the command line flag' },
    { name: 'no-password', kind: 'bool', def: 'false', usage: 'Create a user without password (CN based auth only)' },
  ],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'user add command requires user name as its argument');
    const colon = args[0]!.indexOf(':');
    const name = colon >= 0 ? args[0]!.slice(0, colon) : args[0]!;
    const noPassword = ctx.flag<boolean>('no-password');
    const password = noPassword ? '' : await passwordOf(ctx, colon >= 0 ? args[0]!.slice(colon + 1) : undefined);
    await authCall(ctx, 'UserAdd', pb.AuthUserAddRequest, { name, password, options: { noPassword } }, pb.AuthUserAddResponse);
    ctx.out.stdout(`User ${name} created\n`);
  },
};

export const userDeleteCommand: CommandSpec = {
  path: ['user', 'delete'],
  use: 'delete <user name>',
  short: 'Deletes a user',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'user delete command requires user name as its argument');
    await authCall(ctx, 'UserDelete', pb.AuthUserDeleteRequest, { name: args[0]! }, pb.AuthUserDeleteResponse);
    ctx.out.stdout(`User ${args[0]} deleted\n`);
  },
};

export const userGetCommand: CommandSpec = {
  path: ['user', 'get'],
  use: 'get <user name> [options]',
  short: 'Gets detailed information of a user',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'user get command requires user name as its argument');
    const r = await authCall(ctx, 'UserGet', pb.AuthUserGetRequest, { name: args[0]! }, pb.AuthUserGetResponse);
    ctx.out.stdout(`User: ${args[0]}\nRoles:${r.roles.map((x) => ` ${x}`).join('')}\n`);
  },
};

export const userListCommand: CommandSpec = {
  path: ['user', 'list'],
  use: 'list',
  short: 'Lists all users',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 0) throw new CliExit(ExitCode.BadArgs, 'user list command requires no arguments');
    const r = await authCall(ctx, 'UserList', pb.AuthUserListRequest, {}, pb.AuthUserListResponse);
    ctx.out.stdout(r.users.map((u) => `${u}\n`).join(''));
  },
};

export const userPasswdCommand: CommandSpec = {
  path: ['user', 'passwd'],
  use: 'passwd <user name> [options]',
  short: 'Changes password of user',
  flags: [INTERACTIVE],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'user passwd command requires user name as its argument');
    const password = await passwordOf(ctx, undefined);
    await authCall(ctx, 'UserChangePassword', pb.AuthUserChangePasswordRequest, { name: args[0]!, password }, pb.AuthUserChangePasswordResponse);
    ctx.out.stdout('Password updated\n');
  },
};

export const userGrantRoleCommand: CommandSpec = {
  path: ['user', 'grant-role'],
  use: 'grant-role <user name> <role name>',
  short: 'Grants a role to a user',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 2) throw new CliExit(ExitCode.BadArgs, 'user grant command requires user name and role name as its argument');
    await authCall(ctx, 'UserGrantRole', pb.AuthUserGrantRoleRequest, { user: args[0]!, role: args[1]! }, pb.AuthUserGrantRoleResponse);
    ctx.out.stdout(`Role ${args[1]} is granted to user ${args[0]}\n`);
  },
};

export const userRevokeRoleCommand: CommandSpec = {
  path: ['user', 'revoke-role'],
  use: 'revoke-role <user name> <role name>',
  short: 'Revokes a role from a user',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 2) throw new CliExit(ExitCode.BadArgs, 'user revoke-role requires user name and role name as its argument');
    await authCall(ctx, 'UserRevokeRole', pb.AuthUserRevokeRoleRequest, { name: args[0]!, role: args[1]! }, pb.AuthUserRevokeRoleResponse);
    ctx.out.stdout(`Role ${args[1]} is revoked from user ${args[0]}\n`);
  },
};
