import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { LmdbBackend } from '../../../src/backend/backend.js';
import { META_SCHEMA_VERSION } from '../../../src/backend/schema.js';
import { u64Bytes } from '../../../src/mvcc/revision.js';
import { Harness } from '../apply/helpers.js';

test('opens <data-dir>/member/snap/db as a file; flush, sizes, read-only handles', async () => {
  const h = new Harness();
  assert.ok(existsSync(h.path));
  h.put('k', 'v'.repeat(10000));
  await h.backend.flush();
  assert.ok(h.backend.dbSizeBytes() > 0);
  assert.ok(h.backend.dbSizeInUseBytes() > 10000);
  const ro = LmdbBackend.open({ path: h.path, writable: false });
  assert.throws(() => ro.write(() => 1), /read-only/);
  await ro.close();
  await h.close();
});

test('refuses a file with another schema version', async () => {
  const h = new Harness();
  h.backend.write(() => h.backend.meta.putSync(META_SCHEMA_VERSION, u64Bytes(99)));
  await h.backend.close();
  assert.throws(() => LmdbBackend.open({ path: h.path, writable: true }), /unsupported storage schema version/);
  await h.close();
});

test('noMetaSync mode opens, writes and reopens', async () => {
  const h = new Harness();
  await h.backend.close();
  const w = LmdbBackend.open({ path: h.path, writable: true, syncMode: 'noMetaSync' });
  w.write(() => w.meta.putSync(Buffer.from('x'), Buffer.from('y')));
  await w.close();
  const r = LmdbBackend.open({ path: h.path, writable: true });
  assert.equal(r.meta.get(Buffer.from('x'))?.toString(), 'y');
  await r.close();
  await h.close();
});
