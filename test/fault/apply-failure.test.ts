/**
 * An apply failure stops the member before its batch commits, and no acknowledged write is
 * lost (issue "answers that are never taken back").
 *
 * The member runs with ETCD_TS_FAULT_APPLY_PUT_KEY=poison (src/server/apply-fault.ts): a batch
 * holding a put to `poison` fails inside the applier as a full disk or a bug would. Writers put
 * unique keys concurrently; after a number of acknowledgements one of them puts `poison` (a
 * plain put, so it may be acknowledged at commit, before its apply fails). Checked:
 *   - the member exits by itself, non-zero, and its log names the failed entry;
 *   - no read sent after the poison put was acknowledged succeeds (reads wait until the store
 *     holds what was acknowledged, and the poison batch never commits): the member answers
 *     nothing that contradicts an answer it gave;
 *   - restarted without the fault, the store holds every acknowledged put with its value at its
 *     acknowledged revision, `poison` included when it was acknowledged.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cluster } from '../e2e/framework/cluster.js';
import { RawEtcdClient } from '../e2e/framework/raw.js';
import { SUITE_TIMEOUT_MS, serverKind, serverUnavailableReason } from '../e2e/framework/process.js';
import { reportServerLog } from '../e2e/framework/hooks.js';

const FAULT_ENV = 'ETCD_TS_FAULT_APPLY_PUT_KEY';
const WRITERS = 8;
const ACKS_BEFORE_POISON = 300;
/** Upper bound on puts per writer, so a server that never fails cannot loop forever. */
const PUTS_PER_WRITER_MAX = 20_000;

interface Put {
  key: string;
  value: string;
  revision?: number;
}

const skip = serverUnavailableReason() ?? (serverKind() === 'real' ? 'fault injection exists only in etcd-ts' : false);

describe('an apply failure stops the member; no acknowledged write is lost', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  let cluster: Cluster | undefined;
  after(async () => {
    await cluster?.close();
  });

  it('poisoned apply: the member exits before its batch commits; a restart has every acknowledged put', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, [FAULT_ENV]: 'poison' };
    cluster = await Cluster.start({ name: 'applyfail', env });
    const clients = Array.from({ length: 4 }, () => new RawEtcdClient(cluster!.endpoint));
    const puts: Put[] = [];
    let acks = 0;
    let poison: Put | undefined;
    let poisonSent = false;
    let poisonAcked = false;
    const readsAfterPoison: { ok: boolean; detail: string }[] = [];
    const unexpected: string[] = [];
    try {
      const writer = async (w: number): Promise<void> => {
        const client = clients[w % clients.length]!;
        for (let seq = 0; seq < PUTS_PER_WRITER_MAX; seq++) {
          let p: Put;
          if (!poisonSent && acks >= ACKS_BEFORE_POISON) {
            poisonSent = true;
            p = poison = { key: 'poison', value: 'p' };
          } else {
            p = { key: `af/${w}/${seq}`, value: `v${w}-${seq}` };
          }
          puts.push(p);
          const r = await client.put({ key: Buffer.from(p.key), value: Buffer.from(p.value) });
          if (r.ok) {
            p.revision = Number(r.value.header?.revision);
            acks++;
            if (p === poison) poisonAcked = true;
          } else {
            // Once the member fails, requests end with UNAVAILABLE (stopped, or the connection closed).
            if (!poisonSent) unexpected.push(`${p.key}: ${r.error.code} ${r.error.details}`);
            return;
          }
          if (poisonAcked) {
            const read = await client.range({ key: Buffer.from('af/'), rangeEnd: Buffer.from('af0'), countOnly: true });
            readsAfterPoison.push({ ok: read.ok, detail: read.ok ? `count ${String(read.value.count)}` : read.error.details });
            const sread = await client.range({ key: Buffer.from('af/'), rangeEnd: Buffer.from('af0'), countOnly: true, serializable: true });
            readsAfterPoison.push({ ok: sread.ok, detail: sread.ok ? `serializable count ${String(sread.value.count)}` : sread.error.details });
          }
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      const exit = await cluster.process!.exited;
      assert.ok(poison !== undefined, `the poison put was sent (after ${acks} acknowledgements)`);
      assert.deepEqual(unexpected, [], 'no request failed before the poison put');
      assert.equal(exit.signal, null, 'the member exited by itself');
      assert.notEqual(exit.code, 0, 'the member exited with a failure code');
      const log = readFileSync(cluster.logFile, 'utf8');
      assert.match(log, /injected apply failure/, 'the log names the apply failure');
      assert.ok(poisonAcked, 'the poison put was acknowledged (a plain put is answered at commit)');
      assert.ok(readsAfterPoison.length > 0, 'reads were sent after the poison put was acknowledged');
      assert.deepEqual(readsAfterPoison.filter((r) => r.ok), [], 'no read sent after the poison put was acknowledged succeeded');

      // Restart without the fault: the WAL replays everything, the poison put included.
      delete env[FAULT_ENV];
      await cluster.restart();
      // A fresh connection: grpc-js shares subchannels between clients of one target, and the
      // writers' subchannel to the dead process may still be in its reconnect backoff, which
      // fails a call at once with "No connection established" although the member is ready.
      const raw = new RawEtcdClient(cluster.endpoint, { 'grpc.use_local_subchannel_pool': 1 });
      try {
        const acked = puts.filter((p) => p.revision !== undefined);
        assert.ok(acked.length >= ACKS_BEFORE_POISON);
        for (const p of acked) {
          const r = await raw.range({ key: Buffer.from(p.key), revision: p.revision! });
          if (!r.ok) assert.fail(`read of ${p.key} at ${p.revision} failed: ${r.error.details}`);
          assert.equal(r.value.kvs.length, 1, `acknowledged ${p.key} missing at its revision ${p.revision}`);
          assert.equal(Buffer.from(r.value.kvs[0]!.value ?? []).toString(), p.value);
          assert.equal(Number(r.value.kvs[0]!.modRevision), p.revision);
        }
        const after = await raw.put({ key: Buffer.from('after'), value: Buffer.from('restart') });
        assert.ok(after.ok, 'the restarted member takes writes');
      } finally {
        raw.close();
      }
    } catch (err) {
      reportServerLog(cluster, 'apply failure');
      throw err;
    } finally {
      for (const c of clients) c.close();
    }
  });
});
