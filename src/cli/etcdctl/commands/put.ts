/** `etcdctl put [options] <key> <value>` */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { parseGoInt, type FlagDef, type ParsedFlags } from '../flags.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { PutResponseSchema, type PutResponse } from '../messages.js';
import { bytesOf } from './keys.js';

export const PUT_FLAGS: readonly FlagDef[] = [
  { name: 'ignore-lease', kind: 'bool', def: 'false', usage: 'updates the key using its current lease' },
  { name: 'ignore-value', kind: 'bool', def: 'false', usage: 'updates the key using its current value' },
  { name: 'lease', kind: 'string', def: '0', usage: 'lease ID (in hexadecimal) to attach to the key' },
  { name: 'prev-kv', kind: 'bool', def: 'false', usage: 'return the previous key-value pair before modification' },
];

const NEEDS_ARGS = 'put command needs 1 argument and input from stdin or 2 arguments';

/** Build the PutRequest (without the lease) and the lease ID, as etcdctl's getPutOp checks them. */
export function putOp(args: readonly string[], flags: ParsedFlags, stdinValue?: string): { req: etcdserverpb.PutRequest.$Properties; lease: bigint } {
  const b = (n: string): boolean => flags.values.get(n) as boolean;
  if (args.length === 0) throw new CliExit(ExitCode.BadArgs, NEEDS_ARGS);
  const ignoreValue = b('ignore-value');
  if (ignoreValue && args.length > 1) throw new CliExit(ExitCode.BadArgs, "put command needs only 1 argument when 'ignore-value' is set");
  let value = '';
  if (!ignoreValue) {
    if (args.length > 1) value = args[1]!;
    else if (stdinValue !== undefined && stdinValue !== '') value = stdinValue;
    else throw new CliExit(ExitCode.BadArgs, NEEDS_ARGS);
  }
  let lease: bigint;
  try {
    lease = parseGoInt(flags.values.get('lease') as string, 16);
  } catch (e) {
    throw new CliExit(ExitCode.BadArgs, `bad lease ID (${(e as Error).message}), expecting ID in Hex`);
  }
  return {
    req: { key: bytesOf(args[0]!), value: bytesOf(value), prevKv: b('prev-kv'), ignoreValue, ignoreLease: b('ignore-lease') },
    lease,
  };
}

export const putCommand: CommandSpec = {
  path: ['put'],
  use: 'put [options] <key> <value> (<value> can also be given from stdin)',
  short: 'Puts the given key into the store',
  long: `Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.`,
  flags: PUT_FLAGS,
  async run(ctx, args) {
    const needStdin = args.length === 1 && !(ctx.flag<boolean>('ignore-value'));
    const { req, lease } = putOp(args, ctx.flags, needStdin ? await ctx.stdin() : undefined);
    const bytes = etcdserverpb.PutRequest.encode({ ...req, lease }).finish();
    const printer = ctx.printer();
    const resp = await ctx.client().unary<PutResponse>(RPC.put, bytes, PutResponseSchema, ctx.deadline()).catch((e) => rpcExit(e));
    printer.put(resp);
  },
};
