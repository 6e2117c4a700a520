// CommitPolicy (src/server/commit-policy.ts): when the apply worker commits its open transaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommitPolicy, answersWhenVisible } from '../../../src/server/commit-policy.js';
import type { ApplyResult } from '../../../src/apply/interface.js';

const put = (index: number): ApplyResult => ({ index, requestId: 1n, revision: index, kind: 'put', events: [] }) as unknown as ApplyResult;

test('open: not due until the interval passes; then due; remaining counts down', () => {
  const p = new CommitPolicy({ intervalMs: 100, limitEntries: 1000, limitBytes: 1 << 20 });
  p.opened(1000);
  p.applied(1, 10, [put(1)]);
  assert.equal(p.due(1050), false);
  assert.equal(p.remainingMs(1050), 50);
  assert.equal(p.due(1100), true);
  assert.equal(p.remainingMs(1200), 0);
});

test('due at the entry limit or the byte limit, whichever comes first', () => {
  const p = new CommitPolicy({ intervalMs: 1e9, limitEntries: 10, limitBytes: 1000 });
  p.opened(0);
  p.applied(9, 100, []);
  assert.equal(p.due(1), false);
  p.applied(1, 1, []);
  assert.equal(p.due(1), true);
  p.opened(5);
  assert.equal(p.due(6), false, 'a new transaction starts from nothing');
  p.applied(1, 1000, []);
  assert.equal(p.due(6), true);
});

test('a request, or a result that changes mirrored state, makes it due at once', () => {
  const p = new CommitPolicy({ intervalMs: 1e9, limitEntries: 1e9, limitBytes: 1e9 });
  p.opened(0);
  p.request();
  assert.equal(p.due(0), true);
  for (const changed of [{ lease: { id: 1n, ttl: 5 } }, { alarmsChanged: true }, { authChanged: true }, { authToken: true }, { kind: 'membership' }, { kind: 'compaction' }, { kind: 'leaseRevoke' }, { kind: 'auth' }]) {
    const r = { ...put(1), ...changed } as ApplyResult;
    assert.equal(answersWhenVisible(r), true, JSON.stringify(changed, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
    p.opened(0);
    p.applied(1, 1, [put(1), r]);
    assert.equal(p.due(0), true);
  }
  for (const kind of ['put', 'deleteRange', 'txn', 'noop']) assert.equal(answersWhenVisible({ ...put(1), kind } as ApplyResult), false, kind);
});

test('bad options are refused', () => {
  for (const o of [{ intervalMs: 0, limitEntries: 1, limitBytes: 1 }, { intervalMs: 1, limitEntries: 0, limitBytes: 1 }, { intervalMs: 1, limitEntries: 1, limitBytes: Number.NaN }]) {
    assert.throws(() => new CommitPolicy(o), RangeError);
  }
});
