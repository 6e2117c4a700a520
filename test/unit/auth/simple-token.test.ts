// Simple tokens (src/auth/simple-token.ts): TTL renewed on use, invalidation, the applied form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimpleTokens, decodeAppliedAuthenticate, encodeAppliedAuthenticate, newTokenPrefix, simpleToken } from '../../../src/auth/simple-token.js';
import { etcdserverpb } from '../../../src/proto/pb.js';

test('a token lives its TTL from its last use', () => {
  let now = 1_000_000;
  const t = new SimpleTokens(2, () => now);
  try {
    t.assign('a.1', 'alice');
    now += 1_500;
    assert.equal(t.lookup('a.1'), 'alice');
    now += 1_500; // 3 s after assign, 1.5 s after the last use
    assert.equal(t.lookup('a.1'), 'alice');
    now += 2_000;
    assert.equal(t.lookup('a.1'), undefined);
    assert.equal(t.lookup('never.2'), undefined);
  } finally {
    t.close();
  }
});

test('a user\'s tokens go with it; clear forgets all', () => {
  const t = new SimpleTokens(300);
  try {
    t.assign('a.1', 'alice');
    t.assign('a.2', 'alice');
    t.assign('b.3', 'bob');
    t.invalidateUser('alice');
    assert.equal(t.lookup('a.1'), undefined);
    assert.equal(t.lookup('b.3'), 'bob');
    t.clear();
    assert.equal(t.lookup('b.3'), undefined);
  } finally {
    t.close();
  }
});

test('prefixes are 16 letters; the token is <prefix>.<index>', () => {
  const p = newTokenPrefix();
  assert.match(p, /^[a-zA-Z]{16}$/);
  assert.notEqual(newTokenPrefix(), p);
  assert.equal(simpleToken(p, 42), `${p}.42`);
});

test('the applied Authenticate carries the user in field 15; clients decode a plain AuthenticateResponse', () => {
  const bytes = encodeAppliedAuthenticate('abc.7', 'ålice'.repeat(40));
  assert.deepEqual(decodeAppliedAuthenticate(bytes), { token: 'abc.7', user: 'ålice'.repeat(40) });
  assert.equal(etcdserverpb.AuthenticateResponse.decode(bytes).token, 'abc.7');
});
