// The applier's auth policy (src/apply/auth-apply.ts; etcd's authApplierV3): auth entries need
// the root role at apply, writes are checked against the user and auth revision in their header,
// an applied Authenticate makes its token, the store survives a reopen, and the outcome frame
// carries the "auth changed" and "token" bits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { Harness, b } from './helpers.js';
import { decodeOutcomes, encodeOutcomes } from '../../../src/server/apply-frames.js';
import { toOutcome } from '../../../src/server/apply-outcome.js';
import { decodeAppliedAuthenticate } from '../../../src/auth/simple-token.js';

const hashed = Buffer.from('$2a$04$abcdefghijklmnopqrstuuW2m1J0m0eYbXUcl8oo0vHqf6Zq4cUu6').toString('base64');

function setUp(h: Harness): number {
  for (const req of [
    { authUserAdd: { name: 'root', hashedPassword: hashed } },
    { authRoleAdd: { name: 'root' } },
    { authUserGrantRole: { user: 'root', role: 'root' } },
    { authUserAdd: { name: 'u', hashedPassword: hashed } },
    { authRoleAdd: { name: 'r' } },
    { authRoleGrantPermission: { name: 'r', perm: { key: b('/u/'), rangeEnd: b('/u0'), permType: 2 } } },
    { authUserGrantRole: { user: 'u', role: 'r' } },
    { authEnable: {} },
  ] as etcdserverpb.InternalRaftRequest.$Properties[]) {
    const r = h.apply(req);
    assert.equal(r.errorCode, undefined, JSON.stringify(req));
    assert.equal(r.kind, 'auth');
  }
  return h.applier.auth.store.revision;
}

test('writes at apply: user empty, old auth revision, denied, allowed; root writes anywhere', async () => {
  const h = new Harness();
  try {
    const rev = setUp(h);
    const put = (key: string, header: etcdserverpb.IRequestHeader | undefined) => h.apply({ ...(header ? { header } : {}), put: { key: b(key), value: b('v') } });
    assert.equal(put('/u/a', undefined).errorCode, 'ETCD_ERR_AUTH_USER_EMPTY');
    assert.equal(put('/u/a', { username: 'u', authRevision: rev - 1 }).errorCode, 'ETCD_ERR_AUTH_OLD_REVISION');
    assert.equal(put('/x', { username: 'u', authRevision: rev }).errorCode, 'ETCD_ERR_AUTH_PERMISSION_DENIED');
    assert.equal(put('/u/a', { username: 'u', authRevision: rev }).errorCode, undefined);
    assert.equal(put('/x', { username: 'root', authRevision: rev }).errorCode, undefined);
    // A txn whose compare reads outside the user's range is refused whole.
    const txn = h.apply({ header: { username: 'u', authRevision: rev }, txn: {
      compare: [{ key: b('/x'), target: etcdserverpb.Compare.CompareTarget.VERSION, result: 0, version: 1 }],
      success: [{ requestPut: { key: b('/u/b'), value: b('1') } }],
    } });
    assert.equal(txn.errorCode, 'ETCD_ERR_AUTH_PERMISSION_DENIED');
    assert.equal(h.reader.range({ key: b('/u/b') }).kvs?.length ?? 0, 0);
  } finally {
    await h.close();
  }
});

test('auth entries need the root role at apply; a user may read itself', async () => {
  const h = new Harness();
  try {
    const rev = setUp(h);
    const asU = { username: 'u', authRevision: rev };
    assert.equal(h.apply({ header: asU, authRoleAdd: { name: 'x' } }).errorCode, 'ETCD_ERR_AUTH_PERMISSION_DENIED');
    assert.equal(h.apply({ authUserList: {} }).errorCode, 'ETCD_ERR_AUTH_USER_EMPTY');
    assert.equal(h.apply({ header: asU, authUserGet: { name: 'u' } }).errorCode, undefined);
    assert.equal(h.apply({ header: asU, authUserGet: { name: 'root' } }).errorCode, 'ETCD_ERR_AUTH_PERMISSION_DENIED');
    assert.equal(h.apply({ header: asU, authRoleGet: { role: 'r' } }).errorCode, undefined);
    assert.equal(h.apply({ header: { username: 'root', authRevision: rev }, authRoleAdd: { name: 'x' } }).errorCode, undefined);
    assert.equal(h.applier.auth.store.revision, rev + 1);
  } finally {
    await h.close();
  }
});

test('an applied Authenticate makes <prefix>.<index> for its user; the frame carries the bits', async () => {
  const h = new Harness();
  try {
    setUp(h);
    const index = h.nextIndex;
    const r = h.apply({ authenticate: { name: 'u', simpleToken: 'ABCDEFGHIJKLMNOP' } });
    assert.equal(r.authToken, true);
    assert.deepEqual(decodeAppliedAuthenticate(r.response!), { token: `ABCDEFGHIJKLMNOP.${index}`, user: 'u' });
    assert.equal(h.apply({ authenticate: { name: 'ghost', simpleToken: 'x' } }).errorCode, 'ETCD_ERR_AUTH_FAILED');
    const changed = h.apply({ header: { username: 'root', authRevision: h.applier.auth.store.revision }, authRoleAdd: { name: 'y' } });
    assert.equal(changed.authChanged, true);
    const back = decodeOutcomes(encodeOutcomes([toOutcome(r), toOutcome(changed)]));
    assert.equal(back[0]!.authToken, true);
    assert.equal(back[0]!.authChanged, undefined);
    assert.equal(back[1]!.authChanged, true);
    assert.equal(back[1]!.authToken, undefined);
  } finally {
    await h.close();
  }
});

test('the auth store is in LMDB with the applied index: a reopen finds it as it was', async () => {
  const h = new Harness();
  try {
    const rev = setUp(h);
    await h.reopen();
    const s = h.applier.auth.store;
    assert.equal(s.enabled, true);
    assert.equal(s.revision, rev);
    assert.deepEqual(s.userList(), ['root', 'u']);
    assert.deepEqual(s.userGet('u'), ['r']);
  } finally {
    await h.close();
  }
});
