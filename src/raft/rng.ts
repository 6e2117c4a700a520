/**
 * The one source of randomness the raft core may use, injected through Config.
 * (etcd's raft calls a global rand in resetRandomizedElectionTimeout; we remove that
 * nondeterminism so a seeded simulation replays exactly.)
 */
export interface Rng {
  /** Uniform integer in [0, n). n must be a positive integer below 2^32. */
  int(n: number): number;
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded through splitmix32.
 * Deterministic, fast, and good enough for simulation and timeout jitter.
 */
export class SeededRng implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = (seed >>> 0) ^ Math.floor(seed / 0x100000000);
    const next = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 0x100000000;
  }

  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from empty array');
    return xs[this.int(xs.length)]!;
  }

  /** A new independent generator derived from this one. */
  fork(): SeededRng {
    return new SeededRng(this.u32() * 0x100000 + (this.u32() & 0xfffff));
  }
}
