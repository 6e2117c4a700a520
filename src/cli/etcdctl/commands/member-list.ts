/** `etcdctl member list` */
import { RPC } from '../client.js';
import type { CommandSpec } from '../command.js';
import { rpcExit } from '../global.js';
import { MemberListResponseSchema, type MemberListResponse } from '../messages.js';

export const memberListCommand: CommandSpec = {
  path: ['member', 'list'],
  use: 'member list',
  short: 'Lists all members in the cluster',
  long: `When --write-out is set to simple, this command prints out comma-separated member lists for each endpoint.
The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.`,
  flags: [],
  async run(ctx) {
    const printer = ctx.printer();
    const resp = await ctx.client().unary<MemberListResponse>(RPC.memberList, new Uint8Array(0), MemberListResponseSchema, ctx.deadline()).catch((e) => rpcExit(e));
    printer.memberList(resp);
  },
};
