/**
 * Keys and values of the workloads. A key is its decimal index in the key space,
 * zero-padded to --key-size bytes (wider if the index needs it), as etcd's benchmark
 * writes fixed-size keys. Random keys use a small seeded PRNG so runs are repeatable.
 */

/** xorshift32: fast, seeded, good enough to spread keys. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  nextU32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  /** integer in [0, n) */
  below(n: number): number {
    return this.nextU32() % n;
  }
}

export function keyText(index: number, keySize: number): string {
  return String(index).padStart(keySize, '0');
}

export function keyBytes(index: number, keySize: number): Buffer {
  return Buffer.from(keyText(index, keySize), 'latin1');
}

/** Chooses the next key index: sequential (wrapping) or uniformly random over the key space. */
export class KeyChooser {
  private seq: number;
  private readonly rng: Prng;
  constructor(
    private readonly keySpaceSize: number,
    private readonly sequential: boolean,
    seed: number,
    /** sequential keys of several clients start at different offsets */
    offset = 0,
  ) {
    this.rng = new Prng(seed);
    this.seq = offset % keySpaceSize;
  }
  next(): number {
    if (this.sequential) {
      const k = this.seq;
      this.seq = (this.seq + 1) % this.keySpaceSize;
      return k;
    }
    return this.rng.below(this.keySpaceSize);
  }
}

/** A value of valSize bytes (at least 8) that carries a wall-clock timestamp in ms. */
export function stampedValue(valSize: number, nowMs: number): Buffer {
  const b = Buffer.alloc(Math.max(8, valSize), 0x61);
  b.writeDoubleLE(nowMs, 0);
  return b;
}

export function readStamp(value: Uint8Array): number {
  if (value.length < 8) return NaN;
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength).readDoubleLE(0);
}
