// The generated code's 64-bit ID fields (scripts/gen-proto.mjs ID64_FIELDS): bigint, exact on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { etcdserverpb, mvccpb, v3electionpb, v3lockpb } from '../../../src/proto/pb.js';

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });

test('PutRequest.lease and KeyValue.lease: any int64, including above 2^53 and negative', () => {
  fc.assert(fc.property(i64, (lease) => {
    const put = etcdserverpb.PutRequest.decode(etcdserverpb.PutRequest.encode({ key: Buffer.from('k'), lease }).finish());
    assert.equal(put.lease, lease);
    const kv = mvccpb.KeyValue.decode(mvccpb.KeyValue.encode({ key: Buffer.from('k'), lease, version: 3 }).finish());
    assert.equal(kv.lease, lease);
    assert.equal(kv.version, 3, 'other int64 fields stay numbers');
  }));
});

test('the wire bytes are the standard varints (as Go writes them)', () => {
  // field 3, varint 2^53 + 1 = 0x20000000000001
  assert.equal(Buffer.from(etcdserverpb.PutRequest.encode({ lease: 2n ** 53n + 1n }).finish()).toString('hex'), '18' + '8180808080808010');
  // int64 -1: ten bytes
  assert.equal(Buffer.from(etcdserverpb.PutRequest.encode({ lease: -1n }).finish()).toString('hex'), '18' + 'ffffffffffffffffff01');
  // member ID 8e9e05c52164694d in ResponseHeader.member_id (field 2)
  const h = etcdserverpb.ResponseHeader.encode({ memberId: 0x8e9e05c52164694dn }).finish();
  assert.equal(Buffer.from(h).toString('hex'), '10' + 'cdd2918bd2b881cf8e01');
  assert.equal(etcdserverpb.ResponseHeader.decode(h).memberId, 0x8e9e05c52164694dn);
});

test('uint64 IDs: header, members, status leader, request IDs, alarms', () => {
  fc.assert(fc.property(u64, u64, (a, b) => {
    const h = etcdserverpb.ResponseHeader.decode(etcdserverpb.ResponseHeader.encode({ clusterId: a, memberId: b, revision: 7, raftTerm: 2 }).finish());
    assert.deepEqual([h.clusterId, h.memberId, h.revision, h.raftTerm], [a, b, 7, 2]);
    const list = etcdserverpb.MemberListResponse.decode(etcdserverpb.MemberListResponse.encode({ members: [{ ID: a, name: 'x' }, { ID: b }] }).finish());
    assert.deepEqual(list.members.map((m) => m.ID), [a, b]);
    assert.equal(etcdserverpb.StatusResponse.decode(etcdserverpb.StatusResponse.encode({ leader: a }).finish()).leader, a);
    const irr = etcdserverpb.InternalRaftRequest.decode(etcdserverpb.InternalRaftRequest.encode({ header: { ID: a }, ID: b }).finish());
    assert.deepEqual([irr.header!.ID, irr.ID], [a, b]);
    assert.equal(etcdserverpb.AlarmMember.decode(etcdserverpb.AlarmMember.encode({ memberID: a }).finish()).memberID, a);
    assert.equal(etcdserverpb.MemberRemoveRequest.decode(etcdserverpb.MemberRemoveRequest.encode({ ID: a }).finish()).ID, a);
    assert.equal(etcdserverpb.MoveLeaderRequest.decode(etcdserverpb.MoveLeaderRequest.encode({ targetID: a }).finish()).targetID, a);
  }));
});

test('lease IDs in every lease message, the Compare oneof and v3lock/v3election', () => {
  fc.assert(fc.property(i64, (id) => {
    assert.equal(etcdserverpb.LeaseGrantResponse.decode(etcdserverpb.LeaseGrantResponse.encode({ ID: id, TTL: 5 }).finish()).ID, id);
    assert.equal(etcdserverpb.LeaseKeepAliveRequest.decode(etcdserverpb.LeaseKeepAliveRequest.encode({ ID: id }).finish()).ID, id);
    assert.equal(etcdserverpb.LeaseTimeToLiveResponse.decode(etcdserverpb.LeaseTimeToLiveResponse.encode({ ID: id, TTL: -1 }).finish()).ID, id);
    const leases = etcdserverpb.LeaseLeasesResponse.decode(etcdserverpb.LeaseLeasesResponse.encode({ leases: [{ ID: id }] }).finish());
    assert.equal(leases.leases[0]!.ID, id);
    const cp = etcdserverpb.LeaseCheckpointRequest.decode(etcdserverpb.LeaseCheckpointRequest.encode({ checkpoints: [{ ID: id, remaining_TTL: 3 }] }).finish());
    assert.equal(cp.checkpoints[0]!.ID, id);
    const cmp = etcdserverpb.Compare.decode(etcdserverpb.Compare.encode({ target: etcdserverpb.Compare.CompareTarget.LEASE, lease: id }).finish());
    assert.equal(cmp.lease, id);
    assert.equal(cmp.targetUnion, 'lease');
    assert.equal(v3lockpb.LockRequest.decode(v3lockpb.LockRequest.encode({ lease: id }).finish()).lease, id);
    assert.equal(v3electionpb.LeaderKey.decode(v3electionpb.LeaderKey.encode({ lease: id }).finish()).lease, id);
    assert.equal(v3electionpb.CampaignRequest.decode(v3electionpb.CampaignRequest.encode({ lease: id }).finish()).lease, id);
  }));
});

test('absent ID fields decode to 0n; zero is not written; a number where a bigint belongs throws', () => {
  const empty = etcdserverpb.ResponseHeader.decode(new Uint8Array());
  assert.equal(empty.memberId, 0n);
  assert.equal(empty.clusterId, 0n);
  assert.equal(mvccpb.KeyValue.decode(new Uint8Array()).lease, 0n);
  assert.equal(etcdserverpb.PutRequest.decode(new Uint8Array()).lease, 0n);
  assert.equal(etcdserverpb.PutRequest.encode({ lease: 0n }).finish().length, 0);
  assert.equal(etcdserverpb.Compare.decode(new Uint8Array()).lease, null, 'an unset oneof member stays null');
  assert.throws(() => etcdserverpb.PutRequest.encode({ lease: 5 as unknown as bigint }).finish(), TypeError);
  assert.throws(() => etcdserverpb.ResponseHeader.encode({ memberId: 1n << 64n }).finish(), RangeError, 'never wrapped silently');
  assert.throws(() => etcdserverpb.PutRequest.encode({ lease: -(1n << 63n) - 1n }).finish(), RangeError);
  // A truncated 64-bit varint is refused, not misread.
  assert.throws(() => etcdserverpb.PutRequest.decode(new Uint8Array([0x18, 0xff, 0xff])), RangeError);
});

test('a header encoded twice in a row with different IDs (the conversion cache) stays exact', () => {
  const ids = [0x8e9e05c52164694dn, 0xcdf818194e3a8c32n, 1n, 0x8e9e05c52164694dn, 2n ** 63n];
  for (const a of ids) {
    for (const b of ids) {
      const h = etcdserverpb.ResponseHeader.decode(etcdserverpb.ResponseHeader.encode({ clusterId: a, memberId: b }).finish());
      assert.deepEqual([h.clusterId, h.memberId], [a, b]);
    }
  }
});
