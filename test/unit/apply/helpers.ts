/** Test helpers: a temp store, entry encoding, response decoding. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { LmdbBackend } from '../../../src/backend/backend.js';
import { Applier } from '../../../src/apply/applier.js';
import type { ApplyResult, LeaseLookup } from '../../../src/apply/interface.js';
import { LmdbKvReader } from '../../../src/mvcc/kvstore.js';
import { EntryType, type Entry } from '../../../src/raftpb/types.js';

export const b = (s: string): Uint8Array => Buffer.from(s);
export const s = (u: Uint8Array | null | undefined): string => Buffer.from(u ?? []).toString();

export class Harness {
  readonly dir: string;
  readonly path: string;
  backend!: LmdbBackend;
  applier!: Applier;
  reader!: LmdbKvReader;
  nextIndex = 1;
  nextId = 1n;

  constructor(readonly leases?: LeaseLookup) {
    this.dir = mkdtempSync(join(tmpdir(), 'etcd-ts-mvcc-'));
    this.path = join(this.dir, 'member', 'snap', 'db');
    this.open();
  }

  open(): void {
    // MVCC logic, not durability: commits without fdatasync keep these tests fast (the production
    // mode's durability is test/fault/power-loss.test.ts's job).
    this.backend = LmdbBackend.open({ path: this.path, writable: true, syncMode: 'noSync' });
    this.applier = new Applier({ backend: this.backend, ...(this.leases ? { leases: this.leases } : {}) });
    this.reader = new LmdbKvReader(this.backend);
    this.nextIndex = this.applier.appliedIndex() + 1;
  }

  async reopen(): Promise<void> {
    await this.backend.close();
    this.open();
  }

  async close(): Promise<void> {
    await this.backend.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  entry(req: etcdserverpb.InternalRaftRequest.$Properties): Entry {
    const id = this.nextId++;
    const data = etcdserverpb.InternalRaftRequest.encode({ ...req, header: { ...req.header, ID: id } }).finish();
    return { term: 1, index: this.nextIndex++, type: EntryType.Normal, data };
  }

  apply(req: etcdserverpb.InternalRaftRequest.$Properties): ApplyResult {
    const [r] = this.applier.applyEntries([this.entry(req)]);
    if (r === undefined) throw new Error('no result');
    return r;
  }

  put(key: string, value: string, extra: etcdserverpb.PutRequest.$Properties = {}): etcdserverpb.PutResponse {
    const r = this.apply({ put: { key: b(key), value: b(value), ...extra } });
    if (r.errorCode) throw new Error(r.errorCode);
    return etcdserverpb.PutResponse.decode(r.response!);
  }

  del(key: string, rangeEnd?: string | Uint8Array, prevKv = false): etcdserverpb.DeleteRangeResponse {
    const re = rangeEnd === undefined ? undefined : typeof rangeEnd === 'string' ? b(rangeEnd) : rangeEnd;
    const r = this.apply({ deleteRange: { key: b(key), ...(re ? { rangeEnd: re } : {}), prevKv } });
    if (r.errorCode) throw new Error(r.errorCode);
    return etcdserverpb.DeleteRangeResponse.decode(r.response!);
  }

  txn(t: etcdserverpb.TxnRequest.$Properties): { res: ApplyResult; resp?: etcdserverpb.TxnResponse } {
    const res = this.apply({ txn: t });
    return res.response ? { res, resp: etcdserverpb.TxnResponse.decode(res.response) } : { res };
  }

  compact(revision: number, physical = false): ApplyResult {
    return this.apply({ compaction: { revision, physical } });
  }

  get(key: string, extra: etcdserverpb.RangeRequest.$Properties = {}) {
    return this.reader.range({ key: b(key), ...extra });
  }
}
