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

test('a batch handed over while nobody listened (events left out) makes waiters ask the store again', async () => {
  const ev = new KeyEvents();
  const omitted: AppliedBatch = { firstIndex: 7, lastIndex: 8, outcomes: [
    { index: 7, requestId: 1n, revision: 5 },
    { index: 8, requestId: 2n, revision: 6, eventsOmitted: true },
  ] };
  let gone = false;
  let released = false;
  const w = ev.waitDeleted(Buffer.from('lock/c'), () => Promise.resolve(gone)).then(() => (released = true));
  await new Promise((r) => setImmediate(r));
  gone = true; // deleted by entry 8, whose DELETE event was never encoded
  ev.onApplied(omitted);
  await w;
  assert.equal(released, true);
  // A listener: a batch with nothing left out needs no resync; one with events left out does.
  let calls = 0;
  const stopListen = ev.listen(Buffer.from('x/'), () => {});
  const stop = ev.onResync(() => calls++);
  ev.onApplied({ ...omitted, outcomes: [{ index: 9, requestId: 3n, revision: 7 }] });
  assert.equal(calls, 0, 'nothing left out');
  ev.onApplied(omitted);
  assert.equal(calls, 1, 'events left out: read the store again');
  stopListen();
  ev.onApplied(omitted);
  assert.equal(calls, 1, 'nobody listens: nothing to do');
  stop();
});
