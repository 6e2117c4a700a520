/**
 * The request side of auth (docs/auth.md): the member's read-only mirror of the auth store,
 * its simple tokens, who the caller of a request is, and the Auth API (etcd's v3_server.go
 * Auth* methods). Auth changes are proposed through the log (EtcdServer.proposeAuth) and
 * applied by the applier; this class reloads its mirror from the outcomes of each batch.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EtcdError } from '../errors/errors.js';
import { etcdserverpb } from '../proto/pb.js';
import { AuthStore, ROOT_USER, type AuthInfo, type AuthState } from '../auth/store.js';
import { SimpleTokens, decodeAppliedAuthenticate, newTokenPrefix } from '../auth/simple-token.js';
import { checkPasswordLength, comparePassword, hashPassword } from '../auth/password.js';
import type { ApplyLoop, AppliedBatch } from './apply-loop.js';

/** What a call tells about its caller (the gRPC CallContext fits). */
export interface CallerContext {
  metadata(key: string): string | undefined;
  readonly tlsCommonName?: string | undefined;
}

/** Auth entries as EtcdServer proposes them (InternalRaftRequest fields). */
export type AuthProposal = Partial<Pick<etcdserverpb.IInternalRaftRequest,
  'authEnable' | 'authDisable' | 'authStatus' | 'authenticate' | 'authUserAdd' | 'authUserDelete' | 'authUserGet' |
  'authUserList' | 'authUserChangePassword' | 'authUserGrantRole' | 'authUserRevokeRole' | 'authRoleAdd' | 'authRoleDelete' |
  'authRoleGet' | 'authRoleList' | 'authRoleGrantPermission' | 'authRoleRevokePermission'>>;

export interface AuthServerOptions {
  /** The auth state as stored now (the read view's meta keys). */
  readonly readState: () => AuthState;
  /** Proposes an auth entry, the caller in its header; resolves with the encoded response (header filled). */
  readonly propose: (p: AuthProposal, ai: AuthInfo | undefined) => Promise<Uint8Array>;
  readonly applyLoop: ApplyLoop;
  /** Waits until this member has applied everything committed before the call (EtcdServer.linearizableBarrier). */
  readonly barrier: () => Promise<void>;
  /** --bcrypt-cost */
  readonly bcryptCost: number;
  /** --auth-token-ttl, seconds */
  readonly tokenTtlSeconds: number;
  /** --client-cert-auth: a verified certificate's CN is the user when no token is sent. */
  readonly clientCertAuth: boolean;
  readonly log?: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
}

export class AuthServer {
  readonly store: AuthStore;
  readonly tokens: SimpleTokens;
  readonly #opts: AuthServerOptions;
  readonly #caller = new AsyncLocalStorage<AuthInfo | undefined>();

  constructor(opts: AuthServerOptions) {
    this.#opts = opts;
    this.store = new AuthStore(opts.readState());
    this.tokens = new SimpleTokens(opts.tokenTtlSeconds);
    opts.applyLoop.subscribe((b) => this.#onApplied(b));
  }

  /** One boolean on the hot path. */
  get enabled(): boolean {
    return this.store.enabled;
  }

  /** etcd's AuthInfoFromCtx: the token's user, else the certificate's CN, else none. Throws on a bad token. */
  callerOf(ctx: CallerContext | undefined): AuthInfo | undefined {
    if (!this.store.enabled || ctx === undefined) return undefined;
    let token = ctx.metadata('token') ?? ctx.metadata('authorization');
    if (token !== undefined) {
      // A header sent twice reaches us joined by ", " (python3-etcd3 sends its token so); gRPC
      // takes the first value, and a token never holds a comma.
      const comma = token.indexOf(',');
      if (comma >= 0) token = token.slice(0, comma);
      if (token.startsWith('Bearer ')) token = token.slice(7);
      const user = this.tokens.lookup(token);
      if (user === undefined) throw new EtcdError('ETCD_ERR_AUTH_INVALID_TOKEN');
      return { username: user, revision: this.store.revision };
    }
    if (this.#opts.clientCertAuth && ctx.tlsCommonName !== undefined && ctx.tlsCommonName !== '' && ctx.metadata('grpcgateway-accept') === undefined) {
      return { username: ctx.tlsCommonName, revision: this.store.revision };
    }
    return undefined;
  }

  sync(): Promise<void> {
    return this.#opts.barrier();
  }

  /** Runs `fn` with `ai` as the caller of every proposal it makes (lock, election and lease calls too). */
  runAs<T>(ai: AuthInfo | undefined, fn: () => T): T {
    return this.#caller.run(ai, fn);
  }

  /** Root at the current auth revision, for what the member proposes itself (etcd's WithRoot). */
  memberCaller(): AuthInfo | undefined {
    return this.store.enabled ? { username: ROOT_USER, revision: this.store.revision } : undefined;
  }

  /** The caller of the request being served (EtcdServer puts it in the entry's header). */
  caller(): AuthInfo | undefined {
    return this.#caller.getStore();
  }

  // ---- the Auth API ----

  async authenticate(req: etcdserverpb.IAuthenticateRequest): Promise<Uint8Array> {
    const name = req.name ?? '';
    const password = req.password ?? '';
    for (let attempt = 0; ; attempt++) {
      if (!this.store.enabled) throw new EtcdError('ETCD_ERR_AUTH_NOT_ENABLED');
      const u = this.store.user(name);
      const checkedAt = this.store.revision;
      if (u === undefined) throw new EtcdError('ETCD_ERR_AUTH_FAILED');
      if (u.options?.noPassword === true) throw new EtcdError('ETCD_ERR_AUTH_NO_PASSWORD_USER');
      if (!(await comparePassword(password, u.password))) {
        this.#opts.log?.('info', 'invalid password', { 'user-name': name });
        throw new EtcdError('ETCD_ERR_AUTH_FAILED');
      }
      const out = await this.#opts.propose({ authenticate: { name, simpleToken: newTokenPrefix() } }, undefined);
      const res = etcdserverpb.AuthenticateResponse.decode(out);
      // The password was checked against an older store: check again (etcd's loop).
      if (checkedAt === this.store.revision || attempt >= 3) {
        return etcdserverpb.AuthenticateResponse.encode({ header: res.header, token: res.token }).finish();
      }
    }
  }

  async userAdd(req: etcdserverpb.IAuthUserAddRequest): Promise<Uint8Array> {
    const noPassword = req.options?.noPassword === true;
    const r: etcdserverpb.IAuthUserAddRequest = { name: req.name ?? '', options: req.options ?? null };
    if (!noPassword) r.hashedPassword = await hashPassword(req.password ?? '', this.#opts.bcryptCost);
    return this.#propose({ authUserAdd: r });
  }

  async userChangePassword(req: etcdserverpb.IAuthUserChangePasswordRequest): Promise<Uint8Array> {
    checkPasswordLength(req.password ?? '');
    const hashedPassword = await hashPassword(req.password ?? '', this.#opts.bcryptCost);
    return this.#propose({ authUserChangePassword: { name: req.name ?? '', hashedPassword } });
  }

  /** Every other Auth call: one entry through the log, answered at apply. */
  proposeAuth(p: AuthProposal): Promise<Uint8Array> {
    return this.#propose(p);
  }

  #propose(p: AuthProposal): Promise<Uint8Array> {
    return this.#opts.propose(p, this.caller());
  }

  close(): void {
    this.tokens.close();
  }

  /** Reload the mirror when an entry changed the store; record the tokens of applied Authenticates. */
  #onApplied(batch: AppliedBatch): void {
    let changed = false;
    for (const o of batch.outcomes) {
      if (o.authChanged) changed = true;
      if (o.authToken && o.response !== undefined && o.errorCode === undefined) {
        const { token, user } = decodeAppliedAuthenticate(o.response);
        if (user !== '' && token !== '') this.tokens.assign(token, user);
      }
    }
    if (!changed) return;
    const wasEnabled = this.store.enabled;
    const before = new Map(this.store.state().users.map((u) => [Buffer.from(u.name ?? []).toString('utf8'), u]));
    this.store.reset(this.#opts.readState());
    if (wasEnabled && !this.store.enabled) this.tokens.clear();
    // A deleted user, or one whose password changed, loses its tokens (etcd's invalidateUser).
    for (const [name, u] of before) {
      const now = this.store.user(name);
      if (now === undefined || !Buffer.from(now.password ?? []).equals(Buffer.from(u.password ?? []))) this.tokens.invalidateUser(name);
    }
  }
}

