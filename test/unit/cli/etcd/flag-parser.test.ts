import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseGoDuration, parseGoInt, resolveFlags } from '../../../../src/config/flag-parser.js';
import { envName, FLAGS } from '../../../../src/config/flags.js';
import { formatHelp, formatVersion } from '../../../../src/config/help.js';

const val = (argv: string[], name: string, env: Record<string, string> = {}): unknown => resolveFlags(argv, env).values.get(name);

function rejects(argv: string[], message: string | RegExp, exitCode: number, env: Record<string, string> = {}): void {
  assert.throws(
    () => resolveFlags(argv, env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      assert.equal(e.exitCode, exitCode);
      return true;
    },
  );
}

test('all four Go flag spellings of a valued flag', () => {
  for (const argv of [['--name=a'], ['--name', 'a'], ['-name', 'a'], ['-name=a']]) {
    assert.equal(val(argv, 'name'), 'a', argv.join(' '));
  }
});

test('boolean forms: --flag, --flag=true/false, Go ParseBool spellings', () => {
  assert.equal(val(['--enable-pprof'], 'enable-pprof'), true);
  assert.equal(val(['-enable-pprof'], 'enable-pprof'), true);
  assert.equal(val(['--enable-pprof=false'], 'enable-pprof'), false);
  assert.equal(val(['--enable-grpc-gateway=false'], 'enable-grpc-gateway'), false);
  for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(val([`--pre-vote=${t}`], 'pre-vote'), true);
  for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(val([`--pre-vote=${f}`], 'pre-vote'), false);
});

test('a boolean does not take the next argument (etcd: \'false\' is not a valid flag)', () => {
  rejects(['--enable-pprof', 'false'], /^'false' is not a valid flag/, 1);
});

test('a valued flag takes the next argument even if it looks like a flag (Go behaviour)', () => {
  assert.equal(val(['--name', '--data-dir'], 'name'), '--data-dir');
});

test('the last of repeated flags wins', () => {
  assert.equal(val(['--name=a', '--name=b'], 'name'), 'b');
});

test('defaults come from the table', () => {
  const r = resolveFlags([], {});
  assert.equal(r.values.get('name'), 'default');
  assert.equal(r.values.get('max-request-bytes'), 1572864);
  assert.equal(r.values.get('max-txn-ops'), 128);
  assert.equal(r.values.get('snapshot-count'), 100000);
  assert.equal(r.values.get('heartbeat-interval'), 100);
  assert.equal(r.values.get('election-timeout'), 1000);
  assert.equal(r.values.get('initial-cluster-token'), 'etcd-cluster');
  assert.equal(r.values.get('initial-cluster-state'), 'new');
  assert.equal(r.values.get('log-level'), 'info');
  assert.equal(r.values.get('logger'), 'zap');
  assert.deepEqual(r.values.get('log-outputs'), ['default']);
  assert.equal(r.values.get('enable-grpc-gateway'), true);
  assert.equal(r.values.get('emulated-etcd-version'), '3.6.0');
  assert.equal(r.values.get('grpc-keepalive-interval'), 2 * 3600 * 1000);
  assert.equal(r.explicit.size, 0);
});

test('unknown flag: etcd\'s message and exit code 2', () => {
  rejects(['--bad-flag'], 'flag provided but not defined: -bad-flag', 2);
  rejects(['-bad-flag=1'], 'flag provided but not defined: -bad-flag', 2);
  rejects(['--data_dir=x'], 'flag provided but not defined: -data_dir', 2);
});

test('syntax errors: bad syntax, missing argument, leftover positional argument', () => {
  rejects(['---name'], 'bad flag syntax: ---name', 2);
  rejects(['-=x'], 'bad flag syntax: -=x', 2);
  rejects(['--name'], 'flag needs an argument: -name', 2);
  rejects(['extra'], "'extra' is not a valid flag", 1);
  rejects(['--', '--name', 'x'], "'--name' is not a valid flag", 1);
});

test('bad values name the flag and the value', () => {
  rejects(['--max-txn-ops=abc'], 'invalid value "abc" for flag -max-txn-ops: parse error (expected a non-negative integer)', 2);
  rejects(['--max-txn-ops=-1'], /^invalid value "-1" for flag -max-txn-ops: parse error/, 2);
  rejects(['--max-request-bytes', '1k'], /^invalid value "1k" for flag -max-request-bytes/, 2);
  rejects(['--quota-backend-bytes=-5'], /^invalid value "-5" for flag -quota-backend-bytes: -5 is below the minimum 0/, 2);
  rejects(['--quota-backend-bytes=x'], /^invalid value "x" for flag -quota-backend-bytes: parse error \(expected an integer\)/, 2);
  rejects(['--enable-pprof=maybe'], 'invalid boolean value "maybe" for -enable-pprof: parse error (expected true or false)', 2);
  rejects(['--initial-cluster-state=foo'], 'invalid value "foo" for flag -initial-cluster-state: valid values are "new", "existing"', 2);
  rejects(['--log-level=loud'], /^invalid value "loud" for flag -log-level: valid values are "debug", "info"/, 2);
  rejects(['--listen-client-urls=notaurl'], 'invalid value "notaurl" for flag -listen-client-urls: URL scheme must be http, https, unix, or unixs: notaurl', 2);
  rejects(['--listen-client-urls=http://127.0.0.1:2379/foo'], /URL must not contain a path/, 2);
  rejects(['--grpc-keepalive-timeout=5'], /^invalid value "5" for flag -grpc-keepalive-timeout: parse error \(expected a duration/, 2);
  rejects(['--grpc-keepalive-timeout=-5s'], /below the minimum 0ms/, 2);
  rejects(['--max-concurrent-streams=4294967296'], /above the maximum 4294967295/, 2);
  rejects(['--bcrypt-cost=3'], /below the minimum 4/, 2);
});

test('Go integer syntax: hex, octal, underscores with a prefix', () => {
  assert.equal(parseGoInt('0x10', false), 16);
  assert.equal(parseGoInt('010', false), 8);
  assert.equal(parseGoInt('0b1_0', false), 2);
  assert.equal(parseGoInt('-7', true), -7);
  assert.throws(() => parseGoInt('1_000', false));
  assert.throws(() => parseGoInt('1.5', false));
  assert.throws(() => parseGoInt('', false));
  assert.throws(() => parseGoInt('99999999999999999999', false), /out of range/);
});

test('Go duration syntax', () => {
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('100ms'), 100);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('-2s'), -2000);
  assert.equal(parseGoDuration('1500us'), 1.5);
  assert.throws(() => parseGoDuration('5'));
  assert.throws(() => parseGoDuration('5x'));
  assert.throws(() => parseGoDuration(''));
});

test('env: ETCD_<NAME> applies when the flag is not on the command line', () => {
  assert.equal(envName('initial-cluster-token'), 'ETCD_INITIAL_CLUSTER_TOKEN');
  const r = resolveFlags([], { ETCD_NAME: 'e', ETCD_INITIAL_CLUSTER_TOKEN: 'tok', ETCD_ENABLE_PPROF: 'true', ETCD_MAX_TXN_OPS: '64' });
  assert.equal(r.values.get('name'), 'e');
  assert.equal(r.values.get('initial-cluster-token'), 'tok');
  assert.equal(r.values.get('enable-pprof'), true);
  assert.equal(r.values.get('max-txn-ops'), 64);
  assert.ok(r.explicit.has('name'));
  assert.ok(r.notices.some((n) => n.msg === 'recognized and used environment variable' && n.fields['variable-name'] === 'ETCD_NAME'));
});

test('env: empty values are ignored', () => {
  assert.equal(val([], 'name', { ETCD_NAME: '' }), 'default');
});

test('env: flag and variable both set is an error, as in etcd', () => {
  rejects(
    ['--name', 'x'],
    'conflicting environment variable "ETCD_NAME" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)',
    1,
    { ETCD_NAME: 'y' },
  );
});

test('env: a bad value names the variable', () => {
  rejects([], 'invalid value "abc" for ETCD_MAX_TXN_OPS: parse error (expected a non-negative integer)', 1, { ETCD_MAX_TXN_OPS: 'abc' });
});

test('env: unrecognized ETCD_* variables warn; other prefixes are not ours', () => {
  const r = resolveFlags([], { ETCD_BOGUS_THING: '1', ETCDCTL_API: '3', HOME: '/root', ETCD_VERSION: '1' });
  const warns = r.notices.filter((n) => n.level === 'warn');
  assert.deepEqual(warns.map((n) => n.msg), ['unrecognized environment variable', 'cannot set special environment variable']);
  assert.equal(warns[0]?.fields['environment-variable'], 'ETCD_BOGUS_THING=1');
});

test('not-yet-effective flags set off their default produce a warning notice', () => {
  const r = resolveFlags(['--enable-pprof', '--max-wals=5'], {});
  const warns = r.notices.filter((n) => n.msg.includes('not yet effective'));
  assert.deepEqual(warns.map((n) => n.fields['flag']), ['--enable-pprof']);
});

test('--help and --version short-circuit', () => {
  assert.equal(val(['-h'], 'help'), true);
  assert.equal(val(['--help'], 'help'), true);
  assert.equal(val(['--version'], 'version'), true);
  // The config file is not read for --version.
  assert.equal(val(['--version', '--config-file=/nonexistent.yml'], 'version'), true);
});

test('--help lists every flag with its default and description', () => {
  const help = formatHelp();
  for (const f of FLAGS) {
    if (f.group === 'Command') continue;
    const shown = f.helpDefault ?? f.default;
    assert.ok(help.includes(`  --${f.name} '${shown}'\n    ${f.description}`), `--help is missing --${f.name}`);
  }
  assert.match(help, /--config-file/);
  assert.match(help, /ETCD_INITIAL_CLUSTER_TOKEN/);
  assert.match(help, /\[not yet effective\]/);
});

test('--version shows the emulated etcd version first', () => {
  const v = formatVersion('3.5.13');
  assert.match(v, /^etcd Version: 3\.5\.13\netcd-ts Version: \d+\.\d+\.\d+\n/);
});

test('table sanity: unique names, env names and YAML keys; defaults parse', () => {
  const names = new Set<string>();
  for (const f of FLAGS) {
    assert.ok(!names.has(f.name), `duplicate ${f.name}`);
    names.add(f.name);
    assert.match(f.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(f.description.length > 10, f.name);
    if (f.type === 'enum') assert.ok(f.values?.includes(f.default), `default of ${f.name} not in its values`);
  }
  // every default parses (resolveFlags([]) parses them all)
  assert.equal(resolveFlags([], {}).values.size, FLAGS.length);
});
