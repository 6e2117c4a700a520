// scripts/pending-reporter.mjs: todo tests of a pending feature are attributed to it (also
// inside a todo suite, where children carry no reason), so run-tests.mjs can fail the run
// once all of them pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';

interface Totals {
  reason: string;
  passed: number;
  failed: number;
}
type Reporter = (source: AsyncIterable<unknown>) => AsyncGenerator<string>;

const url = new URL('../../../../scripts/pending-reporter.mjs', import.meta.url).href;

async function run(events: object[]): Promise<Totals[]> {
  const mod = (await import(url)) as { default: Reporter };
  async function* source(): AsyncGenerator<unknown> {
    yield* events;
  }
  const out: Totals[] = [];
  for await (const line of mod.default(source())) out.push(JSON.parse(line) as Totals);
  return out;
}

const ev = (pass: boolean, name: string, nesting: number, todo: string | boolean | undefined, type: 'test' | 'suite', file = 'f.js') => ({
  type: pass ? 'test:pass' : 'test:fail',
  data: { name, nesting, todo, file, details: { type } },
});
const W = 'pending feature "watch": not yet';
const L = 'pending feature "lease": not yet';

test('a todo suite whose tests all pass is reported as all passed', async () => {
  const r = await run([ev(true, 'a', 1, true, 'test'), ev(true, 'b', 1, true, 'test'), ev(true, 'watch', 0, W, 'suite')]);
  assert.deepEqual(r, [{ reason: W, passed: 2, failed: 0 }]);
});

test('one failing test keeps a feature pending; nested suites and per-test reasons count; other todos are ignored', async () => {
  const r = await run([
    ev(true, 'a', 2, true, 'test'),
    ev(false, 'b', 2, true, 'test'),
    ev(true, 'inner', 1, true, 'suite'),
    ev(true, 'c', 1, true, 'test'),
    ev(true, 'watch', 0, W, 'suite'),
    ev(true, 'step', 1, L, 'test', 'g.js'),
    ev(true, 'steps', 0, undefined, 'suite', 'g.js'),
    ev(true, 'other', 0, 'some other todo', 'test'),
  ]);
  assert.deepEqual(r, [
    { reason: W, passed: 2, failed: 1 },
    { reason: L, passed: 1, failed: 0 },
  ]);
});
