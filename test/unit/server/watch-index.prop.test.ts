/**
 * WatchIndex against a brute-force model: for random watchers (single keys, ranges, from-key)
 * added and removed in random order, `match(key)` returns exactly the watchers whose range
 * holds the key. Reproduce a failure with FC_SEED=<seed printed by fast-check>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { WatchIndex, inRange, type RangeKeyed } from '../../../src/server/watch-index.js';

interface W extends RangeKeyed {
  readonly id: number;
}

const byte = fc.integer({ min: 0, max: 5 });
const keyArb = fc.array(byte, { minLength: 0, maxLength: 3 }).map((a) => Buffer.from(a));

const watcherArb = fc.record({
  key: keyArb,
  kind: fc.constantFrom('key', 'range', 'from'),
  end: keyArb,
});

const opArb = fc.oneof(
  fc.record({ op: fc.constant('add' as const), w: watcherArb }),
  fc.record({ op: fc.constant('del' as const), pick: fc.nat() }),
);

test('WatchIndex.match equals a scan of every watcher', () => {
  const seed = process.env['FC_SEED'] ? Number(process.env['FC_SEED']) : undefined;
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 80 }), fc.array(keyArb, { minLength: 1, maxLength: 20 }), (ops, probes) => {
      const index = new WatchIndex<W>();
      const live: W[] = [];
      let nextId = 0;
      for (const o of ops) {
        if (o.op === 'add') {
          const { key, kind } = o.w;
          let end: Buffer | null | undefined;
          if (kind === 'key') end = undefined;
          else if (kind === 'from') end = null;
          else {
            // a non-empty range: end above key
            end = Buffer.concat([key, o.w.end.length === 0 ? Buffer.from([0]) : o.w.end]);
          }
          const w: W = { id: nextId++, key, end };
          index.add(w);
          live.push(w);
        } else if (live.length > 0) {
          const [w] = live.splice(o.pick % live.length, 1);
          assert.ok(index.delete(w!));
          assert.ok(!index.delete(w!), 'a second delete finds nothing');
        }
        assert.equal(index.size, live.length);
        for (const k of probes) {
          const got: number[] = [];
          index.match(k, (w) => got.push(w.id));
          const want = live.filter((w) => inRange(w, k)).map((w) => w.id);
          assert.deepEqual(got.sort((a, b) => a - b), want.sort((a, b) => a - b), `key ${k.toString('hex')}`);
        }
      }
    }),
    { numRuns: 200, ...(seed !== undefined ? { seed } : {}) },
  );
});

test('inRange: single key, [key, end), from-key', () => {
  const k = (s: string) => Buffer.from(s);
  assert.ok(inRange({ key: k('a'), end: undefined }, k('a')));
  assert.ok(!inRange({ key: k('a'), end: undefined }, k('ab')));
  assert.ok(inRange({ key: k('a'), end: k('b') }, k('az')));
  assert.ok(!inRange({ key: k('a'), end: k('b') }, k('b')));
  assert.ok(inRange({ key: k('a'), end: null }, k('zzz')));
  assert.ok(!inRange({ key: k('b'), end: null }, k('a')));
});
