/**
 * Member and cluster IDs, derived as etcd derives them (docs/decisions/0003-64-bit-ids.md),
 * so a member started with etcd's flags has etcd's IDs (`etcd` with no flags: member
 * 8e9e05c52164694d of cluster cdf818194e3a8c32):
 *
 * - member ID: the peer URLs sorted as strings and concatenated with no separator, then the
 *   cluster token (--initial-cluster-token), then, only for a member added to a running
 *   cluster, the Unix time in seconds in decimal; SHA-1 of those bytes; the first 8 bytes
 *   of the digest as a big-endian uint64;
 * - cluster ID: the member IDs sorted ascending, each as 8 big-endian bytes, concatenated;
 *   SHA-1; the first 8 bytes as a big-endian uint64. (The token enters through the
 *   member IDs only.)
 */
import { createHash } from 'node:crypto';
import type { ClusterId, MemberId } from '../util/pure/id64.js';

function first8BytesOfSha1(data: Buffer): bigint {
  return createHash('sha1').update(data).digest().readBigUInt64BE(0);
}

/**
 * `peerUrls` in the form etcd prints them (src/util/urls.ts formatUrl: "http://localhost:2380",
 * no trailing slash). `addedAtUnixS` only for `member add` on a running cluster.
 */
export function computeMemberId(peerUrls: readonly string[], clusterToken: string, addedAtUnixS?: number): MemberId {
  let text = [...peerUrls].sort().join('') + clusterToken;
  if (addedAtUnixS !== undefined) text += String(Math.trunc(addedAtUnixS));
  return first8BytesOfSha1(Buffer.from(text, 'utf8'));
}

export function computeClusterId(memberIds: readonly MemberId[]): ClusterId {
  const sorted = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const buf = Buffer.allocUnsafe(8 * sorted.length);
  sorted.forEach((id, i) => buf.writeBigUInt64BE(id, 8 * i));
  return first8BytesOfSha1(buf);
}

export interface MemberIdentity {
  readonly name: string;
  readonly memberId: MemberId;
  readonly clusterId: ClusterId;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}
