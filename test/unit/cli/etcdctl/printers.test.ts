/**
 * Each printer against output recorded from etcdctl 3.4 (test/fixtures/etcdctl-3.4 and the
 * real etcdctl against the real etcd), on responses built as the server would encode them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import {
  decodeAs, DeleteRangeResponseSchema, LeaseGrantResponseSchema, LeaseTimeToLiveResponseSchema, MemberListResponseSchema,
  PutResponseSchema, RangeResponseSchema, StatusResponseSchema, TxnResponseSchema,
  type DeleteRangeResponse, type LeaseGrantResponse, type LeaseTimeToLiveResponse, type MemberListResponse, type PutResponse,
  type RangeResponse, type StatusResponse, type TxnResponse,
} from '../../../../src/cli/etcdctl/messages.js';
import { newPrinter } from '../../../../src/cli/etcdctl/printers/index.js';
import { UnsupportedFormat, type Output, type Printer } from '../../../../src/cli/etcdctl/printers/printer.js';
import { appendVarintField } from '../../../../src/cli/etcdctl/wire.js';
import { renderTable } from '../../../../src/cli/etcdctl/printers/table.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const header = { clusterId: 1n, memberId: 2n, revision: 13, raftTerm: 3 };

function capture(format: string, fn: (p: Printer) => void, opts = { isHex: false, valueOnly: false }): { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const out: Output = {
    stdout: (s) => (stdout += typeof s === 'string' ? s : Buffer.from(s).toString('latin1')),
    stderr: (s) => (stderr += s),
  };
  fn(newPrinter(format, out, opts)!);
  return { stdout, stderr };
}

const range = decodeAs<RangeResponse>(
  RangeResponseSchema,
  etcdserverpb.RangeResponse.encode({
    header,
    kvs: [{ key: b('foo'), createRevision: 2, modRevision: 2, version: 1, value: b('bar') }],
    count: 1,
  }).finish(),
);

describe('get', () => {
  test('simple, --print-value-only, --hex', () => {
    assert.equal(capture('simple', (p) => p.get(range)).stdout, 'foo\nbar\n');
    assert.equal(capture('simple', (p) => p.get(range), { isHex: false, valueOnly: true }).stdout, 'bar\n');
    assert.equal(capture('simple', (p) => p.get(range), { isHex: true, valueOnly: false }).stdout, '\\x66\\x6f\\x6f\n\\x62\\x61\\x72\n');
  });

  test('json (fixture 015)', () => {
    assert.equal(
      capture('json', (p) => p.get(range)).stdout,
      '{"header":{"cluster_id":1,"member_id":2,"revision":13,"raft_term":3},"kvs":[{"key":"Zm9v","create_revision":2,"mod_revision":2,"version":1,"value":"YmFy"}],"count":1}\n',
    );
  });

  test('fields (fixture 016)', () => {
    assert.equal(
      capture('fields', (p) => p.get(range)).stdout,
      '"ClusterID" : 1\n"MemberID" : 2\n"Revision" : 13\n"RaftTerm" : 3\n"Key" : "foo"\n"CreateRevision" : 2\n"ModRevision" : 2\n' +
        '"Version" : 1\n"Value" : "bar"\n"Lease" : 0\n"More" : false\n"Count" : 1\n',
    );
  });

  test('table: not supported (fixture 017); protobuf: the bytes as received', () => {
    assert.throws(() => capture('table', (p) => p.get(range)), new UnsupportedFormat('table'));
    assert.equal(capture('protobuf', (p) => p.get(range)).stdout, Buffer.from(range.raw).toString('latin1'));
  });
});

test('64-bit IDs are exact (the real etcd uses the whole range)', () => {
  const raw = appendVarintField(etcdserverpb.LeaseGrantResponse.encode({ TTL: 60 }).finish(), 2, 0x7cbaa20a68dabb19n);
  const grant = decodeAs<LeaseGrantResponse>(LeaseGrantResponseSchema, raw);
  assert.equal(capture('simple', (p) => p.grant(grant)).stdout, 'lease 7cbaa20a68dabb19 granted with TTL(60s)\n');
  assert.equal(capture('json', (p) => p.grant(grant)).stdout, '{"ID":8987674171963783961,"TTL":60,"Error":""}\n');
});

test('put with prev kv: simple and fields (fixtures 007, 010)', () => {
  const put = decodeAs<PutResponse>(
    PutResponseSchema,
    etcdserverpb.PutResponse.encode({ header, prevKv: { key: b('foo/c'), createRevision: 5, modRevision: 10, version: 3, value: b('v-c3') } }).finish(),
  );
  assert.equal(capture('simple', (p) => p.put(put)).stdout, 'OK\nfoo/c\nv-c3\n');
  assert.match(capture('fields', (p) => p.put(put)).stdout, /"PrevKey" : "foo\/c"\n"PrevCreateRevision" : 5\n"PrevModRevision" : 10\n"PrevVersion" : 3\n"PrevValue" : "v-c3"\n"PrevLease" : 0\n$/);
});

test('del: simple count, json omits zero fields (fixtures 073, 076)', () => {
  const del = decodeAs<DeleteRangeResponse>(DeleteRangeResponseSchema, etcdserverpb.DeleteRangeResponse.encode({ header, deleted: 0 }).finish());
  assert.equal(capture('simple', (p) => p.del(del)).stdout, '0\n');
  assert.equal(capture('json', (p) => p.del(del)).stdout, '{"header":{"cluster_id":1,"member_id":2,"revision":13,"raft_term":3}}\n');
});

test('txn: simple and json oneof shape (fixtures 088, 091)', () => {
  const txn = decodeAs<TxnResponse>(
    TxnResponseSchema,
    etcdserverpb.TxnResponse.encode({
      header,
      succeeded: true,
      responses: [{ responsePut: { header: { revision: 13 } } }, { responseRange: { header: { revision: 13 }, kvs: [{ key: b('t2'), value: b('two'), createRevision: 1, modRevision: 1, version: 1 }], count: 1 } }],
    }).finish(),
  );
  assert.equal(capture('simple', (p) => p.txn(txn)).stdout, 'SUCCESS\n\nOK\n\nt2\ntwo\n');
  assert.equal(
    capture('json', (p) => p.txn(txn)).stdout,
    '{"header":{"cluster_id":1,"member_id":2,"revision":13,"raft_term":3},"succeeded":true,"responses":[{"Response":{"ResponsePut":{"header":{"revision":13}}}},' +
      '{"Response":{"ResponseRange":{"header":{"revision":13},"kvs":[{"key":"dDI=","create_revision":1,"mod_revision":1,"version":1,"value":"dHdv"}],"count":1}}}]}\n',
  );
});

describe('member list and endpoint status (recorded from etcdctl 3.4 against etcd 3.4)', () => {
  // the member ID, exactly: re-encode the member with a 64-bit ID
  const memberBytes = appendVarintField(etcdserverpb.Member.encode({ name: 'r', peerURLs: ['http://127.0.0.1:23801'], clientURLs: ['http://127.0.0.1:23791'] }).finish(), 1, 0xbdae9bbc11dd390dn);
  const withId = new Uint8Array([...etcdserverpb.MemberListResponse.encode({ header: { raftTerm: 2 } }).finish(), 0x12, memberBytes.length, ...memberBytes]);
  const list = decodeAs<MemberListResponse>(MemberListResponseSchema, withId);

  test('simple and table', () => {
    assert.equal(list.msg.members.length, 1);
    assert.equal(capture('simple', (p) => p.memberList(list)).stdout, 'bdae9bbc11dd390d, started, r, http://127.0.0.1:23801, http://127.0.0.1:23791, false\n');
    assert.equal(
      capture('table', (p) => p.memberList(list)).stdout,
      '+------------------+---------+------+------------------------+------------------------+------------+\n' +
        '|        ID        | STATUS  | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |\n' +
        '+------------------+---------+------+------------------------+------------------------+------------+\n' +
        '| bdae9bbc11dd390d | started |    r | http://127.0.0.1:23801 | http://127.0.0.1:23791 |      false |\n' +
        '+------------------+---------+------+------------------------+------------------------+------------+\n',
    );
    assert.equal(
      capture('json', (p) => p.memberList(list)).stdout,
      '{"header":{"raft_term":2},"members":[{"ID":13668033151171901709,"name":"r","peerURLs":["http://127.0.0.1:23801"],"clientURLs":["http://127.0.0.1:23791"]}]}\n',
    );
  });

  test('endpoint status: simple, json, fields; protobuf unsupported', () => {
    const status = decodeAs<StatusResponse>(
      StatusResponseSchema,
      etcdserverpb.StatusResponse.encode({ header: { ...header, memberId: 2n }, version: '3.4.23', dbSize: 20480, leader: 2n, raftIndex: 4, raftTerm: 2, raftAppliedIndex: 4, dbSizeInUse: 16384 }).finish(),
    );
    const list = [{ ep: '127.0.0.1:23791', resp: status }];
    assert.equal(capture('simple', (p) => p.endpointStatus(list)).stdout, '127.0.0.1:23791, 2, 3.4.23, 20 kB, true, false, 2, 4, 4, \n');
    assert.equal(
      capture('json', (p) => p.endpointStatus(list)).stdout,
      '[{"Endpoint":"127.0.0.1:23791","Status":{"header":{"cluster_id":1,"member_id":2,"revision":13,"raft_term":3},"version":"3.4.23","dbSize":20480,"leader":2,"raftIndex":4,"raftTerm":2,"raftAppliedIndex":4,"dbSizeInUse":16384}}]\n',
    );
    assert.match(capture('fields', (p) => p.endpointStatus(list)).stdout, /"Errors" : \[\]\n"Endpoint" : "127.0.0.1:23791"\n\n$/);
    assert.throws(() => capture('protobuf', (p) => p.endpointStatus(list)), new UnsupportedFormat('protobuf'));
  });

  test('endpoint status with etcd\'s default IDs: hex in simple, exact decimal uint64 in json', () => {
    const member = 0x8e9e05c52164694dn;
    const cluster = 0xcdf818194e3a8c32n;
    const status = decodeAs<StatusResponse>(
      StatusResponseSchema,
      etcdserverpb.StatusResponse.encode({ header: { clusterId: cluster, memberId: member, revision: 1, raftTerm: 2 }, version: '3.6.0', dbSize: 20480, leader: member, raftIndex: 4, raftTerm: 2, raftAppliedIndex: 4, dbSizeInUse: 16384 }).finish(),
    );
    const list = [{ ep: '127.0.0.1:2379', resp: status }];
    assert.equal(capture('simple', (p) => p.endpointStatus(list)).stdout, '127.0.0.1:2379, 8e9e05c52164694d, 3.6.0, 20 kB, true, false, 2, 4, 4, \n');
    const json = capture('json', (p) => p.endpointStatus(list)).stdout;
    assert.match(json, /"header":\{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"revision":1,"raft_term":2\}/);
    assert.match(json, /"leader":10276657743932975437,/);
  });

  test('endpoint health: simple (unhealthy on stderr), json, table', () => {
    const list = [
      { ep: 'a:1', health: true, took: '2.1ms', error: '' },
      { ep: 'b:2', health: false, took: '1s', error: 'context deadline exceeded' },
    ];
    assert.deepEqual(capture('simple', (p) => p.endpointHealth(list)), {
      stdout: 'a:1 is healthy: successfully committed proposal: took = 2.1ms\n',
      stderr: 'b:2 is unhealthy: failed to commit proposal: context deadline exceeded\n',
    });
    assert.equal(
      capture('json', (p) => p.endpointHealth(list)).stdout,
      '[{"endpoint":"a:1","health":true,"took":"2.1ms"},{"endpoint":"b:2","health":false,"took":"1s","error":"context deadline exceeded"}]\n',
    );
  });
});

test('lease timetolive: simple with keys, already expired; json keys null when none', () => {
  const ttl = (m: etcdserverpb.LeaseTimeToLiveResponse.$Properties) =>
    decodeAs<LeaseTimeToLiveResponse>(LeaseTimeToLiveResponseSchema, etcdserverpb.LeaseTimeToLiveResponse.encode(m).finish());
  assert.equal(
    capture('simple', (p) => p.timeToLive(ttl({ ID: 0x10n, TTL: 59, grantedTTL: 60, keys: [b('lk1'), b('lk2')] }), true)).stdout,
    'lease 0000000000000010 granted with TTL(60s), remaining(59s), attached keys([lk1 lk2])\n',
  );
  assert.equal(capture('simple', (p) => p.timeToLive(ttl({ ID: 1n, TTL: -1 }), false)).stdout, 'lease 0000000000000001 already expired\n');
  assert.equal(capture('json', (p) => p.timeToLive(ttl({ header, ID: 1n, TTL: -1 }), false)).stdout, '{"cluster_id":1,"member_id":2,"revision":13,"raft_term":3,"id":1,"ttl":-1,"granted-ttl":0,"keys":null}\n');
});

test('tablewriter layout: centred upper-case headers, right-aligned cells', () => {
  assert.equal(renderTable(['a_b', 'x'], [['1', 'long cell']]), '+-----+-----------+\n| A B |     X     |\n+-----+-----------+\n|   1 | long cell |\n+-----+-----------+\n');
});

test('watch: simple, fields, json (recorded from etcdctl 3.4 against etcd 3.4)', async () => {
  const { WatchResponseSchema } = await import('../../../../src/cli/etcdctl/messages.js');
  const kv1 = { key: b('b'), createRevision: 5, modRevision: 5, version: 1, value: b('1') };
  const kv2 = { key: b('b'), createRevision: 5, modRevision: 6, version: 2, value: b('2') };
  const raw = etcdserverpb.WatchResponse.encode({ header, watchId: 0, events: [{ kv: kv1 }, { kv: kv2, prevKv: kv1 }, { type: 1, kv: { key: b('b'), modRevision: 7 }, prevKv: kv2 }] }).finish();
  const w = decodeAs<import('../../../../src/cli/etcdctl/messages.js').WatchResponse>(WatchResponseSchema, raw);
  assert.equal(capture('simple', (p) => p.watch(w)).stdout, 'PUT\nb\n1\nPUT\nb\n1\nb\n2\nDELETE\nb\n2\nb\n\n');
  assert.equal(
    capture('json', (p) => p.watch(w)).stdout,
    '{"Header":{"cluster_id":1,"member_id":2,"revision":13,"raft_term":3},"Events":[{"kv":{"key":"Yg==","create_revision":5,"mod_revision":5,"version":1,"value":"MQ=="}},' +
      '{"kv":{"key":"Yg==","create_revision":5,"mod_revision":6,"version":2,"value":"Mg=="},"prev_kv":{"key":"Yg==","create_revision":5,"mod_revision":5,"version":1,"value":"MQ=="}},' +
      '{"type":1,"kv":{"key":"Yg==","mod_revision":7},"prev_kv":{"key":"Yg==","create_revision":5,"mod_revision":6,"version":2,"value":"Mg=="}}],"CompactRevision":0,"Canceled":false,"Created":false}\n',
  );
  assert.match(capture('fields', (p) => p.watch(w)).stdout, /^"ClusterID" : 1\n"MemberID" : 2\n"Revision" : 13\n"RaftTerm" : 3\n"Type" : PUT\n"Key" : "b"\n/);
  assert.match(capture('fields', (p) => p.watch(w)).stdout, /"Type" : DELETE\n"PrevKey" : "b"\n/);
  assert.throws(() => capture('table', (p) => p.watch(w)), new UnsupportedFormat('table'));
});
