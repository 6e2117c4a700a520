import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RevisionPredictor, isPlainPut } from '../../../src/server/revision-predictor.js';

test('plain puts are predicted while nothing unknown is pending', () => {
  const p = new RevisionPredictor(10);
  assert.equal(p.plainPut(), 11);
  assert.equal(p.plainPut(), 12);
  p.other(3); // a txn at index 3
  assert.equal(p.plainPut(), undefined, 'unknown until the txn is applied');
  assert.equal(p.plainPut(), undefined);
  p.applied(2, 12, 5); // an earlier entry: still unknown
  assert.equal(p.plainPut(), undefined);
  // the txn applied at revision 13; entries 4..6 are plain puts in flight: 14, 15, 16
  p.applied(3, 13, 6);
  assert.equal(p.plainPut(), 17);
});

test('a later unknown entry keeps it unknown until that one is applied', () => {
  const p = new RevisionPredictor(1);
  p.other(2);
  p.other(4);
  p.applied(2, 2, 4);
  assert.equal(p.plainPut(), undefined);
  p.applied(4, 2, 5); // a delete that deleted nothing: no new revision; entry 5 a put in flight
  assert.equal(p.plainPut(), 4);
});

test('only puts without options are plain', () => {
  assert.ok(isPlainPut({ key: Buffer.from('k'), value: Buffer.from('v') }));
  assert.ok(isPlainPut({ key: Buffer.from('k'), lease: 0n }), 'lease 0n is no lease');
  assert.ok(!isPlainPut({ key: Buffer.from('k'), prevKv: true }));
  assert.ok(!isPlainPut({ key: Buffer.from('k'), lease: 7n }));
  assert.ok(!isPlainPut({ key: Buffer.from('k'), ignoreValue: true }));
  assert.ok(!isPlainPut({ key: Buffer.from('k'), ignoreLease: true }));
});
