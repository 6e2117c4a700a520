import { PROP_SEED } from '../../prop-seed.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fc from 'fast-check';
import { createRing, RingConsumer, RingProducer } from '../../../src/threads/ring.js';
import { startWorkerChannel } from '../../../src/threads/worker-channel.js';

function pair(capacity: number): { p: RingProducer; c: RingConsumer } {
  const sab = createRing(capacity);
  return { p: new RingProducer(sab), c: new RingConsumer(sab) };
}

/** Frame with u32 seq then bytes (seq + i) & 0xff; the sequence verifier's input. */
function seqFrame(seq: number, len: number): Uint8Array {
  const b = new Uint8Array(Math.max(4, len));
  new DataView(b.buffer).setUint32(0, seq, true);
  for (let i = 4; i < b.length; i++) b[i] = (seq + i) & 0xff;
  return b;
}

test('empty ring reads null; frames come out in order', () => {
  const { p, c } = pair(256);
  assert.equal(c.read(), null);
  assert.ok(p.tryWrite(Uint8Array.of(1, 2, 3)));
  assert.ok(p.tryWrite(new Uint8Array(0)));
  assert.deepEqual(c.read(), Uint8Array.of(1, 2, 3));
  assert.deepEqual(c.read(), new Uint8Array(0));
  assert.equal(c.read(), null);
  assert.equal(c.usedBytes(), 0);
});

test('full ring refuses until the consumer frees space', () => {
  const { p, c } = pair(256);
  let n = 0;
  while (p.tryWrite(new Uint8Array(28))) n++; // 32 bytes per frame
  assert.equal(n, 8);
  assert.equal(p.usedBytes(), 256);
  assert.ok(c.read());
  assert.ok(p.tryWrite(new Uint8Array(28)));
  assert.equal(p.tryWrite(new Uint8Array(0)), false);
});

test('wrap-around writes a marker and the frame at position 0', () => {
  const { p, c } = pair(256);
  // 5 x 40 B frames = 200 B, read them, then a 100 B frame cannot fit in the last 56 B.
  for (let i = 0; i < 5; i++) assert.ok(p.tryWrite(seqFrame(i, 36)));
  for (let i = 0; i < 5; i++) assert.deepEqual(c.read(), seqFrame(i, 36));
  const big = seqFrame(99, 100);
  assert.ok(p.tryWrite(big));
  assert.equal(p.usedBytes(), 56 + 104);
  assert.deepEqual(c.read(), big);
  assert.equal(c.usedBytes(), 0);
});

test('frame above capacity/2 is a RangeError, at the maximum it fits', () => {
  const { p, c } = pair(256);
  assert.throws(() => p.tryWrite(new Uint8Array(125)), RangeError);
  assert.throws(() => p.writeBlocking(new Uint8Array(1000)), /exceeds the maximum 124/);
  assert.ok(p.tryWrite(new Uint8Array(124)));
  assert.ok(c.read());
});

test('tryWriteBatch writes what fits and drain visits in place', () => {
  const { p, c } = pair(256);
  const frames = Array.from({ length: 20 }, (_, i) => seqFrame(i, 20));
  const n = p.tryWriteBatch(frames);
  assert.equal(n, 10); // 24 B each -> 10 fit in 256 (10*24=240)
  const seen: number[] = [];
  assert.equal(
    c.drain((b, off) => {
      seen.push(new DataView(b.buffer, b.byteOffset + off).getUint32(0, true));
    }, 4),
    4,
  );
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.equal(p.tryWriteBatch(frames.slice(10)), 4);
});

test('close is seen after the remaining frames', () => {
  const { p, c } = pair(256);
  p.tryWrite(Uint8Array.of(7));
  p.close();
  assert.equal(c.isDone(), false);
  assert.deepEqual(c.read(), Uint8Array.of(7));
  assert.equal(c.isDone(), true);
  assert.equal(c.waitReadable(10), false);
});

test('awaitable write waits for space (backpressure) without blocking the thread', async () => {
  const { p, c } = pair(256);
  for (let i = 0; i < 8; i++) assert.ok(p.tryWrite(seqFrame(i, 28)));
  let done = false;
  const w = p.write(seqFrame(8, 28)).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false);
  assert.deepEqual(c.read(), seqFrame(0, 28));
  await w;
  assert.equal(p.fullWaits >= 1, true);
  for (let i = 1; i <= 8; i++) assert.deepEqual(c.read(), seqFrame(i, 28));
});

/** The largest frame slot the property below writes (300 payload bytes). */
const LARGEST_SLOT = (4 + 300 + 7) & ~7;

test('property: any interleaving of writes and reads matches a FIFO model (sequence verifier)', () => {
  const seed = PROP_SEED;
  const op = fc.oneof(
    fc.record({ w: fc.integer({ min: 0, max: 300 }) }),
    fc.record({ r: fc.integer({ min: 1, max: 10 }) }),
  );
  try {
    fc.assert(
      fc.property(fc.constantFrom(1024, 2048, 4096), fc.array(op, { maxLength: 400 }), (cap, ops) => {
        const { p, c } = pair(cap);
        const model: Uint8Array[] = [];
        let seq = 0;
        for (const o of ops) {
          if ('w' in o) {
            const f = seqFrame(seq, o.w);
            const ok = p.tryWrite(f);
            // Must fit whenever the model's content is small enough to guarantee it. Between the
            // read and write counters lies at most one skipped tail (a frame that did not fit
            // before the end of the ring went to its start), shorter than the largest slot; the new
            // frame may skip a tail shorter than itself too.
            const used = model.reduce((s, m) => s + ((4 + m.length + 7) & ~7), 0);
            const slot = (4 + f.length + 7) & ~7;
            if (used + LARGEST_SLOT + 2 * slot <= cap) assert.ok(ok, 'write refused with room');
            if (ok) {
              model.push(f);
              seq++;
            }
          } else {
            for (let i = 0; i < o.r; i++) {
              const got = c.read();
              const want = model.shift() ?? null;
              assert.deepEqual(got, want);
            }
          }
        }
        while (model.length) assert.deepEqual(c.read(), model.shift());
        assert.equal(c.read(), null);
      }),
      { seed, numRuns: 200 },
    );
  } catch (e) {
    console.error(`ring property failed; reproduce with FC_SEED=${seed}`);
    throw e;
  }
});

const helper = new URL('./ring-helper.worker.js', import.meta.url);

test('producer on the main thread, consumer in a Worker: 200k frames in order', async () => {
  const ch = startWorkerChannel(helper, { toWorkerBytes: 1 << 16, fromWorkerBytes: 1 << 12, workerData: { mode: 'verify' } });
  const count = 200_000;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const f = seqFrame(i, 4 + (i % 97));
    bytes += f.length;
    if (!ch.tx.tryWrite(f)) await ch.tx.write(f);
  }
  ch.tx.close();
  const [res] = (await once(ch.worker, 'message')) as [{ count: number; bytes: number; error: string | null }];
  assert.equal(res.error, null);
  assert.equal(res.count, count);
  assert.equal(res.bytes, bytes);
  await ch.worker.terminate();
});

test('round trip through a Worker echo, batched, with wrap-around in both rings', async () => {
  const ch = startWorkerChannel(helper, { toWorkerBytes: 4096, fromWorkerBytes: 4096, workerData: { mode: 'echo' } });
  const total = 20_000;
  let sent = 0;
  let got = 0;
  while (got < total) {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < 16 && sent + i < total; i++) batch.push(seqFrame(sent + i, 4 + ((sent + i) % 200)));
    sent += ch.tx.tryWriteBatch(batch);
    ch.rx.drain((b, off, len) => {
      const f = b.slice(off, off + len);
      assert.deepEqual(f, seqFrame(got, 4 + (got % 200)));
      got++;
    });
    if (got < sent || sent === total) await ch.rx.waitReadableAsync(50);
  }
  ch.tx.close();
  while (!ch.rx.isDone()) await ch.rx.waitReadableAsync(100);
  assert.equal(got, total);
  await ch.worker.terminate();
});

test('blocking waits refuse to run on the main thread', () => {
  const { p, c } = pair(256);
  assert.throws(() => c.waitReadable(1), /blocking wait on the main thread/);
  while (p.tryWrite(new Uint8Array(60)));
  assert.throws(() => p.writeBlocking(new Uint8Array(60), 10), /blocking wait on the main thread/);
});
