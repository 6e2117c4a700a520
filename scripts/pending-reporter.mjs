// A node:test reporter that watches the pending features of test/e2e/framework/pending.ts.
// A test of a pending feature runs as a `todo` (its failure does not fail the run). When every
// such test of one feature passes, the feature has landed and its PENDING entry now hides
// regressions: this reporter writes one JSON line per pending reason with its pass/fail counts,
// and scripts/run-tests.mjs fails the run for any reason whose tests all passed.
//
// Todo reasons from pending() start with `pending feature "<name>":`. Tests inside a todo
// suite inherit `todo: true` without the reason; the suite's own event (emitted after its
// children) carries it, so outcomes are collected per nesting level and attributed upward.
const PREFIX = 'pending feature ';

export default async function* pendingReporter(source) {
  /** file -> nesting -> outcomes [{ passed, reason }] of finished tests not yet claimed by a parent. */
  const buckets = new Map();
  const totals = new Map();
  const bucket = (file, n) => {
    let f = buckets.get(file);
    if (!f) buckets.set(file, (f = new Map()));
    let b = f.get(n);
    if (!b) f.set(n, (b = []));
    return b;
  };
  const count = (outcome) => {
    if (outcome.reason === undefined || !outcome.reason.startsWith(PREFIX)) return;
    let t = totals.get(outcome.reason);
    if (!t) totals.set(outcome.reason, (t = { reason: outcome.reason, passed: 0, failed: 0 }));
    if (outcome.passed) t.passed++;
    else t.failed++;
  };
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    const d = ev.data;
    const file = d.file ?? '';
    const n = d.nesting ?? 0;
    const own = typeof d.todo === 'string' ? d.todo : undefined;
    if (d.details?.type === 'suite') {
      const children = bucket(file, n + 1).splice(0);
      for (const c of children) if (c.reason === undefined && own !== undefined) c.reason = own;
      if (n === 0) children.forEach(count);
      else bucket(file, n).push(...children);
      continue;
    }
    if (d.skip) continue;
    const outcome = { passed: ev.type === 'test:pass', reason: own };
    if (n === 0) count(outcome);
    else bucket(file, n).push(outcome);
  }
  for (const t of totals.values()) yield `${JSON.stringify(t)}\n`;
}
