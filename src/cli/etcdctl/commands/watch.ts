/**
 * `etcdctl watch [options] <key or prefix> [range_end]`: prints each event batch until the
 * server cancels the watch, then `Error: watch is canceled by the server` (exit 5), as etcdctl.
 * Not yet: interactive mode (-i) and running an exec-command per event.
 */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC, RpcError } from '../client.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode } from '../global.js';
import { WatchResponseSchema, type Decoded, type WatchResponse } from '../messages.js';
import { keyRange } from './keys.js';

const COMPACTED = 'etcdserver: mvcc: required revision has been compacted';
const FUTURE_REV = 'etcdserver: mvcc: required revision is a future revision';
const FAILED_PRECONDITION = 9;

/** clientv3.WatchResponse.Err() of a canceled response. */
export function cancelError(m: WatchResponse): string {
  if (m.compactRevision !== 0n) return COMPACTED;
  if (m.cancelReason !== '') return RpcError.describe(FAILED_PRECONDITION, m.cancelReason);
  return FUTURE_REV;
}

export const watchCommand: CommandSpec = {
  path: ['watch'],
  use: 'watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]',
  short: 'Watches events stream on keys or prefixes',
  flags: [
    { name: 'interactive', short: 'i', kind: 'bool', def: 'false', usage: 'Interactive mode' },
    { name: 'prefix', kind: 'bool', def: 'false', usage: 'Watch on a prefix if prefix is set' },
    { name: 'prev-kv', kind: 'bool', def: 'false', usage: 'get the previous key-value pair before the event happens' },
    { name: 'rev', kind: 'int64', def: '0', usage: 'Revision to start watching' },
  ],
  async run(ctx, args) {
    if (ctx.flag<boolean>('interactive')) throw new CliExit(ExitCode.BadFeature, 'watch -i is not implemented by this etcdctl (etcd-ts) yet');
    if (args.length === 0) throw new CliExit(ExitCode.BadArgs, 'bad number of arguments');
    if (args.length > 2) throw new CliExit(ExitCode.BadFeature, 'watch with an exec-command is not implemented by this etcdctl (etcd-ts) yet');
    const prefix = ctx.flag<boolean>('prefix');
    if (args.length === 2 && prefix) throw new CliExit(ExitCode.BadArgs, '`range_end` and `--prefix` are mutually exclusive');
    const { key, rangeEnd } = keyRange(args[0]!, args[1], prefix, false);
    const printer = ctx.printer();
    const req = etcdserverpb.WatchRequest.encode({
      createRequest: { key, rangeEnd, startRevision: Number(ctx.flag<bigint>('rev')), prevKv: ctx.flag<boolean>('prev-kv') },
    }).finish();
    try {
      await ctx.client().stream<WatchResponse>(
        RPC.watch,
        req,
        WatchResponseSchema,
        (resp: Decoded<WatchResponse>) => {
          const m = resp.msg;
          if (m.created && !m.canceled && m.events.length === 0) return true;
          if (m.canceled) ctx.out.stderr(`watch was canceled (${cancelError(m)})\n`);
          printer.watch(resp);
          return !m.canceled;
        },
        { hasleader: 'true' },
      );
    } catch (e) {
      if (!(e instanceof RpcError)) throw e;
      ctx.out.stderr(`watch was canceled (${e.message})\n`);
    }
    throw new CliExit(ExitCode.Interrupted, 'watch is canceled by the server');
  },
};
