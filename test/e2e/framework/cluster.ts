/**
 * A one-member cluster of the server under test (see process.ts for which binary), started with
 * exactly the flags etcd documents for a single member:
 *
 *   --name N --data-dir D
 *   --listen-client-urls http://127.0.0.1:P --advertise-client-urls http://127.0.0.1:P
 *   --listen-peer-urls http://127.0.0.1:Q --initial-advertise-peer-urls http://127.0.0.1:Q
 *   --initial-cluster N=http://127.0.0.1:Q
 *
 * Ready means: a linearizable gRPC Range (etcdserverpb.KV/Range, key "health") succeeds.
 * That needs a leader and an applied log, which is what clients need too.
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

/** How long a member may take to become ready (ms). Override with ETCD_TEST_READY_TIMEOUT_MS. */
export const READY_TIMEOUT_MS = Number(process.env['ETCD_TEST_READY_TIMEOUT_MS'] ?? 20_000);

export interface ClusterOptions {
  name?: string;
  /** Data dir; default: a fresh temp dir's `data` subdirectory (not created: the server creates it). */
  dataDir?: string;
  /** Flags appended after the standard ones. */
  extraFlags?: string[];
  env?: NodeJS.ProcessEnv;
  kind?: ServerKind;
}


/** Handle on a single running member; restartable on the same data dir and ports. */
export class Cluster {
  readonly kind: ServerKind;
  readonly name: string;
  readonly dataDir: string;
  readonly workDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly logFile: string;
  private readonly extraFlags: string[];
  private readonly env: NodeJS.ProcessEnv | undefined;
  private proc: ServerProcess | undefined;
  private starts = 0;

  private constructor(opts: ClusterOptions, workDir: string, clientPort: number, peerPort: number) {
    this.kind = opts.kind ?? serverKind();
    this.name = opts.name ?? 'e2e';
    this.workDir = workDir;
    this.dataDir = opts.dataDir ?? join(workDir, 'data');
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.logFile = join(workDir, 'server.log');
    this.extraFlags = opts.extraFlags ?? [];
    this.env = opts.env;
  }

  /** Start a fresh member and wait until it is ready. */
  static async start(opts: ClusterOptions = {}): Promise<Cluster> {
    // A port found free can be taken by another test process before the server binds it:
    // if the first start fails on a busy address, try again on new ports (and a new dir).
    for (let attempt = 1; ; attempt++) {
      const workDir = makeTempDir();
      const c = new Cluster(opts, workDir, await freePort(), await freePort());
      try {
        await c.startProcess();
        return c;
      } catch (err) {
        await c.close();
        if (attempt >= 3 || !/address already in use|EADDRINUSE/i.test(c.logTail(200))) throw err;
      }
    }
  }

  get clientUrl(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }
  get peerUrl(): string {
    return `http://127.0.0.1:${this.peerPort}`;
  }
  /** host:port, as etcdctl --endpoints and the etcd3 client take it. */
  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }
  get endpoints(): string[] {
    return [this.endpoint];
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
      '--listen-peer-urls', this.peerUrl,
      '--initial-advertise-peer-urls', this.peerUrl,
      '--initial-cluster', `${this.name}=${this.peerUrl}`,
      ...this.extraFlags,
    ];
  }

  private async startProcess(): Promise<void> {
    this.starts++;
    const argv = [...serverCommand(this.kind), ...this.flags()];
    this.proc = startProcess(argv, { cwd: this.workDir, env: this.env ?? serverEnv(), logFile: this.logFile });
    await waitReady(this.endpoint, this.proc, READY_TIMEOUT_MS);
  }

  /** kill -9 the member (no shutdown path runs). */
  async kill9(): Promise<void> {
    await this.proc?.kill9();
  }

  /** Graceful stop (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    await this.proc?.stop();
  }

  /** Start again on the same data dir and ports (after kill9 or stop) and wait until ready. */
  async restart(): Promise<void> {
    if (this.proc !== undefined && this.proc.exit === undefined) await this.proc.stop();
    await this.startProcess();
  }

  /** Stop the member for good. Safe to call twice. */
  async close(): Promise<void> {
    await this.proc?.kill9();
  }

  /** The last lines of the member's output (stdout+stderr, every start). */
  logTail(lines = 60): string {
    return tailOfFile(this.logFile, lines);
  }

  describe(): string {
    return `${this.kind} server (${this.starts} start(s)), client ${this.clientUrl}, data dir ${this.dataDir}, log ${this.logFile}`;
  }
}

/**
 * The server's environment: ours minus ETCD_* and ETCDCTL_* (etcd reads ETCD_* as flags and warns
 * about unknown ones, e.g. ETCD_TEST_SERVER).
 */
export function serverEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD')) env[k] = v;
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
