/**
 * KeyEvents across a Raft snapshot (docs/cluster.md, "Snapshots to lagging followers"): the
 * store jumps without events, so a lock waiter asks the store again and is released when the key
 * it waits for went inside the jump; one whose key is still there keeps waiting; resync
 * callbacks stop with their waiter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyEvents } from '../../../src/server/key-events.js';
import type { AppliedBatch } from '../../../src/server/apply-loop.js';

const snapshotBatch: AppliedBatch = { firstIndex: 100, lastIndex: 100, outcomes: [], snapshot: { index: 100, revision: 50 } };

test('a deletion inside a snapshot releases the waiter; a key still there keeps it waiting', async () => {
  const ev = new KeyEvents();
  let goneA = false;
  let goneB = false;
  let releasedA = false;
  let releasedB = false;
  const a = ev.waitDeleted(Buffer.from('lock/a'), () => Promise.resolve(goneA)).then(() => (releasedA = true));
  const ac = new AbortController();
  const b = ev.waitDeleted(Buffer.from('lock/b'), () => Promise.resolve(goneB), ac.signal).then(() => (releasedB = true), () => 'aborted');
  await new Promise((r) => setImmediate(r));
  goneA = true; // deleted inside the snapshot's jump: no DELETE event ever comes
  ev.onApplied(snapshotBatch);
  await a;
  assert.equal(releasedA, true);
  await new Promise((r) => setImmediate(r));
  assert.equal(releasedB, false, 'lock/b is still held');
  ac.abort();
  assert.equal(await b, 'aborted');
  // Nothing left registered: a later snapshot calls nobody.
  let calls = 0;
  const stop = ev.onResync(() => calls++);
  stop();
  ev.onApplied(snapshotBatch);
  assert.equal(calls, 0);
});
