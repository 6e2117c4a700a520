/**
 * The HTTP/JSON gateway's lease, lock and election routes (`/v3/lease/*`, `/v3/kv/lease/*`,
 * `/v3/lock/*`, `/v3/election/*`), as curl users call them: 64-bit IDs exact even as bare JSON
 * numbers, int64 as strings in answers, keep-alive answered as a grpc-gateway stream message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { useCluster } from './framework/hooks.js';
import { SUITE_TIMEOUT_MS, serverUnavailableReason } from './framework/process.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('gateway: lease, lock and election routes', { skip: serverUnavailableReason() ?? false, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'gw-lease' });
  const post = async (path: string, body: string): Promise<{ status: number; text: string; json: Record<string, any> }> => {
    const r = await fetch(`http://${cluster.c.endpoint}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    const text = await r.text();
    return { status: r.status, text, json: JSON.parse(text.trim()) as Record<string, any> };
  };

  it('grant (a bare 64-bit number stays exact), keepalive, timetolive with keys, leases, revoke', async () => {
    const id = '7000000000000000001';
    const g = await post('/v3/lease/grant', `{"TTL": 60, "ID": ${id}}`);
    assert.equal(g.status, 200, g.text);
    assert.deepEqual([g.json['ID'], g.json['TTL']], [id, '60']);
    assert.equal((await post('/v3/kv/put', JSON.stringify({ key: b64('gwk'), value: b64('v'), lease: id }))).status, 200);
    const ka = await post('/v3/lease/keepalive', `{"ID": ${id}}`);
    assert.equal(ka.status, 200);
    assert.deepEqual([ka.json['result']?.ID, ka.json['result']?.TTL], [id, '60'], 'a stream message: {"result": ...}');
    for (const path of ['/v3/lease/timetolive', '/v3/kv/lease/timetolive']) {
      const t = await post(path, `{"ID": "${id}", "keys": true}`);
      assert.deepEqual([t.json['ID'], t.json['grantedTTL'], t.json['keys']], [id, '60', [b64('gwk')]], path);
    }
    for (const path of ['/v3/lease/leases', '/v3/kv/lease/leases']) {
      const l = await post(path, '{}');
      assert.ok((l.json['leases'] as { ID: string }[]).some((x) => x.ID === id), path);
    }
    const rv = await post('/v3/kv/lease/revoke', `{"ID": ${id}}`);
    assert.equal(rv.status, 200, rv.text);
    const again = await post('/v3/lease/revoke', `{"ID": ${id}}`);
    assert.deepEqual([again.status, again.json['message']], [404, 'etcdserver: requested lease not found']);
    const big = await post('/v3/lease/grant', '{"TTL": 9000000001}');
    assert.deepEqual([big.status, big.json['message']], [400, 'etcdserver: too large lease TTL']);
  });

  it('lock and unlock; election campaign, leader, resign', async () => {
    const id = '4096';
    assert.equal((await post('/v3/lease/grant', `{"TTL": 60, "ID": ${id}}`)).status, 200);
    const l = await post('/v3/lock/lock', JSON.stringify({ name: b64('gwlock'), lease: id }));
    assert.equal(l.status, 200, l.text);
    assert.equal(Buffer.from(l.json['key'], 'base64').toString(), 'gwlock/1000');
    assert.equal((await post('/v3/lock/unlock', JSON.stringify({ key: l.json['key'] }))).status, 200);
    const c = await post('/v3/election/campaign', JSON.stringify({ name: b64('gwel'), lease: id, value: b64('me') }));
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json['leader']?.lease, id);
    const leader = await post('/v3/election/leader', JSON.stringify({ name: b64('gwel') }));
    assert.equal(Buffer.from(leader.json['kv']?.value ?? '', 'base64').toString(), 'me');
    assert.equal((await post('/v3/election/resign', JSON.stringify({ leader: c.json['leader'] }))).status, 200);
    const none = await post('/v3/election/leader', JSON.stringify({ name: b64('gwel') }));
    assert.deepEqual([none.status, none.json['message']], [500, 'election: no leader']);
  });
});
