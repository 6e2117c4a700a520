/** KvClient through the etcd3 npm client (its raw KV service, so revisions, count and more are visible). */
import { Etcd3 } from 'etcd3';
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

