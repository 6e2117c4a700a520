/** `etcdctl txn [-i]`: reads compares, success ops and failure ops from stdin. */
import { etcdserverpb } from '../../../proto/pb.js';
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { CliExit, ExitCode, rpcExit } from '../global.js';
import { TxnResponseSchema, type TxnResponse } from '../messages.js';
import { LineReader, readCompares, readOps } from './txn-parse.js';

export const txnCommand: CommandSpec = {
  path: ['txn'],
  use: 'txn [options]',
  short: 'Txn processes all the requests in one transaction',
  flags: [{ name: 'interactive', short: 'i', kind: 'bool', def: 'false', usage: 'Input transaction in interactive mode' }],
  async run(ctx, args) {
    if (args.length !== 0) throw new CliExit(ExitCode.BadArgs, 'txn command does not accept argument');
    const interactive = ctx.flag<boolean>('interactive');
    const prompt = (s: string): void => {
      if (interactive) ctx.out.stdout(s + '\n');
    };
    const reader = new LineReader(await ctx.stdin());
    prompt('compares:');
    const compare = readCompares(reader);
    prompt('success requests (get, put, del):');
    const success = readOps(reader);
    prompt('failure requests (get, put, del):');
    const failure = readOps(reader);
    const printer = ctx.printer();
    const bytes = etcdserverpb.TxnRequest.encode({ compare, success, failure }).finish();
    // etcdctl commits a txn without a deadline; a day stands in for "none"
    const deadline = new Date(Date.now() + 24 * 3600 * 1000);
    const resp = await ctx.client().unary<TxnResponse>(RPC.txn, bytes, TxnResponseSchema, deadline).catch((e) => rpcExit(e));
    printer.txn(resp);
  },
};
