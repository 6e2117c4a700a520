// BoltWriter and BoltReader: round trips (inline buckets, many pages with branch levels,
// values larger than a page), bbolt's consistency rules, and bad input: keys out of order,
// an existing file, truncated and tampered files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BoltWriter, BoltWriteError } from '../../../../src/backend/bbolt/writer.js';
import { BoltReader, BoltFormatError } from '../../../../src/backend/bbolt/reader.js';
import { fnv1a64 } from '../../../../src/backend/bbolt/format.js';
import { PROP_SEED } from '../../../prop-seed.js';
import { mulberry32 } from '../../../seeded-random.js';

/** A PRNG seeded by PROP_SEED (printed on failure by prop-seed.ts). */
function seededRandom(): { rng: () => number; seed: number } {
  return { rng: mulberry32(PROP_SEED), seed: PROP_SEED };
}

const b = (s: string): Buffer => Buffer.from(s);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'bbolt-test-'));
}

function key(i: number): Buffer {
  const k = Buffer.alloc(17);
  k.writeBigUInt64BE(BigInt(i), 0);
  k[8] = 0x5f;
  return k;
}

test('fnv1a64 matches the reference vectors', () => {
  assert.equal(fnv1a64(Buffer.alloc(0)), 0xcbf29ce484222325n);
  assert.equal(fnv1a64(b('a')), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64(b('foobar')), 0x85944171f73967e8n);
});

test('round trip: empty, inline, multi-level and overflowing buckets', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'db');
    const w = BoltWriter.create(path);
    const big = Buffer.alloc(3 * 4096 + 17, 7);
    const many: [Buffer, Buffer][] = [];
    for (let i = 0; i < 20_000; i++) many.push([key(i), b(`value-${i}`.repeat(1 + (i % 5)))]);
    w.bucket(b('alarm'), []);
    w.bucket(b('big'), [[b('a'), big], [b('b'), b('small')], [b('c'), big]]);
    w.bucket(b('key'), many);
    w.bucket(b('meta'), [[b('consistent_index'), Buffer.alloc(8)]]);
    const size = w.finish();
    assert.equal(size, statSync(path).size);
    assert.equal(size % 4096, 0);
    const r = BoltReader.open(path);
    assert.deepEqual(r.check(), []);
    assert.deepEqual(r.bucketNames().map(String), ['alarm', 'big', 'key', 'meta']);
    assert.deepEqual([...r.entries(b('alarm'))], []);
    const bigs = [...r.entries(b('big'))];
    assert.equal(bigs.length, 3);
    assert.ok(bigs[0]![1].equals(big) && bigs[2]![1].equals(big));
    const got = [...r.entries(b('key'))];
    assert.equal(got.length, many.length);
    for (let i = 0; i < many.length; i++) {
      assert.ok(got[i]![0].equals(many[i]![0]) && got[i]![1].equals(many[i]![1]), `entry ${i}`);
    }
    assert.equal([...r.entries(b('nope'))].length, 0);
    assert.equal(r.sizeBytes, size);
    r.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('random buckets round-trip (seeded)', () => {
  const { rng, seed } = seededRandom();
  const dir = tmp();
  try {
    for (let round = 0; round < 5; round++) {
      const path = join(dir, `db${round}`);
      const buckets = new Map<string, Map<string, Buffer>>();
      const nb = 1 + Math.floor(rng() * 6);
      for (let i = 0; i < nb; i++) {
        const m = new Map<string, Buffer>();
        const n = Math.floor(rng() ** 3 * 3000);
        for (let j = 0; j < n; j++) {
          const k = Buffer.from(Array.from({ length: 1 + Math.floor(rng() * 40) }, () => Math.floor(rng() * 256)));
          m.set(k.toString('hex'), Buffer.alloc(Math.floor(rng() ** 4 * 9000), Math.floor(rng() * 256)));
        }
        buckets.set(`b${i}-${Math.floor(rng() * 1000)}`, m);
      }
      const names = [...buckets.keys()].sort((x, y) => Buffer.compare(b(x), b(y)));
      const w = BoltWriter.create(path);
      for (const name of names) {
        const entries = [...buckets.get(name)!].map(([k, v]): [Buffer, Buffer] => [Buffer.from(k, 'hex'), v]).sort((x, y) => Buffer.compare(x[0], y[0]));
        w.bucket(b(name), entries);
      }
      w.finish();
      const r = BoltReader.open(path);
      assert.deepEqual(r.check(), [], `seed ${seed}`);
      assert.deepEqual(r.bucketNames().map(String), names, `seed ${seed}`);
      for (const name of names) {
        const got = new Map([...r.entries(b(name))].map(([k, v]) => [k.toString('hex'), v]));
        assert.equal(got.size, buckets.get(name)!.size, `seed ${seed} bucket ${name}`);
        for (const [k, v] of buckets.get(name)!) assert.ok(got.get(k)?.equals(v), `seed ${seed} bucket ${name} key ${k}`);
      }
      r.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input to the writer: keys out of order, duplicate keys, bucket names out of order, an existing file', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'db');
    const w = BoltWriter.create(path);
    assert.throws(() => w.bucket(b('k'), [[b('b'), b('1')], [b('a'), b('2')]]), BoltWriteError);
    assert.throws(() => w.bucket(b('l'), [[b('a'), b('1')], [b('a'), b('2')]]), BoltWriteError);
    assert.throws(() => w.bucket(b('a'), []), BoltWriteError);
    assert.throws(() => w.bucket(b('m'), [[Buffer.alloc(0), b('v')]]), BoltWriteError);
    assert.throws(() => w.bucket(b('n'), [[Buffer.alloc(40_000), b('v')]]), BoltWriteError);
    w.abort();
    assert.throws(() => BoltWriter.create(path), /EEXIST/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad files: truncated, tampered meta, not bbolt, a page pointing nowhere', () => {
  const dir = tmp();
  try {
    const path = join(dir, 'db');
    const w = BoltWriter.create(path);
    const many: [Buffer, Buffer][] = [];
    for (let i = 0; i < 2000; i++) many.push([key(i), Buffer.alloc(100, i % 256)]);
    w.bucket(b('key'), many);
    w.finish();
    const good = readFileSync(path);
    // Truncated: the meta pages say more pages than the file has.
    truncateSync(path, good.length - 4096);
    assert.throws(() => BoltReader.open(path), (e: unknown) => e instanceof BoltFormatError && /truncated/.test(e.message));
    // Both meta checksums broken.
    const t = Buffer.from(good);
    t[16 + 40] ^= 1;
    t[4096 + 16 + 40] ^= 1;
    writeFileSync(path, t);
    assert.throws(() => BoltReader.open(path), (e: unknown) => e instanceof BoltFormatError && /checksum/.test(e.message));
    // One meta broken: the other one is used.
    const one = Buffer.from(good);
    one[16 + 40] ^= 1;
    writeFileSync(path, one);
    const r1 = BoltReader.open(path);
    assert.deepEqual(r1.check(), []);
    r1.close();
    // Not a bbolt file at all, and an empty file.
    writeFileSync(path, Buffer.alloc(8192, 0x41));
    assert.throws(() => BoltReader.open(path), (e: unknown) => e instanceof BoltFormatError && /not a bbolt file/.test(e.message));
    writeFileSync(path, Buffer.alloc(0));
    assert.throws(() => BoltReader.open(path), BoltFormatError);
    // A data page whose id field is damaged: reading and check() report it, nothing crashes.
    const bad = Buffer.from(good);
    bad.writeBigUInt64LE(999n, 5 * 4096);
    writeFileSync(path, bad);
    const r2 = BoltReader.open(path);
    assert.ok(r2.check().some((e) => /page 5/.test(e)), String(r2.check()));
    assert.throws(() => [...r2.entries(b('key'))], BoltFormatError);
    r2.close();
    assert.ok(existsSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
