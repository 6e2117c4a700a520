/**
 * etcd's simple tokens (docs/auth.md "Tokens"): `<16 random letters>.<raft index>`, assigned at
 * apply on every member, kept per member with a TTL renewed on every use (--auth-token-ttl).
 */
import { randomInt } from 'node:crypto';
import { etcdserverpb } from '../proto/pb.js';

/** Field 15 of the applier's AuthenticateResponse: the user name, for the token table (stripped before clients see it). */
const AUTH_USER_FIELD = 15;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
/** etcd's defaultSimpleTokenLength. */
export const SIMPLE_TOKEN_PREFIX_LENGTH = 16;
/**
 * How often expired tokens are swept (etcd's simpleTokenTTLResolution, 1 s). Expiry is also
 * checked on every lookup, so a token is never honoured past its TTL even between sweeps.
 */
const SWEEP_INTERVAL_MS = 1000;

export function newTokenPrefix(): string {
  let s = '';
  for (let i = 0; i < SIMPLE_TOKEN_PREFIX_LENGTH; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

/** A token as the apply side makes it from the proposed prefix and the entry index. */
export function simpleToken(prefix: string, index: number): string {
  return `${prefix}.${index}`;
}

export class SimpleTokens {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #tokens = new Map<string, { user: string; expiresAtMs: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(ttlSeconds: number, now: () => number = Date.now) {
    this.#ttlMs = (ttlSeconds > 0 ? ttlSeconds : 300) * 1000;
    this.#now = now;
  }

  assign(token: string, user: string): void {
    this.#tokens.set(token, { user, expiresAtMs: this.#now() + this.#ttlMs });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  /** The user of a live token (renewing it), or undefined. */
  lookup(token: string): string | undefined {
    const t = this.#tokens.get(token);
    if (t === undefined) return undefined;
    const now = this.#now();
    if (now >= t.expiresAtMs) {
      this.#tokens.delete(token);
      return undefined;
    }
    t.expiresAtMs = now + this.#ttlMs;
    return t.user;
  }

  invalidateUser(user: string): void {
    for (const [token, t] of this.#tokens) if (t.user === user) this.#tokens.delete(token);
  }

  clear(): void {
    this.#tokens.clear();
  }

  get size(): number {
    return this.#tokens.size;
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tokens.clear();
  }

  #sweep(): void {
    const now = this.#now();
    for (const [token, t] of this.#tokens) if (now >= t.expiresAtMs) this.#tokens.delete(token);
  }
}

/** The applier's Authenticate response: an AuthenticateResponse with the user name in field 15. */
export function encodeAppliedAuthenticate(token: string, user: string): Uint8Array {
  const head = etcdserverpb.AuthenticateResponse.encode({ token }).finish();
  const name = Buffer.from(user, 'utf8');
  const tag = Buffer.from([(AUTH_USER_FIELD << 3) | 2]);
  const len: number[] = [];
  let n = name.length;
  while (n > 0x7f) { len.push((n & 0x7f) | 0x80); n >>>= 7; }
  len.push(n);
  return Buffer.concat([head, tag, Buffer.from(len), name]);
}

export function decodeAppliedAuthenticate(b: Uint8Array): { token: string; user: string } {
  const token = etcdserverpb.AuthenticateResponse.decode(b).token ?? '';
  // Find field 15 (the decode above skipped it).
  let user = '';
  let o = 0;
  while (o < b.length) {
    const tag = b[o++]!;
    const field = tag >>> 3;
    let len = 0;
    let shift = 0;
    for (;;) { const x = b[o++]!; len |= (x & 0x7f) << shift; shift += 7; if (x < 0x80) break; }
    if ((tag & 7) !== 2) break;
    if (field === AUTH_USER_FIELD) user = Buffer.from(b.subarray(o, o + len)).toString('utf8');
    o += len;
  }
  return { token, user };
}
