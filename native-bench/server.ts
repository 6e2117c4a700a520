/**
 * Starts and stops clusters of the real etcd or etcd-ts on 127.0.0.1 with the same flags
 * (etcd's), fresh data dirs under one temp dir, free ports. Every child is tracked and
 * killed on stop, on exit and on SIGINT/SIGTERM, so no process is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EtcdConn } from '../bench/etcd-client.js';
import type { ServerKind } from './args.js';
import { freePort } from './ports.js';

/** How long a member may take to answer its first Status. */
export const START_MS_MAX = 60_000;
/** How long a member has to exit after SIGTERM before SIGKILL. */
const STOP_MS_MAX = 10_000;

const live = new Set<ChildProcess>();
function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export interface ServerBinaries {
  etcdBin: string;
  etcdTsBin: string;
}

export interface Member {
  name: string;
  clientUrl: string;
  peerUrl: string;
  endpoint: string;
  dataDir: string;
  logFile: string;
  proc?: ChildProcess;
}

/** The command line of one member: etcd's flags, the same for both servers. */
export function memberArgs(m: Member, initialCluster: string, state: 'new' | 'existing' = 'new'): string[] {
  return [
    '--name', m.name, '--data-dir', m.dataDir,
    '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
    '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
    '--initial-cluster', initialCluster, '--initial-cluster-state', state,
    '--initial-cluster-token', 'native-bench',
  ];
}

export function commandFor(kind: ServerKind, bins: ServerBinaries): [string, string[]] {
  return kind === 'etcd' ? [bins.etcdBin, []] : [process.execPath, [bins.etcdTsBin]];
}

export class Cluster {
  readonly members: Member[] = [];
  private readonly baseDir: string;

  constructor(readonly kind: ServerKind, private readonly bins: ServerBinaries) {
    this.baseDir = mkdtempSync(join(tmpdir(), `native-bench-${kind}-`));
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  get initialCluster(): string {
    return this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  /** Creates and starts `size` fresh members; resolves when all answer Status. */
  async start(size: number): Promise<void> {
    for (let i = 0; i < size; i++) {
      const cp = await freePort();
      const pp = await freePort();
      this.members.push({
        name: `m${i}`,
        clientUrl: `http://127.0.0.1:${cp}`,
        peerUrl: `http://127.0.0.1:${pp}`,
        endpoint: `127.0.0.1:${cp}`,
        dataDir: join(this.baseDir, `m${i}.etcd`),
        logFile: join(this.baseDir, `m${i}.log`),
      });
    }
    for (const m of this.members) this.spawnMember(m, 'new');
    await Promise.all(this.members.map((m) => this.waitReady(m)));
  }

  private spawnMember(m: Member, state: 'new' | 'existing'): void {
    const [cmd, pre] = commandFor(this.kind, this.bins);
    const fd = openSync(m.logFile, 'a');
    const proc = spawn(cmd, [...pre, ...memberArgs(m, this.initialCluster, state)], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    m.proc = proc;
  }

  /** Resolves when the member answers a Status call; rejects if it exits or times out. */
  async waitReady(m: Member): Promise<void> {
    const deadline = performance.now() + START_MS_MAX;
    const conn = new EtcdConn(m.endpoint, 1000);
    try {
      for (;;) {
        if (m.proc?.exitCode !== null || m.proc?.signalCode) {
          throw new Error(`${this.kind} ${m.name} exited (${m.proc?.exitCode ?? m.proc?.signalCode}): ${this.lastLogLine(m)}\nlog tail:\n${this.logTail(m)}`);
        }
        try {
          const s = await conn.status();
          if (s.leader !== 0n) return;
        } catch {
          // not up yet
        }
        if (performance.now() > deadline) throw new Error(`${this.kind} ${m.name} not ready after ${START_MS_MAX} ms; log tail:\n${this.logTail(m)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      conn.close();
    }
  }

  /** The last non-empty log line, shortened: the likely reason a member stopped. */
  lastLogLine(m: Member): string {
    const l = this.logTail(m, 40).split('\n').filter((x) => x.trim().length > 0 && !/^\s+at /.test(x));
    const err = l.filter((x) => /error|fatal|panic/i.test(x)).pop();
    return (err ?? l.pop() ?? '').trim().slice(0, 200);
  }

  logTail(m: Member, lines = 15): string {
    try {
      return readFileSync(m.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Stops member i (SIGTERM, then SIGKILL), starts it again on the same data dir, and
   * returns the milliseconds from spawn until the first successful linearizable read.
   */
  async restartMember(i: number, probeKey: Buffer): Promise<number> {
    const m = this.members[i]!;
    await stopProc(m.proc);
    const t0 = performance.now();
    this.spawnMember(m, 'existing');
    const conn = new EtcdConn(m.endpoint, 1000);
    try {
      for (;;) {
        if (m.proc?.exitCode !== null) throw new Error(`${this.kind} ${m.name} exited on restart:\n${this.logTail(m)}`);
        try {
          await conn.range({ key: probeKey });
          return performance.now() - t0;
        } catch {
          if (performance.now() - t0 > START_MS_MAX * 5) throw new Error(`${this.kind} ${m.name} gave no read within ${START_MS_MAX * 5} ms`);
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    } finally {
      conn.close();
    }
  }

  pid(i: number): number {
    return this.members[i]?.proc?.pid ?? -1;
  }

  /** Stops every member and removes the data dirs. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => stopProc(m.proc)));
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}

async function stopProc(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), STOP_MS_MAX);
  await exited;
  clearTimeout(t);
}
