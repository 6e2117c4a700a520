/**
 * Little-endian binary writer and reader for frames that cross threads.
 * Numbers that may exceed 2^32 (indexes, revisions, IDs) travel as float64, exact below 2^53.
 */
export class BinaryWriter {
  #buf: Buffer;
  #pos = 0;

  constructor(initialBytes = 256) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  u8(v: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = v;
    return this;
  }

  u32(v: number): this {
    this.#ensure(4);
    this.#buf.writeUInt32LE(v, this.#pos);
    this.#pos += 4;
    return this;
  }

  f64(v: number): this {
    this.#ensure(8);
    this.#buf.writeDoubleLE(v, this.#pos);
    this.#pos += 8;
    return this;
  }

  /** u32 length, then the bytes. */
  bytes(b: Uint8Array): this {
    this.u32(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** u32 byte length, then UTF-8. */
  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  get length(): number {
    return this.#pos;
  }

  /** A view of what was written (valid until the next write). */
  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export class BinaryReader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(n: number): void {
    if (this.#pos + n > this.#buf.length) {
      throw new FrameError(`frame truncated: need ${n} bytes at offset ${this.#pos} of ${this.#buf.length}`);
    }
  }

  u8(): number {
    this.#need(1);
    return this.#buf[this.#pos++]!;
  }

  u32(): number {
    this.#need(4);
    const v = this.#buf.readUInt32LE(this.#pos);
    this.#pos += 4;
    return v;
  }

  f64(): number {
    this.#need(8);
    const v = this.#buf.readDoubleLE(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** A copy: frames live in reused ring memory. */
  bytes(): Uint8Array {
    const n = this.u32();
    this.#need(n);
    const out = Buffer.allocUnsafe(n);
    this.#buf.copy(out, 0, this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  string(): string {
    const n = this.u32();
    this.#need(n);
    const s = this.#buf.toString('utf8', this.#pos, this.#pos + n);
    this.#pos += n;
    return s;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }
}
