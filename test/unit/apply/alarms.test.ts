// Alarms in the applier (etcd's applierV3backend.Alarm, applierV3Capped, applierV3Corrupt):
// GET / ACTIVATE / DEACTIVATE, what NOSPACE and CORRUPT refuse, persistence across a reopen,
// malformed alarm requests, and the outcome frame's "alarms changed" bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { Harness, b } from './helpers.js';
import { decodeOutcomes, encodeOutcomes } from '../../../src/server/apply-frames.js';
import { toOutcome } from '../../../src/server/apply-outcome.js';

const M = 0x8e9e05c52164694dn;
const alarm = (h: Harness, action: number, a: number, memberID = M) => {
  const r = h.apply({ alarm: { action, alarm: a, memberID } });
  return { r, resp: r.response ? etcdserverpb.AlarmResponse.decode(r.response) : undefined };
};

test('ACTIVATE, GET, DEACTIVATE; activating twice or NONE changes nothing', async () => {
  const h = new Harness();
  try {
    assert.deepEqual(alarm(h, 0, 0).resp?.alarms, []);
    const a = alarm(h, 1, 1);
    assert.equal(a.r.alarmsChanged, true);
    assert.equal(a.resp?.alarms.length, 1);
    assert.equal(a.resp?.alarms[0]?.memberID, M);
    const again = alarm(h, 1, 1);
    assert.equal(again.r.alarmsChanged, undefined);
    assert.deepEqual(again.resp?.alarms, []);
    assert.equal(alarm(h, 1, 0).resp?.alarms.length, 0);
    alarm(h, 1, 1, 7n);
    assert.equal(alarm(h, 0, 0).resp?.alarms.length, 2);
    assert.equal(alarm(h, 0, 2).resp?.alarms.length, 0);
    assert.equal(alarm(h, 2, 1, 7n).resp?.alarms.length, 1);
    assert.equal(alarm(h, 2, 1, 7n).resp?.alarms.length, 0);
    // An unknown action or alarm type is answered with nothing, and stores nothing.
    assert.equal(alarm(h, 9, 1).resp?.alarms.length, 0);
    assert.equal(alarm(h, 0, 0).resp?.alarms.length, 1);
  } finally {
    await h.close();
  }
});

test('NOSPACE refuses puts and txns with puts; reads, deletes, read-only txns and compaction pass; survives a reopen', async () => {
  const h = new Harness();
  try {
    h.put('a', '1');
    h.put('b', '2');
    alarm(h, 1, 1);
    assert.equal(h.apply({ put: { key: b('c'), value: b('3') } }).errorCode, 'ETCD_ERR_MVCC_NO_SPACE');
    assert.equal(h.txn({ success: [{ requestPut: { key: b('c'), value: b('3') } }] }).res.errorCode, 'ETCD_ERR_MVCC_NO_SPACE');
    assert.equal(
      h.txn({ success: [{ requestRange: { key: b('a') } }], failure: [{ requestTxn: { success: [{ requestPut: { key: b('x') } }] } }] }).res.errorCode,
      'ETCD_ERR_MVCC_NO_SPACE',
    );
    assert.equal(h.txn({ success: [{ requestRange: { key: b('a') } }, { requestDeleteRange: { key: b('b') } }] }).res.errorCode, undefined);
    assert.equal(h.apply({ deleteRange: { key: b('a') } }).errorCode, undefined);
    assert.equal(h.compact(2).errorCode, undefined);
    await h.reopen();
    assert.equal(h.apply({ put: { key: b('c'), value: b('3') } }).errorCode, 'ETCD_ERR_MVCC_NO_SPACE');
    alarm(h, 2, 1);
    assert.equal(h.apply({ put: { key: b('c'), value: b('3') } }).errorCode, undefined);
  } finally {
    await h.close();
  }
});

test('CORRUPT refuses range, put, delete, txn and compaction', async () => {
  const h = new Harness();
  try {
    h.put('a', '1');
    alarm(h, 1, 2);
    for (const req of [
      { put: { key: b('a'), value: b('2') } },
      { deleteRange: { key: b('a') } },
      { range: { key: b('a') } },
      { txn: { success: [{ requestRange: { key: b('a') } }] } },
      { compaction: { revision: 2 } },
    ]) {
      assert.equal(h.apply(req).errorCode, 'ETCD_ERR_SERVER_CORRUPT', JSON.stringify(Object.keys(req)));
    }
    alarm(h, 2, 2);
    assert.equal(h.apply({ put: { key: b('a'), value: b('2') } }).errorCode, undefined);
  } finally {
    await h.close();
  }
});

test('the outcome frame carries "alarms changed" and refuses unknown flag bits', async () => {
  const h = new Harness();
  try {
    const o = toOutcome(alarm(h, 1, 1).r);
    const frame = encodeOutcomes([o, toOutcome(alarm(h, 0, 0).r)]);
    const back = decodeOutcomes(frame);
    assert.equal(back[0]!.alarmsChanged, true);
    assert.equal(back[1]!.alarmsChanged, undefined);
    const bad = Buffer.from(frame);
    bad[4 + 24] = 0x80;
    assert.throws(() => decodeOutcomes(bad), /unknown flags/);
  } finally {
    await h.close();
  }
});
