/**
 * etcdserverpb.Watch/Watch: a bidirectional stream. Requests are handled one at a time, in
 * arrival order; responses are built (already encoded) by the watch hub (docs/watch.md) and
 * written through the transport, whose `send` returning false tells the hub the stream is slow.
 */
import { etcdserverpb } from '../../proto/pb.js';
import { EtcdError } from '../../errors/errors.js';
import type { StreamMethod, ServerStream, CallContext } from '../grpc/types.js';

/** One Watch stream as the hub exposes it (src/server/watch-hub.ts HubStream). */
export interface WatchStreamHandle {
  create(req: etcdserverpb.IWatchCreateRequest & { watchId?: number | null; startRevision?: number | null }): Promise<void> | void;
  cancel(watchId: number): void;
  requestProgress(): Promise<void> | void;
  drained(): void;
  close(): void;
}

/** What the Watch service calls (etcd's mvcc.WatchableKV, as the RPC layer sees it). */
export interface Watchable {
  openStream(send: (response: Uint8Array) => boolean): WatchStreamHandle;
}

export interface WatchServiceOptions {
  /** False when this member has no leader (a `hasleader=true` stream is refused then). */
  hasLeader(): boolean;
  /**
   * Calls `listener` whenever this member loses its leader; returns the unsubscribe function.
   * `hasleader=true` streams then end with `etcdserver: no leader`, as etcd's monitorLeader does
   * (src/server/leader-monitor.ts: after a few election timeouts without a leader).
   */
  onLeaderLost?(listener: () => void): () => void;
}

/** etcd's metadata key and value for "require a leader" (rpctypes.MetadataRequireLeaderKey). */
export const METADATA_REQUIRE_LEADER_KEY = 'hasleader';
export const METADATA_HAS_LEADER = 'true';

export function watchMethod(watchable: Watchable, opts: WatchServiceOptions): StreamMethod<etcdserverpb.WatchRequest, Uint8Array> {
  return {
    path: '/etcdserverpb.Watch/Watch',
    kind: 'bidi',
    decode: (b) => etcdserverpb.WatchRequest.decode(b),
    encode: (r) => r,
    handler: (stream: ServerStream<etcdserverpb.WatchRequest, Uint8Array>, ctx: CallContext) => {
      const requireLeader = ctx.metadata(METADATA_REQUIRE_LEADER_KEY) === METADATA_HAS_LEADER;
      if (requireLeader && !opts.hasLeader()) {
        stream.end(new EtcdError('ETCD_ERR_RAFT_NO_LEADER'));
        return;
      }
      const handle = watchable.openStream((r) => stream.send(r));
      // Ending the call fires onClose, which closes the hub stream.
      const fail = (err: unknown): void => stream.end(err);
      // Requests run in arrival order; one that must wait (a create from "now") holds the rest back.
      const queue: etcdserverpb.WatchRequest[] = [];
      let waiting = false;
      const run = (req: etcdserverpb.WatchRequest): Promise<void> | void => {
        if (req.createRequest != null) return handle.create(req.createRequest);
        if (req.cancelRequest != null) return handle.cancel(Number(req.cancelRequest.watchId ?? 0));
        if (req.progressRequest != null) return handle.requestProgress();
        // A request with no field set is ignored, as etcd does.
      };
      const pump = (): void => {
        while (!waiting && queue.length > 0 && !stream.closed) {
          const r = run(queue.shift()!);
          if (r instanceof Promise) {
            waiting = true;
            r.then(() => {
              waiting = false;
              pump();
            }, fail);
          }
        }
      };
      stream.onMessage((req) => {
        queue.push(req);
        pump();
      });
      // etcd keeps sending after the client half-closes; the call ends when the client goes.
      stream.onHalfClose(() => undefined);
      stream.onDrain(() => handle.drained());
      const unsubscribe = requireLeader ? opts.onLeaderLost?.(() => fail(new EtcdError('ETCD_ERR_RAFT_NO_LEADER'))) : undefined;
      stream.onClose(() => {
        unsubscribe?.();
        handle.close();
      });
    },
  };
}
