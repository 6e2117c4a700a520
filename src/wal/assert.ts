/**
 * Always-on assertions (style rule 11). Lives here until src/util/assert.ts exists;
 * then re-export from there.
 */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
