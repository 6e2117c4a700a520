// member/identity.json: IDs as 16 hex digits; the numeric form of earlier versions is still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirError, layoutOf, prepare, readIdentity, writeIdentity } from '../../../src/server/data-dir.js';

function withDir(fn: (l: ReturnType<typeof layoutOf>) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ids-datadir-'));
  try {
    const l = layoutOf(dir, '');
    prepare(l);
    fn(l);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('IDs above 2^53 round-trip through identity.json, written as 16 hex digits', () => {
  withDir((l) => {
    writeIdentity(l, { format: 'etcd-ts/identity/v1', name: 'default', memberId: 0x8e9e05c52164694dn, clusterId: 0x00f818194e3a8c32n });
    assert.deepEqual(JSON.parse(readFileSync(l.identityPath, 'utf8')), {
      format: 'etcd-ts/identity/v1', name: 'default', memberId: '8e9e05c52164694d', clusterId: '00f818194e3a8c32',
    });
    assert.deepEqual(readIdentity(l), { format: 'etcd-ts/identity/v1', name: 'default', memberId: 0x8e9e05c52164694dn, clusterId: 0x00f818194e3a8c32n });
  });
});

test('the numeric IDs written by earlier versions are read and kept', () => {
  withDir((l) => {
    writeFileSync(l.identityPath, JSON.stringify({ format: 'etcd-ts/identity/v1', name: 'm1', memberId: 2502158208453485, clusterId: 1 }) + '\n');
    assert.deepEqual(readIdentity(l), { format: 'etcd-ts/identity/v1', name: 'm1', memberId: 2502158208453485n, clusterId: 1n });
  });
});

test('anything else is refused with a message naming the file', () => {
  for (const bad of [
    { format: 'etcd-ts/identity/v1', name: 'x', memberId: 1.5, clusterId: 1 },
    { format: 'etcd-ts/identity/v1', name: 'x', memberId: '8e9e05c5', clusterId: '1' },
    { format: 'etcd-ts/identity/v1', name: 'x', memberId: 'zz9e05c52164694d', clusterId: 'cdf818194e3a8c32' },
    { format: 'etcd-ts/identity/v1', name: 'x', memberId: '0000000000000000', clusterId: 'cdf818194e3a8c32' },
    { format: 'etcd-ts/identity/v2', name: 'x', memberId: '8e9e05c52164694d', clusterId: 'cdf818194e3a8c32' },
    null,
  ]) {
    withDir((l) => {
      writeFileSync(l.identityPath, JSON.stringify(bad));
      assert.throws(() => readIdentity(l), (e: unknown) => e instanceof DataDirError && e.message.includes(l.identityPath), JSON.stringify(bad));
    });
  }
});
