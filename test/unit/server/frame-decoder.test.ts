/**
 * FrameDecoder (src/server/peer/frame-decoder.ts): the peer stream's frames decoded across
 * chunks cut anywhere, against the simple model "concatenate, then split"; zero and oversized
 * lengths; nothing after a bad frame.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameError } from '../../../src/server/peer/frame-decoder.js';
import { SeededRng } from '../../../src/raft/index.js';

function frame(body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(body.length);
  return Buffer.concat([h, body]);
}

function bodies(rng: SeededRng, n: number, maxBytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + rng.int(maxBytes);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = (i * 31 + j) & 0xff;
    out.push(b);
  }
  return out;
}

/** Cuts `buf` at random points (including single bytes and empty chunks). */
function cut(rng: SeededRng, buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let o = 0;
  while (o < buf.length) {
    const mode = rng.int(4);
    const n = mode === 0 ? 0 : mode === 1 ? 1 : mode === 2 ? 1 + rng.int(7) : 1 + rng.int(300);
    out.push(buf.subarray(o, o + n));
    o += n;
  }
  return out;
}

test('FrameDecoder: frames cut into chunks anywhere come out whole and in order (seeded)', () => {
  const seed = Number(process.env.FRAME_SEED ?? 1);
  for (let round = 0; round < 200; round++) {
    const rng = new SeededRng(seed * 1000 + round);
    const want = bodies(rng, 1 + rng.int(20), round % 10 === 0 ? 5000 : 60);
    const stream = Buffer.concat(want.map(frame));
    const got: Buffer[] = [];
    const d = new FrameDecoder(1 << 20);
    for (const c of cut(rng, stream)) d.push(c, (b) => got.push(Buffer.from(b)));
    assert.deepEqual(got, want, `seed ${seed * 1000 + round}`);
    assert.equal(d.bufferedBytes, 0);
  }
});

test('FrameDecoder: every split point of a two-frame stream', () => {
  const want = [Buffer.from('hello'), Buffer.from('a longer second frame')];
  const stream = Buffer.concat(want.map(frame));
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j++) {
      const got: string[] = [];
      const d = new FrameDecoder(100);
      for (const c of [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]) d.push(c, (b) => got.push(b.toString()));
      assert.deepEqual(got, ['hello', 'a longer second frame'], `cut at ${i}, ${j}`);
    }
  }
});

test('FrameDecoder: a partial frame is held, never handed out', () => {
  const d = new FrameDecoder(100);
  const got: string[] = [];
  const f = frame(Buffer.from('abcdef'));
  d.push(f.subarray(0, 7), (b) => got.push(b.toString()));
  assert.equal(got.length, 0);
  assert.equal(d.bufferedBytes, 7);
  d.push(f.subarray(7), (b) => got.push(b.toString()));
  assert.deepEqual(got, ['abcdef']);
});

test('FrameDecoder: an oversized length is refused from its header alone, after the frames before it', () => {
  const d = new FrameDecoder(16);
  const got: string[] = [];
  const over = Buffer.alloc(4);
  over.writeUInt32BE(17);
  assert.throws(() => d.push(Buffer.concat([frame(Buffer.from('ok')), over, frame(Buffer.from('after'))]), (b) => got.push(b.toString())), FrameError);
  assert.deepEqual(got, ['ok'], 'the frame before the bad one, nothing after');
  assert.throws(() => d.push(frame(Buffer.from('later')), () => assert.fail('delivered after a bad frame')), FrameError);
  // The header split across chunks: refused as soon as its 4 bytes are in.
  const d2 = new FrameDecoder(16);
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(0xffffffff);
  d2.push(huge.subarray(0, 2), () => assert.fail());
  assert.throws(() => d2.push(huge.subarray(2), () => assert.fail()), /over the 16-byte limit/);
});

test('FrameDecoder: a zero length is a bad frame; an error thrown by the consumer stops the chunk', () => {
  const d = new FrameDecoder(16);
  assert.throws(() => d.push(Buffer.alloc(4), () => assert.fail()), /length 0/);
  const d2 = new FrameDecoder(16);
  const got: string[] = [];
  const chunk = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('bad')), frame(Buffer.from('three'))]);
  assert.throws(
    () =>
      d2.push(chunk, (b) => {
        if (b.toString() === 'bad') throw new Error('undecodable');
        got.push(b.toString());
      }),
    /undecodable/,
  );
  assert.deepEqual(got, ['one']);
  assert.throws(() => d2.push(frame(Buffer.from('x')), () => assert.fail()), FrameError);
});
