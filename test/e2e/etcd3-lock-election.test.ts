/**
 * Locks and elections as the etcd3 npm client's documentation uses them: `client.lock(name)`
 * with `acquire`/`release` and `do()`, a contended lock refused (etcd3's lock does not wait),
 * `client.election(name).campaign(value)` with `leader()`, `proclaim()` and `resign()`. A waiting
 * candidate waits with a Watch in etcd3: that part is pending on watch.
 */
import { pending } from './framework/pending.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3, EtcdLockFailedError } from 'etcd3';
import { useCluster } from './framework/hooks.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';

/** Bounds a wait on the server (a hang bound, not a timing check), so the clients are still closed. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

describe('etcd3 client: lock and election', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'etcd3-lock' });
  const client = () => new Etcd3({ hosts: cluster.c.endpoints.map((e) => `http://${e}`) });

  it('lock: acquire, a second acquire is refused while held, release, do()', async () => {
    const a = client();
    const b = client();
    try {
      const lock = await a.lock('etcd3-lock').ttl(30).acquire();
      await assert.rejects(b.lock('etcd3-lock').ttl(30).acquire(), EtcdLockFailedError);
      await lock.release();
      const ran = await b.lock('etcd3-lock').ttl(30).do(async () => 'done');
      assert.equal(ran, 'done');
      assert.equal((await a.getAll().prefix('etcd3-lock').keys()).length, 0, 'released: nothing left under the lock');
    } finally {
      a.close();
      b.close();
    }
  });

  it('election: campaign makes the leader, leader() reads its value, resign clears it', async () => {
    const a = client();
    try {
      const election = a.election('etcd3-election', 30);
      const campaign = election.campaign('alice');
      await new Promise<void>((resolve, reject) => {
        campaign.on('elected', () => resolve());
        campaign.on('error', reject);
      });
      assert.equal(await election.leader(), 'alice');
      await campaign.proclaim('alice2');
      assert.equal(await election.leader(), 'alice2');
      await campaign.resign();
      assert.equal(await election.leader(), undefined);
    } finally {
      a.close();
    }
  });

  // Skipped (not todo) while watch is pending: with Watch UNIMPLEMENTED, etcd3 keeps a retry
  // timer alive after close(), and the test file would never exit. Runs once watch lands.
  const needsWatch = pending('watch') ? `${pending('watch')} (etcd3 would keep retrying its watch and hang the file)` : false;
  it('election: a waiting candidate is elected when the first resigns', { skip: needsWatch }, async () => {
    const a = client();
    const b = client();
    try {
      const c1 = a.election('etcd3-handover', 30).campaign('first');
      await new Promise<void>((resolve, reject) => { c1.on('elected', () => resolve()); c1.on('error', reject); });
      const c2 = b.election('etcd3-handover', 30).campaign('second');
      // etcd3's internal event: c2 found c1's key and waits for its deletion (a watch)
      await within(new Promise<void>((resolve) => c2.once('_isWaiting', () => resolve())), 20_000, 'the second candidate waiting');
      const elected = new Promise<void>((resolve, reject) => { c2.on('elected', () => resolve()); c2.on('error', reject); });
      await c1.resign();
      await within(elected, 20_000, 'the second candidate elected');
      assert.equal(await b.election('etcd3-handover').leader(), 'second');
      await c2.resign();
    } finally {
      a.close();
      b.close();
    }
  });
});
