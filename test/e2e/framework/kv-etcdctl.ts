/** KvClient through etcdctl (the real 3.4, or ours) with `-w json`. */
import { runEtcdctl, type EtcdctlKind } from './etcdctl.js';
import {
  ClientError,
  type Compare,
  type DelOptions,
  type GetOptions,
  type GetResult,
  type Kv,
  type KvClient,
  type Op,
  type TxnResult,
} from './kv-client.js';

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

