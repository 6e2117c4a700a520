// ApplyLoop with a pipe that defers commits (docs/architecture.md, "Deferred commits: applied,
// then visible"): outcome listeners hear a batch when it is applied, subscribers only once the
// pipe reports it visible; a waiter makes the pipe commit; drain waits for visibility.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplyLoop, type AppliedBatch } from '../../../src/server/apply-loop.js';
import type { ApplyOutcome, ApplyPipe } from '../../../src/server/ports.js';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';

/** Applies at once, commits only when asked (requestVisible), reporting visibility later. */
class DeferringPipe implements ApplyPipe {
  applied = 0;
  visible = 0;
  requests = 0;
  #listener: ((index: number) => void) | undefined;
  async apply(entries: readonly Entry[]): Promise<ApplyOutcome[]> {
    this.applied = entries[entries.length - 1]!.index;
    return entries.map((e): ApplyOutcome => ({ index: e.index, requestId: BigInt(e.index), revision: e.index }));
  }
  async flush(): Promise<void> {
    this.commit();
  }
  installSnapshot(): Promise<never> {
    return Promise.reject(new Error('no snapshots here'));
  }
  async close(): Promise<void> {}
  onVisible(l: (index: number) => void): void {
    this.#listener = l;
  }
  requestVisible(): void {
    this.requests++;
    // The worker answers after the applies before the request: a later turn.
    setImmediate(() => this.commit());
  }
  commit(): void {
    if (this.applied > this.visible) {
      this.visible = this.applied;
      this.#listener?.(this.visible);
    }
  }
}

const entry = (index: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array(4) });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(prompt = false): { pipe: DeferringPipe; loop: ApplyLoop; heard: number[]; published: number[] } {
  const pipe = new DeferringPipe();
  const loop = new ApplyLoop({ pipe, appliedIndex: 0, checkpointEntries: 1e9, releaseLog: () => undefined, wantsPromptVisibility: () => prompt });
  const heard: number[] = [];
  const published: number[] = [];
  loop.subscribeOutcomes((b: AppliedBatch) => heard.push(b.lastIndex));
  loop.subscribe((b: AppliedBatch) => {
    assert.ok(pipe.visible >= b.lastIndex, `batch ${b.lastIndex} published before it was visible (${pipe.visible})`);
    published.push(b.lastIndex);
  });
  return { pipe, loop, heard, published };
}

test('outcomes are heard at apply; the batch is published only when the pipe says visible', async () => {
  const { pipe, loop, heard, published } = setup();
  loop.enqueue([entry(1), entry(2)]);
  await turn();
  await turn();
  assert.deepEqual(heard, [2]);
  assert.deepEqual(published, []);
  assert.equal(loop.outcomeIndex, 2);
  assert.equal(loop.appliedIndex, 0);
  assert.equal(pipe.requests, 0, 'nobody waits: no commit asked for');
  pipe.commit();
  await turn();
  assert.deepEqual(published, [2]);
  assert.equal(loop.appliedIndex, 2);
});

test('a visible report that comes before the outcomes are processed still publishes in order', async () => {
  const { pipe, loop, published } = setup();
  loop.enqueue([entry(1)]);
  await turn(); // handed over; the pipe applied it
  pipe.commit(); // visible 1, maybe before the loop's chain ran
  loop.enqueue([entry(2)]);
  await turn();
  await turn();
  pipe.commit();
  await turn();
  assert.deepEqual(published, [1, 2]);
});

test('waitApplied on an applied but invisible index asks for one commit and resolves after it', async () => {
  const { pipe, loop, published } = setup();
  loop.enqueue([entry(1), entry(2), entry(3)]);
  await turn();
  await turn();
  const waits = [loop.waitApplied(2), loop.waitApplied(3), loop.waitApplied(3)];
  assert.ok(waits.every((w) => w !== undefined));
  await Promise.all(waits);
  assert.equal(pipe.requests, 1, 'three waiters, one commit request');
  assert.deepEqual(published, [3]);
  assert.equal(loop.waitApplied(3), undefined);
});

test('a waiter for an index not handed over yet gets a commit request once it is', async () => {
  const { pipe, loop } = setup();
  const w = loop.waitApplied(2);
  assert.ok(w !== undefined);
  loop.enqueue([entry(1)]);
  await turn();
  await turn();
  loop.enqueue([entry(2)]);
  await w;
  assert.ok(pipe.requests >= 1 && pipe.requests <= 2, `requests ${pipe.requests}`);
  assert.equal(loop.appliedIndex, 2);
});

test('with prompt visibility wanted (watchers), every hand-off asks for a commit', async () => {
  const { pipe, loop, published } = setup(true);
  for (let i = 1; i <= 3; i++) {
    loop.enqueue([entry(i)]);
    await turn();
    await turn();
    await turn();
  }
  assert.equal(pipe.requests, 3);
  assert.deepEqual(published, [1, 2, 3]);
});

test('drain waits until everything applied is visible', async () => {
  const { loop, published } = setup();
  loop.enqueue([entry(1), entry(2)]);
  await loop.drain();
  assert.deepEqual(published, [2]);
});

test('bytesNotVisible counts entry data from enqueue until the pipe says visible (the quota check adds it)', async () => {
  const { pipe, loop } = setup();
  const sized = (index: number, bytes: number): Entry => ({ index, term: 1, type: EntryType.Normal, data: new Uint8Array(bytes) });
  assert.equal(loop.bytesNotVisible, 0);
  loop.enqueue([sized(1, 100), sized(2, 20)]);
  assert.equal(loop.bytesNotVisible, 120, 'queued, not handed over yet');
  await turn();
  await turn();
  loop.enqueue([sized(3, 7)]);
  assert.equal(loop.bytesNotVisible, 127, 'applied is not visible');
  pipe.commit(); // visible through 2; entry 3 is not applied yet
  await turn();
  assert.equal(loop.bytesNotVisible, 7);
  await turn();
  pipe.commit();
  await turn();
  assert.equal(loop.bytesNotVisible, 0);
});
