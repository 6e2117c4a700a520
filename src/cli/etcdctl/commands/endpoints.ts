/** The endpoints an `endpoint` subcommand visits: --endpoints, or with --cluster every member's client URLs. */
import { RPC } from '../client.js';
import type { FlagDef } from '../flags.js';
import { rpcExit, type Context } from '../global.js';
import { MemberListResponseSchema, type MemberListResponse } from '../messages.js';

/** `endpoint`'s persistent flag. */
export const CLUSTER_FLAG: FlagDef = { name: 'cluster', kind: 'bool', def: 'false', usage: 'use all endpoints from the cluster member list' };

export async function endpointsFromCluster(ctx: Context): Promise<string[]> {
  if (!ctx.flag<boolean>('cluster')) return ctx.global.endpoints;
  const resp = await ctx
    .client()
    .unary<MemberListResponse>(RPC.memberList, new Uint8Array(0), MemberListResponseSchema, ctx.deadline())
    .catch((e) => rpcExit(e, 1, (m) => `failed to fetch endpoints from etcd cluster member list: ${m}`));
  return resp.msg.members.flatMap((m) => m.clientURLs);
}
