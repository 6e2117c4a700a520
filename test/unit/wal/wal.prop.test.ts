import '../../prop-seed.js'; // one seed for this file's properties: FC_SEED to replay, printed on failure
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fc from 'fast-check';
import type { Entry, HardState } from '../../../src/raftpb/types.js';
import { openWalSync, type FileWal } from '../../../src/wal/wal.js';
import { entry, seedFor, tmpDir } from './helpers.js';

type Op =
  | { kind: 'append'; count: number; back: number; size: number }
  | { kind: 'hardState'; commit: number }
  | { kind: 'sync' }
  | { kind: 'reopen' }
  | { kind: 'release'; back: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 20 }), back: fc.integer({ min: 0, max: 8 }), size: fc.integer({ min: 0, max: 600 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('hardState' as const), commit: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('sync' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), back: fc.integer({ min: 0, max: 50 }) }) },
);

test('WAL against a model: appends with raft truncation, hard states, syncs, reopens, purges (property)', () => {
  fc.assert(
    fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
      const dir = tmpDir('wal-prop-');
      const opts = { dir, segmentBytes: 4096 };
      let wal: FileWal = openWalSync(opts, 0).wal;
      const model: Entry[] = []; // model[i] has index i + 1
      let hs: HardState = { term: 0, vote: 0n, commit: 0 };
      let term = 1;
      let released = 0; // recovery must start at or after this index
      for (const o of ops) {
        switch (o.kind) {
          case 'append': {
            const from = Math.max(released + 1, model.length + 1 - o.back);
            term++;
            const es = Array.from({ length: o.count }, (_, k) => entry(from + k, term, o.size));
            wal.save(null, es);
            model.length = from - 1;
            model.push(...es);
            break;
          }
          case 'hardState':
            hs = { term, vote: 1n, commit: Math.min(o.commit, model.length) };
            wal.save(hs, []);
            break;
          case 'sync':
            wal.sync();
            break;
          case 'reopen': {
            wal.close();
            const r = openWalSync(opts, released);
            assert.deepEqual(r.recovery.entries, model.slice(released));
            assert.deepEqual(r.recovery.hardState, hs);
            assert.equal(r.recovery.lastIndex, model.length);
            wal = r.wal;
            break;
          }
          case 'release': {
            const to = Math.max(released, model.length - o.back);
            wal.releaseTo(to + 1);
            released = to;
            break;
          }
        }
      }
      wal.close();
      const r = openWalSync(opts, released);
      assert.deepEqual(r.recovery.entries, model.slice(released));
      assert.deepEqual(r.recovery.hardState, hs);
      r.wal.close();
      fs.rmSync(dir, { recursive: true });
    }),
    { seed: seedFor('wal model'), numRuns: 60 },
  );
});
