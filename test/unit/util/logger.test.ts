import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTs, Logger, MemorySink, nopLogger } from '../../../src/util/logger.js';

const T0 = Date.UTC(2026, 10, 23, 21, 0, 0, 0);

function make(level?: 'debug' | 'info' | 'warn' | 'error'): { lg: Logger; sink: MemorySink } {
  const sink = new MemorySink();
  const lg = new Logger({ level, sinks: [sink], now: () => T0, fields: { caller: 'test/logger.test.ts' } });
  return { lg, sink };
}

test('one JSON line in zap field order: level, ts, caller, msg, fields', () => {
  const { lg, sink } = make();
  lg.info('ready to serve client requests', { address: '127.0.0.1:2379', n: 3, ok: true });
  assert.equal(sink.lines.length, 1);
  assert.equal(
    sink.lines[0],
    '{"level":"info","ts":"2026-11-23T21:00:00.000000Z","caller":"test/logger.test.ts","msg":"ready to serve client requests","address":"127.0.0.1:2379","n":3,"ok":true}\n',
  );
});

test('levels filter: default info drops debug', () => {
  const { lg, sink } = make();
  lg.debug('hidden');
  lg.info('i');
  lg.warn('w');
  lg.error('e');
  assert.deepEqual(sink.entries().map((e) => e['level']), ['info', 'warn', 'error']);
  assert.equal(lg.enabled('debug'), false);
  assert.equal(lg.enabled('warn'), true);
});

test('level warn drops info; level debug keeps all', () => {
  const w = make('warn');
  w.lg.info('no');
  w.lg.warn('yes');
  assert.deepEqual(w.sink.entries().map((e) => e['msg']), ['yes']);
  const d = make('debug');
  d.lg.debug('dbg', { k: 'v' });
  assert.equal(d.sink.entries()[0]?.['k'], 'v');
});

test('disabled levels do not touch the fields', () => {
  const { lg, sink } = make('info');
  let touched = false;
  const fields = {
    get expensive(): string {
      touched = true;
      return 'x';
    },
  };
  lg.debug('nope', fields);
  assert.equal(touched, false);
  assert.equal(sink.lines.length, 0);
});

test('child adds fields and may replace the caller; per-call caller overrides', () => {
  const { lg, sink } = make();
  const c = lg.child({ caller: 'server/etcd-server.ts', 'local-member-id': '8e9e05c52164694d' });
  c.info('starting etcd server', { 'cluster-version': 'to_be_decided' });
  c.info('x', { caller: 'server/etcd-server.ts:120' });
  const [a, b] = sink.entries();
  assert.equal(a?.['caller'], 'server/etcd-server.ts');
  assert.equal(a?.['local-member-id'], '8e9e05c52164694d');
  assert.equal(a?.['cluster-version'], 'to_be_decided');
  assert.equal(b?.['caller'], 'server/etcd-server.ts:120');
  assert.deepEqual(Object.keys(a ?? {}).slice(0, 4), ['level', 'ts', 'caller', 'msg']);
});

test('values: errors as messages, URLs without trailing slash, bigint as string, arrays', () => {
  const { lg, sink } = make();
  lg.warn('failed', {
    error: new Error('boom'),
    url: new URL('http://127.0.0.1:2379'),
    urls: [new URL('http://localhost:2380')],
    id: 10276657743932975437n,
    nested: { a: [1, 2] },
    skipped: undefined,
    msg: 'reserved keys are dropped',
  });
  const e = sink.entries()[0] ?? {};
  assert.equal(e['error'], 'boom');
  assert.equal(e['url'], 'http://127.0.0.1:2379');
  assert.deepEqual(e['urls'], ['http://localhost:2380']);
  assert.equal(e['id'], '10276657743932975437');
  assert.deepEqual(e['nested'], { a: [1, 2] });
  assert.equal('skipped' in e, false);
  assert.equal(e['msg'], 'failed');
});

test('unserialisable values do not throw', () => {
  const { lg, sink } = make();
  const cyc: Record<string, unknown> = {};
  cyc['self'] = cyc;
  lg.info('cyc', { cyc, fn: () => 1 });
  const e = sink.entries()[0] ?? {};
  assert.equal(typeof e['cyc'], 'string');
  assert.equal(e['fn'], null);
});

test('fatal writes then calls onFatal; panic writes then throws', () => {
  const sink = new MemorySink();
  let exited = 0;
  const lg = new Logger({ sinks: [sink], onFatal: () => void exited++ });
  lg.fatal('discovery failed', { error: 'x' });
  assert.equal(exited, 1);
  assert.throws(() => lg.panic('bad'), /bad/);
  assert.deepEqual(sink.entries().map((e) => e['level']), ['fatal', 'panic']);
});

test('file output appends lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-log-'));
  try {
    const path = join(dir, 'etcd.log');
    const lg = new Logger({ outputs: [path, path] });
    lg.info('one');
    lg.info('two');
    lg.close();
    lg.info('after close is dropped');
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2); // the duplicate output is written once
    assert.equal(JSON.parse(lines[1] ?? '{}').msg, 'two');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nopLogger writes nothing', () => {
  const lg = nopLogger();
  lg.info('x');
  lg.error('y');
  assert.equal(lg.enabled('error'), false);
});

test('ts is UTC with microseconds, as etcd 3.5/3.6 print it', () => {
  const sink = new MemorySink();
  new Logger({ sinks: [sink] }).info('now');
  const ts = String(sink.entries()[0]?.['ts']);
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  // Which clock, not how fast: the default is the wall clock (timeOrigin + a monotonic offset,
  // which may drift from Date.now() by NTP steps, hence the wide margin), not time since start.
  assert.ok(Math.abs(Date.parse(ts) - Date.now()) < 3_600_000, `ts ${ts} is not the wall clock`);
  assert.equal(formatTs(Date.UTC(2026, 0, 2, 3, 4, 5, 6) + 0.789), '2026-01-02T03:04:05.006789Z');
});

test('a logger name goes between ts and caller, as zap\'s "logger" key', () => {
  const { lg, sink } = make();
  lg.child({ logger: 'raft' }).info('8e9e05c52164694d became leader at term 2');
  assert.deepEqual(Object.keys(sink.entries()[0] ?? {}), ['level', 'ts', 'logger', 'caller', 'msg']);
});

test('/dev/null output discards everything', () => {
  const lg = new Logger({ outputs: ['stderr', '/dev/null'] });
  lg.error('not written');
});
