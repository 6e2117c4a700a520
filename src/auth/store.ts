/**
 * The auth store (etcd's authStore): users, roles, enabled, revision, and the merged range
 * permissions of each user. docs/auth.md has the state, its invariants and where it lives.
 *
 * One class serves both sides: the applier mutates it (every mutation also goes to the
 * `AuthSink`, which writes the LMDB meta keys in the batch's transaction) and the main thread
 * holds a read-only mirror loaded from the same keys. Mutations throw EtcdErrors with etcd's
 * messages and change nothing when they do.
 */
import { EtcdError } from '../errors/errors.js';
import { authpb, etcdserverpb } from '../proto/pb.js';
import { covers, isValidPermissionRange, mergePermissions, PERM_READ, PERM_WRITE, type MergedPerms } from './perms.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

/** The caller of a request, as etcd's AuthInfo: a user name at an auth revision. */
export interface AuthInfo {
  readonly username: string;
  readonly revision: number;
}

/** Where the applier's store writes its changes (the meta dbi, in the apply transaction). */
export interface AuthSink {
  putUser(u: authpb.IUser): void;
  deleteUser(name: string): void;
  putRole(r: authpb.IRole): void;
  deleteRole(name: string): void;
  putEnabled(enabled: boolean): void;
  putRevision(revision: number): void;
}

/** The stored state, as read from LMDB or a snapshot. */
export interface AuthState {
  enabled: boolean;
  revision: number;
  users: authpb.IUser[];
  roles: authpb.IRole[];
}

const utf8 = new TextDecoder();
const nameOf = (b: Uint8Array | null | undefined): string => (b ? utf8.decode(b) : '');
const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const str = (s: string | null | undefined): string => s ?? '';

export class AuthStore {
  #enabled = false;
  #revision = 1;
  readonly #users = new Map<string, authpb.IUser>();
  readonly #roles = new Map<string, authpb.IRole>();
  #perms = new Map<string, MergedPerms>();
  readonly #sink: AuthSink | undefined;

  constructor(state: AuthState, sink?: AuthSink) {
    this.#sink = sink;
    this.reset(state);
  }

  /** Replaces the whole state (a reload after an aborted transaction, or a mirror refresh). */
  reset(state: AuthState): void {
    this.#enabled = state.enabled;
    this.#revision = state.revision;
    this.#users.clear();
    this.#roles.clear();
    for (const u of state.users) this.#users.set(nameOf(u.name), u);
    for (const r of state.roles) this.#roles.set(nameOf(r.name), r);
    this.#refreshPerms();
  }

  get enabled(): boolean { return this.#enabled; }
  get revision(): number { return this.#revision; }

  state(): AuthState {
    return { enabled: this.#enabled, revision: this.#revision, users: [...this.#users.values()], roles: [...this.#roles.values()] };
  }

  user(name: string): authpb.IUser | undefined { return this.#users.get(name); }
  role(name: string): authpb.IRole | undefined { return this.#roles.get(name); }

  hasRole(user: string, role: string): boolean {
    return this.#users.get(user)?.roles?.includes(role) ?? false;
  }

  // ---- checks (etcd's isOpPermitted, IsAdminPermitted) ----

  /** READ (or WRITE) on [key, rangeEnd) for `ai`; throws etcd's error when not allowed. */
  checkRange(ai: AuthInfo | undefined, key: Uint8Array | null | undefined, rangeEnd: Uint8Array | null | undefined, write: boolean): void {
    if (!this.#enabled) return;
    if (ai === undefined || ai.revision === 0) throw new EtcdError('ETCD_ERR_AUTH_USER_EMPTY');
    if (ai.revision < this.#revision) throw new EtcdError('ETCD_ERR_AUTH_OLD_REVISION');
    const user = this.#users.get(ai.username);
    if (user === undefined) throw new EtcdError('ETCD_ERR_AUTH_PERMISSION_DENIED');
    if (user.roles?.includes(ROOT_ROLE)) return;
    const perms = this.#perms.get(ai.username);
    if (perms === undefined || !covers(write ? perms.write : perms.read, key ?? new Uint8Array(0), rangeEnd)) {
      throw new EtcdError('ETCD_ERR_AUTH_PERMISSION_DENIED');
    }
  }

  isAdmin(ai: AuthInfo | undefined): boolean {
    try {
      this.checkAdmin(ai);
      return true;
    } catch {
      return false;
    }
  }

  checkAdmin(ai: AuthInfo | undefined): void {
    if (!this.#enabled) return;
    if (ai === undefined || ai.username === '') throw new EtcdError('ETCD_ERR_AUTH_USER_EMPTY');
    const user = this.#users.get(ai.username);
    if (user === undefined) throw new EtcdError('ETCD_ERR_AUTH_USER_NOT_FOUND');
    if (!user.roles?.includes(ROOT_ROLE)) throw new EtcdError('ETCD_ERR_AUTH_PERMISSION_DENIED');
  }

  // ---- mutations (applier only) ----

  authEnable(): void {
    if (this.#enabled) return;
    const root = this.#users.get(ROOT_USER);
    if (root === undefined) throw new EtcdError('ETCD_ERR_AUTH_ROOT_USER_NOT_EXIST');
    if (!root.roles?.includes(ROOT_ROLE)) throw new EtcdError('ETCD_ERR_AUTH_ROOT_ROLE_NOT_EXIST');
    this.#enabled = true;
    this.#sink?.putEnabled(true);
  }

  authDisable(): void {
    if (!this.#enabled) return;
    this.#enabled = false;
    this.#sink?.putEnabled(false);
    this.#bump();
  }

  /** `hashed` is the bcrypt hash to store (undefined for a no-password user). */
  userAdd(name: string, hashed: Uint8Array | undefined, noPassword: boolean): void {
    if (name.length === 0) throw new EtcdError('ETCD_ERR_AUTH_USER_EMPTY');
    if (this.#users.has(name)) throw new EtcdError('ETCD_ERR_AUTH_USER_ALREADY_EXIST');
    const u: authpb.IUser = { name: bytes(name), roles: [], options: { noPassword } };
    if (!noPassword && hashed !== undefined) u.password = hashed;
    this.#putUser(u);
  }

  userDelete(name: string): void {
    if (this.#enabled && name === ROOT_USER) throw new EtcdError('ETCD_ERR_AUTH_INVALID_MGMT');
    if (!this.#users.has(name)) throw new EtcdError('ETCD_ERR_AUTH_USER_NOT_FOUND');
    this.#users.delete(name);
    this.#sink?.deleteUser(name);
    this.#bump();
  }

  userChangePassword(name: string, hashed: Uint8Array | undefined): void {
    const u = this.#users.get(name);
    if (u === undefined) throw new EtcdError('ETCD_ERR_AUTH_USER_NOT_FOUND');
    const next: authpb.IUser = { name: u.name, roles: u.roles ?? [], options: u.options ?? null };
    if (!(u.options?.noPassword ?? false) && hashed !== undefined) next.password = hashed;
    this.#putUser(next);
  }

  userGrantRole(user: string, role: string): void {
    const u = this.#users.get(user);
    if (u === undefined) throw new EtcdError('ETCD_ERR_AUTH_USER_NOT_FOUND');
    if (role !== ROOT_ROLE && !this.#roles.has(role)) throw new EtcdError('ETCD_ERR_AUTH_ROLE_NOT_FOUND');
    const roles = u.roles ?? [];
    if (roles.includes(role)) return; // etcd: ignored, no revision change
    this.#putUser({ ...u, roles: [...roles, role].sort(compareStrings) });
  }

  userRevokeRole(user: string, role: string): void {
    if (this.#enabled && user === ROOT_USER && role === ROOT_ROLE) throw new EtcdError('ETCD_ERR_AUTH_INVALID_MGMT');
    const u = this.#users.get(user);
    if (u === undefined) throw new EtcdError('ETCD_ERR_AUTH_USER_NOT_FOUND');
    const roles = (u.roles ?? []).filter((r) => r !== role);
    if (roles.length === (u.roles ?? []).length) throw new EtcdError('ETCD_ERR_AUTH_ROLE_NOT_GRANTED');
    this.#putUser({ ...u, roles });
  }

  userGet(name: string): string[] {
    const u = this.#users.get(name);
    if (u === undefined) throw new EtcdError('ETCD_ERR_AUTH_USER_NOT_FOUND');
    return [...(u.roles ?? [])];
  }

  userList(): string[] {
    return [...this.#users.keys()].sort(compareStrings);
  }

  roleAdd(name: string): void {
    if (name.length === 0) throw new EtcdError('ETCD_ERR_AUTH_ROLE_EMPTY');
    if (this.#roles.has(name)) throw new EtcdError('ETCD_ERR_AUTH_ROLE_ALREADY_EXIST');
    const r: authpb.IRole = { name: bytes(name), keyPermission: [] };
    this.#roles.set(name, r);
    this.#sink?.putRole(r);
    this.#bump();
  }

  roleDelete(name: string): void {
    if (this.#enabled && name === ROOT_ROLE) throw new EtcdError('ETCD_ERR_AUTH_INVALID_MGMT');
    if (!this.#roles.has(name)) throw new EtcdError('ETCD_ERR_AUTH_ROLE_NOT_FOUND');
    this.#roles.delete(name);
    this.#sink?.deleteRole(name);
    for (const u of [...this.#users.values()]) {
      if (u.roles?.includes(name)) this.#putUser({ ...u, roles: u.roles.filter((r) => r !== name) }, false);
    }
    this.#bump();
  }

  roleGet(name: string): authpb.IPermission[] {
    const r = this.#roles.get(name);
    if (r === undefined) throw new EtcdError('ETCD_ERR_AUTH_ROLE_NOT_FOUND');
    // etcd answers the root role with one READWRITE permission on every key.
    if (name === ROOT_ROLE) return [{ permType: 2, key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }];
    return [...(r.keyPermission ?? [])];
  }

  roleList(): string[] {
    return [...this.#roles.keys()].sort(compareStrings);
  }

  roleGrantPermission(name: string, perm: authpb.IPermission | null | undefined): void {
    if (perm === null || perm === undefined) throw new EtcdError('ETCD_ERR_AUTH_PERMISSION_NOT_GIVEN');
    if (!isValidPermissionRange(perm.key, perm.rangeEnd)) throw new EtcdError('ETCD_ERR_AUTH_INVALID_MGMT');
    const r = this.#roles.get(name);
    if (r === undefined) throw new EtcdError('ETCD_ERR_AUTH_ROLE_NOT_FOUND');
    const key = Buffer.from(perm.key ?? []);
    const rangeEnd = Buffer.from(perm.rangeEnd ?? []);
    const permType = perm.permType ?? PERM_READ;
    const list = (r.keyPermission ?? []).filter((p) => !(Buffer.from(p.key ?? []).equals(key) && Buffer.from(p.rangeEnd ?? []).equals(rangeEnd)));
    list.push({ permType, key, rangeEnd });
    list.sort((a, b) => Buffer.compare(Buffer.from(a.key ?? []), Buffer.from(b.key ?? [])));
    this.#putRole({ name: r.name, keyPermission: list });
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    const r = this.#roles.get(name);
    if (r === undefined) throw new EtcdError('ETCD_ERR_AUTH_ROLE_NOT_FOUND');
    const k = Buffer.from(key);
    const e = Buffer.from(rangeEnd);
    const list = (r.keyPermission ?? []).filter((p) => !(Buffer.from(p.key ?? []).equals(k) && Buffer.from(p.rangeEnd ?? []).equals(e)));
    if (list.length === (r.keyPermission ?? []).length) throw new EtcdError('ETCD_ERR_AUTH_PERMISSION_NOT_GRANTED');
    this.#putRole({ name: r.name, keyPermission: list });
  }

  /** Applies an auth entry of the log and returns its encoded response (header filled later). */
  applyRequest(req: etcdserverpb.InternalRaftRequest, hash: (password: string) => Uint8Array): Uint8Array | undefined {
    const pb = etcdserverpb;
    if (req.authEnable) { this.authEnable(); return pb.AuthEnableResponse.encode({}).finish(); }
    if (req.authDisable) { this.authDisable(); return pb.AuthDisableResponse.encode({}).finish(); }
    if (req.authStatus) return pb.AuthStatusResponse.encode({ enabled: this.#enabled, authRevision: this.#revision }).finish();
    if (req.authUserAdd) {
      const r = req.authUserAdd;
      const noPassword = r.options?.noPassword === true;
      this.userAdd(str(r.name), noPassword ? undefined : passwordBytes(r, hash), noPassword);
      return pb.AuthUserAddResponse.encode({}).finish();
    }
    if (req.authUserDelete) { this.userDelete(str(req.authUserDelete.name)); return pb.AuthUserDeleteResponse.encode({}).finish(); }
    if (req.authUserChangePassword) {
      const r = req.authUserChangePassword;
      const u = this.#users.get(str(r.name));
      this.userChangePassword(str(r.name), u?.options?.noPassword ? undefined : passwordBytes(r, hash));
      return pb.AuthUserChangePasswordResponse.encode({}).finish();
    }
    if (req.authUserGrantRole) { this.userGrantRole(str(req.authUserGrantRole.user), str(req.authUserGrantRole.role)); return pb.AuthUserGrantRoleResponse.encode({}).finish(); }
    if (req.authUserRevokeRole) { this.userRevokeRole(str(req.authUserRevokeRole.name), str(req.authUserRevokeRole.role)); return pb.AuthUserRevokeRoleResponse.encode({}).finish(); }
    if (req.authUserGet) return pb.AuthUserGetResponse.encode({ roles: this.userGet(str(req.authUserGet.name)) }).finish();
    if (req.authUserList) return pb.AuthUserListResponse.encode({ users: this.userList() }).finish();
    if (req.authRoleAdd) { this.roleAdd(str(req.authRoleAdd.name)); return pb.AuthRoleAddResponse.encode({}).finish(); }
    if (req.authRoleDelete) { this.roleDelete(str(req.authRoleDelete.role)); return pb.AuthRoleDeleteResponse.encode({}).finish(); }
    if (req.authRoleGet) return pb.AuthRoleGetResponse.encode({ perm: this.roleGet(str(req.authRoleGet.role)) }).finish();
    if (req.authRoleList) return pb.AuthRoleListResponse.encode({ roles: this.roleList() }).finish();
    if (req.authRoleGrantPermission) {
      this.roleGrantPermission(str(req.authRoleGrantPermission.name), req.authRoleGrantPermission.perm);
      return pb.AuthRoleGrantPermissionResponse.encode({}).finish();
    }
    if (req.authRoleRevokePermission) {
      const r = req.authRoleRevokePermission;
      this.roleRevokePermission(str(r.role), r.key ?? new Uint8Array(0), r.rangeEnd ?? new Uint8Array(0));
      return pb.AuthRoleRevokePermissionResponse.encode({}).finish();
    }
    return undefined;
  }

  #putUser(u: authpb.IUser, bump = true): void {
    this.#users.set(nameOf(u.name), u);
    this.#sink?.putUser(u);
    if (bump) this.#bump();
  }

  #putRole(r: authpb.IRole): void {
    this.#roles.set(nameOf(r.name), r);
    this.#sink?.putRole(r);
    this.#bump();
  }

  /** etcd's commitRevision: every change to users or roles (and a disable) moves the revision by one. */
  #bump(): void {
    this.#revision += 1;
    this.#sink?.putRevision(this.#revision);
    this.#refreshPerms();
  }

  #refreshPerms(): void {
    const perms = new Map<string, MergedPerms>();
    for (const [name, u] of this.#users) {
      const list = [];
      for (const role of u.roles ?? []) list.push(...(this.#roles.get(role)?.keyPermission ?? []));
      perms.set(name, mergePermissions(list));
    }
    this.#perms = perms;
  }
}

/** Which Auth requests need the root role at apply (etcd's needAdminPermission). */
export function needsAdmin(req: etcdserverpb.InternalRaftRequest): boolean {
  return !!(req.authEnable || req.authDisable || req.authUserAdd || req.authUserDelete || req.authUserChangePassword ||
    req.authUserGrantRole || req.authUserRevokeRole || req.authRoleAdd || req.authRoleGrantPermission ||
    req.authRoleRevokePermission || req.authRoleDelete || req.authUserList || req.authRoleList);
}

export function isAuthRequest(req: etcdserverpb.InternalRaftRequest): boolean {
  return !!(needsAdmin(req) || req.authStatus || req.authUserGet || req.authRoleGet || req.authenticate);
}

/** The bcrypt hash an entry stores: its base64 `hashed_password`, or (etcd < 3.5 entries) its plain password hashed now. */
function passwordBytes(r: { password?: string | null; hashedPassword?: string | null }, hash: (p: string) => Uint8Array): Uint8Array {
  const hashed = r.hashedPassword ?? '';
  if ((r.password ?? '') !== '' && hashed === '') return hash(r.password!);
  return Buffer.from(hashed, 'base64');
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export { PERM_READ, PERM_WRITE };
