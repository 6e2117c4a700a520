/**
 * The auth policy of the applier (etcd's authApplierV3; docs/auth.md "Who may do what"):
 * applies auth entries to the store (LMDB meta keys, in the batch's transaction) and checks the
 * writes of the log against the permissions of the user named in their header, at the auth
 * revision the proposing member saw. Every member decides alike, in log order.
 */
import { EtcdError } from '../errors/errors.js';
import { etcdserverpb } from '../proto/pb.js';
import type { LmdbBackend } from '../backend/backend.js';
import { AuthStore, isAuthRequest, needsAdmin, type AuthInfo } from '../auth/store.js';
import { metaAuthSink, readAuthState } from '../auth/keys.js';
import { hashPasswordSync } from '../auth/password.js';
import { encodeAppliedAuthenticate, simpleToken } from '../auth/simple-token.js';
import { checkTxnAuth, checkPutAuth, type LeaseKeysLookup } from '../auth/checks.js';

/** etcd's default --bcrypt-cost, for entries of old logs that carry a plain password. */
const DEFAULT_BCRYPT_COST = 10;

export interface AuthApplied {
  readonly response: Uint8Array;
  readonly authChanged: boolean;
  readonly authToken: boolean;
}

export class AuthApply {
  readonly store: AuthStore;
  readonly #backend: LmdbBackend;
  readonly #bcryptCost: number;

  constructor(backend: LmdbBackend, bcryptCost = DEFAULT_BCRYPT_COST) {
    this.#backend = backend;
    this.#bcryptCost = bcryptCost;
    this.store = new AuthStore(readAuthState(backend.meta), metaAuthSink(backend.meta));
  }

  /** After an aborted transaction: the store as committed. */
  reload(): void {
    this.store.reset(readAuthState(this.#backend.meta));
  }

  static authInfo(req: etcdserverpb.InternalRaftRequest): AuthInfo {
    return { username: req.header?.username ?? '', revision: Number(req.header?.authRevision ?? 0) };
  }

  /** An auth entry: applied and answered, or undefined when `req` is not one. Throws EtcdErrors. */
  apply(req: etcdserverpb.InternalRaftRequest, index: number): AuthApplied | undefined {
    if (!isAuthRequest(req)) return undefined;
    const ai = AuthApply.authInfo(req);
    const s = this.store;
    if (req.authenticate) {
      const name = req.authenticate.name ?? '';
      if (!s.enabled) throw new EtcdError('ETCD_ERR_AUTH_NOT_ENABLED');
      const u = s.user(name);
      if (u === undefined || u.options?.noPassword === true) throw new EtcdError('ETCD_ERR_AUTH_FAILED');
      const token = simpleToken(req.authenticate.simpleToken ?? '', index);
      const response = encodeAppliedAuthenticate(token, name);
      return { response, authChanged: false, authToken: true };
    }
    if (needsAdmin(req)) s.checkAdmin(ai);
    // A user may read itself, and the roles it holds (etcd's UserGet / RoleGet at apply).
    if (req.authUserGet && !s.isAdmin(ai) && (req.authUserGet.name ?? '') !== ai.username) s.checkAdmin(ai);
    if (req.authRoleGet && !s.isAdmin(ai) && !s.hasRole(ai.username, req.authRoleGet.role ?? '')) s.checkAdmin(ai);
    const before = s.revision;
    const enabledBefore = s.enabled;
    const response = s.applyRequest(req, (p) => hashPasswordSync(p, this.#bcryptCost));
    if (response === undefined) throw new Error('auth apply: an auth request without a handler');
    return { response, authChanged: s.revision !== before || s.enabled !== enabledBefore, authToken: false };
  }

  /** Permission checks of a write entry (Put, DeleteRange, Txn, LeaseRevoke) at apply. */
  checkWrite(req: etcdserverpb.InternalRaftRequest, leaseKeys: LeaseKeysLookup): void {
    const s = this.store;
    if (!s.enabled) return;
    const ai = AuthApply.authInfo(req);
    if (req.put) checkPutAuth(s, ai, leaseKeys, req.put);
    else if (req.deleteRange) {
      s.checkRange(ai, req.deleteRange.key, req.deleteRange.rangeEnd, true);
      if (req.deleteRange.prevKv) s.checkRange(ai, req.deleteRange.key, req.deleteRange.rangeEnd, false);
    } else if (req.txn) checkTxnAuth(s, ai, leaseKeys, req.txn);
    else if (req.range) s.checkRange(ai, req.range.key, req.range.rangeEnd, false);
    else if (req.leaseRevoke) {
      if (s.isAdmin(ai)) return;
      for (const k of leaseKeys(req.leaseRevoke.ID ?? 0n)) s.checkRange(ai, k, undefined, true);
    }
  }
}
