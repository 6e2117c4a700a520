/**
 * Range permissions (etcd's range_perm_cache.go semantics; docs/auth.md "Who may do what").
 *
 * A permission is an interval of keys: range_end empty is the one key `key` (the interval
 * [key, key + "\0")); range_end "\0" is open-ended [key, +inf); otherwise [key, range_end).
 * A user's permissions of one type (READ, WRITE; READWRITE counts as both) are merged into
 * sorted, disjoint intervals. A point request is allowed when an interval holds the key; a
 * range request [key, range_end) when one merged interval covers all of it (so two adjacent
 * grants together allow a range across both, as etcd's interval tree `Contains` does).
 *
 * Pure: no I/O, used on the main thread (checks before serving) and at apply.
 */

/** authpb.Permission.Type */
export const PERM_READ = 0;
export const PERM_WRITE = 1;
export const PERM_READWRITE = 2;

/** [start, end); end undefined = +inf. */
export interface KeyInterval {
  readonly start: Uint8Array;
  readonly end: Uint8Array | undefined;
}

export interface PermissionLike {
  readonly permType?: number | null;
  readonly key?: Uint8Array | null;
  readonly rangeEnd?: Uint8Array | null;
}

/** The merged READ and WRITE intervals of one user. */
export interface MergedPerms {
  readonly read: readonly KeyInterval[];
  readonly write: readonly KeyInterval[];
}

const EMPTY = new Uint8Array(0);

function cmp(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** end a < end b, with undefined as +inf. */
function cmpEnd(a: Uint8Array | undefined, b: Uint8Array | undefined): number {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return cmp(a, b);
}

function isOpenEnded(rangeEnd: Uint8Array): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === 0;
}

function pointEnd(key: Uint8Array): Uint8Array {
  const e = new Uint8Array(key.length + 1);
  e.set(key);
  return e;
}

/** The interval of a permission (or of a request). */
export function intervalOf(key: Uint8Array, rangeEnd: Uint8Array | null | undefined): KeyInterval {
  const end = rangeEnd ?? EMPTY;
  if (end.length === 0) return { start: key, end: pointEnd(key) };
  if (isOpenEnded(end)) return { start: key, end: undefined };
  return { start: key, end };
}

/** Sorts and merges overlapping or touching intervals. */
export function mergeIntervals(list: KeyInterval[]): KeyInterval[] {
  const sorted = list.filter((i) => i.end === undefined || cmp(i.start, i.end) < 0).sort((a, b) => cmp(a.start, b.start));
  const out: KeyInterval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && (last.end === undefined || cmp(i.start, last.end) <= 0)) {
      if (cmpEnd(i.end, last.end) > 0) out[out.length - 1] = { start: last.start, end: i.end };
    } else {
      out.push(i);
    }
  }
  return out;
}

export function mergePermissions(perms: Iterable<PermissionLike>): MergedPerms {
  const read: KeyInterval[] = [];
  const write: KeyInterval[] = [];
  for (const p of perms) {
    const ivl = intervalOf(p.key ?? EMPTY, p.rangeEnd);
    const t = p.permType ?? PERM_READ;
    if (t === PERM_READ || t === PERM_READWRITE) read.push(ivl);
    if (t === PERM_WRITE || t === PERM_READWRITE) write.push(ivl);
  }
  return { read: mergeIntervals(read), write: mergeIntervals(write) };
}

/** Whether merged intervals allow the request [key, rangeEnd) (rangeEnd empty: the key alone). */
export function covers(merged: readonly KeyInterval[], key: Uint8Array, rangeEnd: Uint8Array | null | undefined): boolean {
  const want = intervalOf(key, rangeEnd);
  // Binary search: the last interval starting at or before key.
  let lo = 0;
  let hi = merged.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(merged[mid]!.start, want.start) <= 0) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found < 0) return false;
  const ivl = merged[found]!;
  const isPoint = rangeEnd === null || rangeEnd === undefined || rangeEnd.length === 0;
  if (isPoint) return ivl.end === undefined || cmp(want.start, ivl.end) < 0;
  return cmpEnd(want.end, ivl.end) <= 0;
}

/** etcd's isValidPermissionRange: a key, and a range_end that is empty, "\0", or above the key. */
export function isValidPermissionRange(key: Uint8Array | null | undefined, rangeEnd: Uint8Array | null | undefined): boolean {
  if (key === null || key === undefined || key.length === 0) return false;
  if (rangeEnd === null || rangeEnd === undefined || rangeEnd.length === 0) return true;
  if (isOpenEnded(rangeEnd)) return true;
  return cmp(key, rangeEnd) < 0;
}
