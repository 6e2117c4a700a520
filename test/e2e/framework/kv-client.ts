/**
 * The common KV interface every way in implements (style rule 14: one test body against every
 * way in), and helpers shared by the implementations.
 */

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

/** Implemented by kv-etcd3.ts, kv-gateway.ts and kv-etcdctl.ts. */
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


/** Every call has a deadline: a server that never answers fails the test instead of hanging it. */
export const CALL_DEADLINE_MS = 10_000;

/** The range end for a prefix: the key with its last byte below 0xff incremented. */
export function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export function rangeEndFor(key: Buffer, o: { prefix?: boolean; fromKey?: boolean; rangeEnd?: string }): Buffer | undefined {
  if (o.rangeEnd !== undefined) return Buffer.from(o.rangeEnd);
  if (o.prefix === true) return prefixEnd(key);
  if (o.fromKey === true) return Buffer.from([0]);
  return undefined;
}
