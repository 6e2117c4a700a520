/**
 * KvClient through the HTTP/JSON gateway on the client port (POST /v3/kv/...): bytes as
 * base64, int64 as strings, zero values omitted, errors as {"error","message","code"} with an
 * HTTP status.
 */
import {
  CALL_DEADLINE_MS,
  ClientError,
  rangeEndFor,
  type Compare,
  type DelOptions,
  type GetOptions,
  type GetResult,
  type Kv,
  type KvClient,
  type Op,
  type TxnResult,
} from './kv-client.js';

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

