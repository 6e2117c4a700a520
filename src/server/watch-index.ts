/**
 * WatchIndex: which synced watchers want an event on a key (docs/watch.md).
 *
 * Single-key watchers sit in a Map keyed by the key's bytes (latin1 string: one char per byte).
 * Range watchers are grouped by identical [start, end) (many clients watch the same prefix) and
 * the groups are kept in an interval treap: a binary search tree ordered by (start, end), heap
 * ordered by a random priority, each node augmented with the largest `end` in its subtree.
 * A stabbing query for key k visits only subtrees whose max end is above k and whose start
 * can be <= k: O(log n + matches) expected, never a scan of every watcher.
 *
 *            [a, c)  max: +inf
 *           /      \
 *      [a, b)       [k, +inf)        <- from-key watch (range_end "\0"): end = +inf
 *      max: b       max: +inf
 */

/** What the index needs of a watcher. `end`: undefined = the single key; null = every key >= key. */
export interface RangeKeyed {
  readonly key: Buffer;
  readonly end: Buffer | null | undefined;
}

interface Group<W> {
  readonly start: Buffer;
  /** null: +infinity. */
  readonly end: Buffer | null;
  readonly watchers: Set<W>;
}

interface Node<W> {
  readonly group: Group<W>;
  readonly prio: number;
  left: Node<W> | null;
  right: Node<W> | null;
  /** Largest end in this subtree; null = +infinity. */
  maxEnd: Buffer | null;
}

/** Compare two ends where null is +infinity. */
function cmpEnd(a: Buffer | null, b: Buffer | null): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return Buffer.compare(a, b);
}

function cmpGroup(aStart: Buffer, aEnd: Buffer | null, n: Group<unknown>): number {
  const c = Buffer.compare(aStart, n.start);
  return c !== 0 ? c : cmpEnd(aEnd, n.end);
}

function update<W>(n: Node<W>): void {
  let m = n.group.end;
  if (n.left !== null && cmpEnd(n.left.maxEnd, m) > 0) m = n.left.maxEnd;
  if (n.right !== null && cmpEnd(n.right.maxEnd, m) > 0) m = n.right.maxEnd;
  n.maxEnd = m;
}

function rotateRight<W>(n: Node<W>): Node<W> {
  const l = n.left!;
  n.left = l.right;
  l.right = n;
  update(n);
  update(l);
  return l;
}

function rotateLeft<W>(n: Node<W>): Node<W> {
  const r = n.right!;
  n.right = r.left;
  r.left = n;
  update(n);
  update(r);
  return r;
}

function insert<W>(n: Node<W> | null, node: Node<W>): Node<W> {
  if (n === null) return node;
  if (cmpGroup(node.group.start, node.group.end, n.group) < 0) {
    n.left = insert(n.left, node);
    if (n.left.prio > n.prio) n = rotateRight(n);
  } else {
    n.right = insert(n.right, node);
    if (n.right.prio > n.prio) n = rotateLeft(n);
  }
  update(n);
  return n;
}

function remove<W>(n: Node<W> | null, g: Group<W>): Node<W> | null {
  if (n === null) return null;
  if (n.group === g) {
    if (n.left === null) return n.right;
    if (n.right === null) return n.left;
    if (n.left.prio > n.right.prio) {
      n = rotateRight(n);
      n.right = remove(n.right, g);
    } else {
      n = rotateLeft(n);
      n.left = remove(n.left, g);
    }
  } else if (cmpGroup(g.start, g.end, n.group) < 0) n.left = remove(n.left, g);
  else n.right = remove(n.right, g);
  update(n);
  return n;
}

function latin1(b: Buffer): string {
  return b.toString('latin1');
}

export class WatchIndex<W extends RangeKeyed> {
  readonly #keys = new Map<string, Set<W>>();
  readonly #groups = new Map<string, Group<W>>();
  #root: Node<W> | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Distinct ranges in the treap (for tests and metrics). */
  get rangeGroups(): number {
    return this.#groups.size;
  }

  add(w: W): void {
    this.#size++;
    if (w.end === undefined) {
      const k = latin1(w.key);
      let s = this.#keys.get(k);
      if (s === undefined) this.#keys.set(k, (s = new Set()));
      s.add(w);
      return;
    }
    const gk = groupKey(w.key, w.end);
    let g = this.#groups.get(gk);
    if (g === undefined) {
      g = { start: w.key, end: w.end, watchers: new Set() };
      this.#groups.set(gk, g);
      this.#root = insert(this.#root, { group: g, prio: Math.random(), left: null, right: null, maxEnd: g.end });
    }
    g.watchers.add(w);
  }

  /** Removes `w`; returns false when it was not in the index. */
  delete(w: W): boolean {
    if (w.end === undefined) {
      const k = latin1(w.key);
      const s = this.#keys.get(k);
      if (s === undefined || !s.delete(w)) return false;
      if (s.size === 0) this.#keys.delete(k);
      this.#size--;
      return true;
    }
    const gk = groupKey(w.key, w.end);
    const g = this.#groups.get(gk);
    if (g === undefined || !g.watchers.delete(w)) return false;
    if (g.watchers.size === 0) {
      this.#groups.delete(gk);
      this.#root = remove(this.#root, g);
    }
    this.#size--;
    return true;
  }

  /** Calls `fn` for every watcher whose range holds `key`. `fn` must not change the index. */
  match(key: Buffer, fn: (w: W) => void): void {
    if (this.#keys.size > 0) {
      const s = this.#keys.get(latin1(key));
      if (s !== undefined) for (const w of s) fn(w);
    }
    if (this.#root !== null) stab(this.#root, key, fn);
  }

  /** Every watcher (for tests and overload handling). */
  *all(): Generator<W> {
    for (const s of this.#keys.values()) yield* s;
    for (const g of this.#groups.values()) yield* g.watchers;
  }
}

function stab<W>(n: Node<W> | null, key: Buffer, fn: (w: W) => void): void {
  while (n !== null) {
    if (n.maxEnd !== null && Buffer.compare(n.maxEnd, key) <= 0) return; // every end in here is <= key
    stab(n.left, key, fn);
    if (Buffer.compare(n.group.start, key) > 0) return; // this start and every start to the right are above key
    if (n.group.end === null || Buffer.compare(key, n.group.end) < 0) for (const w of n.group.watchers) fn(w);
    n = n.right;
  }
}

function groupKey(start: Buffer, end: Buffer | null): string {
  // A length prefix keeps (start, end) pairs distinct whatever bytes they hold.
  return `${start.length}:${latin1(start)}${end === null ? '+' : '-' + latin1(end)}`;
}

/** Whether `key` is in the watcher's range (the same rule the index applies). */
export function inRange(w: RangeKeyed, key: Buffer): boolean {
  if (w.end === undefined) return w.key.equals(key);
  if (Buffer.compare(key, w.key) < 0) return false;
  return w.end === null || Buffer.compare(key, w.end) < 0;
}
