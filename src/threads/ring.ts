/**
 * Single-producer single-consumer ring of length-prefixed frames over one
 * SharedArrayBuffer. Byte layout, wrap marker and waiting protocol: docs/threads.md.
 *
 *   [ producer line | consumer line | data: frames (u32 len, payload, pad to 8) ... ]
 *
 * Shape after padenot/ringbuf.js (header of Int32 indices, "can be late" notes) and
 * lmdb-js/piscina's use of Atomics.waitAsync; written for variable-size frames.
 */
import { isMainThread } from 'node:worker_threads';
import { assert } from '../util/pure/assert.js';

/** The main thread runs the event loop: it must never block in Atomics.wait. */
function assertMayBlock(): void {
  assert(!isMainThread, 'ring: blocking wait on the main thread (use the async variant)');
}

/** Bytes before the data area. */
export const RING_HEADER_BYTES = 128;
const MAGIC = 0x52494e47; // "RING"
const WRAP_MARKER = -1; // u32 0xFFFFFFFF as Int32

// Int32 word indices into the header.
const I_WRITE = 0;
const I_CONSUMER_WAITING = 1;
const I_CLOSED = 2;
const I_MAGIC = 8;
const I_CAPACITY = 9;
const I_READ = 16;
const I_PRODUCER_WAITING = 17;

/** Smallest and largest data capacity, bytes. */
export const RING_CAPACITY_MIN_BYTES = 256;
export const RING_CAPACITY_MAX_BYTES = 1 << 30;

assert(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1, 'ring: needs a little-endian platform');

/** Atomics.waitAsync (ES2024; tsconfig's lib is es2023, Node 20+ has it). */
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs?: number): WaitAsyncResult;
}).waitAsync;
assert(typeof waitAsync === 'function', 'ring: Atomics.waitAsync is required (Node >= 20)');

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Allocates and initialises a ring. `capacityBytes` must be a power of two. */
export function createRing(capacityBytes: number): SharedArrayBuffer {
  if (
    !Number.isInteger(capacityBytes) ||
    capacityBytes < RING_CAPACITY_MIN_BYTES ||
    capacityBytes > RING_CAPACITY_MAX_BYTES ||
    (capacityBytes & (capacityBytes - 1)) !== 0
  ) {
    throw new RangeError(
      `ring: capacity ${capacityBytes} must be a power of two in [${RING_CAPACITY_MIN_BYTES}, ${RING_CAPACITY_MAX_BYTES}]`,
    );
  }
  const sab = new SharedArrayBuffer(RING_HEADER_BYTES + capacityBytes);
  const h = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
  Atomics.store(h, I_MAGIC, MAGIC);
  Atomics.store(h, I_CAPACITY, capacityBytes);
  return sab;
}

/** Shared views and helpers for both ends. */
abstract class RingEnd {
  protected readonly i32: Int32Array;
  protected readonly bytes: Uint8Array;
  readonly capacity: number;
  /** Largest payload accepted by one frame. */
  readonly maxPayloadBytes: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.i32 = new Int32Array(sab);
    if (Atomics.load(this.i32, I_MAGIC) !== MAGIC) throw new Error('ring: buffer is not a ring (bad magic)');
    this.capacity = Atomics.load(this.i32, I_CAPACITY);
    assert(sab.byteLength === RING_HEADER_BYTES + this.capacity, 'ring: buffer size does not match capacity');
    this.bytes = new Uint8Array(sab, RING_HEADER_BYTES, this.capacity);
    this.maxPayloadBytes = this.capacity / 2 - 4;
  }

  protected writeCounter(): number {
    return Atomics.load(this.i32, I_WRITE) >>> 0;
  }
  protected readCounter(): number {
    return Atomics.load(this.i32, I_READ) >>> 0;
  }
  /** Bytes currently used (frames, padding and wrap gaps). May be late. */
  usedBytes(): number {
    const used = (this.writeCounter() - this.readCounter()) >>> 0;
    assert(used <= this.capacity, 'ring: used exceeds capacity');
    return used;
  }
  /** True once the producer closed the ring (frames written before may remain). */
  isClosed(): boolean {
    return Atomics.load(this.i32, I_CLOSED) === 1;
  }
}

export type FrameFill = (buf: Uint8Array, offset: number) => void;

export class RingProducer extends RingEnd {
  /** Times a writer had to wait for space (backpressure metric). */
  fullWaits = 0;

  /** Copies one frame in and publishes it. False if there is no room now. */
  tryWrite(bytes: Uint8Array): boolean {
    return this.tryWriteWith(bytes.length, (buf, off) => buf.set(bytes, off));
  }

  /** Reserves `length` payload bytes, lets `fill` write them in place, publishes. */
  tryWriteWith(length: number, fill: FrameFill): boolean {
    const w = this.reserve(this.writeCounter(), length, fill);
    if (w === -1) return false;
    this.publish(w);
    return true;
  }

  /** Writes as many frames as fit, in order; one publish, one notify. Returns the count written. */
  tryWriteBatch(frames: readonly Uint8Array[]): number {
    let w = this.writeCounter();
    let n = 0;
    for (const f of frames) {
      const next = this.reserve(w, f.length, (buf, off) => buf.set(f, off));
      if (next === -1) break;
      w = next;
      n++;
    }
    if (n > 0) this.publish(w);
    return n;
  }

  /** Writes one frame, waiting (without blocking the thread) while the ring is full. */
  async write(bytes: Uint8Array, timeoutMs = Infinity): Promise<void> {
    this.checkSize(bytes.length);
    const deadline = Date.now() + timeoutMs;
    while (!this.tryWrite(bytes)) {
      this.fullWaits++;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('ring: write timed out waiting for space');
      await this.waitSpaceAsync(Math.min(left, 1000));
    }
  }

  /** Writes one frame, blocking the thread (workers only) while the ring is full. */
  writeBlocking(bytes: Uint8Array, timeoutMs = Infinity): void {
    this.checkSize(bytes.length);
    const deadline = Date.now() + timeoutMs;
    while (!this.tryWrite(bytes)) {
      this.fullWaits++;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('ring: write timed out waiting for space');
      this.waitSpace(Math.min(left, 1000));
    }
  }

  /** Marks the ring closed and wakes the consumer. */
  close(): void {
    Atomics.store(this.i32, I_CLOSED, 1);
    Atomics.notify(this.i32, I_WRITE);
  }

  /** Blocks (worker threads only) until the consumer freed some space or timeout. */
  waitSpace(timeoutMs: number): void {
    const r = this.readCounter();
    Atomics.store(this.i32, I_PRODUCER_WAITING, 1);
    if (this.readCounter() === r) {
      assertMayBlock();
      Atomics.wait(this.i32, I_READ, r | 0, timeoutMs);
    }
    Atomics.store(this.i32, I_PRODUCER_WAITING, 0);
  }

  /** Resolves when the consumer freed some space or after timeout; never blocks. */
  async waitSpaceAsync(timeoutMs: number): Promise<void> {
    const r = this.readCounter();
    Atomics.store(this.i32, I_PRODUCER_WAITING, 1);
    if (this.readCounter() === r) {
      const res = waitAsync(this.i32, I_READ, r | 0, timeoutMs);
      if (res.async) await res.value;
    }
    Atomics.store(this.i32, I_PRODUCER_WAITING, 0);
  }

  private checkSize(length: number): void {
    if (!(length >= 0 && length <= this.maxPayloadBytes)) {
      throw new RangeError(
        `ring: frame of ${length} bytes exceeds the maximum ${this.maxPayloadBytes} (capacity/2 - 4)`,
      );
    }
  }

  /** Writes the frame at counter `w` if it fits; returns the new write counter or -1. */
  private reserve(w: number, length: number, fill: FrameFill): number {
    this.checkSize(length);
    const cap = this.capacity;
    const total = align8(4 + length);
    const pos = w & (cap - 1);
    const toEnd = cap - pos;
    const skip = toEnd < total ? toEnd : 0;
    const free = cap - ((w - this.readCounter()) >>> 0);
    if (skip + total > free) return -1;
    let p = pos;
    if (skip > 0) {
      this.i32[(RING_HEADER_BYTES + pos) >> 2] = WRAP_MARKER;
      p = 0;
    }
    this.i32[(RING_HEADER_BYTES + p) >> 2] = length;
    fill(this.bytes, p + 4);
    return (w + skip + total) >>> 0;
  }

  private publish(w: number): void {
    Atomics.store(this.i32, I_WRITE, w | 0);
    if (Atomics.load(this.i32, I_CONSUMER_WAITING) === 1) Atomics.notify(this.i32, I_WRITE);
  }
}

/**
 * Called with the frame payload in place: bytes[offset, offset + length). Must not keep
 * the view. Returning `false` stops the drain after this frame.
 */
export type FrameVisitor = (bytes: Uint8Array, offset: number, length: number) => void | boolean;

export class RingConsumer extends RingEnd {
  /** Returns a copy of the next frame, or null when the ring is empty. */
  read(): Uint8Array | null {
    let out: Uint8Array | null = null;
    this.drain((b, off, len) => {
      out = b.slice(off, off + len);
    }, 1);
    return out;
  }

  /**
   * Visits up to `maxFrames` frames in place, then frees their space with one publish
   * and one notify. Returns the number of frames visited.
   */
  drain(visit: FrameVisitor, maxFrames = Infinity): number {
    const cap = this.capacity;
    const w = this.writeCounter();
    let r = this.readCounter();
    let n = 0;
    while (r !== w && n < maxFrames) {
      let pos = r & (cap - 1);
      let len = this.i32[(RING_HEADER_BYTES + pos) >> 2]!;
      if (len === WRAP_MARKER) {
        r = (r + (cap - pos)) >>> 0;
        pos = 0;
        assert(r !== w, 'ring: wrap marker without a frame after it');
        len = this.i32[RING_HEADER_BYTES >> 2]!;
      }
      assert(len >= 0 && len <= this.maxPayloadBytes, 'ring: corrupt frame length');
      const total = align8(4 + len);
      assert(((w - r) >>> 0) >= total, 'ring: frame extends past the write counter');
      const more = visit(this.bytes, pos + 4, len);
      r = (r + total) >>> 0;
      n++;
      if (more === false) break;
    }
    if (n > 0) {
      Atomics.store(this.i32, I_READ, r | 0);
      if (Atomics.load(this.i32, I_PRODUCER_WAITING) === 1) Atomics.notify(this.i32, I_READ);
    }
    return n;
  }

  /** True when no frame is ready now. */
  isEmpty(): boolean {
    return this.writeCounter() === this.readCounter();
  }

  /** True when closed and every frame has been read. */
  isDone(): boolean {
    return this.isClosed() && this.isEmpty();
  }

  /** Blocks (worker threads only) until a frame is ready, the ring is closed, or timeout. Returns !isEmpty(). */
  waitReadable(timeoutMs: number): boolean {
    const w = this.writeCounter();
    if (w !== this.readCounter() || this.isClosed()) return !this.isEmpty();
    Atomics.store(this.i32, I_CONSUMER_WAITING, 1);
    if (this.writeCounter() === w && !this.isClosed()) {
      assertMayBlock();
      Atomics.wait(this.i32, I_WRITE, w | 0, timeoutMs);
    }
    Atomics.store(this.i32, I_CONSUMER_WAITING, 0);
    return !this.isEmpty();
  }

  /**
   * Wakes a `waitReadableAsync` of this consumer with nothing to read (its owner failed or is
   * stopping): waits without a timeout need it (a timeout costs a timer per wait).
   */
  wakeReader(): void {
    Atomics.notify(this.i32, I_WRITE);
  }

  /** Resolves when a frame is ready, the ring is closed, `wakeReader` is called, or timeout; never blocks the thread. */
  async waitReadableAsync(timeoutMs: number): Promise<boolean> {
    const w = this.writeCounter();
    if (w !== this.readCounter() || this.isClosed()) return !this.isEmpty();
    Atomics.store(this.i32, I_CONSUMER_WAITING, 1);
    if (this.writeCounter() === w && !this.isClosed()) {
      const res = waitAsync(this.i32, I_WRITE, w | 0, timeoutMs);
      if (res.async) await res.value;
    }
    Atomics.store(this.i32, I_CONSUMER_WAITING, 0);
    return !this.isEmpty();
  }
}
