/** One Auth RPC for the user, role and auth commands: encode, call, decode; errors end the command as etcdctl's. */
import type { Context } from '../global.js';
import { rpcExit } from '../global.js';

interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
}
interface Decoder<R> {
  decode(b: Uint8Array): R;
}

export async function authCall<T, R>(ctx: Context, method: string, req: Codec<T>, body: T, res: Decoder<R>): Promise<R> {
  const bytes = req.encode(body).finish();
  const raw = await ctx.client().unaryRaw(`/etcdserverpb.Auth/${method}`, bytes, ctx.deadline()).catch((e) => rpcExit(e));
  return res.decode(raw);
}
