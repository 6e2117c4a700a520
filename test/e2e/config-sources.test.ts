/**
 * The three ways to configure a member, through a real process (issue 14): a --config-file
 * YAML, ETCD_* environment variables, and the command line over the environment. Each case
 * sets values whose effect a client can see:
 *
 *   - the client URL (the member answers there), --name (MemberList), --data-dir (created);
 *   - --max-txn-ops 3: a txn of 3 puts works, 4 is INVALID_ARGUMENT "too many operations";
 *   - --max-concurrent-streams: the HTTP/2 SETTINGS frame of the client port carries it;
 *   - a flag given both ways is refused (exit 1, "conflicting environment variable").
 *
 * Run against the real etcd too (ETCD_TEST_SERVER=real): etcd 3.4 honours all of it.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { READY_TIMEOUT_MS, serverEnv, waitReady } from './framework/cluster.js';
import { RawEtcdClient } from './framework/raw.js';
import { freePort, makeTempDir, serverCommand, serverUnavailableReason, startProcess, SUITE_TIMEOUT_MS, type ServerProcess } from './framework/process.js';

const skip = serverUnavailableReason() ?? false;
const started: ServerProcess[] = [];
after(async () => {
  for (const p of started) await p.kill9();
});

interface Setup {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
}

async function setup(name: string): Promise<Setup & { dir: string }> {
  const dir = makeTempDir('etcd-ts-config-');
  return { name, dir, dataDir: join(dir, `${name}-data`), clientPort: await freePort(), peerPort: await freePort() };
}

function flagValues(s: Setup, maxTxnOps: number, maxConcurrentStreams: number): Record<string, string> {
  return {
    name: s.name,
    'data-dir': s.dataDir,
    'listen-client-urls': `http://127.0.0.1:${s.clientPort}`,
    'advertise-client-urls': `http://127.0.0.1:${s.clientPort}`,
    'listen-peer-urls': `http://127.0.0.1:${s.peerPort}`,
    'initial-advertise-peer-urls': `http://127.0.0.1:${s.peerPort}`,
    'initial-cluster': `${s.name}=http://127.0.0.1:${s.peerPort}`,
    'max-txn-ops': String(maxTxnOps),
    'max-concurrent-streams': String(maxConcurrentStreams),
  };
}

function envOf(values: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(values)) env[`ETCD_${k.toUpperCase().replaceAll('-', '_')}`] = v;
  return env;
}

async function start(s: Setup & { dir: string }, args: string[], env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const proc = startProcess([...serverCommand(), ...args], { cwd: s.dir, env: serverEnv(env), logFile: join(s.dir, 'server.log') });
  started.push(proc);
  await waitReady(`127.0.0.1:${s.clientPort}`, proc, READY_TIMEOUT_MS);
  return proc;
}

function remoteMaxConcurrentStreams(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.once('remoteSettings', (settings) => {
      resolve(settings.maxConcurrentStreams);
      session.close();
    });
    session.once('error', reject);
  });
}

/** What the running member shows of the configuration. */
async function checkEffects(s: Setup, proc: ServerProcess, maxTxnOps: number, maxConcurrentStreams: number): Promise<void> {
  try {
    assert.ok(existsSync(s.dataDir), `the data dir ${s.dataDir} was created`);
    const raw = new RawEtcdClient(`127.0.0.1:${s.clientPort}`);
    try {
      const ml = await raw.memberList();
      if (!ml.ok) assert.fail(`MemberList: ${ml.error.details}`);
      assert.deepEqual(ml.value.members.map((m) => m.name), [s.name]);
      const puts = (n: number) => Array.from({ length: n }, (_, i) => ({ requestPut: { key: Buffer.from(`k${i}`), value: Buffer.from('v') } }));
      const ok = await raw.txn({ success: puts(maxTxnOps) });
      assert.ok(ok.ok, `a txn of ${maxTxnOps} ops is accepted: ${ok.ok ? '' : ok.error.details}`);
      const tooMany = await raw.txn({ success: puts(maxTxnOps + 1) });
      assert.ok(!tooMany.ok, `a txn of ${maxTxnOps + 1} ops is refused`);
      assert.equal(tooMany.error.details, 'etcdserver: too many operations in txn request');
    } finally {
      raw.close();
    }
    assert.equal(await remoteMaxConcurrentStreams(s.clientPort), maxConcurrentStreams);
  } catch (err) {
    process.stderr.write(`--- server log tail ---\n${proc.tail(40)}\n`);
    throw err;
  }
}

describe('configuration sources through a real process', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  it('--config-file YAML: its values apply, and ETCD_* variables are ignored', async () => {
    const s = await setup('from-file');
    const file = join(s.dir, 'etcd.conf.yml');
    const values = flagValues(s, 3, 7);
    const yaml = Object.entries(values)
      .map(([k, v]) => (/^\d+$/.test(v) ? `${k}: ${v}` : `${k}: '${v}'`))
      .join('\n');
    writeFileSync(file, `${yaml}\n`);
    // Variables that would change the outcome if they were read.
    const proc = await start(s, ['--config-file', file], { ETCD_MAX_TXN_OPS: '50', ETCD_MAX_CONCURRENT_STREAMS: '11' });
    await checkEffects(s, proc, 3, 7);
  });

  it('ETCD_* variables alone configure the member', async () => {
    const s = await setup('from-env');
    const proc = await start(s, [], envOf(flagValues(s, 4, 9)));
    await checkEffects(s, proc, 4, 9);
  });

  it('a command-line flag and its ETCD_* variable together: refused, as etcd refuses it', async () => {
    const s = await setup('flag-and-env');
    const env = envOf(flagValues(s, 50, 13));
    const proc = startProcess([...serverCommand(), '--max-txn-ops', '2'], { cwd: s.dir, env: serverEnv(env), logFile: join(s.dir, 'server.log') });
    started.push(proc);
    const exit = await proc.exited;
    assert.equal(exit.code, 1, proc.tail(20));
    assert.match(proc.tail(20), /conflicting environment variable \\?"ETCD_MAX_TXN_OPS\\?" is shadowed by corresponding command-line flag/);
  });
});
