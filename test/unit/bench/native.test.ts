import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeArgError, parseNativeArgs } from '../../../native-bench/args.js';
import { parseStatCpuS, parseVmRss } from '../../../native-bench/procfs.js';
import { markdownTable, ratioChartSvg, replaceBetweenMarkers } from '../../../native-bench/render.js';
import { memberArgs } from '../../../native-bench/server.js';
import { quickSuite, standardSuite } from '../../../native-bench/suite.js';
import { formatFigure, summarizeRecords, type RoundRecord } from '../../../native-bench/summary.js';
import { parseEtcdVersion } from '../../../native-bench/versions.js';
import { watchersPerKey } from '../../../bench/watch.js';

test('native flags', () => {
  const o = parseNativeArgs(['--suite', 'standard', '--rounds=5', '--servers', 'etcd', '--keys', '1000', '--only', 'put-1,put-100', '--no-docs']);
  assert.equal(o.rounds, 5);
  assert.deepEqual(o.servers, ['etcd']);
  assert.equal(o.keys, 1000);
  assert.deepEqual(o.only, ['put-1', 'put-100']);
  assert.equal(o.docs, false);
  assert.throws(() => parseNativeArgs(['--rounds', '0']), NativeArgError);
  assert.throws(() => parseNativeArgs(['--servers', 'zookeeper']), NativeArgError);
  assert.throws(() => parseNativeArgs(['--suite', 'huge']), NativeArgError);
});

test('the standard suite covers the issue: put, range l/s, txn-put, watch, memory, 3 members', () => {
  const ids = standardSuite({ durationS: 5, keySpace: 100000, keys: 1000000 }).map((c) => c.id);
  for (const id of ['put-1', 'put-100', 'range-l-1', 'range-s-1', 'range-l-100', 'range-s-100', 'txn-put-100', 'watch-1000', 'memory', 'put-100-3m']) assert.ok(ids.includes(id), id);
  assert.ok(quickSuite({ durationS: 5, keySpace: 100000, keys: 1000000 }).length < ids.length);
});

test('both servers get the same etcd flags', () => {
  const a = memberArgs({ name: 'm0', clientUrl: 'http://127.0.0.1:1', peerUrl: 'http://127.0.0.1:2', endpoint: '', dataDir: '/tmp/d', logFile: '' }, 'm0=http://127.0.0.1:2');
  assert.deepEqual(a.slice(0, 12), ['--name', 'm0', '--data-dir', '/tmp/d', '--listen-client-urls', 'http://127.0.0.1:1', '--advertise-client-urls', 'http://127.0.0.1:1', '--listen-peer-urls', 'http://127.0.0.1:2', '--initial-advertise-peer-urls', 'http://127.0.0.1:2']);
  assert.ok(a.includes('--initial-cluster'));
});

test('medians per server and the ratio etcd-ts / etcd', () => {
  const cases = standardSuite({ durationS: 1, keySpace: 10, keys: 10 }).filter((c) => c.id === 'put-1');
  const rec = (round: number, server: 'etcd' | 'etcd-ts', t: number): RoundRecord => ({ round, server, caseId: 'put-1', figures: { throughput: t, p50Ms: 1, p99Ms: 2 } });
  const records = [rec(1, 'etcd', 100), rec(1, 'etcd-ts', 150), rec(2, 'etcd', 300), rec(2, 'etcd-ts', 90), rec(3, 'etcd', 200), rec(3, 'etcd-ts', 240),
    { round: 4, server: 'etcd-ts' as const, caseId: 'put-1', error: 'boom' }];
  const rows = summarizeRecords(cases, records, ['etcd', 'etcd-ts']);
  const t = rows.find((r) => r.figure === 'throughput')!;
  assert.equal(t.median['etcd'], 200);
  assert.equal(t.median['etcd-ts'], 150);
  assert.equal(t.samples['etcd-ts'], 3);
  assert.equal(t.ratio, 0.75);
});

test('a server with no figures gives n/a, not a crash', () => {
  const cases = standardSuite({ durationS: 1, keySpace: 10, keys: 10 }).filter((c) => c.id === 'put-1');
  const rows = summarizeRecords(cases, [{ round: 1, server: 'etcd', caseId: 'put-1', figures: { throughput: 10, p50Ms: 1, p99Ms: 2 } }], ['etcd', 'etcd-ts']);
  assert.ok(Number.isNaN(rows[0]!.ratio));
  assert.match(markdownTable(rows), /\| put 1\/1 \| req\/s \(higher is better\) \| 10\/s \| n\/a \| n\/a \| 1 \/ 0 \|/);
  const svg = ratioChartSvg(rows, 'a < b');
  assert.match(svg, /^<svg/);
  assert.match(svg, /a &lt; b/);
  assert.match(svg, /no etcd-ts figure/);
});

test('figure formatting', () => {
  assert.equal(formatFigure(11400.4, '/s'), '11,400/s');
  assert.equal(formatFigure(0.583, 'ms'), '0.58 ms');
  assert.equal(formatFigure(521.2, 'MB'), '521 MB');
  assert.equal(formatFigure(undefined, 'ms'), 'n/a');
});

test('docs section between markers is replaced, or appended', () => {
  assert.equal(replaceBetweenMarkers('a\n<b>\nold\n<e>\nz', '<b>', '<e>', 'new'), 'a\n<b>\nnew\n<e>\nz');
  assert.equal(replaceBetweenMarkers('# T\n', '<b>', '<e>', 'x'), '# T\n\n<b>\nx\n<e>\n');
});

test('versions and /proc parsing', () => {
  assert.equal(parseEtcdVersion('etcd Version: 3.4.23\nGit SHA: x'), '3.4.23');
  assert.equal(parseVmRss('Name:\tetcd\nVmRSS:\t  1024 kB\n'), 1024 * 1024);
  assert.equal(parseStatCpuS('42 (etcd server) S 1 42 42 0 -1 4194560 1 0 0 0 150 50 0 0 20 0 8 0'), 2);
});

test('watch: expected events per put of each key', () => {
  assert.deepEqual(watchersPerKey(10, 100, 1), [1000]);
  assert.deepEqual(watchersPerKey(2, 3, 4), [2, 2, 1, 1]);
});
