import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, EtcdError, GrpcStatus, codeByMessage, errorByCode, type ErrorCode } from '../../../src/errors/errors.js';

const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');

test('docs/errors.md lists every code with its status and exact message', () => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    const row = doc.split('\n').find((l) => l.startsWith(`| ${code} |`));
    assert.ok(row, `${code} missing from docs/errors.md`);
    assert.ok(row.includes(`| ${GrpcStatus[spec.grpcStatus]} (${spec.grpcStatus}) |`), `${code}: status differs in docs`);
    assert.ok(row.includes('`' + spec.message + '`'), `${code}: message differs in docs`);
  }
});

test('messages are unique, so a client can map a message back to one code', () => {
  const seen = new Map<string, string>();
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.equal(seen.get(spec.message), undefined, `${code} and ${seen.get(spec.message)} share a message`);
    seen.set(spec.message, code);
    assert.equal(codeByMessage(spec.message), code);
  }
});

test('an error survives a thread boundary as its code', () => {
  const e = errorByCode('ETCD_ERR_MVCC_COMPACTED' satisfies ErrorCode);
  assert.ok(e instanceof EtcdError);
  assert.equal(e.message, 'etcdserver: mvcc: required revision has been compacted');
  assert.equal(e.grpcStatus, GrpcStatus.OUT_OF_RANGE);
  assert.throws(() => errorByCode('ETCD_ERR_NO_SUCH_THING'), /unknown error code/);
});
