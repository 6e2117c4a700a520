/** `etcdctl role add|delete|get|list|grant-permission|revoke-permission` (etcdctl 3.4's role_command.go, simple output). */
import { authpb, etcdserverpb } from '../../../proto/pb.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode } from '../global.js';
import { authCall } from './auth-calls.js';
import { bytesOf, prefixRangeEnd } from './keys.js';

const pb = etcdserverpb;
const RANGE_FLAGS = [
  { name: 'from-key', kind: 'bool', def: 'false', usage: 'grant a permission of keys that are greater than or equal to the given key using byte compare' },
  { name: 'prefix', kind: 'bool', def: 'false', usage: 'grant a prefix permission' },
] as const;

/** [key, range_end) of a grant or revoke, as etcdctl's permRange. */
function permRange(ctx: Parameters<CommandSpec['run']>[0], args: readonly string[]): { key: Uint8Array; rangeEnd: Uint8Array } {
  const key = bytesOf(args[0]!);
  const prefix = ctx.flag<boolean>('prefix');
  const fromKey = ctx.flag<boolean>('from-key');
  if (prefix && fromKey) throw new CliExit(ExitCode.BadArgs, '--from-key and --prefix flags are mutually exclusive');
  if (args.length > 1) {
    if (prefix || fromKey) throw new CliExit(ExitCode.BadArgs, 'unexpected endkey argument with --from-key or --prefix');
    return { key, rangeEnd: bytesOf(args[1]!) };
  }
  if (prefix) return { key, rangeEnd: args[0] === '' ? Uint8Array.of(0) : prefixRangeEnd(key) };
  if (fromKey) return { key: args[0] === '' ? Uint8Array.of(0) : key, rangeEnd: Uint8Array.of(0) };
  return { key, rangeEnd: new Uint8Array(0) };
}

const PERM_TYPES: Record<string, number> = { READ: 0, WRITE: 1, READWRITE: 2 };

export const roleAddCommand: CommandSpec = {
  path: ['role', 'add'],
  use: 'add <role name>',
  short: 'Adds a new role',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'role add command requires role name as its argument');
    await authCall(ctx, 'RoleAdd', pb.AuthRoleAddRequest, { name: args[0]! }, pb.AuthRoleAddResponse);
    ctx.out.stdout(`Role ${args[0]} created\n`);
  },
};

export const roleDeleteCommand: CommandSpec = {
  path: ['role', 'delete'],
  use: 'delete <role name>',
  short: 'Deletes a role',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'role delete command requires role name as its argument');
    await authCall(ctx, 'RoleDelete', pb.AuthRoleDeleteRequest, { role: args[0]! }, pb.AuthRoleDeleteResponse);
    ctx.out.stdout(`Role ${args[0]} deleted\n`);
  },
};

function printRange(p: authpb.IPermission): string {
  const key = Buffer.from(p.key ?? []).toString('latin1');
  const end = Buffer.from(p.rangeEnd ?? []);
  if (end.length === 0) return `\t${key}\n`;
  let s = end.length === 1 && end[0] === 0 ? `\t[${key}, <open ended>` : `\t[${key}, ${end.toString('latin1')})`;
  if (Buffer.from(prefixRangeEnd(Buffer.from(p.key ?? []))).equals(end)) s += ` (prefix ${key})`;
  return `${s}\n`;
}

export const roleGetCommand: CommandSpec = {
  path: ['role', 'get'],
  use: 'get <role name>',
  short: 'Gets detailed information of a role',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 1) throw new CliExit(ExitCode.BadArgs, 'role get command requires role name as its argument');
    const r = await authCall(ctx, 'RoleGet', pb.AuthRoleGetRequest, { role: args[0]! }, pb.AuthRoleGetResponse);
    const read = r.perm.filter((p) => (p.permType ?? 0) === 0 || p.permType === 2).map(printRange).join('');
    const write = r.perm.filter((p) => p.permType === 1 || p.permType === 2).map(printRange).join('');
    ctx.out.stdout(`Role ${args[0]}\nKV Read:\n${read}KV Write:\n${write}`);
  },
};

export const roleListCommand: CommandSpec = {
  path: ['role', 'list'],
  use: 'list',
  short: 'Lists all roles',
  flags: [],
  async run(ctx, args) {
    if (args.length !== 0) throw new CliExit(ExitCode.BadArgs, 'role list command requires no arguments');
    const r = await authCall(ctx, 'RoleList', pb.AuthRoleListRequest, {}, pb.AuthRoleListResponse);
    ctx.out.stdout(r.roles.map((x) => `${x}\n`).join(''));
  },
};

export const roleGrantPermissionCommand: CommandSpec = {
  path: ['role', 'grant-permission'],
  use: 'grant-permission [options] <role name> <permission type> <key> [endkey]',
  short: 'Grants a key to a role',
  flags: RANGE_FLAGS,
  async run(ctx, args) {
    if (args.length < 3) throw new CliExit(ExitCode.BadArgs, 'role grant command requires role name, permission type, and key [endkey] as its argument');
    const permType = PERM_TYPES[args[1]!.toUpperCase()];
    if (permType === undefined) throw new CliExit(ExitCode.BadArgs, `invalid permission type: ${args[1]}`);
    const { key, rangeEnd } = permRange(ctx, args.slice(2));
    await authCall(ctx, 'RoleGrantPermission', pb.AuthRoleGrantPermissionRequest, { name: args[0]!, perm: { key, rangeEnd, permType } }, pb.AuthRoleGrantPermissionResponse);
    ctx.out.stdout(`Role ${args[0]} updated\n`);
  },
};

export const roleRevokePermissionCommand: CommandSpec = {
  path: ['role', 'revoke-permission'],
  use: 'revoke-permission <role name> <key> [endkey]',
  short: 'Revokes a key from a role',
  flags: RANGE_FLAGS,
  async run(ctx, args) {
    if (args.length < 2) throw new CliExit(ExitCode.BadArgs, 'role revoke-permission command requires role name and key [endkey] as its argument');
    const { key, rangeEnd } = permRange(ctx, args.slice(1));
    await authCall(ctx, 'RoleRevokePermission', pb.AuthRoleRevokePermissionRequest, { role: args[0]!, key, rangeEnd }, pb.AuthRoleRevokePermissionResponse);
    const k = Buffer.from(key).toString('latin1');
    const e = Buffer.from(rangeEnd);
    if (e.length === 0) ctx.out.stdout(`Permission of key ${k} is revoked from role ${args[0]}\n`);
    else if (e.length === 1 && e[0] === 0) ctx.out.stdout(`Permission of range [${k}, <open ended> is revoked from role ${args[0]}\n`);
    else ctx.out.stdout(`Permission of range [${k}, ${e.toString('latin1')}) is revoked from role ${args[0]}\n`);
  },
};
