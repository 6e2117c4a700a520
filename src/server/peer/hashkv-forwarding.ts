/**
 * HashKV between members (docs/cluster.md, "HashKV between members"): the corruption checks
 * (src/server/corruption-check.ts) ask the other members for their HashKV at a revision over the
 * peer port, POST /members/hashkv, as etcd's peer /members/hashkv. Body: a protobuf
 * HashKVRequest; answers:
 *   200 a protobuf HashKVResponse (header.member_id, header.revision: the answerer's current
 *       revision; hash; compact_revision, -1 when never compacted, as etcd);
 *   409 an error code of the catalogue (ETCD_ERR_MVCC_COMPACTED, ETCD_ERR_MVCC_FUTURE_REV,
 *       ETCD_ERR_SERVER_STOPPED, ...);
 *   400 a malformed body or a negative revision.
 * The transport refuses another cluster (412), a sender that is not a member (403), a body over
 * 1 KiB (413), and answers 503 before `serveHashKv` is registered.
 */
import { EtcdError, isErrorCode } from '../../errors/errors.js';
import { etcdserverpb } from '../../proto/pb.js';
import type { NodeId } from '../../raftpb/types.js';
import type { CorruptionPeers, PeerHash, StoreHash } from '../corruption-check.js';

const STATUS_OK = 200;
const STATUS_ETCD_ERROR = 409;

/** What the asking side needs of the peer transport (Http2PeerTransport). */
export interface HashKvPeer {
  peerIds(): NodeId[];
  requestHashKv(to: NodeId, body: Uint8Array, timeoutMs: number): Promise<{ status: number; body: Buffer }>;
}

/** What the answering side needs of the member (EtcdServer). */
export interface LocalHashKv {
  hashKv(revision: number): Promise<{ hash: number; hashRevision: number; compactRevision: number; header: etcdserverpb.IResponseHeader }>;
}

/** etcd reports -1 for a store never compacted (its compactMainRev starts at -1). */
export function etcdCompactRevision(compactRevision: number): number {
  return compactRevision > 0 ? compactRevision : -1;
}

/** This member's HashKV at its current revision, in the form the checks compare. */
export async function localStoreHash(local: LocalHashKv): Promise<StoreHash> {
  const r = await local.hashKv(0);
  return { hash: r.hash, revision: r.hashRevision, compactRevision: etcdCompactRevision(r.compactRevision) };
}

/** The answering side: POST /members/hashkv's handler. */
export function serveHashKv(local: LocalHashKv): (body: Buffer) => Promise<{ status: number; body: Uint8Array }> {
  return async (body) => {
    let revision: number;
    try {
      revision = Number(etcdserverpb.HashKVRequest.decode(body).revision ?? 0);
    } catch (err) {
      return { status: 400, body: Buffer.from(`malformed HashKVRequest: ${err instanceof Error ? err.message : String(err)}`) };
    }
    if (!Number.isSafeInteger(revision) || revision < 0) return { status: 400, body: Buffer.from(`malformed HashKVRequest: revision ${revision}`) };
    try {
      const r = await local.hashKv(revision);
      const resp: etcdserverpb.IHashKVResponse = {
        header: r.header,
        hash: r.hash,
        compactRevision: etcdCompactRevision(r.compactRevision),
        hashRevision: r.hashRevision,
      };
      return { status: STATUS_OK, body: etcdserverpb.HashKVResponse.encode(resp).finish() };
    } catch (err) {
      if (err instanceof EtcdError) return { status: STATUS_ETCD_ERROR, body: Buffer.from(err.code) };
      throw err;
    }
  };
}

/** The asking side: the other members through the peer transport, each call bounded by `timeoutMs`. */
export function peerHashKvs(peer: HashKvPeer, timeoutMs: number): CorruptionPeers {
  return {
    peers: () => peer.peerIds(),
    hashKv: async (id, revision): Promise<PeerHash> => {
      let r: { status: number; body: Buffer };
      try {
        r = await peer.requestHashKv(id, etcdserverpb.HashKVRequest.encode({ revision }).finish(), timeoutMs);
      } catch (err) {
        return { ok: false, reason: err instanceof Error ? err.message : String(err) };
      }
      if (r.status === STATUS_ETCD_ERROR) {
        const code = r.body.toString('utf8');
        if (isErrorCode(code)) return { ok: false, code, reason: new EtcdError(code).message };
      }
      if (r.status !== STATUS_OK) return { ok: false, reason: `HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 200)}` };
      let resp: etcdserverpb.HashKVResponse;
      try {
        resp = etcdserverpb.HashKVResponse.decode(r.body);
      } catch (err) {
        return { ok: false, reason: `malformed HashKVResponse: ${err instanceof Error ? err.message : String(err)}` };
      }
      return {
        ok: true,
        memberId: BigInt.asUintN(64, resp.header?.memberId ?? id),
        revision: Number(resp.header?.revision ?? 0),
        compactRevision: Number(resp.compactRevision ?? 0),
        hash: Number(resp.hash ?? 0) >>> 0,
      };
    },
  };
}
