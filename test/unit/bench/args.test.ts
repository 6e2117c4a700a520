import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArgError, DEFAULTS, normalizeEndpoint, parseBenchArgs, parseDurationS } from '../../../bench/args.js';

test('defaults: put with 10,000 requests, 1 client, 1 connection', () => {
  const o = parseBenchArgs(['put']);
  assert.equal(o.workload, 'put');
  assert.equal(o.total, DEFAULTS.total);
  assert.equal(o.clients, 1);
  assert.equal(o.conns, 1);
  assert.deepEqual(o.endpoints, ['127.0.0.1:2379']);
});

test('etcd benchmark flag names, both --flag value and --flag=value', () => {
  const o = parseBenchArgs(['range', '--clients', '100', '--conns=10', '--consistency', 's', '--limit', '5', '--key-space-size', '100000', '--sequential-keys', '--target-leader']);
  assert.equal(o.clients, 100);
  assert.equal(o.conns, 10);
  assert.equal(o.consistency, 's');
  assert.equal(o.limit, 5);
  assert.equal(o.keySpaceSize, 100000);
  assert.equal(o.sequentialKeys, true);
  assert.equal(o.targetLeader, true);
});

test('--duration replaces the default --total; both given is an error', () => {
  const o = parseBenchArgs(['put', '--duration', '30s']);
  assert.equal(o.durationS, 30);
  assert.equal(o.total, 0);
  assert.throws(() => parseBenchArgs(['put', '--duration', '5', '--total', '100']), ArgError);
});

test('endpoints lose their scheme; lists split on commas', () => {
  const o = parseBenchArgs(['put', '--endpoints', 'http://127.0.0.1:1,127.0.0.1:2/']);
  assert.deepEqual(o.endpoints, ['127.0.0.1:1', '127.0.0.1:2']);
  assert.equal(normalizeEndpoint(' https://h:3 '), 'h:3');
});

test('boolean flags take an optional true/false and a --no- form', () => {
  assert.equal(parseBenchArgs(['put', '--json', 'false']).json, false);
  assert.equal(parseBenchArgs(['put', '--json']).json, true);
  assert.equal(parseBenchArgs(['put', '--no-progress']).progress, false);
});

test('bad input is refused with a message', () => {
  assert.throws(() => parseBenchArgs([]), /expected one workload/);
  assert.throws(() => parseBenchArgs(['nope']), /unknown workload/);
  assert.throws(() => parseBenchArgs(['put', '--bogus', '1']), /unknown flag --bogus/);
  assert.throws(() => parseBenchArgs(['put', '--clients', '-1']), /non-negative integer/);
  assert.throws(() => parseBenchArgs(['put', '--clients', '0']), />= 1/);
  assert.throws(() => parseBenchArgs(['range', '--consistency', 'x']), /l or s/);
  assert.throws(() => parseBenchArgs(['put', '--conns']), /needs a value/);
});

test('more connections than clients are capped at clients', () => {
  assert.equal(parseBenchArgs(['put', '--clients', '4', '--conns', '10']).conns, 4);
});

test('durations: s, ms, m, bare seconds', () => {
  assert.equal(parseDurationS('500ms'), 0.5);
  assert.equal(parseDurationS('2m'), 120);
  assert.equal(parseDurationS('7'), 7);
  assert.throws(() => parseDurationS('abc'), ArgError);
});
