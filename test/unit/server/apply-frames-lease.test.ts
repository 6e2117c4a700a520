import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOutcomes, encodeOutcomes } from '../../../src/server/apply-frames.js';

test('lease effects cross the outcome frame exactly (grant with TTL, revoke, 64-bit and negative IDs)', () => {
  const outcomes = [
    { index: 1, requestId: 5n, revision: 1, events: [], lease: { id: 0x694d_7a1c_2e3f_4b05n, ttl: 9_000_000_000 } },
    { index: 2, requestId: 6n, revision: 2, events: [], lease: { id: -3n, ttl: -1 } },
    { index: 3, requestId: 7n, revision: 2, events: [] },
  ];
  const back = decodeOutcomes(encodeOutcomes(outcomes));
  assert.deepEqual(back.map((o) => o.lease), [outcomes[0]!.lease, outcomes[1]!.lease, undefined]);
});
