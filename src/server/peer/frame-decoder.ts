/**
 * Incremental decoding of the peer stream's frames (docs/cluster.md, "The HTTP/2 peer
 * transport"): `u32 big-endian length L` then L bytes, repeated, cut into chunks anywhere by
 * TCP and HTTP/2. A partial frame is kept across chunks (as a list of chunks, joined once when
 * the frame is complete, so a large frame in many small chunks is copied once), and never
 * handed out. At most one frame is buffered: the length is checked as soon as its 4 bytes are
 * in, before the body is waited for.
 *
 *   chunk | chunk | chunk ...          -> push() -> onFrame(body) for each complete frame, in order
 *   [len][body....][len][bo|dy][len][b|ody]
 */

/** Why a stream's bytes are not frames; the decoder is dead after it. */
export class FrameError extends Error {}

export class FrameDecoder {
  readonly #maxFrameBytes: number;
  /** Bytes of the frame in progress (header included), in arrival order. */
  #parts: Buffer[] = [];
  #partBytes = 0;
  /** Body length of the frame in progress once its header is in, else -1. */
  #need = -1;
  #dead = false;

  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held for a frame not complete yet. */
  get bufferedBytes(): number {
    return this.#partBytes;
  }

  /**
   * Feeds one chunk: `onFrame` gets each frame completed by it, in order. Throws FrameError on a
   * length of 0 or over the maximum; an exception from `onFrame` propagates as is. Either way the
   * rest of the chunk is not decoded and every later push throws.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    if (this.#dead) throw new FrameError('the stream already had a bad frame');
    this.#dead = true;
    let buf = chunk;
    let o = 0;
    if (this.#partBytes > 0) {
      // Complete the frame in progress first.
      const want = this.#need < 0 ? 4 : 4 + this.#need;
      const take = Math.min(want - this.#partBytes, buf.length);
      this.#parts.push(buf.subarray(0, take));
      this.#partBytes += take;
      o = take;
      if (this.#need < 0 && this.#partBytes >= 4) {
        const head = Buffer.concat(this.#parts, this.#partBytes);
        this.#need = this.#checkLength(head.readUInt32BE(0));
        this.#parts = [head];
        // The header is in; take what the chunk has of the body too.
        const more = Math.min(this.#need, buf.length - o);
        this.#parts.push(buf.subarray(o, o + more));
        this.#partBytes += more;
        o += more;
      }
      if (this.#need >= 0 && this.#partBytes === 4 + this.#need) {
        const frame = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partBytes);
        this.#parts = [];
        this.#partBytes = 0;
        this.#need = -1;
        onFrame(frame.subarray(4));
      } else {
        this.#dead = false;
        return;
      }
    }
    // Whole frames straight from the chunk; the tail (if any) starts a frame in progress.
    while (buf.length - o >= 4) {
      const n = this.#checkLength(buf.readUInt32BE(o));
      if (buf.length - o - 4 < n) break;
      onFrame(buf.subarray(o + 4, o + 4 + n));
      o += 4 + n;
    }
    if (o < buf.length) {
      buf = buf.subarray(o);
      this.#parts = [buf];
      this.#partBytes = buf.length;
      this.#need = buf.length >= 4 ? buf.readUInt32BE(0) : -1;
    }
    this.#dead = false;
  }

  #checkLength(n: number): number {
    if (n === 0) throw new FrameError('a frame of length 0');
    if (n > this.#maxFrameBytes) throw new FrameError(`a frame of ${n} bytes, over the ${this.#maxFrameBytes}-byte limit`);
    return n;
  }
}
