// Style rule 1: the raft core is pure. No node:* imports, no clocks, timers, global
// randomness or promises; imports stay inside src/raft, src/raftpb and src/util/pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', '..', '..', 'src', 'raft');
const forbidden: [RegExp, string][] = [
  [/from\s+['"]node:/, 'node:* import'],
  [/from\s+['"](?!\.\/|\.\.\/util\/pure\/|\.\.\/raftpb\/)/, 'import from outside src/raft, src/raftpb and src/util/pure'],
  [/\bDate\.now\b|\bnew Date\b|\bperformance\./, 'clock'],
  [/\bMath\.random\b/, 'global randomness'],
  [/\bset(Timeout|Interval|Immediate)\b|\bqueueMicrotask\b/, 'timer'],
  [/\bPromise\b|\basync\b|\bawait\b/, 'promise'],
  [/\bprocess\.|\brequire\(/, 'process / require'],
];

test('src/raft is pure', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10);
  for (const f of files) {
    const src = readFileSync(join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(\*|\/\/|\/\*)/.test(l))
      .join('\n');
    for (const [re, what] of forbidden) assert.ok(!re.test(src), `${f}: ${what}`);
  }
});
