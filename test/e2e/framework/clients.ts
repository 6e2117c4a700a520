/**
 * Ways in: the clients a test body can be run through (style rule 14: one test body against
 * every way in).
 *
 *   - `etcdctl`   : the real etcdctl 3.4 (ETCDCTL_BIN, default `etcdctl` on PATH), ETCDCTL_API=3;
 *   - `etcd3`     : the etcd3 npm client (its raw KV service, so revisions/count/more are visible);
 *   - `our-etcdctl`: the project's bin/etcdctl, once built (dist/src/cli/etcdctl/main.js).
 *
 * `kvClients()` lists the ones available on this machine; ETCD_TEST_CLIENTS=etcd3,etcdctl narrows it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { REPO_ROOT } from './process.js';

// ---------------------------------------------------------------------------------------------
// Raw etcdctl runner

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal (then `signal` is set). */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type EtcdctlKind = 'etcdctl' | 'our-etcdctl';

/** Argv prefix for an etcdctl of the given kind. */
export function etcdctlCommand(kind: EtcdctlKind = 'etcdctl'): string[] {
  if (kind === 'our-etcdctl') return [process.execPath, join(REPO_ROOT, 'bin', 'etcdctl')];
  return [process.env['ETCDCTL_BIN'] ?? 'etcdctl'];
}

/** Why an etcdctl of this kind cannot run here, or undefined. */
export function etcdctlUnavailableReason(kind: EtcdctlKind = 'etcdctl'): string | undefined {
  if (kind === 'our-etcdctl') {
    const main = join(REPO_ROOT, 'dist', 'src', 'cli', 'etcdctl', 'main.js');
    return existsSync(main) ? undefined : `our etcdctl is not built yet (${main} missing)`;
  }
  const bin = etcdctlCommand(kind)[0]!;
  const r = spawnSync(bin, ['version'], { env: etcdctlEnv(), encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    return `etcdctl not runnable (${bin}: ${r.error?.message ?? r.stderr}); install Debian's etcd-client`;
  }
  return undefined;
}

/** The environment for etcdctl: ours minus any ETCDCTL_* the caller had, plus ETCDCTL_API=3. */
export function etcdctlEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_')) env[k] = v;
  env['ETCDCTL_API'] = '3';
  return env;
}

export interface RunOptions {
  stdin?: string;
  timeoutMs?: number;
  kind?: EtcdctlKind;
}

/** Run `etcdctl --endpoints=<endpoints> <args...>` and collect its output and exit code. */
export function runEtcdctl(endpoints: string[], args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const [bin, ...pre] = etcdctlCommand(opts.kind);
  const argv = [...pre, `--endpoints=${endpoints.join(',')}`, ...args];
  return runCommand(bin!, argv, opts.stdin, opts.timeoutMs ?? 30_000, etcdctlEnv());
}

export function runCommand(
  bin: string,
  argv: string[],
  stdin: string | undefined,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, argv, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
    child.stdin.on('error', () => {
      /* the process may exit before reading stdin */
    });
    child.stdin.end(stdin ?? '');
  });
}

// ---------------------------------------------------------------------------------------------
// The common KV client interface

export interface Kv {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export interface GetOptions {
  /** Explicit range end [key, rangeEnd). */
  rangeEnd?: string;
  prefix?: boolean;
  fromKey?: boolean;
  limit?: number;
  revision?: number;
  serializable?: boolean;
  sortOrder?: 'ASCEND' | 'DESCEND';
  sortTarget?: 'KEY' | 'VERSION' | 'CREATE' | 'MODIFY' | 'VALUE';
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface GetResult {
  revision: number;
  kvs: Kv[];
  count: number;
  more: boolean;
}

export interface DelOptions {
  prefix?: boolean;
  fromKey?: boolean;
  prevKv?: boolean;
}

export interface Compare {
  key: string;
  target: 'value' | 'version' | 'create' | 'mod';
  result: '=' | '!=' | '<' | '>';
  /** A string for `value`, a number for the others. */
  value: string | number;
}

export type Op = { put: { key: string; value: string } } | { get: { key: string } } | { del: { key: string } };

export interface TxnResult {
  revision: number;
  succeeded: boolean;
  /** Range results of `get` ops, in order (other ops omitted). */
  gets: Kv[][];
}

/** Thrown by every client for an error answer; `message` is etcd's message (e.g. "etcdserver: ..."). */
export class ClientError extends Error {}

/**
 * The modules below (etcd3, gateway, etcdctl) each implement KvClient; see the bottom of the
 * file for the HTTP/JSON gateway.
 */
export interface KvClient {
  readonly name: string;
  /** etcdctl 3.4 has no --count-only (it came in 3.5). */
  readonly supportsCountOnly: boolean;
  put(key: string, value: string, opts?: { prevKv?: boolean }): Promise<{ revision: number; prevKv?: Kv }>;
  get(key: string, opts?: GetOptions): Promise<GetResult>;
  del(key: string, opts?: DelOptions): Promise<{ revision: number; deleted: number; prevKvs: Kv[] }>;
  txn(compare: Compare[], success: Op[], failure: Op[]): Promise<TxnResult>;
  compact(revision: number, physical?: boolean): Promise<void>;
  close(): void;
}

export type KvClientName = 'etcd3' | 'gateway' | EtcdctlKind;
export const ALL_KV_CLIENTS: readonly KvClientName[] = ['etcd3', 'gateway', 'etcdctl', 'our-etcdctl'];

/** Why a client cannot be used here, or undefined. */
export function kvClientUnavailableReason(name: KvClientName): string | undefined {
  const only = process.env['ETCD_TEST_CLIENTS'];
  if (only !== undefined && only !== '' && !only.split(',').map((s) => s.trim()).includes(name)) {
    return `not in ETCD_TEST_CLIENTS=${only}`;
  }
  if (name === 'etcd3' || name === 'gateway') return undefined;
  return etcdctlUnavailableReason(name);
}

export function makeKvClient(name: KvClientName, endpoints: string[]): KvClient {
  if (name === 'etcd3') return new Etcd3KvClient(endpoints);
  if (name === 'gateway') return new GatewayKvClient(endpoints[0]!);
  return new EtcdctlKvClient(name, endpoints);
}

// ---------------------------------------------------------------------------------------------
// etcd3 npm client

function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

interface RawKv {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}

function fromRawKv(k: RawKv): Kv {
  return {
    key: k.key.toString(),
    value: k.value.toString(),
    createRevision: Number(k.create_revision),
    modRevision: Number(k.mod_revision),
    version: Number(k.version),
    lease: Number(k.lease),
  };
}

const SORT_TARGET = { KEY: 'Key', VERSION: 'Version', CREATE: 'Create', MODIFY: 'Mod', VALUE: 'Value' } as const;

function rangeEndFor(key: Buffer, o: { prefix?: boolean; fromKey?: boolean; rangeEnd?: string }): Buffer | undefined {
  if (o.rangeEnd !== undefined) return Buffer.from(o.rangeEnd);
  if (o.prefix === true) return prefixEnd(key);
  if (o.fromKey === true) return Buffer.from([0]);
  return undefined;
}

/** Every call has a deadline: a server that never answers fails the test instead of hanging it. */
export const CALL_DEADLINE_MS = 10_000;
function callOptions(): { deadline: number } {
  return { deadline: Date.now() + CALL_DEADLINE_MS };
}

async function wrapGrpc<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    // grpc-js writes "<code> <NAME>: <details>"; keep etcd's message (the details) only.
    const msg = err instanceof Error ? err.message : String(err);
    throw new ClientError(msg.replace(/^\d+ [A-Z_]+: /, ''));
  }
}

export class Etcd3KvClient implements KvClient {
  readonly name = 'etcd3';
  readonly supportsCountOnly = true;
  readonly client: Etcd3;

  constructor(endpoints: string[]) {
    this.client = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`) });
  }

  async put(key: string, value: string, opts: { prevKv?: boolean } = {}) {
    const r = await wrapGrpc(this.client.kv.put({ key: Buffer.from(key), value: Buffer.from(value), prev_kv: opts.prevKv === true }, callOptions()));
    const out: { revision: number; prevKv?: Kv } = { revision: Number(r.header.revision) };
    if (r.prev_kv) out.prevKv = fromRawKv(r.prev_kv as unknown as RawKv);
    return out;
  }

  async get(key: string, o: GetOptions = {}): Promise<GetResult> {
    // as etcdctl does: an empty key with --from-key means "from \0", i.e. everything
    const k = key === '' && o.fromKey === true ? Buffer.from([0]) : Buffer.from(key);
    const range_end = rangeEndFor(k, o);
    const r = await wrapGrpc(
      this.client.kv.range({
        key: k,
        ...(range_end ? { range_end } : {}),
        limit: o.limit ?? 0,
        revision: o.revision ?? 0,
        serializable: o.serializable === true,
        sort_order: o.sortOrder === undefined ? 'None' : o.sortOrder === 'ASCEND' ? 'Ascend' : 'Descend',
        sort_target: SORT_TARGET[o.sortTarget ?? 'KEY'],
        keys_only: o.keysOnly === true,
        count_only: o.countOnly === true,
      }, callOptions()),
    );
    return {
      revision: Number(r.header.revision),
      kvs: (r.kvs as unknown as RawKv[]).map(fromRawKv),
      count: Number(r.count),
      more: r.more === true,
    };
  }

  async del(key: string, o: DelOptions = {}) {
    const k = Buffer.from(key);
    const range_end = rangeEndFor(k, o);
    const r = await wrapGrpc(this.client.kv.deleteRange({ key: k, ...(range_end ? { range_end } : {}), prev_kv: o.prevKv === true }, callOptions()));
    return {
      revision: Number(r.header.revision),
      deleted: Number(r.deleted),
      prevKvs: ((r.prev_kvs ?? []) as unknown as RawKv[]).map(fromRawKv),
    };
  }

  async txn(compare: Compare[], success: Op[], failure: Op[]): Promise<TxnResult> {
    const cmpResult = { '=': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;
    const cmpTarget = { value: 'Value', version: 'Version', create: 'Create', mod: 'Mod' } as const;
    const toReq = (op: Op) => {
      if ('put' in op) return { request_put: { key: Buffer.from(op.put.key), value: Buffer.from(op.put.value) } };
      if ('get' in op) return { request_range: { key: Buffer.from(op.get.key) } };
      return { request_delete_range: { key: Buffer.from(op.del.key) } };
    };
    const r = await wrapGrpc(
      this.client.kv.txn({
        compare: compare.map((c) => ({
          key: Buffer.from(c.key),
          target: cmpTarget[c.target],
          result: cmpResult[c.result],
          ...(c.target === 'value'
            ? { value: Buffer.from(String(c.value)) }
            : c.target === 'version'
              ? { version: Number(c.value) }
              : c.target === 'create'
                ? { create_revision: Number(c.value) }
                : { mod_revision: Number(c.value) }),
        })),
        success: success.map(toReq),
        failure: failure.map(toReq),
      }, callOptions()),
    );
    const gets: Kv[][] = [];
    for (const resp of r.responses) {
      if (resp.response_range) gets.push((resp.response_range.kvs as unknown as RawKv[]).map(fromRawKv));
    }
    return { revision: Number(r.header.revision), succeeded: r.succeeded, gets };
  }

  async compact(revision: number, physical = false): Promise<void> {
    await wrapGrpc(this.client.kv.compact({ revision, physical }, callOptions()));
  }

  close(): void {
    this.client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// etcdctl (3.4 or ours), through -w json

interface JsonKv {
  key?: string;
  value?: string;
  create_revision?: number;
  mod_revision?: number;
  version?: number;
  lease?: number;
}
interface JsonHeader {
  revision?: number;
}

function fromJsonKv(k: JsonKv): Kv {
  return {
    key: Buffer.from(k.key ?? '', 'base64').toString(),
    value: Buffer.from(k.value ?? '', 'base64').toString(),
    createRevision: k.create_revision ?? 0,
    modRevision: k.mod_revision ?? 0,
    version: k.version ?? 0,
    lease: k.lease ?? 0,
  };
}

/** Quote a txn operand for etcdctl's interactive txn syntax. */
function q(s: string): string {
  return JSON.stringify(s);
}

export class EtcdctlKvClient implements KvClient {
  readonly name: EtcdctlKind;
  readonly supportsCountOnly = false;
  private readonly endpoints: string[];

  constructor(kind: EtcdctlKind, endpoints: string[]) {
    this.name = kind;
    this.endpoints = endpoints;
  }

  /** Run and parse JSON stdout; an error exit becomes a ClientError with etcd's message. */
  private async json<T>(args: string[], stdin?: string): Promise<T> {
    const r = await runEtcdctl(this.endpoints, ['-w', 'json', ...args], { kind: this.name, ...(stdin !== undefined ? { stdin } : {}) });
    if (r.code !== 0) {
      const line = r.stderr.split('\n').find((l) => l.startsWith('Error: ')) ?? r.stderr.trim();
      throw new ClientError(line.replace(/^Error:\s*/, ''));
    }
    try {
      return JSON.parse(r.stdout) as T;
    } catch {
      throw new Error(`etcdctl ${args.join(' ')}: stdout is not JSON: ${JSON.stringify(r.stdout)} (stderr ${JSON.stringify(r.stderr)})`);
    }
  }

  async put(key: string, value: string, opts: { prevKv?: boolean } = {}) {
    const r = await this.json<{ header: JsonHeader; prev_kv?: JsonKv }>(['put', ...(opts.prevKv ? ['--prev-kv'] : []), '--', key, value]);
    const out: { revision: number; prevKv?: Kv } = { revision: r.header.revision ?? 0 };
    if (r.prev_kv) out.prevKv = fromJsonKv(r.prev_kv);
    return out;
  }

  async get(key: string, o: GetOptions = {}): Promise<GetResult> {
    const args = ['get'];
    if (o.prefix) args.push('--prefix');
    if (o.fromKey) args.push('--from-key');
    if (o.limit !== undefined) args.push(`--limit=${o.limit}`);
    if (o.revision !== undefined) args.push(`--rev=${o.revision}`);
    if (o.serializable) args.push('--consistency=s');
    if (o.sortOrder) args.push(`--order=${o.sortOrder}`);
    if (o.sortTarget) args.push(`--sort-by=${o.sortTarget}`);
    if (o.keysOnly) args.push('--keys-only');
    if (o.countOnly) args.push('--count-only');
    args.push('--', key);
    if (o.rangeEnd !== undefined) args.push(o.rangeEnd);
    const r = await this.json<{ header: JsonHeader; kvs?: JsonKv[]; count?: number; more?: boolean }>(args);
    return { revision: r.header.revision ?? 0, kvs: (r.kvs ?? []).map(fromJsonKv), count: r.count ?? 0, more: r.more === true };
  }

  async del(key: string, o: DelOptions = {}) {
    const args = ['del'];
    if (o.prefix) args.push('--prefix');
    if (o.fromKey) args.push('--from-key');
    if (o.prevKv) args.push('--prev-kv');
    args.push('--', key);
    const r = await this.json<{ header: JsonHeader; deleted?: number; prev_kvs?: JsonKv[] }>(args);
    return { revision: r.header.revision ?? 0, deleted: r.deleted ?? 0, prevKvs: (r.prev_kvs ?? []).map(fromJsonKv) };
  }

  async txn(compare: Compare[], success: Op[], failure: Op[]): Promise<TxnResult> {
    const op = (o: Op): string =>
      'put' in o ? `put ${q(o.put.key)} ${q(o.put.value)}` : 'get' in o ? `get ${q(o.get.key)}` : `del ${q(o.del.key)}`;
    const cmp = (c: Compare): string => `${c.target}(${q(c.key)}) ${c.result} ${q(String(c.value))}`;
    const stdin = [...compare.map(cmp), '', ...success.map(op), '', ...failure.map(op), ''].join('\n') + '\n';
    type JsonResp = { Response?: { ResponseRange?: { kvs?: JsonKv[] }; response_range?: { kvs?: JsonKv[] } } };
    const r = await this.json<{ header: JsonHeader; succeeded?: boolean; responses?: JsonResp[] }>(['txn'], stdin);
    const gets: Kv[][] = [];
    for (const resp of r.responses ?? []) {
      const rr = resp.Response?.ResponseRange ?? resp.Response?.response_range;
      if (rr) gets.push((rr.kvs ?? []).map(fromJsonKv));
    }
    return { revision: r.header.revision ?? 0, succeeded: r.succeeded === true, gets };
  }

  async compact(revision: number, physical = false): Promise<void> {
    const r = await runEtcdctl(this.endpoints, ['compaction', ...(physical ? ['--physical'] : []), String(revision)], { kind: this.name });
    if (r.code !== 0) {
      const line = r.stderr.split('\n').find((l) => l.startsWith('Error: ')) ?? r.stderr.trim();
      throw new ClientError(line.replace(/^Error:\s*/, ''));
    }
  }

  close(): void {
    /* stateless */
  }
}

// ---------------------------------------------------------------------------------------------
// The HTTP/JSON gateway on the client port (POST /v3/kv/...): bytes as base64, int64 as strings,
// zero values omitted, errors as {"error","message","code"} with an HTTP status.

interface GwKv {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}
interface GwHeader {
  revision?: string;
}

function fromGwKv(k: GwKv): Kv {
  return {
    key: Buffer.from(k.key ?? '', 'base64').toString(),
    value: Buffer.from(k.value ?? '', 'base64').toString(),
    createRevision: Number(k.create_revision ?? 0),
    modRevision: Number(k.mod_revision ?? 0),
    version: Number(k.version ?? 0),
    lease: Number(k.lease ?? 0),
  };
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

export class GatewayKvClient implements KvClient {
  readonly name = 'gateway';
  readonly supportsCountOnly = true;
  private readonly base: string;

  constructor(endpoint: string) {
    this.base = `http://${endpoint}`;
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(this.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_DEADLINE_MS),
    });
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new Error(`POST ${path}: HTTP ${res.status}, body is not JSON: ${JSON.stringify(text)}`);
    }
    if (res.status !== 200 || typeof json['error'] === 'string') {
      throw new ClientError(String(json['message'] ?? json['error']));
    }
    return json as T;
  }

  private rangeFields(key: string, o: { prefix?: boolean; fromKey?: boolean; rangeEnd?: string }): Record<string, string> {
    const k = key === '' && o.fromKey === true ? Buffer.from([0]) : Buffer.from(key);
    const end = rangeEndFor(k, o);
    return { key: b64(k), ...(end ? { range_end: b64(end) } : {}) };
  }

  async put(key: string, value: string, opts: { prevKv?: boolean } = {}) {
    const r = await this.post<{ header: GwHeader; prev_kv?: GwKv }>('/v3/kv/put', { key: b64(key), value: b64(value), prev_kv: opts.prevKv === true });
    const out: { revision: number; prevKv?: Kv } = { revision: Number(r.header.revision ?? 0) };
    if (r.prev_kv) out.prevKv = fromGwKv(r.prev_kv);
    return out;
  }

  async get(key: string, o: GetOptions = {}): Promise<GetResult> {
    const r = await this.post<{ header: GwHeader; kvs?: GwKv[]; count?: string; more?: boolean }>('/v3/kv/range', {
      ...this.rangeFields(key, o),
      limit: String(o.limit ?? 0),
      revision: String(o.revision ?? 0),
      serializable: o.serializable === true,
      sort_order: o.sortOrder ?? 'NONE',
      sort_target: o.sortTarget === 'MODIFY' ? 'MOD' : (o.sortTarget ?? 'KEY'),
      keys_only: o.keysOnly === true,
      count_only: o.countOnly === true,
    });
    return {
      revision: Number(r.header.revision ?? 0),
      kvs: (r.kvs ?? []).map(fromGwKv),
      count: Number(r.count ?? 0),
      more: r.more === true,
    };
  }

  async del(key: string, o: DelOptions = {}) {
    const r = await this.post<{ header: GwHeader; deleted?: string; prev_kvs?: GwKv[] }>('/v3/kv/deleterange', {
      ...this.rangeFields(key, o),
      prev_kv: o.prevKv === true,
    });
    return { revision: Number(r.header.revision ?? 0), deleted: Number(r.deleted ?? 0), prevKvs: (r.prev_kvs ?? []).map(fromGwKv) };
  }

  async txn(compare: Compare[], success: Op[], failure: Op[]): Promise<TxnResult> {
    const result = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const;
    const target = { value: 'VALUE', version: 'VERSION', create: 'CREATE', mod: 'MOD' } as const;
    const field = { value: 'value', version: 'version', create: 'create_revision', mod: 'mod_revision' } as const;
    const op = (o: Op) =>
      'put' in o
        ? { request_put: { key: b64(o.put.key), value: b64(o.put.value) } }
        : 'get' in o
          ? { request_range: { key: b64(o.get.key) } }
          : { request_delete_range: { key: b64(o.del.key) } };
    const r = await this.post<{ header: GwHeader; succeeded?: boolean; responses?: { response_range?: { kvs?: GwKv[] } }[] }>('/v3/kv/txn', {
      compare: compare.map((c) => ({
        key: b64(c.key),
        target: target[c.target],
        result: result[c.result],
        [field[c.target]]: c.target === 'value' ? b64(String(c.value)) : String(c.value),
      })),
      success: success.map(op),
      failure: failure.map(op),
    });
    const gets: Kv[][] = [];
    for (const resp of r.responses ?? []) if (resp.response_range) gets.push((resp.response_range.kvs ?? []).map(fromGwKv));
    return { revision: Number(r.header.revision ?? 0), succeeded: r.succeeded === true, gets };
  }

  async compact(revision: number, physical = false): Promise<void> {
    await this.post('/v3/kv/compaction', { revision: String(revision), physical });
  }

  close(): void {
    /* stateless */
  }
}
