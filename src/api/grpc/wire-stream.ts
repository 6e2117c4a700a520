/**
 * The HTTP/2 state of one stream on a WireConnection (RFC 9113 5.1), as a base class: each
 * call (wire-call.ts) and each non-gRPC exchange (wire-http.ts) IS its stream, so a call
 * allocates no stream object of its own.
 *
 *   open ──(client END_STREAM)──> half-closed (remote) ──(we send END_STREAM)──> closed
 *     └──(we send END_STREAM first: RST_STREAM NO_ERROR follows)────────────────> closed
 *     └──(RST_STREAM either way, connection lost)──────────────────────────────> closed
 *
 * Invariants: a stream is in its connection's map exactly while `localClosed` is false;
 * `queue` holds DATA bytes flow control did not let out yet, in order, and `pendingEnd` what
 * ends the stream once they are out (a trailer block, or null for an empty END_STREAM DATA).
 */
import type { WireConnection } from './wire-connection.js';

export abstract class WireStream {
  readonly id: number;
  readonly conn: WireConnection;
  /** Bytes of DATA the client still lets us send on this stream. */
  sendWindow: number;
  /** Bytes of DATA the client may still send before we owe it a WINDOW_UPDATE. */
  recvWindow: number;
  /** DATA held back by flow control. */
  queue: Buffer[] | undefined = undefined;
  queuedBytes = 0;
  /** Sent once `queue` is empty: a trailers block (END_STREAM), null (empty DATA, END_STREAM), undefined (nothing yet). */
  pendingEnd: Buffer | null | undefined = undefined;
  /** The client sent END_STREAM. */
  remoteClosed = false;
  /** We sent END_STREAM or RST_STREAM, or the stream was reset. */
  localClosed = false;
  /** A sender saw backpressure and waits for onWritable. */
  wantDrain = false;

  constructor(conn: WireConnection, id: number) {
    this.conn = conn;
    this.id = id;
    this.sendWindow = conn.peerInitialWindow;
    this.recvWindow = conn.localInitialWindow;
  }

  /** DATA payload (padding removed), in order. */
  abstract onData(payload: Buffer): void;
  /** The client sent END_STREAM (on DATA or on trailers). */
  abstract onRemoteEnd(): void;
  /** The stream is gone before we ended it: RST_STREAM from the client, connection lost, shutdown. */
  abstract onReset(): void;
  /** A send that reported backpressure may go on (flow-control window or socket drained). */
  onWritable(): void {}
}
