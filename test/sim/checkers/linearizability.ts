/**
 * Linearizability checker for key-value histories (Wing & Gong's search with Lowe's
 * memoization, as in Porcupine), partitioned by key: a history of registers is
 * linearizable iff each key's sub-history is (P-compositionality).
 *
 * An operation whose outcome is unknown (client timed out, node crashed) has
 * `ret = Infinity`: it may take effect at any point after its call, or never.
 */

/**
 * `cas`: a compare-and-swap txn (if value(key) == expected then put(key, value) else get(key)).
 * Its output is `"ok"` when it swapped, otherwise the value its else branch read (null = absent).
 */
export type KvInput =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'get'; key: string }
  | { kind: 'cas'; key: string; expected: string; value: string };

/** The output of a `cas` that swapped. */
export const CAS_OK = '\u0000ok';

export interface KvOp {
  readonly client: number;
  readonly input: KvInput;
  /** For get: the value read (null = absent). For put: unused. For cas: CAS_OK, or the value read. */
  readonly output: string | null;
  /** Logical timestamps; unique and totally ordered (a global event counter). */
  readonly call: number;
  readonly ret: number;
}

export interface CheckResult {
  ok: boolean;
  /** Key whose history is not linearizable. */
  key?: string;
  /** Set if the search hit its step budget: the verdict is then unknown, and `ok` is false. */
  budgetExceeded?: boolean;
  explain?: string;
}

interface Node {
  op: number; // index into ops
  isCall: boolean;
  ts: number;
  prev: Node | null;
  next: Node | null;
  match: Node | null; // call -> its return
}

/** The register model: state is the current value. Returns the next state or undefined if illegal. */
function step(state: string | null, op: KvOp): { ok: boolean; next: string | null } {
  if (op.input.kind === 'put') return { ok: true, next: op.input.value };
  if (op.input.kind === 'cas') {
    // Unknown outcome (ret Infinity): if it takes effect at all, it took effect as a swap or a read.
    if (op.ret === Infinity) return state === op.input.expected ? { ok: true, next: op.input.value } : { ok: true, next: state };
    if (op.output === CAS_OK) return { ok: state === op.input.expected, next: op.input.value };
    return { ok: state !== op.input.expected && op.output === state, next: state };
  }
  return { ok: op.output === state, next: state };
}

export function checkKey(ops: readonly KvOp[], budget = 2_000_000): { ok: boolean; budgetExceeded: boolean } {
  const n = ops.length;
  if (n === 0) return { ok: true, budgetExceeded: false };
  // Build the event list: calls and returns ordered by timestamp.
  const events: Node[] = [];
  const calls: Node[] = [];
  for (let i = 0; i < n; i++) {
    const c: Node = { op: i, isCall: true, ts: ops[i]!.call, prev: null, next: null, match: null };
    const r: Node = { op: i, isCall: false, ts: ops[i]!.ret, prev: null, next: null, match: null };
    c.match = r;
    events.push(c, r);
    calls.push(c);
  }
  // Calls sort before returns at equal (infinite) timestamps.
  events.sort((a, b) => (a.ts === b.ts ? (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1) : a.ts - b.ts));
  const head: Node = { op: -1, isCall: false, ts: -Infinity, prev: null, next: null, match: null };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const lift = (c: Node): void => {
    c.prev!.next = c.next;
    if (c.next) c.next.prev = c.prev;
    const r = c.match!;
    r.prev!.next = r.next;
    if (r.next) r.next.prev = r.prev;
  };
  const unlift = (c: Node): void => {
    const r = c.match!;
    r.prev!.next = r;
    if (r.next) r.next.prev = r;
    c.prev!.next = c;
    if (c.next) c.next.prev = c;
  };
  const words = Math.ceil(n / 32);
  const linearized = new Uint32Array(words);
  const cache = new Set<string>();
  const keyOf = (state: string | null): string => `${linearized.join(',')}|${state === null ? '\u0000' : state}`;
  const stack: { call: Node; state: string | null }[] = [];
  let state: string | null = null;
  let entry = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps > budget) return { ok: false, budgetExceeded: true };
    if (entry === null) return { ok: false, budgetExceeded: false };
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const r = step(state, op);
      if (r.ok) {
        linearized[entry.op >>> 5]! |= 1 << (entry.op & 31);
        const k = keyOf(r.next);
        if (!cache.has(k)) {
          cache.add(k);
          stack.push({ call: entry, state });
          state = r.next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[entry.op >>> 5]! &= ~(1 << (entry.op & 31));
      }
      entry = entry.next;
    } else {
      // A return whose call is not yet linearized: backtrack.
      const top = stack.pop();
      if (!top) return { ok: false, budgetExceeded: false };
      state = top.state;
      linearized[top.call.op >>> 5]! &= ~(1 << (top.call.op & 31));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return { ok: true, budgetExceeded: false };
}

/**
 * Checks every key's sub-history. `ok` is true only when every key was proven linearizable;
 * a key whose search exceeds `budget` steps makes the result inconclusive
 * (`ok: false, budgetExceeded: true`, `key` set), never a pass.
 */
export function checkHistory(ops: readonly KvOp[], budget = 2_000_000): CheckResult {
  const byKey = new Map<string, KvOp[]>();
  // A write of unknown outcome whose value no read returned can be dropped: "it never took
  // effect" is always an allowed outcome for it, and any linearization that places it can
  // place it nowhere instead (no read saw it, so no read falls between it and the next write).
  // This keeps the search small when
  // many writes time out (without it, 38 unknown writes on one key needed >20M steps).
  // A cas observes a value too: the expected one when it swapped, the one it read when not (an
  // unknown cas can only swap from its expected value, so that counts as seen as well).
  const seen = new Set<string>();
  for (const op of ops) {
    if (op.input.kind === 'get' && op.output !== null) seen.add(`${op.input.key}\u0000${op.output}`);
    if (op.input.kind === 'cas') {
      if (op.output === CAS_OK || op.ret === Infinity) seen.add(`${op.input.key}\u0000${op.input.expected}`);
      else if (op.output !== null) seen.add(`${op.input.key}\u0000${op.output}`);
    }
  }
  for (const op of ops) {
    if (op.ret === Infinity && op.input.kind !== 'get' && !seen.has(`${op.input.key}\u0000${op.input.value}`)) continue;
    let l = byKey.get(op.input.key);
    if (!l) byKey.set(op.input.key, (l = []));
    l.push(op);
  }
  let inconclusive: string | undefined;
  for (const [key, l] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const r = checkKey(l, budget);
    if (r.budgetExceeded) inconclusive ??= key;
    else if (!r.ok) return { ok: false, key, explain: describeHistory(l) };
  }
  // A proven violation on any key wins; otherwise one unproven key makes the whole check inconclusive.
  return inconclusive === undefined ? { ok: true } : { ok: false, key: inconclusive, budgetExceeded: true };
}

export function describeHistory(ops: readonly KvOp[]): string {
  return [...ops]
    .sort((a, b) => a.call - b.call)
    .map((o) => {
      const what =
        o.input.kind === 'put'
          ? `put(${o.input.key}=${o.input.value})`
          : o.input.kind === 'cas'
            ? `cas(${o.input.key}: ${o.input.expected} -> ${o.input.value}) -> ${o.ret === Infinity ? '?' : o.output === CAS_OK ? 'swapped' : `read ${o.output ?? '<none>'}`}`
            : `get(${o.input.key}) -> ${o.output ?? '<none>'}`;
      return `  c${o.client} [${o.call}, ${o.ret === Infinity ? '?' : o.ret}] ${what}`;
    })
    .join('\n');
}
