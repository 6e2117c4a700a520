// The auth store (src/auth/store.ts): etcd's rules and the invariants of docs/auth.md, and the
// meta-key round trip a restart or the main thread's mirror depends on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdError } from '../../../src/errors/errors.js';
import { AuthStore, type AuthSink, type AuthState } from '../../../src/auth/store.js';
import { authpb } from '../../../src/proto/pb.js';

const EMPTY: AuthState = { enabled: false, revision: 1, users: [], roles: [] };
const h = (s: string): Buffer => Buffer.from(`hash-of-${s}`);
const b = (s: string): Buffer => Buffer.from(s);

/** A sink that keeps what was written, as the meta keys would. */
function memorySink(): { sink: AuthSink; load(): AuthState } {
  const users = new Map<string, Uint8Array>();
  const roles = new Map<string, Uint8Array>();
  let enabled = false;
  let revision = 1;
  return {
    sink: {
      putUser: (u) => void users.set(Buffer.from(u.name ?? []).toString(), authpb.User.encode(u).finish()),
      deleteUser: (n) => void users.delete(n),
      putRole: (r) => void roles.set(Buffer.from(r.name ?? []).toString(), authpb.Role.encode(r).finish()),
      deleteRole: (n) => void roles.delete(n),
      putEnabled: (e) => void (enabled = e),
      putRevision: (r) => void (revision = r),
    },
    load: () => ({
      enabled, revision,
      users: [...users.values()].map((v) => authpb.User.decode(v)),
      roles: [...roles.values()].map((v) => authpb.Role.decode(v)),
    }),
  };
}

function code(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof EtcdError) return err.code;
    throw err;
  }
  return 'ok';
}

test('enable needs root with role root; while enabled root and its role are protected', () => {
  const s = new AuthStore(EMPTY);
  assert.equal(code(() => s.authEnable()), 'ETCD_ERR_AUTH_ROOT_USER_NOT_EXIST');
  s.userAdd('root', h('pw'), false);
  assert.equal(code(() => s.authEnable()), 'ETCD_ERR_AUTH_ROOT_ROLE_NOT_EXIST');
  s.userGrantRole('root', 'root'); // role root need not exist as a role
  const rev = s.revision;
  s.authEnable();
  assert.equal(s.revision, rev, 'enabling does not move the revision');
  assert.equal(code(() => s.userDelete('root')), 'ETCD_ERR_AUTH_INVALID_MGMT');
  assert.equal(code(() => s.userRevokeRole('root', 'root')), 'ETCD_ERR_AUTH_INVALID_MGMT');
  assert.equal(code(() => s.roleDelete('root')), 'ETCD_ERR_AUTH_INVALID_MGMT');
  s.authDisable();
  assert.equal(s.revision, rev + 1, 'disabling does');
});

test('every change moves the revision by one; failures change nothing', () => {
  const s = new AuthStore(EMPTY);
  const steps: [() => void, string][] = [
    [() => s.userAdd('u', h('p'), false), 'ok'],
    [() => s.userAdd('u', h('p'), false), 'ETCD_ERR_AUTH_USER_ALREADY_EXIST'],
    [() => s.userAdd('', h('p'), false), 'ETCD_ERR_AUTH_USER_EMPTY'],
    [() => s.roleAdd('r'), 'ok'],
    [() => s.roleAdd(''), 'ETCD_ERR_AUTH_ROLE_EMPTY'],
    [() => s.roleAdd('r'), 'ETCD_ERR_AUTH_ROLE_ALREADY_EXIST'],
    [() => s.userGrantRole('u', 'nope'), 'ETCD_ERR_AUTH_ROLE_NOT_FOUND'],
    [() => s.userGrantRole('nobody', 'r'), 'ETCD_ERR_AUTH_USER_NOT_FOUND'],
    [() => s.userGrantRole('u', 'r'), 'ok'],
    [() => s.roleGrantPermission('r', { key: b('a'), rangeEnd: b('b'), permType: 0 }), 'ok'],
    [() => s.roleGrantPermission('r', { key: b('b'), rangeEnd: b('a'), permType: 0 }), 'ETCD_ERR_AUTH_INVALID_MGMT'],
    [() => s.roleGrantPermission('r', null), 'ETCD_ERR_AUTH_PERMISSION_NOT_GIVEN'],
    [() => s.roleRevokePermission('r', b('x'), b('')), 'ETCD_ERR_AUTH_PERMISSION_NOT_GRANTED'],
    [() => s.userRevokeRole('u', 'other'), 'ETCD_ERR_AUTH_ROLE_NOT_GRANTED'],
    [() => s.userChangePassword('u', h('q')), 'ok'],
    [() => s.userChangePassword('nobody', h('q')), 'ETCD_ERR_AUTH_USER_NOT_FOUND'],
  ];
  for (const [step, want] of steps) {
    const before = s.revision;
    assert.equal(code(step), want);
    assert.equal(s.revision, want === 'ok' ? before + 1 : before, `revision after a step answered ${want}`);
  }
  // A second grant of a held role is ignored without a revision change (etcd's behaviour).
  const rev = s.revision;
  s.userGrantRole('u', 'r');
  assert.equal(s.revision, rev);
  assert.deepEqual(s.userGet('u'), ['r']);
});


test('permission checks: user empty, old revision, unknown user, root, granted ranges', () => {
  const s = new AuthStore(EMPTY);
  s.userAdd('root', h('p'), false);
  s.userGrantRole('root', 'root');
  s.userAdd('u', h('p'), false);
  s.roleAdd('r');
  s.roleGrantPermission('r', { key: b('/a/'), rangeEnd: b('/a0'), permType: 0 });
  s.userGrantRole('u', 'r');
  assert.equal(code(() => s.checkRange(undefined, b('x'), undefined, false)), 'ok', 'auth disabled: everything allowed');
  s.authEnable();
  const rev = s.revision;
  assert.equal(code(() => s.checkRange(undefined, b('x'), undefined, false)), 'ETCD_ERR_AUTH_USER_EMPTY');
  assert.equal(code(() => s.checkRange({ username: 'u', revision: rev - 1 }, b('/a/x'), undefined, false)), 'ETCD_ERR_AUTH_OLD_REVISION');
  assert.equal(code(() => s.checkRange({ username: 'ghost', revision: rev }, b('/a/x'), undefined, false)), 'ETCD_ERR_AUTH_PERMISSION_DENIED');
  assert.equal(code(() => s.checkRange({ username: 'u', revision: rev }, b('/a/x'), undefined, false)), 'ok');
  assert.equal(code(() => s.checkRange({ username: 'u', revision: rev }, b('/a/x'), undefined, true)), 'ETCD_ERR_AUTH_PERMISSION_DENIED');
  assert.equal(code(() => s.checkRange({ username: 'root', revision: rev }, b('z'), b('\0'), true)), 'ok');
  assert.equal(code(() => s.checkAdmin({ username: 'u', revision: rev })), 'ETCD_ERR_AUTH_PERMISSION_DENIED');
  assert.equal(code(() => s.checkAdmin({ username: 'ghost', revision: rev })), 'ETCD_ERR_AUTH_USER_NOT_FOUND');
  assert.equal(code(() => s.checkAdmin({ username: '', revision: rev })), 'ETCD_ERR_AUTH_USER_EMPTY');
  // Deleting the role takes its permissions away from the user at once.
  s.roleDelete('r');
  assert.deepEqual(s.userGet('u'), []);
  assert.equal(code(() => s.checkRange({ username: 'u', revision: s.revision }, b('/a/x'), undefined, false)), 'ETCD_ERR_AUTH_PERMISSION_DENIED');
});

test('what the sink stored loads back into the same store (restart, the main thread\'s mirror)', () => {
  const mem = memorySink();
  const s = new AuthStore(EMPTY, mem.sink);
  s.userAdd('root', h('p'), false);
  s.userGrantRole('root', 'root');
  s.userAdd('np', undefined, true);
  s.roleAdd('r');
  s.roleGrantPermission('r', { key: b('a'), rangeEnd: b('\0'), permType: 2 });
  s.userGrantRole('np', 'r');
  s.authEnable();
  s.userDelete('np');
  const mirror = new AuthStore(mem.load());
  assert.equal(mirror.enabled, true);
  assert.equal(mirror.revision, s.revision);
  assert.deepEqual(mirror.userList(), ['root']);
  assert.deepEqual(mirror.roleList(), ['r']);
  assert.deepEqual(mirror.roleGet('r').map((p) => [Buffer.from(p.key ?? []).toString(), Buffer.from(p.rangeEnd ?? []).toString(), p.permType]), [['a', '\0', 2]]);
  assert.deepEqual(Buffer.from(mirror.user('root')!.password ?? []), h('p'));
});

test('a grant on an existing (key, range_end) replaces its type', () => {
  const s = new AuthStore(EMPTY);
  s.roleAdd('r');
  s.roleGrantPermission('r', { key: b('k'), permType: 0 });
  s.roleGrantPermission('r', { key: b('a'), permType: 0 });
  s.roleGrantPermission('r', { key: b('k'), permType: 1 });
  assert.deepEqual(s.roleGet('r').map((p) => [Buffer.from(p.key ?? []).toString(), p.permType]), [['a', 0], ['k', 1]]);
});
