import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { envName, FLAGS } from '../../../../src/config/flags.js';

// Compiled to dist/test/unit/cli/etcd/: five levels up is the repository root.
const doc = readFileSync(new URL('../../../../../docs/configuration.md', import.meta.url), 'utf8');

test('docs/configuration.md lists every flag with its env var and effectiveness', () => {
  for (const f of FLAGS) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`--${f.name}\` |`));
    assert.ok(row !== undefined, `docs/configuration.md has no row for --${f.name}`);
    if (f.env !== false) assert.ok(row.includes(envName(f.name)), `row for --${f.name} lacks ${envName(f.name)}`);
    assert.ok(row.includes(f.effective ? '| yes |' : '| **not yet** |'), `row for --${f.name} has the wrong effectiveness`);
  }
});
