/**
 * Always-on assertions (style.md rule 11: assert inside, keep them on in production).
 * Pure: the Raft core may import it.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
