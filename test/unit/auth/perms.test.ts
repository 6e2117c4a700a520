// Range permissions (src/auth/perms.ts): etcd's interval semantics (range_perm_cache.go).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { covers, isValidPermissionRange, mergePermissions, PERM_READ, PERM_READWRITE, PERM_WRITE } from '../../../src/auth/perms.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const Z = b('\0');

test('a one-key permission allows that key only', () => {
  const m = mergePermissions([{ permType: PERM_READ, key: b('k') }]);
  assert.equal(covers(m.read, b('k'), undefined), true);
  assert.equal(covers(m.read, b('k0'), undefined), false);
  assert.equal(covers(m.read, b('j'), undefined), false);
  // The range [k, k\0) is that key alone.
  assert.equal(covers(m.read, b('k'), b('k\0')), true);
  assert.equal(covers(m.read, b('k'), b('l')), false);
  assert.equal(covers(m.write, b('k'), undefined), false);
});

test('a prefix permission allows keys and ranges inside it, nothing past it', () => {
  const m = mergePermissions([{ permType: PERM_WRITE, key: b('/app/'), rangeEnd: b('/app0') }]);
  assert.equal(covers(m.write, b('/app/x'), undefined), true);
  assert.equal(covers(m.write, b('/app/'), b('/app0')), true);
  assert.equal(covers(m.write, b('/app/a'), b('/app/b')), true);
  assert.equal(covers(m.write, b('/app/'), b('/app1')), false);
  assert.equal(covers(m.write, b('/app'), undefined), false);
  assert.equal(covers(m.write, b('/app0'), undefined), false);
  assert.equal(covers(m.write, b('/app/'), Z), false, 'from-key reaches past the prefix');
  assert.equal(covers(m.read, b('/app/x'), undefined), false);
});

test('from-key and all-keys permissions', () => {
  const from = mergePermissions([{ permType: PERM_READ, key: b('m'), rangeEnd: Z }]);
  assert.equal(covers(from.read, b('zzz'), undefined), true);
  assert.equal(covers(from.read, b('m'), Z), true);
  assert.equal(covers(from.read, b('l'), Z), false);
  const all = mergePermissions([{ permType: PERM_READWRITE, key: Z, rangeEnd: Z }]);
  assert.equal(covers(all.read, Z, Z), true);
  assert.equal(covers(all.write, b('any'), undefined), true);
});

test('adjacent and overlapping grants cover a range together; a gap does not', () => {
  const m = mergePermissions([
    { permType: PERM_READ, key: b('a'), rangeEnd: b('c') },
    { permType: PERM_READ, key: b('c'), rangeEnd: b('e') },
    { permType: PERM_READWRITE, key: b('d'), rangeEnd: b('f') },
    { permType: PERM_READ, key: b('g'), rangeEnd: b('h') },
  ]);
  assert.equal(m.read.length, 2, 'merged into [a, f) and [g, h)');
  assert.equal(covers(m.read, b('a'), b('f')), true);
  assert.equal(covers(m.read, b('b'), b('e\xff')), true);
  assert.equal(covers(m.read, b('a'), b('h')), false);
  assert.equal(covers(m.read, b('f'), undefined), false);
  assert.equal(covers(m.read, b('g'), undefined), true);
  assert.equal(covers(m.write, b('d'), b('f')), true);
  assert.equal(covers(m.write, b('c'), b('f')), false);
});

test('no permissions allow nothing; empty and inverted grants are ignored', () => {
  assert.equal(covers(mergePermissions([]).read, b('a'), undefined), false);
  const m = mergePermissions([{ permType: PERM_READ, key: b('b'), rangeEnd: b('a') }]);
  assert.equal(covers(m.read, b('a'), undefined), false);
  assert.equal(covers(m.read, b('b'), undefined), false);
});

test('isValidPermissionRange: a key, and an end that is empty, "\\0" or above it', () => {
  assert.equal(isValidPermissionRange(b(''), undefined), false);
  assert.equal(isValidPermissionRange(undefined, undefined), false);
  assert.equal(isValidPermissionRange(b('a'), undefined), true);
  assert.equal(isValidPermissionRange(b('a'), Z), true);
  assert.equal(isValidPermissionRange(b('a'), b('b')), true);
  assert.equal(isValidPermissionRange(b('b'), b('a')), false);
  assert.equal(isValidPermissionRange(b('a'), b('a')), false);
});
