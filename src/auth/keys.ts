/**
 * The auth store's meta keys (docs/auth.md "State and where it lives"; docs/storage-lmdb.md):
 *   auth/enabled      1 byte, 1 enabled / 0 disabled (absent: disabled)
 *   auth/revision     u64 BE (absent: 1, etcd's revision on first open)
 *   auth/user/<name>  authpb.User
 *   auth/role/<name>  authpb.Role
 * Written only by the applier, in the apply transaction; read by the main thread's mirror
 * and by the snapshot writer.
 */
import { authpb } from '../proto/pb.js';
import type { AuthSink, AuthState } from './store.js';
import type { Dbi, ReadOpts } from '../backend/backend.js';

export const META_AUTH_ENABLED = Buffer.from('auth/enabled');
export const META_AUTH_REVISION = Buffer.from('auth/revision');
export const META_AUTH_USER_PREFIX = Buffer.from('auth/user/');
export const META_AUTH_ROLE_PREFIX = Buffer.from('auth/role/');

function prefixEnd(p: Buffer): Buffer {
  const end = Buffer.from(p);
  end[end.length - 1]! += 1;
  return end;
}

export function readAuthState(meta: Dbi, opts: ReadOpts = {}): AuthState {
  const en = meta.get(META_AUTH_ENABLED, opts as never) as Buffer | undefined;
  const rev = meta.get(META_AUTH_REVISION, opts as never) as Buffer | undefined;
  const users: authpb.IUser[] = [];
  for (const { value } of meta.getRange({ ...opts, start: META_AUTH_USER_PREFIX, end: prefixEnd(META_AUTH_USER_PREFIX) })) {
    users.push(authpb.User.decode(value as Buffer));
  }
  const roles: authpb.IRole[] = [];
  for (const { value } of meta.getRange({ ...opts, start: META_AUTH_ROLE_PREFIX, end: prefixEnd(META_AUTH_ROLE_PREFIX) })) {
    roles.push(authpb.Role.decode(value as Buffer));
  }
  return {
    enabled: en !== undefined && en.length === 1 && en[0] === 1,
    revision: rev === undefined ? 1 : Number(rev.readBigUInt64BE(0)),
    users,
    roles,
  };
}

/** Writes the whole state (a snapshot restore). Writer only, in a write transaction. */
export function writeAuthState(meta: Dbi, s: AuthState): void {
  const sink = metaAuthSink(meta);
  sink.putEnabled(s.enabled);
  sink.putRevision(s.revision);
  for (const u of s.users) sink.putUser(u);
  for (const r of s.roles) sink.putRole(r);
}

/** The applier's sink: every auth change into the meta dbi, in the current write transaction. */
export function metaAuthSink(meta: Dbi): AuthSink {
  const key = (prefix: Buffer, name: Uint8Array | string | null | undefined): Buffer =>
    Buffer.concat([prefix, typeof name === 'string' ? Buffer.from(name, 'utf8') : Buffer.from(name ?? [])]);
  return {
    putUser: (u) => void meta.putSync(key(META_AUTH_USER_PREFIX, u.name), Buffer.from(authpb.User.encode(u).finish())),
    deleteUser: (name) => void meta.removeSync(key(META_AUTH_USER_PREFIX, name)),
    putRole: (r) => void meta.putSync(key(META_AUTH_ROLE_PREFIX, r.name), Buffer.from(authpb.Role.encode(r).finish())),
    deleteRole: (name) => void meta.removeSync(key(META_AUTH_ROLE_PREFIX, name)),
    putEnabled: (enabled) => void meta.putSync(META_AUTH_ENABLED, Buffer.from([enabled ? 1 : 0])),
    putRevision: (revision) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(revision));
      meta.putSync(META_AUTH_REVISION, b);
    },
  };
}
