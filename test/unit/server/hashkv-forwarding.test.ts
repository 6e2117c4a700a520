/**
 * HashKV between members (src/server/peer/hashkv-forwarding.ts over the HTTP/2 peer transport,
 * docs/cluster.md "HashKV between members"): two transports on 127.0.0.1, one answering from a
 * fake store, then every way a call can go wrong: malformed and oversized bodies, a sender that is
 * not a member, another cluster, errors of the store (compacted, future revision), many calls at
 * once, and a peer that does not answer in time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { EtcdError } from '../../../src/errors/errors.js';
import { etcdserverpb } from '../../../src/proto/pb.js';
import { HASHKV_PATH, Http2PeerTransport } from '../../../src/server/peer/http2-transport.js';
import { peerHashKvs, serveHashKv, type LocalHashKv } from '../../../src/server/peer/hashkv-forwarding.js';
import { idToHex } from '../../../src/util/pure/id64.js';

const CLUSTER = 0x100n;
const A = 0xa1b2_c3d4_e5f6_0718n; // above 2^63: the IDs stay exact
const B = 0xbn;

/** A store at revision `current`, compacted at `compacted`, whose hash at r is 1000 + r. */
function fakeStore(current: number, compacted: number, calls: number[] = [], hold?: Promise<void>): LocalHashKv {
  return {
    hashKv: async (revision) => {
      calls.push(revision);
      if (hold !== undefined) await hold;
      if (revision > current) throw new EtcdError('ETCD_ERR_MVCC_FUTURE_REV');
      if (revision > 0 && revision <= compacted) throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
      const at = revision === 0 ? current : revision;
      return { hash: 1000 + at, hashRevision: at, compactRevision: compacted, header: { memberId: A, revision: current, clusterId: CLUSTER } };
    },
  };
}

async function pair(): Promise<{ a: Http2PeerTransport; b: Http2PeerTransport; close: () => void }> {
  const a = await Http2PeerTransport.listen({ memberId: A, clusterId: CLUSTER, listenHost: '127.0.0.1', listenPort: 0 });
  const b = await Http2PeerTransport.listen({ memberId: B, clusterId: CLUSTER, listenHost: '127.0.0.1', listenPort: 0 });
  a.addPeer(B, `http://127.0.0.1:${b.port}`);
  b.addPeer(A, `http://127.0.0.1:${a.port}`);
  return { a, b, close: () => (a.close(), b.close()) };
}

/** One raw request to `port`'s /members/hashkv: status and body text. */
function raw(port: number, headers: http2.OutgoingHttpHeaders, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    s.on('error', reject);
    const req = s.request({ ':method': 'POST', ':path': HASHKV_PATH, ...headers });
    let status = 0;
    let text = '';
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      s.close();
      resolve({ status, text });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const fromB = { 'x-etcd-cluster-id': idToHex(CLUSTER), 'x-server-from': idToHex(B), 'x-raft-to': idToHex(A) };

test('a peer answers its HashKV at the revision asked, with its member ID, revision and compact revision', async () => {
  const { a, b, close } = await pair();
  try {
    const calls: number[] = [];
    a.onHashKvRequest(serveHashKv(fakeStore(50, 0, calls)));
    const peers = peerHashKvs(b, 2000);
    assert.deepEqual(peers.peers(), [A]);
    assert.deepEqual(await peers.hashKv(A, 42), { ok: true, memberId: A, revision: 50, compactRevision: -1, hash: 1042 });
    assert.deepEqual(calls, [42]);
  } finally {
    close();
  }
});

test("the store's errors come back as their codes: compacted, future revision", async () => {
  const { a, b, close } = await pair();
  try {
    a.onHashKvRequest(serveHashKv(fakeStore(50, 10)));
    const peers = peerHashKvs(b, 2000);
    const future = await peers.hashKv(A, 51);
    assert.deepEqual(future, { ok: false, code: 'ETCD_ERR_MVCC_FUTURE_REV', reason: 'etcdserver: mvcc: required revision is a future revision' });
    const compacted = await peers.hashKv(A, 5);
    assert.equal(compacted.ok === false && compacted.code, 'ETCD_ERR_MVCC_COMPACTED');
    const ok = await peers.hashKv(A, 20);
    assert.deepEqual(ok, { ok: true, memberId: A, revision: 50, compactRevision: 10, hash: 1020 });
  } finally {
    close();
  }
});

test('malformed and oversized bodies, a negative revision, and no handler yet are refused; the store is not asked', async () => {
  const { a, close } = await pair();
  try {
    assert.deepEqual((await raw(a.port, fromB, Buffer.from(etcdserverpb.HashKVRequest.encode({ revision: 1 }).finish()))).status, 503, 'before serveHashKv is registered');
    const calls: number[] = [];
    a.onHashKvRequest(serveHashKv(fakeStore(50, 0, calls)));
    const garbage = await raw(a.port, fromB, Buffer.from([0x08, 0xff, 0xff])); // a truncated varint
    assert.equal(garbage.status, 400);
    assert.match(garbage.text, /malformed HashKVRequest/);
    const wrongType = await raw(a.port, fromB, Buffer.from([0x0a, 0x05, 0x01])); // field 1 as bytes, truncated
    assert.equal(wrongType.status, 400);
    const negative = await raw(a.port, fromB, Buffer.from(etcdserverpb.HashKVRequest.encode({ revision: -3 }).finish()));
    assert.deepEqual([negative.status, negative.text], [400, 'malformed HashKVRequest: revision -3']);
    const big = await raw(a.port, fromB, Buffer.alloc(64 * 1024, 0x08));
    assert.equal(big.status, 413);
    assert.match(big.text, /over 1024 bytes/);
    // An empty body is a HashKVRequest with revision 0: the current revision.
    const empty = await raw(a.port, fromB, Buffer.alloc(0));
    assert.equal(empty.status, 200);
    assert.deepEqual(calls, [0], 'only the well-formed request reached the store');
  } finally {
    close();
  }
});

test('a sender that is not a member, or another cluster, is refused before the store is asked', async () => {
  const { a, close } = await pair();
  const stranger = await Http2PeerTransport.listen({ memberId: 0xcn, clusterId: CLUSTER, listenHost: '127.0.0.1', listenPort: 0 });
  const otherCluster = await Http2PeerTransport.listen({ memberId: B, clusterId: 0x999n, listenHost: '127.0.0.1', listenPort: 0 });
  try {
    const calls: number[] = [];
    a.onHashKvRequest(serveHashKv(fakeStore(50, 0, calls)));
    stranger.addPeer(A, `http://127.0.0.1:${a.port}`);
    otherCluster.addPeer(A, `http://127.0.0.1:${a.port}`);
    const s = await peerHashKvs(stranger, 2000).hashKv(A, 1);
    assert.deepEqual(s, { ok: false, reason: 'HTTP 403: unknown sender' });
    const o = await peerHashKvs(otherCluster, 2000).hashKv(A, 1);
    assert.deepEqual(o, { ok: false, reason: 'HTTP 412: cluster ID mismatch' });
    const noHeaders = await raw(a.port, {}, Buffer.alloc(0));
    assert.equal(noHeaders.status, 412);
    assert.deepEqual(calls, []);
    assert.equal(a.stats.refused, 3);
  } finally {
    close();
    stranger.close();
    otherCluster.close();
  }
});

test('100 concurrent calls each get the answer for their own revision', async () => {
  const { a, b, close } = await pair();
  try {
    const calls: number[] = [];
    a.onHashKvRequest(serveHashKv(fakeStore(1000, 0, calls)));
    const peers = peerHashKvs(b, 5000);
    const revs = Array.from({ length: 100 }, (_, i) => i + 1);
    const answers = await Promise.all(revs.map((r) => peers.hashKv(A, r)));
    assert.deepEqual(answers.map((x) => (x.ok ? x.hash : -1)), revs.map((r) => 1000 + r));
    assert.deepEqual([...calls].sort((x, y) => x - y), revs);
  } finally {
    close();
  }
});

test('a peer that does not answer in time, or is not listening, counts as no answer (and the call ends)', async () => {
  const { a, b, close } = await pair();
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  try {
    a.onHashKvRequest(serveHashKv(fakeStore(50, 0, [], hold)));
    const slow = await peerHashKvs(b, 200).hashKv(A, 1);
    assert.equal(slow.ok, false);
    assert.match(slow.ok ? '' : slow.reason, /no answer in 200 ms/);
    const gone = await Http2PeerTransport.listen({ memberId: 0xdn, clusterId: CLUSTER, listenHost: '127.0.0.1', listenPort: 0 });
    const port = gone.port;
    gone.close();
    b.addPeer(0xdn, `http://127.0.0.1:${port}`);
    const down = await peerHashKvs(b, 2000).hashKv(0xdn, 1);
    assert.equal(down.ok, false);
    const unknown = await peerHashKvs(b, 2000).hashKv(0xeeen, 1);
    assert.deepEqual(unknown, { ok: false, reason: 'peer eee is unknown' });
  } finally {
    release();
    close();
  }
});
