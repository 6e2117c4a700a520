/**
 * The HTTP/2 peer transport (src/server/peer/http2-transport.ts): three full members in one
 * process whose Raft messages go through node:http2 on 127.0.0.1, and the request checks
 * (cluster ID, addressed member, known sender); the long-lived stream per peer (frames across
 * chunks, many peers, malformed and oversized frames, a restarting peer, refusals, a peer that
 * never reads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { Http2PeerTransport, RAFT_MSGS_PATH, RAFT_STREAM_PATH, fetchMembers } from '../../../src/server/peer/http2-transport.js';
import { MessageType, encodeMessage, newMessage } from '../../../src/raft/index.js';
import { PeerStream, type PeerStreamOwner } from '../../../src/server/peer/peer-stream.js';
import { idToHex } from '../../../src/util/pure/id64.js';
import { Cluster, b, get, waitFor } from './raft-cluster.js';

/** Transports on 127.0.0.1 that know each other; a restarted member listens on its old port again. */
function http2Cluster(size: number): { cluster: Cluster; transports: (Http2PeerTransport | undefined)[] } {
  const transports: (Http2PeerTransport | undefined)[] = new Array(size).fill(undefined);
  const ports: number[] = new Array(size).fill(0);
  const cluster = new Cluster(size, [], undefined, async (i, c) => {
    const t = await Http2PeerTransport.listen({ memberId: c.slots[i]!.id, clusterId: c.clusterId, listenHost: '127.0.0.1', listenPort: ports[i]! });
    ports[i] = t.port;
    transports[i] = t;
    // Both directions: this member learns the others' URLs, the others learn this one's (its port may be new).
    for (let j = 0; j < size; j++) {
      if (j === i || transports[j] === undefined) continue;
      t.addPeer(c.slots[j]!.id, `http://127.0.0.1:${ports[j]}`);
      transports[j]!.addPeer(c.slots[i]!.id, `http://127.0.0.1:${ports[i]}`);
    }
    return t;
  });
  return { cluster, transports };
}

test('3 members over HTTP/2: election, replication, a follower read, the leader stops and restarts and catches up', async () => {
  const { cluster: c, transports } = http2Cluster(3);
  try {
    // Each transport, once listening, tells the others its port (see http2Cluster).
    await c.startAll();
    const li = await c.leader();
    const leader = c.slots[li]!.member!;
    for (let i = 0; i < 50; i++) await leader.server.put({ key: b(`h${i}`), value: b(`${i}`) });
    await c.waitApplied(leader.server.committedIndex);
    const follower = c.slots[(li + 1) % 3]!.member!;
    assert.equal(await get(follower, 'h49'), '49', 'a linearizable read on a follower');
    await follower.server.put({ key: b('fwd'), value: b('through a follower') });
    assert.equal(await get(leader, 'fwd'), 'through a follower', 'a write forwarded by a follower');
    assert.ok(transports.every((t) => t!.stats.received > 0 && t!.stats.refused === 0));

    await c.stop(li);
    const li2 = await c.leader();
    assert.notEqual(li2, li);
    const l2 = c.slots[li2]!.member!;
    await l2.server.put({ key: b('after'), value: b('stop') });
    await c.start(li);
    await c.leader();
    await c.waitApplied(l2.server.committedIndex);
    assert.equal(await get(c.slots[li]!.member!, 'after', true), 'stop', 'the restarted member caught up over HTTP/2');
    assert.equal(await get(c.slots[li]!.member!, 'h0', true), '0');
  } finally {
    await c.close();
  }
});

test('HTTP/2 peer transport: a request from another cluster, for another member, or from an unknown member is refused and delivers nothing', async () => {
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const b2 = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const stranger = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x999n, listenHost: '127.0.0.1', listenPort: 0 });
  const received: bigint[] = [];
  a.onReceive((m) => received.push(m.from));
  try {
    a.addPeer(0xbn, `http://127.0.0.1:${b2.port}`);
    b2.addPeer(0xan, `http://127.0.0.1:${a.port}`);
    stranger.addPeer(0xan, `http://127.0.0.1:${a.port}`);
    // The right cluster: delivered.
    b2.send([newMessage({ type: MessageType.MsgHeartbeat, from: 0xbn, to: 0xan, term: 1 })]);
    await waitFor('the heartbeat from b', () => received.length === 1);
    // Another cluster: 412, nothing delivered.
    stranger.send([newMessage({ type: MessageType.MsgHeartbeat, from: 0xbn, to: 0xan, term: 1 })]);
    await waitFor('the stranger refused', () => a.stats.refused === 1 && stranger.stats.dropped === 1);

    const raw = async (headers: Record<string, string>): Promise<number> => {
      const s = http2.connect(`http://127.0.0.1:${a.port}`);
      try {
        return await new Promise<number>((resolve, reject) => {
          const req = s.request({ ':method': 'POST', ':path': RAFT_MSGS_PATH, ...headers });
          req.on('response', (h) => resolve(Number(h[':status'])));
          req.on('error', reject);
          req.resume();
          req.end();
        });
      } finally {
        s.close();
      }
    };
    const hdr = { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) };
    assert.equal(await raw(hdr), 204, 'an empty batch from a known member');
    assert.equal(await raw({ ...hdr, 'x-raft-to': idToHex(0xcn) }), 412, 'addressed to another member');
    assert.equal(await raw({ ...hdr, 'x-server-from': idToHex(0xcn) }), 403, 'from an unknown member');
    assert.equal(await raw({ ...hdr, 'x-etcd-cluster-id': 'zz' }), 412, 'a malformed cluster ID');
    assert.deepEqual(received, [0xbn]);
  } finally {
    a.close();
    b2.close();
    stranger.close();
  }
});

test('HTTP/2 peer transport: GET /members and POST /members/promote/<id>: answers, and refusals of strangers and bad IDs', async () => {
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const b2 = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const asked: bigint[] = [];
  try {
    a.addPeer(0xbn, `http://127.0.0.1:${b2.port}`);
    b2.addPeer(0xan, `http://127.0.0.1:${a.port}`);
    // No membership known yet: 503; then the encoded cluster.
    await assert.rejects(fetchMembers(`http://127.0.0.1:${a.port}`, undefined, 5000), /HTTP 503/);
    a.onMembersRequest(() => Buffer.from('{"members":"x"}'));
    assert.equal(Buffer.from(await fetchMembers(`http://127.0.0.1:${a.port}`, undefined, 5000)).toString(), '{"members":"x"}');
    await assert.rejects(fetchMembers('http://127.0.0.1:1', undefined, 5000), 'nobody listening');

    a.onPromoteRequest(async (id) => {
      asked.push(id);
      return id === 0x77n ? { status: 200, body: Buffer.from('ok') } : { status: 412, body: Buffer.from('ETCD_ERR_MEMBER_NOT_LEARNER') };
    });
    const ok = await b2.requestPromote(0xan, 0x77n, 5000);
    assert.deepEqual([ok.status, ok.body.toString()], [200, 'ok']);
    const refused = await b2.requestPromote(0xan, 0x78n, 5000);
    assert.deepEqual([refused.status, refused.body.toString()], [412, 'ETCD_ERR_MEMBER_NOT_LEARNER']);
    await assert.rejects(b2.requestPromote(0xcn, 0x77n, 5000), /unknown/, 'a peer the transport does not know');

    const raw = async (path: string, headers: Record<string, string>): Promise<number> => {
      const s = http2.connect(`http://127.0.0.1:${a.port}`);
      try {
        return await new Promise<number>((resolve, reject) => {
          const req = s.request({ ':method': 'POST', ':path': path, ...headers });
          req.on('response', (h) => resolve(Number(h[':status'])));
          req.on('error', reject);
          req.resume();
          req.end();
        });
      } finally {
        s.close();
      }
    };
    const hdr = { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) };
    assert.equal(await raw('/members/promote/77', { ...hdr, 'x-server-from': idToHex(0xcn) }), 403, 'from an unknown member');
    assert.equal(await raw('/members/promote/77', { ...hdr, 'x-etcd-cluster-id': idToHex(0x999n) }), 412, 'from another cluster');
    assert.equal(await raw('/members/promote/zz', hdr), 404, 'a malformed member ID');
    assert.equal(await raw(`/members/promote/${'1'.repeat(17)}`, hdr), 404, 'an ID over 64 bits');
    assert.deepEqual(asked, [0x77n, 0x78n], 'refused requests never reach the handler');
  } finally {
    a.close();
    b2.close();
  }
});

// ---- the long-lived stream (POST /raft/stream) ----

/** A stream opened by hand to transport `port` (as a peer would): its answer, its end, and its reset code. */
async function openRaw(port: number, headers: Record<string, string>): Promise<{ session: http2.ClientHttp2Session; req: http2.ClientHttp2Stream; status: number; closed: Promise<number> }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => undefined);
  const req = session.request({ ':method': 'POST', ':path': RAFT_STREAM_PATH, ...headers });
  req.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => req.once('close', () => resolve(req.rstCode ?? 0)));
  req.resume();
  const status = await new Promise<number>((resolve, reject) => {
    req.once('response', (h) => resolve(Number(h[':status'])));
    req.once('close', () => reject(new Error('closed before an answer')));
  });
  return { session, req, status, closed };
}

function framed(msgs: readonly Parameters<typeof encodeMessage>[0][]): Buffer {
  return Buffer.concat(
    msgs.map((m) => {
      const body = encodeMessage(m);
      const h = Buffer.alloc(4);
      h.writeUInt32BE(body.length);
      return Buffer.concat([h, body]);
    }),
  );
}

const hb = (from: bigint, to: bigint, commit: number) => newMessage({ type: MessageType.MsgHeartbeat, from, to, term: 1, commit });
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

test('peer stream: frames split across chunks (single bytes, headers cut in two, many frames per chunk) arrive whole and in order', async () => {
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const got: number[] = [];
  a.onReceive((m) => got.push(m.commit));
  // An unknown sender first (the transport knows no peers): 403, then the same after addPeer works.
  const s = await openRaw(a.port, { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) });
  assert.equal(s.status, 403);
  s.session.close();
  a.addPeer(0xbn, 'http://127.0.0.1:1');
  try {
    const r = await openRaw(a.port, { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) });
    assert.equal(r.status, 200);
    const big = newMessage({ type: MessageType.MsgApp, from: 0xbn, to: 0xan, term: 1, index: 5, commit: 1000, entries: [{ term: 1, index: 6, type: 0, data: Buffer.alloc(300_000, 7) }] });
    const bytes = framed([...Array.from({ length: 50 }, (_, i) => hb(0xbn, 0xan, i + 1)), big, hb(0xbn, 0xan, 1001)]);
    // Cut: 1-byte chunks for the first 300 bytes, then 7-byte chunks, then the rest in two.
    let o = 0;
    for (; o < 300; o++) {
      r.req.write(bytes.subarray(o, o + 1));
      if (o % 50 === 0) await nextTurn();
    }
    for (; o < 700; o += 7) r.req.write(bytes.subarray(o, Math.min(o + 7, 700)));
    o = 700;
    const mid = o + Math.floor((bytes.length - o) / 2);
    r.req.write(bytes.subarray(o, mid));
    await nextTurn();
    r.req.write(bytes.subarray(mid));
    await waitFor('all frames delivered', () => got.length === 52);
    assert.deepEqual(got, [...Array.from({ length: 50 }, (_, i) => i + 1), 1000, 1001]);
    assert.equal(a.stats.refused, 1, 'only the 403 before');
    r.req.end();
    assert.equal(await r.closed, 0, 'the sender ended the stream; the receiver ended it too, no reset');
    r.session.close();
  } finally {
    a.close();
  }
});

test('peer stream: many peers send at once, and one sends to many: every message arrives once, in order per peer', async () => {
  const n = 8;
  const per = 400;
  const ts: Http2PeerTransport[] = [];
  for (let i = 0; i < n; i++) ts.push(await Http2PeerTransport.listen({ memberId: BigInt(i + 1), clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 }));
  const got = ts.map(() => new Map<bigint, number[]>());
  ts.forEach((t, i) =>
    t.onReceive((m) => {
      const l = got[i]!.get(m.from) ?? [];
      l.push(m.commit);
      got[i]!.set(m.from, l);
    }),
  );
  try {
    for (const t of ts) for (const u of ts) if (t !== u) t.addPeer(u.memberId, `http://127.0.0.1:${u.port}`);
    // Open every stream first (a message before the 200 waits in the queue, so even this is not needed).
    for (let k = 1; k <= per; k++) {
      for (const t of ts) t.send(ts.filter((u) => u !== t).map((u) => hb(t.memberId, u.memberId, k)));
      if (k % 20 === 0) await nextTurn();
    }
    await waitFor('every message delivered', () => got.every((g) => g.size === n - 1 && [...g.values()].every((l) => l.length === per)));
    const want = Array.from({ length: per }, (_, i) => i + 1);
    for (const g of got) for (const l of g.values()) assert.deepEqual(l, want);
    for (const t of ts) assert.deepEqual([t.stats.dropped, t.stats.refused, t.stats.sent, t.stats.received], [0, 0, per * (n - 1), per * (n - 1)]);
  } finally {
    for (const t of ts) t.close();
  }
});

test('peer stream: a malformed frame ends the stream with an error and a log line; nothing after it is delivered', async () => {
  const errors: { msg: string; fields: Record<string, unknown> }[] = [];
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0, onError: (msg, fields) => errors.push({ msg, fields }) });
  a.addPeer(0xbn, 'http://127.0.0.1:1');
  const got: number[] = [];
  a.onReceive((m) => got.push(m.commit));
  try {
    const r = await openRaw(a.port, { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) });
    assert.equal(r.status, 200);
    const garbage = Buffer.from([0, 0, 0, 3, 0xff, 0xff, 0xff]); // length 3, an unknown codec version
    r.req.write(Buffer.concat([framed([hb(0xbn, 0xan, 1), hb(0xbn, 0xan, 2)]), garbage, framed([hb(0xbn, 0xan, 3)])]));
    assert.equal(await r.closed, http2.constants.NGHTTP2_PROTOCOL_ERROR, 'reset with PROTOCOL_ERROR');
    assert.deepEqual(got, [1, 2], 'the frames before the bad one, nothing after');
    assert.equal(a.stats.refused, 1);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.msg, 'closed a peer stream');
    assert.match(String(errors[0]!.fields.reason), /^bad frame: /);
    assert.equal(errors[0]!.fields.from, idToHex(0xbn));
    r.session.close();
    // A message whose from/to differ from the stream's is skipped, the stream goes on.
    const r2 = await openRaw(a.port, { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) });
    r2.req.write(framed([hb(0xcn, 0xan, 10), hb(0xbn, 0xdn, 11), hb(0xbn, 0xan, 12)]));
    await waitFor('the well-addressed message', () => got.length === 3);
    assert.deepEqual(got, [1, 2, 12]);
    r2.req.end();
    await r2.closed;
    r2.session.close();
  } finally {
    a.close();
  }
});

test('peer stream: an oversized frame (and a zero-length one) ends the stream; nothing of it is buffered or delivered', async () => {
  const errors: string[] = [];
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0, onError: (msg, f) => errors.push(`${msg}: ${String(f.reason)}`) });
  a.addPeer(0xbn, 'http://127.0.0.1:1');
  const got: number[] = [];
  a.onReceive((m) => got.push(m.commit));
  const hdr = { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) };
  try {
    const r = await openRaw(a.port, hdr);
    const over = Buffer.alloc(4);
    over.writeUInt32BE(16 * 1024 * 1024 + 1);
    // Only the header of the huge frame is sent: the receiver refuses it without waiting for its body.
    r.req.write(Buffer.concat([framed([hb(0xbn, 0xan, 1)]), over, Buffer.alloc(100)]));
    assert.equal(await r.closed, http2.constants.NGHTTP2_PROTOCOL_ERROR);
    assert.deepEqual(got, [1]);
    assert.match(errors[0]!, /^closed a peer stream: bad frame: a frame of 16777217 bytes, over the 16777216-byte limit/);
    r.session.close();
    const z = await openRaw(a.port, hdr);
    z.req.write(Buffer.alloc(4));
    assert.equal(await z.closed, http2.constants.NGHTTP2_PROTOCOL_ERROR);
    assert.match(errors[1]!, /a frame of length 0/);
    assert.deepEqual(got, [1]);
    assert.equal(a.stats.refused, 2);
    z.session.close();
  } finally {
    a.close();
  }
});

test('peer stream: the peer restarts: messages while it is down are dropped, the stream reopens, later messages arrive in order', async () => {
  const errors: string[] = [];
  let a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const port = a.port;
  const b2 = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0, onError: (msg, f) => errors.push(`${msg}: ${String(f.reason ?? f.error)}`) });
  const got: number[] = [];
  a.onReceive((m) => got.push(m.commit));
  a.addPeer(0xbn, `http://127.0.0.1:${b2.port}`);
  b2.addPeer(0xan, `http://127.0.0.1:${port}`);
  try {
    b2.send([hb(0xbn, 0xan, 1), hb(0xbn, 0xan, 2)]);
    await waitFor('before the restart', () => got.length === 2);
    assert.ok(b2.activeSince(0xan) > 0, 'the stream is accepted');
    a.close();
    await waitFor('the sender sees the stream broken', () => b2.activeSince(0xan) === 0 && errors.some((e) => e.startsWith('dropped messages to a peer')));
    // Down: every message is dropped (backoff, then connection refused), none is delivered later.
    let k = 100;
    await waitFor('a few messages dropped while the peer is down', () => {
      b2.send([hb(0xbn, 0xan, k++)]);
      return b2.stats.dropped >= 3;
    });
    a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: port });
    a.addPeer(0xbn, `http://127.0.0.1:${b2.port}`);
    const after: number[] = [];
    a.onReceive((m) => after.push(m.commit));
    // The sender reopens on the next message after its backoff; keep sending until one arrives.
    let n = 1000;
    await waitFor('a message through the reopened stream', () => {
      b2.send([hb(0xbn, 0xan, n++)]);
      return after.length > 0;
    });
    const first = after[0]!;
    for (let i = 0; i < 100; i++) b2.send([hb(0xbn, 0xan, n++)]);
    await waitFor('the rest', () => after.at(-1) === n - 1);
    assert.deepEqual(after, Array.from({ length: n - first }, (_, i) => first + i), 'no loss, no reorder once the stream is up');
    assert.ok(after.every((c) => c >= 1000), 'nothing sent while the peer was down arrives');
    assert.deepEqual(got, [1, 2]);
  } finally {
    a.close();
    b2.close();
  }
});

test('peer stream: a stream refused for a wrong cluster ID (or member) delivers nothing; both sides log it', async () => {
  const aErrors: string[] = [];
  const sErrors: string[] = [];
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0, onError: (msg, f) => aErrors.push(`${msg}: ${String(f.reason)}`) });
  const stranger = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x999n, listenHost: '127.0.0.1', listenPort: 0, onError: (msg, f) => sErrors.push(`${msg}: ${String(f.reason ?? f.error)}`) });
  const got: bigint[] = [];
  a.onReceive((m) => got.push(m.from));
  a.addPeer(0xbn, `http://127.0.0.1:${stranger.port}`);
  stranger.addPeer(0xan, `http://127.0.0.1:${a.port}`);
  try {
    stranger.send([hb(0xbn, 0xan, 1), hb(0xbn, 0xan, 2), hb(0xbn, 0xan, 3)]);
    await waitFor('refused', () => stranger.stats.dropped === 3 && a.stats.refused === 1);
    assert.deepEqual(aErrors, ['refused a peer request: cluster ID mismatch']);
    assert.deepEqual(sErrors, ['dropped messages to a peer: HTTP 412: cluster ID mismatch']);
    assert.equal(stranger.stats.sent, 0, 'nothing is written before the 200');
    // By hand: the answer and its body.
    const r = await openRaw(a.port, { 'x-etcd-cluster-id': idToHex(0x999n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) });
    assert.equal(r.status, 412);
    r.session.close();
    const r2 = await openRaw(a.port, { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xcn) });
    assert.equal(r2.status, 412);
    r2.session.close();
    assert.deepEqual(got, []);
  } finally {
    a.close();
    stranger.close();
  }
});

test('peer stream: a peer that accepts but never reads: the queue stays bounded (drops counted), then the stream is broken', async () => {
  // A bare HTTP/2 server answering 200 and reading nothing: flow control stops the writer.
  const server = http2.createServer({ settings: { initialWindowSize: 65535 } });
  server.on('stream', (st) => {
    st.on('error', () => undefined);
    st.respond({ ':status': 200 });
    st.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  const errors: string[] = [];
  const b2 = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0, onError: (msg, f) => errors.push(`${msg}: ${String(f.reason)}`) });
  b2.addPeer(0xan, `http://127.0.0.1:${port}`);
  try {
    const app = (i: number) => newMessage({ type: MessageType.MsgApp, from: 0xbn, to: 0xan, term: 1, index: i, entries: [{ term: 1, index: i + 1, type: 0, data: Buffer.alloc(1024 * 1024, i) }] });
    b2.send([app(0)]);
    await waitFor('the stream accepted', () => b2.activeSince(0xan) > 0);
    const total = 40;
    for (let i = 1; i < total; i++) {
      b2.send([app(i)]);
      await nextTurn();
    }
    assert.ok(b2.stats.dropped > 0, `some of 40 MiB dropped past the 16 MiB queue (dropped ${b2.stats.dropped})`);
    assert.ok(b2.stats.dropped <= total - 16, `at most what did not fit (dropped ${b2.stats.dropped})`);
    // Stuck past STREAM_STALL_MS: broken, the queue dropped, logged.
    await waitFor('the stalled stream broken', () => errors.some((e) => /does not read the stream/.test(e)));
    assert.equal(b2.stats.sent + b2.stats.dropped, total);
  } finally {
    b2.close();
    server.close();
  }
});

test('peer stream: a removed member\'s open stream is ended, later messages are not delivered, and a new stream from it is refused', async () => {
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const b2 = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const got: number[] = [];
  a.onReceive((m) => got.push(m.commit));
  a.addPeer(0xbn, `http://127.0.0.1:${b2.port}`);
  b2.addPeer(0xan, `http://127.0.0.1:${a.port}`);
  try {
    b2.send([hb(0xbn, 0xan, 1)]);
    await waitFor('delivered while a member', () => got.length === 1);
    a.removePeer(0xbn);
    await waitFor('the sender sees its stream ended', () => b2.activeSince(0xan) === 0);
    let k = 2;
    await waitFor('a new stream refused (403)', () => {
      b2.send([hb(0xbn, 0xan, k++)]);
      return a.stats.refused > 0;
    });
    assert.deepEqual(got, [1]);
  } finally {
    a.close();
    b2.close();
  }
});

test('peer stream: a member the others know as removed is answered 410 and told once that it was removed; a stranger only 403', async () => {
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const removed = await Http2PeerTransport.listen({ memberId: 0xbn, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const stranger = await Http2PeerTransport.listen({ memberId: 0xcn, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  const got: number[] = [];
  a.onReceive((m) => got.push(m.commit));
  let told = 0;
  removed.onRemoved(() => told++);
  let strangerTold = 0;
  stranger.onRemoved(() => strangerTold++);
  removed.addPeer(0xan, `http://127.0.0.1:${a.port}`);
  stranger.addPeer(0xan, `http://127.0.0.1:${a.port}`);
  // a applied b's removal (it never knew c): b is in its removed set, and no longer a peer.
  a.setRemoved([0xbn]);
  try {
    let k = 1;
    await waitFor('the removed member hears 410', () => {
      removed.send([hb(0xbn, 0xan, k++)]);
      return told > 0;
    });
    await waitFor('the stranger is refused', () => {
      stranger.send([hb(0xcn, 0xan, k++)]);
      return a.stats.refused >= 2;
    });
    // More refusals do not tell the removed member again.
    for (let i = 0; i < 5; i++) removed.send([hb(0xbn, 0xan, k++)]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(told, 1);
    assert.equal(strangerTold, 0, 'an unknown sender (403) is not told it was removed');
    assert.deepEqual(got, []);
  } finally {
    a.close();
    removed.close();
    stranger.close();
  }
});

test('peer stream: everything queued in one turn goes out in one write, in order; nothing is written before the 200', async () => {
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  a.addPeer(0xbn, 'http://127.0.0.1:1');
  const got: number[] = [];
  a.onReceive((m) => got.push(m.commit));
  /** Bytes of each write() on the stream, and whether the 200 had come before it. */
  const writes: { bytes: number; answered: boolean }[] = [];
  let answered = false;
  const counts = { sent: 0, dropped: 0 };
  const owner: PeerStreamOwner = {
    clusterId: 0x100n,
    memberId: 0xbn,
    countSent: (n) => (counts.sent += n),
    countDropped: (n) => (counts.dropped += n),
    onError: () => undefined,
    onRemovedByPeer: () => undefined,
    connect: (url) => {
      const s = http2.connect(url);
      const request = s.request.bind(s);
      s.request = ((h: http2.OutgoingHttpHeaders) => {
        const st = request(h);
        st.once('response', () => (answered = true));
        const write = st.write.bind(st) as (b: Buffer) => boolean;
        st.write = ((b: Buffer) => {
          writes.push({ bytes: b.length, answered });
          return write(b);
        }) as typeof st.write;
        return st;
      }) as typeof s.request;
      return s;
    },
  };
  const ps = new PeerStream(owner, 0xan, `http://127.0.0.1:${a.port}`);
  try {
    // Turn 1: 30 messages while the stream opens: held, then written together after the 200.
    for (let k = 1; k <= 30; k++) assert.equal(ps.enqueue(encodeMessage(hb(0xbn, 0xan, k))), true);
    await waitFor('turn 1 delivered', () => got.length === 30);
    assert.equal(writes.length, 1, 'one write for the 30 queued before the 200');
    assert.equal(writes[0]!.answered, true, 'written only after the 200');
    // Turn 2: 200 messages in one synchronous run: one write.
    for (let k = 31; k <= 230; k++) ps.enqueue(encodeMessage(hb(0xbn, 0xan, k)));
    await waitFor('turn 2 delivered', () => got.length === 230);
    assert.equal(writes.length, 2, 'one write for the 200 of one turn');
    // Three turns: three writes.
    for (let t = 0; t < 3; t++) {
      ps.enqueue(encodeMessage(hb(0xbn, 0xan, 231 + t)));
      await nextTurn();
    }
    await waitFor('three more delivered', () => got.length === 233);
    assert.equal(writes.length, 5);
    assert.deepEqual(got, Array.from({ length: 233 }, (_, i) => i + 1));
    assert.deepEqual(counts, { sent: 233, dropped: 0 });
  } finally {
    ps.close();
    a.close();
  }
});

test('peer stream: delivered entries do not keep node:http2\'s read buffers alive (a small entry read with 60 KB of other frames)', async () => {
  const a = await Http2PeerTransport.listen({ memberId: 0xan, clusterId: 0x100n, listenHost: '127.0.0.1', listenPort: 0 });
  a.addPeer(0xbn, 'http://127.0.0.1:1');
  const datas: Uint8Array[] = [];
  a.onReceive((m) => datas.push(...m.entries.map((e) => e.data)));
  try {
    const r = await openRaw(a.port, { 'x-etcd-cluster-id': idToHex(0x100n), 'x-server-from': idToHex(0xbn), 'x-raft-to': idToHex(0xan) });
    const n = 60;
    for (let i = 0; i < n; i++) {
      // A heartbeat with a 60 KB context (dropped after delivery) and a MsgApp with a 100-byte
      // entry (kept, as the Raft log keeps entries), in one write: they share a read buffer.
      const filler = newMessage({ type: MessageType.MsgHeartbeat, from: 0xbn, to: 0xan, term: 1, context: Buffer.alloc(60_000, 1) });
      const app = newMessage({ type: MessageType.MsgApp, from: 0xbn, to: 0xan, term: 1, index: i, entries: [{ term: 1, index: i + 1, type: 0, data: Buffer.alloc(100, i) }] });
      r.req.write(framed([filler, app]));
      await nextTurn();
    }
    await waitFor(`${n} entries`, () => datas.length === n);
    for (const [i, d] of datas.entries()) assert.deepEqual(Buffer.from(d), Buffer.alloc(100, i));
    // What the kept entries hold alive: the distinct buffers under them. Views into the read
    // buffers would hold one large buffer each (MiBs in all); copies share the Buffer pool's slabs.
    const held = new Set(datas.map((d) => d.buffer));
    const bytes = [...held].reduce((t, b) => t + b.byteLength, 0);
    assert.ok(bytes < 1024 * 1024, `${n} entries of 100 bytes keep ${held.size} buffers of ${bytes} bytes alive`);
    r.req.end();
    await r.closed;
    r.session.close();
  } finally {
    a.close();
  }
});
