/**
 * Member and cluster IDs. Like etcd, a member's ID is derived from its peer URLs and the
 * cluster token, and the cluster ID from the member IDs; unlike etcd they are kept below
 * 2^53 (docs/decisions/0001-int64-as-number.md) by taking 52 bits of the SHA-1 digest.
 */
import { createHash } from 'node:crypto';

const ID_BITS_MASK = (1n << 52n) - 1n;

function idFromDigest(parts: readonly string[]): number {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  const digest = h.digest();
  const id = Number(digest.readBigUInt64BE(0) & ID_BITS_MASK);
  return id === 0 ? 1 : id; // 0 means "none" everywhere
}

export function computeMemberId(peerUrls: readonly string[], clusterToken: string): number {
  return idFromDigest([...peerUrls].sort().concat([clusterToken]));
}

export function computeClusterId(memberIds: readonly number[], clusterToken: string): number {
  const hex = [...memberIds].sort((a, b) => a - b).map((id) => id.toString(16));
  return idFromDigest(hex.concat([clusterToken]));
}

export interface MemberIdentity {
  readonly name: string;
  readonly memberId: number;
  readonly clusterId: number;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}
