/**
 * Overload slows clients down; it does not fail them. 1,000 concurrent clients (100 HTTP/2
 * connections, 10 clients each, every client with one put in flight at a time) write unique
 * keys for ETCD_TEST_OVERLOAD_SECONDS (default 30). Checked:
 *   - zero errors: every put is acknowledged (none answered "too many requests");
 *   - after a clean restart every acknowledged key is present with its value at its revision.
 * How fast is not checked here (benchmarks measure that): only that nobody fails.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { etcdserverpb } from '../../src/proto/pb.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';

const SECONDS = Number(process.env['ETCD_TEST_OVERLOAD_SECONDS'] ?? 30);
const CONNECTIONS = 100;
const CLIENTS_PER_CONNECTION = 10;

describe('1,000 concurrent clients: no errors, nothing lost', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS + SECONDS * 1000 }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    await cluster?.close();
  });

  it(`${CONNECTIONS * CLIENTS_PER_CONNECTION} clients write for ${SECONDS} s; every put succeeds and survives a restart`, async (t) => {
    cluster = await Cluster.start({ name: 'overload' });
    // A local subchannel pool per client object: 100 separate connections, as 100 client processes would have.
    const conns = Array.from({ length: CONNECTIONS }, () => new RawEtcdClient(cluster!.endpoint, { 'grpc.use_local_subchannel_pool': 1 }));
    const acked: { key: string; value: string; revision: number }[] = [];
    const errors = new Map<string, number>();
    const value = 'x'.repeat(256);
    const endAt = Date.now() + SECONDS * 1000;
    try {
      const client = async (c: number, k: number): Promise<void> => {
        const conn = conns[c]!;
        for (let seq = 0; Date.now() < endAt; seq++) {
          const key = `ov/${String(c).padStart(3, '0')}/${k}/${seq}`;
          const r = await conn.call('/etcdserverpb.KV/Put', etcdserverpb.PutRequest.encode({ key: Buffer.from(key), value: Buffer.from(value) }).finish(), 60_000);
          if (r.ok) acked.push({ key, value, revision: Number(etcdserverpb.PutResponse.decode(r.bytes).header?.revision) });
          else errors.set(`${r.error.code} ${r.error.details}`, (errors.get(`${r.error.code} ${r.error.details}`) ?? 0) + 1);
        }
      };
      await Promise.all(conns.flatMap((_, c) => Array.from({ length: CLIENTS_PER_CONNECTION }, (_, k) => client(c, k))));
      t.diagnostic(`${acked.length} puts acknowledged in ${SECONDS} s (${Math.round(acked.length / SECONDS)}/s), errors: ${JSON.stringify([...errors])}`);
      assert.deepEqual([...errors], [], 'no put failed');
      assert.ok(acked.length >= CONNECTIONS * CLIENTS_PER_CONNECTION, 'every client got at least one answer');
      assert.equal(new Set(acked.map((a) => a.revision)).size, acked.length, 'every put has its own revision');

      await cluster.restart();
      const raw = new RawEtcdClient(cluster.endpoint);
      try {
        const r = await raw.range({ key: Buffer.from('ov/'), rangeEnd: Buffer.from('ov0') });
        if (!r.ok) assert.fail(`range after restart failed: ${r.error.details}`);
        const stored = new Map(r.value.kvs.map((kv) => [Buffer.from(kv.key ?? []).toString(), kv]));
        for (const a of acked) {
          const kv = stored.get(a.key);
          assert.ok(kv !== undefined, `acknowledged ${a.key} is missing after restart`);
          assert.equal(Number(kv.modRevision), a.revision, `${a.key}: revision`);
          assert.equal(Buffer.from(kv.value ?? []).toString(), a.value, `${a.key}: value`);
        }
      } finally {
        raw.close();
      }
    } catch (err) {
      reportServerLog(cluster, 'overload');
      throw err;
    } finally {
      for (const c of conns) c.close();
    }
  });
});
