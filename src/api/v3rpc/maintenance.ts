/**
 * etcdserverpb.Maintenance (Status, Alarm, Hash, HashKV, Defragment, Snapshot) and
 * Downgrade. MoveLeader and the Cluster service are in cluster.ts.
 *
 * Snapshot streams the staged bbolt file in 32 KiB messages { remaining_bytes, blob } and then
 * one message whose blob is the SHA-256 of everything before it (remaining_bytes 0), as etcd's
 * maintenance server does; `etcdctl snapshot save` checks that trailer.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { etcdserverpb } from '../../proto/pb.js';
import { encodeWith, type UnaryMethodSpec } from './method.js';
import type { ServerStream, StreamMethod } from '../grpc/types.js';
import { EtcdError } from '../../errors/errors.js';

export interface StatusSource {
  status(): etcdserverpb.IStatusResponse;
  header(revision: number): etcdserverpb.IResponseHeader;
}

/** The maintenance calls of the server (EtcdServer implements them). */
export interface MaintenanceServer extends StatusSource {
  /** Encoded AlarmResponse with its header (goes through the log). */
  alarm(req: etcdserverpb.IAlarmRequest): Promise<Uint8Array>;
  hashKv(revision: number): Promise<{ hash: number; hashRevision: number; compactRevision: number; header: etcdserverpb.IResponseHeader }>;
  hash(): Promise<etcdserverpb.IHashResponse>;
  defragment(): { header: etcdserverpb.IResponseHeader };
  snapshot(): Promise<{ path: string; sizeBytes: number; revision: number; release: () => void }>;
}

/** etcd's snapshotSendBufferSize. */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;
/** Bytes read from the staged file per read (one thread-pool hop), then sent in 32 KiB messages. */
const SNAPSHOT_READ_BYTES = 1024 * 1024;

export function maintenanceMethods(s: StatusSource | MaintenanceServer): UnaryMethodSpec<any, any>[] {
  const pb = etcdserverpb;
  const methods: UnaryMethodSpec<any, any>[] = [
    {
      path: '/etcdserverpb.Maintenance/Status',
      decode: (b) => pb.StatusRequest.decode(b),
      encode: encodeWith(pb.StatusResponse),
      handler: () => s.status(),
    },
  ];
  if (!('alarm' in s)) return methods;
  const m = s;
  methods.push(
    {
      path: '/etcdserverpb.Maintenance/Alarm',
      decode: (b) => pb.AlarmRequest.decode(b),
      encode: encodeWith(pb.AlarmResponse),
      handler: (req: etcdserverpb.AlarmRequest) => m.alarm(req),
    },
    {
      path: '/etcdserverpb.Maintenance/HashKV',
      decode: (b) => pb.HashKVRequest.decode(b),
      encode: encodeWith(pb.HashKVResponse),
      handler: async (req: etcdserverpb.HashKVRequest) => {
        const r = await m.hashKv(Number(req.revision ?? 0));
        // etcd reports -1 for a store never compacted (its compactMainRev starts at -1).
        return { header: r.header, hash: r.hash, compactRevision: r.compactRevision > 0 ? r.compactRevision : -1, hashRevision: r.hashRevision };
      },
    },
    {
      path: '/etcdserverpb.Maintenance/Hash',
      decode: (b) => pb.HashRequest.decode(b),
      encode: encodeWith(pb.HashResponse),
      handler: () => m.hash(),
    },
    {
      path: '/etcdserverpb.Maintenance/Downgrade',
      decode: (b) => pb.DowngradeRequest.decode(b),
      encode: encodeWith(pb.DowngradeResponse),
      handler: (req: etcdserverpb.DowngradeRequest) => downgrade(req, s.status()),
    },
    {
      path: '/etcdserverpb.Maintenance/Defragment',
      decode: (b) => pb.DefragmentRequest.decode(b),
      encode: encodeWith(pb.DefragmentResponse),
      handler: () => ({ header: m.defragment().header }),
    },
  );
  return methods;
}

export function maintenanceStreams(m: MaintenanceServer): StreamMethod<any, any>[] {
  const pb = etcdserverpb;
  return [
    {
      path: '/etcdserverpb.Maintenance/Snapshot',
      kind: 'server',
      decode: (b) => pb.SnapshotRequest.decode(b),
      encode: (res: etcdserverpb.ISnapshotResponse) => pb.SnapshotResponse.encode(res).finish(),
      handler: (stream: ServerStream<etcdserverpb.SnapshotRequest, etcdserverpb.ISnapshotResponse>) => {
        let started = false;
        stream.onMessage(() => {
          if (started) return;
          started = true;
          streamSnapshot(m, stream).catch((err: unknown) => stream.end(err));
        });
      },
    },
  ];
}

async function streamSnapshot(
  m: MaintenanceServer,
  stream: ServerStream<etcdserverpb.SnapshotRequest, etcdserverpb.ISnapshotResponse>,
): Promise<void> {
  const snap = await m.snapshot();
  let fh: FileHandle | undefined;
  try {
    if (stream.closed) return;
    fh = await open(snap.path, 'r');
    const sha = createHash('sha256');
    const header = m.header(snap.revision);
    let sent = 0;
    while (sent < snap.sizeBytes) {
      if (stream.closed) return;
      // Read a block per thread-pool hop, send it as etcd's 32 KiB messages.
      const block = Buffer.allocUnsafe(Math.min(SNAPSHOT_READ_BYTES, snap.sizeBytes - sent));
      const { bytesRead } = await fh.read(block, 0, block.length, sent);
      if (bytesRead !== block.length) throw new Error(`snapshot file ${snap.path} shorter than ${snap.sizeBytes} bytes`);
      sha.update(block);
      for (let off = 0; off < block.length; off += SNAPSHOT_CHUNK_BYTES) {
        const buf = block.subarray(off, Math.min(off + SNAPSHOT_CHUNK_BYTES, block.length));
        sent += buf.length;
        if (!stream.send({ header, remainingBytes: snap.sizeBytes - sent, blob: buf })) {
          if (stream.closed) return;
          await new Promise<void>((resolve) => {
            stream.onDrain(resolve);
            stream.onClose(resolve);
          });
        }
      }
    }
    if (stream.closed) return;
    stream.send({ header, remainingBytes: 0, blob: sha.digest() });
    stream.end();
  } finally {
    await fh?.close();
    snap.release();
  }
}

/**
 * Downgrade, answered clearly: VALIDATE checks the target as etcd does (one minor version below
 * the cluster version) and answers with the cluster version; ENABLE is refused (the store's
 * format does not change between versions here: restart with --emulated-etcd-version); CANCEL
 * has no job to cancel.
 */
export function downgrade(req: etcdserverpb.IDowngradeRequest, st: etcdserverpb.IStatusResponse): etcdserverpb.IDowngradeResponse {
  const action = req.action ?? 0;
  if (action === 2) throw new EtcdError('ETCD_ERR_SERVER_NO_INFLIGHT_DOWNGRADE');
  const m = /^(\d+)\.(\d+)(\.\d+)?$/.exec(req.version ?? '');
  if (m === null) throw new EtcdError('ETCD_ERR_SERVER_WRONG_DOWNGRADE_VERSION_FORMAT');
  const [cmaj, cmin] = String(st.version ?? '').split('.').map(Number);
  if (Number(m[1]) !== cmaj || Number(m[2]) !== (cmin ?? 0) - 1) throw new EtcdError('ETCD_ERR_SERVER_INVALID_DOWNGRADE_TARGET_VERSION');
  if (action === 1) throw new EtcdError('ETCD_ERR_SERVER_DOWNGRADE_NOT_SUPPORTED');
  return { header: st.header, version: `${cmaj}.${cmin}.0` };
}
