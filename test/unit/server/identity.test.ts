// Member and cluster IDs as etcd derives them (docs/decisions/0003-64-bit-ids.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeClusterId, computeMemberId } from '../../../src/server/identity.js';
import { formatUrl, parseUrlList } from '../../../src/util/urls.js';
import { idToHex } from '../../../src/util/pure/id64.js';

test('`etcd` with no flags: member 8e9e05c52164694d of cluster cdf818194e3a8c32, as the real etcd', () => {
  // etcd's defaults: --initial-advertise-peer-urls http://localhost:2380, --initial-cluster-token etcd-cluster
  const peerUrls = parseUrlList('http://localhost:2380').map(formatUrl);
  assert.deepEqual(peerUrls, ['http://localhost:2380'], 'our URL form is the string etcd hashes');
  const member = computeMemberId(peerUrls, 'etcd-cluster');
  assert.equal(idToHex(member), '8e9e05c52164694d');
  assert.equal(member, 10276657743932975437n);
  assert.equal(idToHex(computeClusterId([member])), 'cdf818194e3a8c32');
});

test('member ID: peer URLs are sorted and concatenated without a separator, then the token', () => {
  const a = computeMemberId(['http://b:2380', 'http://a:2380'], 'tok');
  assert.equal(a, computeMemberId(['http://a:2380', 'http://b:2380'], 'tok'), 'order of the flag does not matter');
  assert.equal(a, computeMemberId(['http://a:2380http://b:2380'], 'tok'), 'no separator');
  assert.notEqual(a, computeMemberId(['http://a:2380', 'http://b:2380'], 'other-token'));
  // `member add` on a running cluster appends the Unix time in seconds (decimal).
  assert.equal(computeMemberId(['http://a:2380'], 'tok', 1700000000), computeMemberId(['http://a:2380'], 'tok1700000000'));
});

test('cluster ID: member IDs sorted ascending as 8-byte big-endian, not the token again', () => {
  const ids = [0x8e9e05c52164694dn, 0x1n, 0xffff_ffff_ffff_ffffn];
  assert.equal(computeClusterId(ids), computeClusterId([...ids].reverse()));
  // Sorted as unsigned 64-bit numbers, not as strings or doubles.
  const big = computeClusterId([(1n << 63n) + 1n, (1n << 63n) + 2n]);
  assert.equal(big, computeClusterId([(1n << 63n) + 2n, (1n << 63n) + 1n]));
  assert.notEqual(computeClusterId([1n]), computeClusterId([2n]));
});
