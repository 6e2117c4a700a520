/**
 * The HTTP/2 peer transport (src/server/peer/http2-transport.ts): three full members in one
 * process whose Raft messages go through node:http2 on 127.0.0.1, and the request checks
 * (cluster ID, addressed member, known sender).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { Http2PeerTransport, RAFT_MSGS_PATH, fetchMembers } from '../../../src/server/peer/http2-transport.js';
import { MessageType, newMessage } from '../../../src/raft/index.js';
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
