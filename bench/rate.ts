/**
 * Rate limiting for --rate and --put-rate: a fixed schedule, request n may start at
 * start + n / rate. A late client catches up (no sleep) until it is on schedule again, so
 * the achieved rate matches the asked one over the run, as with a token bucket of one
 * request's burst per client. Pure: the clock is passed in, so it is unit-tested.
 */
export class RateSchedule {
  private n = 0;
  private readonly intervalMs: number;

  /** rate <= 0 means unlimited. */
  constructor(rate: number, private readonly startMs: number) {
    this.intervalMs = rate > 0 ? 1000 / rate : 0;
  }

  /** Milliseconds to wait before the next request may start; reserves that slot. */
  nextDelayMs(nowMs: number): number {
    if (this.intervalMs === 0) return 0;
    const due = this.startMs + this.n * this.intervalMs;
    this.n++;
    return due > nowMs ? due - nowMs : 0;
  }
}

/** Splits an integer total into `parts` shares that differ by at most one. */
export function splitEven(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  const extra = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < extra ? 1 : 0));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
