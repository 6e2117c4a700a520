/**
 * The inbound side of a streaming call, shared by both server transports (http2-call.ts,
 * wire-call.ts): decoded messages and the client's half-close, handed to the handler's
 * callbacks in arrival order. What arrives before the handler subscribed (a handler may
 * subscribe after an await) is held and handed over as soon as it does; a callback that throws
 * ends the call with that error.
 */
export const HALF_CLOSE: unique symbol = Symbol('half-close');

export class CallInbox<Req> {
  #messageFn: ((req: Req) => void) | undefined;
  #halfCloseFn: (() => void) | undefined;
  /** Messages (or HALF_CLOSE) that arrived before the handler subscribed to them. */
  #early: Array<Req | typeof HALF_CLOSE> | undefined;

  /** `done`: the call is over (nothing more is handed over); `fail`: ends the call with an error. */
  constructor(
    private readonly done: () => boolean,
    private readonly fail: (err: unknown) => void,
  ) {}

  onMessage(fn: (req: Req) => void): void {
    this.#messageFn = fn;
    this.#flushEarly();
  }

  onHalfClose(fn: () => void): void {
    this.#halfCloseFn = fn;
    this.#flushEarly();
  }

  deliver(item: Req | typeof HALF_CLOSE): void {
    if (this.done()) return;
    if (this.#early !== undefined || this.#callbackFor(item) === undefined) {
      (this.#early ??= []).push(item);
      return;
    }
    this.#dispatch(item);
  }

  #callbackFor(item: Req | typeof HALF_CLOSE): unknown {
    return item === HALF_CLOSE ? this.#halfCloseFn : this.#messageFn;
  }

  #dispatch(item: Req | typeof HALF_CLOSE): void {
    try {
      if (item === HALF_CLOSE) this.#halfCloseFn!();
      else this.#messageFn!(item);
    } catch (err) {
      this.fail(err);
    }
  }

  #flushEarly(): void {
    while (this.#early !== undefined && this.#early.length > 0 && !this.done()) {
      const item = this.#early[0]!;
      if (this.#callbackFor(item) === undefined) return;
      this.#early.shift();
      this.#dispatch(item);
    }
    if (this.#early?.length === 0) this.#early = undefined;
  }
}
