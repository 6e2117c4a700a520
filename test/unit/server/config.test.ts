import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DEFAULT_QUOTA_BACKEND_BYTES,
  formatGoDuration,
  loggerOptionsFrom,
  parseServerConfig,
  serverConfigLogFields,
  verifyBootstrap,
  type ServerConfig,
} from '../../../src/config/config.js';
import { formatUrl } from '../../../src/util/urls.js';

const parse = (argv: string[], env: Record<string, string> = {}): ServerConfig => parseServerConfig(argv, env);
const urls = (l: readonly URL[]): string[] => l.map(formatUrl);

function fails(argv: string[], message: string | RegExp, env: Record<string, string> = {}, exitCode = 1): void {
  assert.throws(
    () => parseServerConfig(argv, env),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      assert.equal(e.exitCode, exitCode);
      return true;
    },
  );
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-ts-config-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaults: etcd\'s values, typed', () => {
  const c = parse([]);
  assert.equal(c.name, 'default');
  assert.equal(c.dataDir, 'default.etcd');
  assert.equal(c.walDir, '');
  assert.deepEqual(urls(c.listenClientUrls), ['http://localhost:2379']);
  assert.deepEqual(urls(c.advertiseClientUrls), ['http://localhost:2379']);
  assert.deepEqual(urls(c.listenPeerUrls), ['http://localhost:2380']);
  assert.deepEqual(urls(c.initialAdvertisePeerUrls), ['http://localhost:2380']);
  assert.deepEqual(c.initialCluster.map((m) => [m.name, urls(m.peerUrls)]), [['default', ['http://localhost:2380']]]);
  assert.equal(c.initialClusterState, 'new');
  assert.equal(c.initialClusterToken, 'etcd-cluster');
  assert.equal(c.maxRequestBytes, 1572864);
  assert.equal(c.maxTxnOps, 128);
  assert.equal(c.quotaBackendBytes, DEFAULT_QUOTA_BACKEND_BYTES);
  assert.equal(c.snapshotCount, 100000);
  assert.equal(c.heartbeatInterval, 100);
  assert.equal(c.electionTimeout, 1000);
  assert.equal(c.logLevel, 'info');
  assert.deepEqual(c.logOutputs, ['default']);
  assert.equal(c.autoCompactionMode, 'periodic');
  assert.equal(c.autoCompactionRetention, 0);
  assert.equal(c.enableGrpcGateway, true);
  assert.equal(c.strictReconfigCheck, true);
  assert.equal(c.emulatedEtcdVersion, '3.6.0');
  assert.equal(c.walBatchMaxBytes, 1048576);
  assert.equal(c.walBatchMaxDelayMs, 0);
  assert.deepEqual(c.listenMetricsUrls, []);
  assert.equal(c.help, false);
  assert.equal(c.version, false);
});

test('data dir and initial cluster follow --name', () => {
  const c = parse(['--name', 'n1']);
  assert.equal(c.dataDir, 'n1.etcd');
  assert.deepEqual(c.initialCluster.map((m) => [m.name, urls(m.peerUrls)]), [['n1', ['http://localhost:2380']]]);
  const d = parse(['--name', 'n1', '--initial-advertise-peer-urls', 'http://127.0.0.1:2390', '--listen-peer-urls', 'http://127.0.0.1:2390']);
  assert.deepEqual(urls(d.initialCluster[0]?.peerUrls ?? []), ['http://127.0.0.1:2390']);
  assert.equal(parse(['--name', 'n1', '--data-dir', '/var/lib/etcd']).dataDir, '/var/lib/etcd');
});

test('initial cluster: matching explicit value', () => {
  const c = parse(['--name', 'n1', '--initial-cluster', 'n1=http://localhost:2380']);
  assert.equal(c.initialCluster.length, 1);
});

test('initial cluster: with the default name it does not follow --initial-advertise-peer-urls (etcd)', () => {
  fails(
    ['--initial-advertise-peer-urls', 'http://127.0.0.1:2380'],
    '--initial-cluster has default=http://localhost:2380 but missing from --initial-advertise-peer-urls=http://127.0.0.1:2380 ("http://127.0.0.1:2380" != "http://localhost:2380")',
  );
});

test('initial cluster: mismatching URL', () => {
  fails(
    ['--name', 'n1', '--initial-cluster', 'n1=http://localhost:2381'],
    /^--initial-cluster has n1=http:\/\/localhost:2381 but missing from --initial-advertise-peer-urls=http:\/\/localhost:2380/,
  );
  fails(
    ['--name', 'n1', '--initial-cluster', 'n1=http://localhost:2380', '--initial-advertise-peer-urls', 'http://localhost:2380,http://127.0.0.1:2380'],
    '--initial-advertise-peer-urls has http://127.0.0.1:2380 but missing from --initial-cluster=n1=http://127.0.0.1:2380,n1=http://localhost:2380',
  );
});

test('initial cluster: the same name twice lists two URLs for one member', () => {
  fails(['--name', 'n1', '--initial-cluster', 'n1=http://localhost:2380,n1=http://localhost:2381'], /^--initial-cluster has n1=http:\/\/localhost:2381 but missing/);
  fails(['--name', 'n1', '--initial-cluster', 'n1=http://localhost:2380,n1=http://localhost:2380'], /^failed to resolve http:\/\/localhost:2380 to match --initial-cluster=/);
});

test('initial cluster: missing local name', () => {
  fails(['--name', 'n1', '--initial-cluster', 'n2=http://localhost:2380'], 'couldn\'t find local name "n1" in the initial cluster configuration');
  fails(['--name', 'n1', '--initial-cluster', ''], 'couldn\'t find local name "n1" in the initial cluster configuration');
});

test('initial cluster: malformed entries', () => {
  fails(['--name', 'n1', '--initial-cluster', 'n1'], 'error setting up initial cluster: URL scheme must be http, https, unix, or unixs: ');
  fails(['--name', 'n1', '--initial-cluster', 'n1=notaurl'], 'error setting up initial cluster: URL scheme must be http, https, unix, or unixs: notaurl');
});

test('initial cluster: several members start a new cluster (docs/cluster.md)', () => {
  const c = parseServerConfig(['--name', 'n1', '--initial-cluster', 'n1=http://localhost:2380,n2=http://localhost:2390'], {}, { dataDirInitialized: false });
  assert.deepEqual(c.initialCluster.map((m) => m.name), ['n1', 'n2']);
});

test('initial cluster checks are skipped for an initialised data dir (etcd ignores the bootstrap flags on restart)', () => {
  const c = parseServerConfig(['--name', 'n1', '--initial-cluster', 'n1=http://localhost:2381'], {}, { dataDirInitialized: true });
  assert.equal(c.name, 'n1');
  // Joining is checked at start (the cluster is fetched from the peers), not by the parser.
  assert.equal(parseServerConfig(['--initial-cluster-state', 'existing'], {}, { dataDirInitialized: false }).initialClusterState, 'existing');
  assert.equal(parseServerConfig(['--initial-cluster-state', 'existing'], {}, { dataDirInitialized: true }).initialClusterState, 'existing');
});

test('listen URLs: TLS needs its files, unix sockets name a file; binding needs an IP or localhost', () => {
  fails(['--listen-client-urls', 'https://127.0.0.1:2379', '--advertise-client-urls', 'https://127.0.0.1:2379'],
    'TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with HTTPS scheme');
  fails(['--listen-peer-urls', 'https://127.0.0.1:2380'], 'cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented');
  fails(['--listen-client-urls', 'https://127.0.0.1:2379', '--advertise-client-urls', 'https://127.0.0.1:2379', '--key-file', 'k.pem'],
    'KeyFile and CertFile must both be present[key: k.pem, cert: ]');
  assert.equal(urls(parse(['--listen-client-urls', 'https://127.0.0.1:2379', '--advertise-client-urls', 'https://127.0.0.1:2379', '--auto-tls']).listenClientUrls)[0], 'https://127.0.0.1:2379');
  assert.equal(urls(parse(['--listen-peer-urls', 'unix://sock:2380']).listenPeerUrls)[0], 'unix://sock:2380');
  fails(['--listen-client-urls', 'http://example.com:2379', '--advertise-client-urls', 'http://example.com:2379'], 'expected IP in URL for binding (http://example.com:2379)');
  const c = parse(['--listen-client-urls', 'http://0.0.0.0:2379,http://[::1]:2379', '--advertise-client-urls', 'http://example.com:2379']);
  assert.deepEqual(urls(c.listenClientUrls), ['http://0.0.0.0:2379', 'http://[::1]:2379']);
});

test('--listen-client-urls without --advertise-client-urls', () => {
  fails(['--listen-client-urls', 'http://127.0.0.1:2379'], '--advertise-client-urls is required when --listen-client-urls is set explicitly');
});

test('timing checks as etcd', () => {
  fails(['--heartbeat-interval', '0'], '--heartbeat-interval must be >0 (set to 0ms)');
  fails(['--election-timeout', '100'], '--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]');
  fails(['--election-timeout', '60000'], '--election-timeout[60000ms] is too long, and should be set less than 50000ms');
});

test('auto compaction retention', () => {
  assert.equal(parse(['--auto-compaction-retention', '1']).autoCompactionRetention, 3_600_000);
  assert.equal(parse(['--auto-compaction-retention', '30m']).autoCompactionRetention, 1_800_000);
  assert.equal(parse(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000']).autoCompactionRetention, 1000);
  fails(['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1h'], /whole number of revisions/);
  fails(['--auto-compaction-retention', '1x'], /^invalid value "1x" for flag --auto-compaction-retention/);
  fails(['--auto-compaction-mode', 'foo'], /^invalid value "foo" for flag -auto-compaction-mode: valid values are "periodic", "revision"/, {}, 2);
});

test('logging flags', () => {
  fails(['--logger', 'capnslog'], '--logger=capnslog is removed in v3.5');
  fails(['--log-outputs', 'default,stdout'], 'multi logoutput for "default" is not supported yet');
  const c = parse(['--log-level', 'debug', '--log-outputs', 'stderr,/tmp/x.log']);
  assert.deepEqual(loggerOptionsFrom(c), { level: 'debug', outputs: ['stderr', '/tmp/x.log'] });
});

test('--emulated-etcd-version', () => {
  assert.equal(parse(['--emulated-etcd-version', '3.5.13']).emulatedEtcdVersion, '3.5.13');
  fails(['--emulated-etcd-version', '3.5'], /^invalid value "3.5" for flag --emulated-etcd-version/);
  fails(['--emulated-etcd-version', '4.0.0'], /expected an etcd v3 version/);
});

test('--help and --version return before any check', () => {
  const c = parse(['--version', '--initial-cluster-state', 'existing', '--name', 'n1', '--initial-cluster', 'n2=http://x:1']);
  assert.equal(c.version, true);
  assert.equal(parse(['-h']).help, true);
});

test('syntax errors keep exit code 2', () => {
  fails(['--bad-flag'], 'flag provided but not defined: -bad-flag', {}, 2);
});

test('env vars reach the typed config; conflicts fail', () => {
  const c = parse([], { ETCD_NAME: 'e1', ETCD_MAX_REQUEST_BYTES: '2097152', ETCD_LISTEN_CLIENT_URLS: 'http://127.0.0.1:2379', ETCD_ADVERTISE_CLIENT_URLS: 'http://127.0.0.1:2379' });
  assert.equal(c.name, 'e1');
  assert.equal(c.dataDir, 'e1.etcd');
  assert.equal(c.maxRequestBytes, 2097152);
  assert.deepEqual(urls(c.advertiseClientUrls), ['http://127.0.0.1:2379']);
  fails(['--name', 'x'], /conflicting environment variable "ETCD_NAME"/, { ETCD_NAME: 'y' });
});

test('config file: values, name-derived defaults, nested TLS keys, YAML 1.1 booleans', () => {
  withDir((dir) => {
    const f = join(dir, 'etcd.yml');
    writeFileSync(
      f,
      [
        'name: cfgname',
        `data-dir: ${dir}/data`,
        'listen-client-urls: http://127.0.0.1:2379',
        'advertise-client-urls: http://127.0.0.1:2379',
        'max-txn-ops: 256',
        'enable-pprof: yes',
        'log-outputs: [stdout]',
        'experimental-watch-progress-notify-interval: 5000000000',
        'grpc-keepalive-timeout: 30s',
        'client-transport-security:',
        '  cert-file: /tmp/cert.pem',
        'bogus-key: 1',
        'wal-dir:',
      ].join('\n'),
    );
    const c = parse(['--config-file', f]);
    assert.equal(c.name, 'cfgname');
    assert.equal(c.dataDir, `${dir}/data`);
    assert.equal(c.maxTxnOps, 256);
    assert.equal(c.enablePprof, true);
    assert.deepEqual(c.logOutputs, ['stdout']);
    assert.equal(c.watchProgressNotifyInterval, 5000);
    assert.equal(c.grpcKeepaliveTimeout, 30000);
    assert.equal(c.flags.get('cert-file'), '/tmp/cert.pem');
    assert.equal(c.walDir, '');
    assert.equal(c.configFile, f);
    assert.deepEqual(c.initialCluster.map((m) => m.name), ['cfgname']);
    assert.ok(c.notices.some((n) => n.msg === 'ignored unrecognized configuration file key' && n.fields['key'] === 'bogus-key'));
    assert.ok(c.notices.some((n) => n.msg.startsWith('loaded server configuration')));
  });
});

test('config file: other flags and ETCD_* variables are ignored (etcd)', () => {
  withDir((dir) => {
    const f = join(dir, 'etcd.yml');
    writeFileSync(f, 'name: fromfile\n');
    const c = parse(['--config-file', f, '--name', 'fromflag', '--max-txn-ops', '5'], { ETCD_MAX_REQUEST_BYTES: '10', ETCD_BOGUS: 'x' });
    assert.equal(c.name, 'fromfile');
    assert.equal(c.maxTxnOps, 128);
    assert.equal(c.maxRequestBytes, 1572864);
    // ETCD_CONFIG_FILE names the file when the flag is absent
    assert.equal(parse([], { ETCD_CONFIG_FILE: f, ETCD_NAME: 'ignored' }).name, 'fromfile');
    // In file mode, listen-client-urls alone keeps the default advertise URL (etcd).
    writeFileSync(f, 'listen-client-urls: http://127.0.0.1:2379\n');
    assert.deepEqual(urls(parse(['--config-file', f]).advertiseClientUrls), ['http://localhost:2379']);
    // But flags must still be well-formed.
    fails(['--config-file', f, '--bad'], 'flag provided but not defined: -bad', {}, 2);
  });
});

test('config file: errors name the file, the key and the value', () => {
  withDir((dir) => {
    const f = join(dir, 'bad.yml');
    writeFileSync(f, 'name: [unclosed\n');
    fails(['--config-file', f], new RegExp(`^error parsing config file ${f}: `));
    writeFileSync(f, 'max-txn-ops: abc\n');
    fails(['--config-file', f], `error parsing config file ${f}: key "max-txn-ops": expected a non-negative integer, got string ("abc")`);
    writeFileSync(f, 'name: 5\n');
    fails(['--config-file', f], `error parsing config file ${f}: key "name": expected a string, got number (5)`);
    writeFileSync(f, 'initial-cluster-state: foo\n');
    fails(['--config-file', f], `invalid value "foo" for key "initial-cluster-state" in config file ${f}: valid values are "new", "existing"`);
    writeFileSync(f, 'listen-client-urls: notaurl\n');
    fails(['--config-file', f], /^invalid value "notaurl" for key "listen-client-urls" in config file .*URL scheme must be/);
    writeFileSync(f, '- a\n- b\n');
    fails(['--config-file', f], /the top level must be a mapping/);
    writeFileSync(f, 'a: 1\na: 2\n');
    fails(['--config-file', f], /Map keys must be unique/);
    fails(['--config-file', join(dir, 'missing.yml')], `open ${join(dir, 'missing.yml')}: no such file or directory`);
  });
});

test('config file: an empty file is all defaults', () => {
  withDir((dir) => {
    const f = join(dir, 'empty.yml');
    writeFileSync(f, '');
    assert.equal(parse(['--config-file', f]).name, 'default');
  });
});

test('log fields for "starting an etcd server" use etcd\'s names and Go durations', () => {
  const fields = serverConfigLogFields(parse(['--name', 'n1']));
  assert.equal(fields['name'], 'n1');
  assert.equal(fields['heartbeat-interval'], '100ms');
  assert.equal(fields['election-timeout'], '1s');
  assert.equal(fields['initial-cluster'], 'n1=http://localhost:2380');
  assert.deepEqual(fields['listen-client-urls'], ['http://localhost:2379']);
  assert.equal(formatGoDuration(5_400_000), '1h30m0s');
  assert.equal(formatGoDuration(90_000), '1m30s');
  assert.equal(formatGoDuration(0), '0s');
});

test('etcd 3.6 names of --experimental-* flags: either spelling, not both', () => {
  assert.equal(parse([]).watchProgressNotifyInterval, 600_000);
  assert.equal(parse(['--experimental-watch-progress-notify-interval', '5s']).watchProgressNotifyInterval, 5000);
  assert.equal(parse(['--watch-progress-notify-interval', '5s']).watchProgressNotifyInterval, 5000);
  assert.equal(parse(['--compaction-batch-limit', '50']).compactionBatchLimit, 50);
  assert.equal(parse([]).corruptCheckTime, 0);
  assert.equal(parse(['--experimental-corrupt-check-time', '2s']).corruptCheckTime, 2000);
  assert.equal(parse(['--corrupt-check-time', '500ms']).corruptCheckTime, 500);
  assert.equal(parse([]).experimentalInitialCorruptCheck, false);
  assert.equal(parse(['--experimental-initial-corrupt-check']).experimentalInitialCorruptCheck, true);
  assert.equal(parse(['--experimental-compaction-sleep-interval', '1ms']).compactionSleepInterval, 1);
  assert.equal(parse([], { ETCD_EXPERIMENTAL_WARNING_APPLY_DURATION: '1s' }).warningApplyDuration, 1000);
  fails(
    ['--watch-progress-notify-interval', '5s', '--experimental-watch-progress-notify-interval', '5s'],
    /^cannot set both --experimental-watch-progress-notify-interval and --watch-progress-notify-interval/,
  );
});

test('--feature-gates: etcd 3.6 syntax and known names', () => {
  const c = parse(['--feature-gates', 'InitialCorruptCheck=true,CompactHashCheck=true']);
  assert.ok(c.notices.some((n) => n.fields['flag'] === '--feature-gates'));
  fails(['--feature-gates', 'Bogus=true'], /unrecognized feature gate: Bogus/);
  fails(['--feature-gates', 'InitialCorruptCheck'], /expected "Name=true\|false,..."/);
});

test('verifyBootstrap can run after a parse that skipped it', () => {
  const c = parseServerConfig(['--name', 'n1', '--initial-cluster', 'n2=http://localhost:2380'], {}, { dataDirInitialized: true });
  assert.throws(() => verifyBootstrap(c), (e: unknown) => e instanceof ConfigError && e.phase === 'bootstrap' && /couldn't find local name "n1"/.test(e.message));
  verifyBootstrap(parse(['--name', 'n1']));
});
