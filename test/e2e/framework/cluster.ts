/**
 * A cluster of the server under test (see process.ts for which binary): one member by default,
 * or `size` members. Each member is started with exactly the flags etcd documents:
 *
 *   --name N --data-dir D
 *   --listen-client-urls http://127.0.0.1:P --advertise-client-urls http://127.0.0.1:P
 *   --listen-peer-urls http://127.0.0.1:Q --initial-advertise-peer-urls http://127.0.0.1:Q
 *   --initial-cluster N=http://127.0.0.1:Q[,N2=http://127.0.0.1:Q2,...]
 *
 * Ready means: a linearizable gRPC Range (etcdserverpb.KV/Range, key "health") succeeds on
 * every member. That needs a leader and an applied log, which is what clients need too.
 */
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import {
  makeTempDir,
  serverCommand,
  serverKind,
  sleep,
  startProcess,
  freePort,
  tailOfFile,
  type ServerKind,
  type ServerProcess,
} from './process.js';
import { PeerProxyNet, procSourceResolver } from './peer-proxy.js';

/** How long a member may take to become ready (ms). Override with ETCD_TEST_READY_TIMEOUT_MS. */
export const READY_TIMEOUT_MS = Number(process.env['ETCD_TEST_READY_TIMEOUT_MS'] ?? 60_000);

export interface ClusterOptions {
  /** Member name (one member) or name prefix (`<name>0`, `<name>1`, ... for several). */
  name?: string;
  /** Number of members (default 1). */
  size?: number;
  /** Data dir (one member only); default: `<work dir>/data` (not created: the server creates it). */
  dataDir?: string;
  /** Flags appended after the standard ones, on every member. */
  extraFlags?: string[];
  env?: NodeJS.ProcessEnv;
  kind?: ServerKind;
  /** Scheme of the peer URLs (default http; https needs peer TLS flags in extraFlags). */
  peerScheme?: 'http' | 'https';
  /**
   * Runs once the members have their names, ports and data dirs and before any is started
   * (e.g. to restore a snapshot into each data dir).
   */
  prepare?: (members: readonly Member[], initialCluster: string) => Promise<void>;
  /**
   * Put a test-controlled TCP proxy in front of every member's peer port (peer-proxy.ts): the
   * member listens on its own port and advertises the proxy's; `cluster.net` sets the links.
   */
  peerProxy?: boolean;
}

/** One member: a process with fixed ports, data dir and log file; restartable. */
export class Member {
  readonly name: string;
  readonly dataDir: string;
  readonly workDir: string;
  readonly clientPort: number;
  /** The peer port members dial (advertised): the proxy's when the cluster has one. */
  readonly peerPort: number;
  /** The port the member listens on for peers (--listen-peer-urls); peerPort without a proxy. */
  readonly listenPeerPort: number;
  readonly logFile: string;
  private proc: ServerProcess | undefined;
  private starts = 0;

  constructor(
    private readonly cluster: { kind: ServerKind; initialCluster: () => string; extraFlags: string[]; env: NodeJS.ProcessEnv | undefined; peerScheme: 'http' | 'https' },
    name: string,
    workDir: string,
    dataDir: string,
    clientPort: number,
    peerPort: number,
    listenPeerPort: number = peerPort,
  ) {
    this.name = name;
    this.workDir = workDir;
    this.dataDir = dataDir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.listenPeerPort = listenPeerPort;
    this.logFile = join(workDir, 'server.log');
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }
  get peerUrl(): string {
    return `${this.cluster.peerScheme}://127.0.0.1:${this.peerPort}`;
  }
  /** The URL the member listens on for peers (differs from peerUrl behind a proxy). */
  get listenPeerUrl(): string {
    return `${this.cluster.peerScheme}://127.0.0.1:${this.listenPeerPort}`;
  }
  /** host:port, as etcdctl --endpoints and the etcd3 client take it. */
  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }
  get process(): ServerProcess | undefined {
    return this.proc;
  }

  /** The exact flags used to start the member. */
  flags(): string[] {
    return [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.clientUrl,
      '--advertise-client-urls', this.clientUrl,
      '--listen-peer-urls', this.listenPeerUrl,
      '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', this.cluster.initialCluster(),
      ...this.cluster.extraFlags,
    ];
  }

  /** Spawn the process (does not wait for readiness). */
  spawn(): ServerProcess {
    this.starts++;
    const argv = [...serverCommand(this.cluster.kind), ...this.flags()];
    this.proc = startProcess(argv, { cwd: this.workDir, env: this.cluster.env ?? serverEnv(), logFile: this.logFile });
    return this.proc;
  }

  async waitReady(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    if (!this.proc) throw new Error(`member ${this.name} was never started`);
    await waitReady(this.endpoint, this.proc, timeoutMs);
  }

  /** kill -9 (no shutdown path runs). */
  async kill9(): Promise<void> {
    await this.proc?.kill9();
  }

  /** Graceful stop (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** Start again on the same data dir and ports and wait until ready. */
  async restart(): Promise<void> {
    if (this.proc !== undefined && this.proc.exit === undefined) await this.proc.stop();
    this.spawn();
    await this.waitReady();
  }

  logTail(lines = 60): string {
    return tailOfFile(this.logFile, lines);
  }

  describe(): string {
    return `member ${this.name} (${this.starts} start(s)), client ${this.clientUrl}, data dir ${this.dataDir}, log ${this.logFile}`;
  }
}

/** Handle on running members. The single-member accessors (endpoint, dataDir, ...) are member 0's. */
export class Cluster {
  readonly kind: ServerKind;
  readonly name: string;
  readonly members: Member[] = [];
  readonly extraFlags: string[];
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly peerScheme: 'http' | 'https';
  /** The peer proxies (ClusterOptions.peerProxy), or undefined. */
  net: PeerProxyNet | undefined;

  private constructor(opts: ClusterOptions) {
    this.kind = opts.kind ?? serverKind();
    this.peerScheme = opts.peerScheme ?? 'http';
    this.name = opts.name ?? 'e2e';
    this.extraFlags = opts.extraFlags ?? [];
    this.env = opts.env;
  }

  /** Start fresh members and wait until every one is ready. */
  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    const size = opts.size ?? 1;
    if (size > 1 && opts.dataDir !== undefined) throw new Error('dataDir is for one-member clusters');
    // A port found free can be taken by another test process before the server binds it:
    // if the first start fails on a busy address, try again on new ports (and new dirs).
    for (let attempt = 1; ; attempt++) {
      const c = new Cluster(opts);
      const names = Array.from({ length: size }, (_, i) => (size === 1 ? c.name : `${c.name}${i}`));
      const listenPeer = new Map<string, number>();
      for (const n of names) listenPeer.set(n, await freePort());
      if (opts.peerProxy === true) c.net = await PeerProxyNet.create(listenPeer, procSourceResolver(() => c.memberPids()));
      for (const name of names) {
        const workDir = makeTempDir();
        const dataDir = opts.dataDir ?? join(workDir, 'data');
        const listen = listenPeer.get(name)!;
        const advertised = c.net?.proxyPort(name) ?? listen;
        c.members.push(new Member(c.memberContext(), name, workDir, dataDir, await freePort(), advertised, listen));
      }
      try {
        await opts.prepare?.(c.members, c.memberContext().initialCluster());
        await c.startAll();
        return c;
      } catch (err) {
        await c.close();
        const busy = c.members.some((m) => /address already in use|EADDRINUSE/i.test(m.logTail(200)));
        if (attempt >= 3 || !busy) throw err;
      }
    }
  }

  /** pid -> member name of the running member processes. */
  memberPids(): Map<number, string> {
    const m = new Map<number, string>();
    for (const mem of this.members) {
      const p = mem.process;
      if (p?.pid !== undefined && p.exit === undefined) m.set(p.pid, mem.name);
    }
    return m;
  }

  member(name: string): Member {
    const m = this.members.find((x) => x.name === name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  private memberContext() {
    return {
      kind: this.kind,
      initialCluster: () => this.members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
      extraFlags: this.extraFlags,
      env: this.env,
      peerScheme: this.peerScheme,
    };
  }

  private async startAll(): Promise<void> {
    for (const m of this.members) m.spawn();
    await Promise.all(this.members.map((m) => m.waitReady()));
  }

  private get first(): Member {
    return this.members[0]!;
  }
  get dataDir(): string {
    return this.first.dataDir;
  }
  get workDir(): string {
    return this.first.workDir;
  }
  get clientPort(): number {
    return this.first.clientPort;
  }
  get peerPort(): number {
    return this.first.peerPort;
  }
  get logFile(): string {
    return this.first.logFile;
  }
  get clientUrl(): string {
    return this.first.clientUrl;
  }
  get peerUrl(): string {
    return this.first.peerUrl;
  }
  /** Member 0's host:port. */
  get endpoint(): string {
    return this.first.endpoint;
  }
  /** Every member's host:port. */
  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }
  get process(): ServerProcess | undefined {
    return this.first.process;
  }
  /** Member 0's flags. */
  flags(): string[] {
    return this.first.flags();
  }

  /** kill -9 every member. */
  async kill9(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill9()));
  }

  /** Graceful stop of every member. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }

  /** Start every member again on the same data dirs and ports and wait until all are ready. */
  async restart(): Promise<void> {
    await Promise.all(this.members.map((m) => (m.process !== undefined && m.process.exit === undefined ? m.stop() : undefined)));
    await this.startAll();
  }

  /** Stop every member for good. Safe to call twice. */
  async close(): Promise<void> {
    await this.kill9();
    await this.net?.close();
  }

  /** The last lines of every member's output (stdout+stderr, every start). */
  logTail(lines = 60): string {
    if (this.members.length === 1) return this.first.logTail(lines);
    return this.members.map((m) => `=== ${m.name}\n${m.logTail(lines)}`).join('\n');
  }

  describe(): string {
    return `${this.kind} server, ${this.members.map((m) => m.describe()).join('; ')}`;
  }
}

/**
 * The server's environment: ours minus ETCD_* and ETCDCTL_* (etcd reads ETCD_* as flags and warns
 * about unknown ones, e.g. ETCD_TEST_SERVER). ETCDTS_* (etcd-ts's own switches, e.g.
 * ETCDTS_GRPC_TRANSPORT) pass through.
 */
export function serverEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD') || k.startsWith('ETCDTS_')) env[k] = v;
  return { ...env, ...extra };
}

/** One raw unary call with identity (de)serialisers: bytes in, bytes out. */
export function rawUnary(
  client: grpc.Client,
  path: string,
  request: Buffer,
  deadlineMs = 2000,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err, value) => {
        if (err) reject(err);
        else resolve(value ?? Buffer.alloc(0));
      },
    );
  });
}

/** RangeRequest{key: "health"} encoded by hand: field 1, wire type 2. */
const HEALTH_RANGE = Buffer.concat([Buffer.from([0x0a, 6]), Buffer.from('health')]);

/**
 * Poll until a linearizable Range succeeds, the process exits (error with its log tail), or the
 * timeout passes (error with its log tail).
 */
export async function waitReady(endpoint: string, proc: ServerProcess, timeoutMs: number): Promise<void> {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  try {
    while (Date.now() < deadline) {
      if (proc.exit !== undefined) {
        throw new Error(
          `server exited before it was ready (code ${proc.exit.code}, signal ${proc.exit.signal})\n` +
            `argv: ${proc.argv.join(' ')}\n--- log tail ---\n${proc.tail()}`,
        );
      }
      try {
        await rawUnary(client, '/etcdserverpb.KV/Range', HEALTH_RANGE, 1000);
        return;
      } catch (err) {
        // A store with auth enabled (a restored snapshot, a restart) refuses the anonymous read
        // only after the request went through the whole read path: the member is ready.
        if ((err as { details?: string }).details === 'etcdserver: user name is empty') return;
        lastErr = err;
      }
      await sleep(100);
    }
    throw new Error(
      `server not ready after ${timeoutMs} ms (last error: ${String(lastErr)})\n` +
        `argv: ${proc.argv.join(' ')}\n--- log tail ---\n${proc.tail()}`,
    );
  } finally {
    client.close();
  }
}
