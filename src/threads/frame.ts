/**
 * Little-endian byte writer/reader for frame bodies (docs/threads.md). Readers refuse
 * truncated input and trailing bytes with FrameError instead of misreading them.
 */
import { readU64, readU64Big, writeU64, writeU64Big } from '../wal/u64.js';

export { readU64, writeU64 };

export class FrameError extends Error {
  override name = 'FrameError';
  readonly code = 'ETCD_ERR_THREADS_FRAME';
}

/** Growable output buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private dv: DataView;
  offset = 0;

  constructor(initialBytes = 256) {
    this.buf = new Uint8Array(initialBytes);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.offset + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.offset));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.dv.setUint8(this.offset, v);
    this.offset += 1;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.dv.setUint32(this.offset, v, true);
    this.offset += 4;
    return this;
  }
  /** Safe integer as two u32, low word first. */
  u64(v: number): this {
    this.ensure(8);
    writeU64(this.dv, this.offset, v);
    this.offset += 8;
    return this;
  }
  /** A full u64 (a 64-bit ID), two u32, low word first. */
  u64Big(v: bigint): this {
    this.ensure(8);
    writeU64Big(this.dv, this.offset, v);
    this.offset += 8;
    return this;
  }
  f64(v: number): this {
    this.ensure(8);
    this.dv.setFloat64(this.offset, v, true);
    this.offset += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.offset);
    this.offset += b.length;
    return this;
  }
  /** Length-prefixed (u32) bytes. */
  lenBytes(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }
  /** Underlying buffer and view, for encoders that write in place after ensure(). */
  get buffer(): Uint8Array {
    return this.buf;
  }
  get view(): DataView {
    return this.dv;
  }
  /** The bytes written so far (a view, valid until the next write). */
  result(): Uint8Array {
    return this.buf.subarray(0, this.offset);
  }
  reset(): void {
    this.offset = 0;
  }
}

/** Bounds-checked reader over bytes[offset, offset + length). */
export class ByteReader {
  private readonly dv: DataView;
  private pos: number;
  private readonly end: number;

  constructor(
    readonly bytes: Uint8Array,
    offset = 0,
    length = bytes.length - offset,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = offset;
    this.end = offset + length;
    if (this.end > bytes.length) throw new FrameError('frame: range past end of buffer');
  }

  get offset(): number {
    return this.pos;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  private need(n: number): void {
    if (this.end - this.pos < n) throw new FrameError(`frame: truncated (need ${n} bytes at ${this.pos}, have ${this.end - this.pos})`);
  }
  u8(): number {
    this.need(1);
    return this.dv.getUint8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = readU64(this.dv, this.pos);
    if (v < 0) throw new FrameError(`frame: u64 at ${this.pos} is not a safe integer`);
    this.pos += 8;
    return v;
  }
  u64Big(): bigint {
    this.need(8);
    const v = readU64Big(this.dv, this.pos);
    this.pos += 8;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  /** A copy of the next n bytes. */
  bytesCopy(n: number): Uint8Array {
    this.need(n);
    const b = this.bytes.slice(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  lenBytesCopy(): Uint8Array {
    return this.bytesCopy(this.u32());
  }
  /** Refuses trailing bytes. */
  done(): void {
    if (this.pos !== this.end) throw new FrameError(`frame: ${this.end - this.pos} trailing bytes`);
  }
}
