/**
 * The power-loss shim and image builder against a known sequence of file operations (no server):
 * a child `node` with the shim preloaded writes, syncs, renames and deletes files in a directory
 * the way the WAL and identity file do, then the journal and the images built from it are
 * checked against what POSIX promises:
 *
 *   - every call is journaled in order, with its bytes; a sync covers only what came before it;
 *   - 'drop': synced data is there, unsynced data is not; a file created or renamed without a
 *     directory fsync does not exist, one with it does;
 *   - 'torn': the image holds the synced data plus some pages of the unsynced data, never bytes
 *     that were never written;
 *   - an fd number reused after a close the shim did not see (Node closes with a raw system
 *     call) is not journaled as the old file; a child the process starts is not journaled at all.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../../e2e/framework/process.js';
import { buildShim, compilerUnavailableReason } from './shim.js';
import { readJournal, RecordType } from './journal.js';
import { buildImage, captureBaseline } from './image.js';

const SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const [dir, other] = process.argv.slice(1);
const syncDir = (d) => { const fd = fs.openSync(d, 'r'); fs.fsyncSync(fd); fs.closeSync(fd); };
fs.writeFileSync(path.join(dir, 'old'), 'base');               // baseline file, rewritten below
// a: created, written, fdatasynced, directory fsynced -> durable; then an unsynced tail
const a = fs.openSync(path.join(dir, 'a'), 'w+');
fs.writeSync(a, Buffer.alloc(8192, 0x61), 0, 8192, 0);
fs.fdatasyncSync(a);
syncDir(dir);
fs.writeSync(a, Buffer.alloc(8192, 0x62), 0, 8192, 8192);      // unsynced
fs.closeSync(a);
// c: the WAL's way: tmp, sync, rename, directory fsync
const c = fs.openSync(path.join(dir, 'c.tmp'), 'w');
fs.writeSync(c, 'cccc');
fs.fdatasyncSync(c);
fs.closeSync(c);
fs.renameSync(path.join(dir, 'c.tmp'), path.join(dir, 'c'));
syncDir(dir);
// b: written and synced, but its name never made durable (no directory fsync after it)
const b = fs.openSync(path.join(dir, 'b.tmp'), 'w');
fs.writeSync(b, 'bbbb');
fs.fsyncSync(b);
fs.closeSync(b);
fs.renameSync(path.join(dir, 'b.tmp'), path.join(dir, 'b'));
// fd reuse: a file outside the directory gets the fd number the last tracked file had
const o = fs.openSync(other, 'w');
fs.writeSync(o, 'not journaled');
fs.fsyncSync(o);
fs.closeSync(o);
// a child process does not load the shim
require('node:child_process').spawnSync(process.execPath, ['-e', "require('fs').writeFileSync(process.argv[1], 'child')", path.join(dir, 'child')]);
`;

describe('power-loss shim and images against known file operations', { skip: compilerUnavailableReason() ?? false }, () => {
  it('journals in order and builds drop and torn images as POSIX allows', () => {
    const shim = buildShim();
    const work = makeTempDir('etcd-ts-powerloss-unit-');
    const dir = join(work, 'd');
    const other = join(work, 'other');
    const journal = join(work, 'journal');
    spawnSync('mkdir', [dir]);
    writeFileSync(join(dir, 'old'), 'base');
    const baseline = captureBaseline(dir);
    const r = spawnSync(process.execPath, ['-e', SCRIPT, dir, other], {
      env: { ...process.env, LD_PRELOAD: shim, PL_DIR: dir, PL_JOURNAL: journal, UV_USE_IO_URING: '0' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const records = readJournal(journal);

    // The journal: the calls under `dir`, none for `other` or the child.
    const opened = records.filter((x) => x.type === RecordType.Open).map((x) => x.path.slice(dir.length));
    assert.deepEqual(opened.filter((p) => !p.startsWith('/child')), ['/old', '/a', '', '/c.tmp', '', '/b.tmp']);
    assert.ok(!opened.includes('/child'), 'the child process was journaled');
    assert.ok(records.every((x) => !x.path.startsWith(other)), 'a file outside the directory was journaled');
    const writes = records.filter((x) => x.type === RecordType.Write);
    assert.deepEqual(writes.map((w) => w.len), [4, 8192, 8192, 4, 4], 'the writes under the directory, and only those');
    assert.equal(records.filter((x) => x.type === RecordType.Rename).length, 2);
    assert.ok(records.every((x, i) => x.seq === i + 1));

    const drop = join(work, 'drop');
    buildImage({ baseline, records, mode: 'drop', rng: Math.random, out: drop });
    assert.equal(readFileSync(join(drop, 'old'), 'utf8'), 'base', 'a baseline file rewritten without a sync keeps its old content');
    assert.deepEqual(readFileSync(join(drop, 'a')), Buffer.alloc(8192, 0x61), 'a: the synced half only');
    assert.ok(!existsSync(join(drop, 'b')) && !existsSync(join(drop, 'b.tmp')), 'b: never in a synced directory');
    assert.equal(readFileSync(join(drop, 'c'), 'utf8'), 'cccc');
    assert.ok(!existsSync(join(drop, 'c.tmp')));

    let sawTornTail = false;
    for (let seed = 1; seed <= 20; seed++) {
      let s = seed;
      const rng = (): number => ((s = (s * 16807) % 2147483647) / 2147483647);
      const torn = join(work, `torn-${seed}`);
      buildImage({ baseline, records, mode: 'torn', rng, out: torn });
      const ta = readFileSync(join(torn, 'a'));
      assert.ok(ta.length === 8192 || ta.length === 12288 || ta.length === 16384, `torn a: ${ta.length} bytes`);
      assert.deepEqual(ta.subarray(0, 8192), Buffer.alloc(8192, 0x61), 'torn a: the synced half is intact');
      for (let p = 8192; p < ta.length; p += 4096) {
        const page = ta.subarray(p, p + 4096);
        assert.ok(page.equals(Buffer.alloc(4096, 0x62)) || page.equals(Buffer.alloc(4096, 0)), `torn a: page at ${p} holds bytes never written there`);
        if (page[0] === 0x62) sawTornTail = true;
      }
      assert.equal(readFileSync(join(torn, 'c'), 'utf8'), 'cccc');
    }
    assert.ok(sawTornTail, 'no torn image kept an unsynced page in 20 seeds');
  });
});
