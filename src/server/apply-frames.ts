/**
 * Frames of the apply channel (docs/architecture.md, "Apply channel frames").
 *
 * Entry batch, main -> worker, little-endian:
 *   u32 count, then count x the entry encoding of docs/storage-wal.md (src/wal/codec.ts)
 *   u32 promisedCount, then promisedCount x { u64 index, u64 revision }: revisions already
 *   promised to clients for entries of this batch (plain puts answered at durability); the
 *   applier checks each before its transaction commits and fails the batch on a mismatch
 *   u32 flags: bit 0 = events not wanted (nobody listened at hand-off: the worker may leave
 *   them out); other bits must be 0
 *
 * Outcome batch, worker -> main:
 *   u32 count, then count x outcome:
 *     u64 index, u64 requestId, u64 revision   (requestId: a full u64, 0 = no request;
 *                                              index and revision: safe integers)
 *     u8 flags            bit 0: response present, bit 1: error present, bit 2: lease effect present,
 *                         bit 3: the entry changed the active alarms (no payload), bit 4: auth
 *                         changed, bit 5: an applied Authenticate, bit 6: answer only once visible
 *     [u32 len, bytes]    encoded response, when bit 0
 *     [u32 len, utf8]     EtcdError code, when bit 1
 *     [u64 id, u64 ttl]   lease effect, when bit 2: the lease ID's two's complement; ttl > 0 a
 *                         grant of that TTL (s), 0 a revoke (docs/leases.md)
 *     u32 eventCount, eventCount x [u32 len, bytes]   encoded mvccpb.Event; eventCount
 *                         0xFFFFFFFF (no events follow): the entry's events were left out
 */
import { ByteReader, ByteWriter, FrameError } from '../threads/frame.js';
import type { Entry } from '../raftpb/types.js';
import { entryEncodingBytes, readEntry, writeEntry } from '../wal/codec.js';
import type { ApplyOutcome } from './ports.js';

/**
 * First u32 of an 8-byte ring frame { u32 marker, u32 seq } that stands for an outcome frame
 * too big for the ring: the worker sends that one by postMessage with the same seq.
 */
export const OVERSIZE_MARKER = 0xffffffff;

/**
 * A 4-byte main -> worker frame { u32 0xFFFFFFFE }: sync LMDB to disk after everything
 * before it; answered in order by an empty outcome frame once the sync returned.
 */
export const FLUSH_MARKER = 0xfffffffe;

/**
 * A main -> worker frame { u32 0xFFFFFFFD, utf8 path }: replace the store with the LMDB file at
 * path (a Raft snapshot; src/backend/replace-store.ts), sync, rebuild the applier; answered in
 * order by an outcome frame with one outcome: index = the new applied index, revision = the new
 * store revision, requestId = the new consistent term.
 */
export const INSTALL_MARKER = 0xfffffffd;

/**
 * Main -> worker { u32 0xFFFFFFFC } (4 bytes): commit the open write transaction once every frame
 * before it is applied. Worker -> main { u32 0xFFFFFFFC, u32 0, f64 index } (16 bytes): every
 * entry at or below index is in a committed transaction (docs/architecture.md, "Deferred commits").
 */
export const VISIBLE_MARKER = 0xfffffffc;
const VISIBLE_FRAME_BYTES = 16;

export function encodeCommitRequest(): Uint8Array {
  const frame = new Uint8Array(4);
  new DataView(frame.buffer).setUint32(0, VISIBLE_MARKER, true);
  return frame;
}

export function isCommitRequest(frame: Uint8Array, offset = 0, length = frame.length - offset): boolean {
  return length === 4 && new DataView(frame.buffer, frame.byteOffset + offset, 4).getUint32(0, true) === VISIBLE_MARKER;
}

export function encodeVisible(index: number): Uint8Array {
  const frame = new Uint8Array(VISIBLE_FRAME_BYTES);
  const dv = new DataView(frame.buffer);
  dv.setUint32(0, VISIBLE_MARKER, true);
  dv.setFloat64(8, index, true);
  return frame;
}

/** The index of a visible frame, or undefined for any other frame. */
export function visibleIndex(frame: Uint8Array, offset = 0, length = frame.length - offset): number | undefined {
  if (length !== VISIBLE_FRAME_BYTES) return undefined;
  const dv = new DataView(frame.buffer, frame.byteOffset + offset, length);
  if (dv.getUint32(0, true) !== VISIBLE_MARKER) return undefined;
  const index = dv.getFloat64(8, true);
  if (!Number.isSafeInteger(index) || index < 0) throw new FrameError(`apply channel: visible frame with index ${index}`);
  return index;
}

export function encodeInstallFrame(path: string): Uint8Array {
  const p = Buffer.from(path, 'utf8');
  const frame = new Uint8Array(4 + p.length);
  new DataView(frame.buffer).setUint32(0, INSTALL_MARKER, true);
  frame.set(p, 4);
  return frame;
}

/** The path of an install frame, or undefined for any other frame. */
export function installFramePath(frame: Uint8Array, offset = 0, length = frame.length - offset): string | undefined {
  if (length <= 4 || new DataView(frame.buffer, frame.byteOffset + offset, 4).getUint32(0, true) !== INSTALL_MARKER) return undefined;
  return Buffer.from(frame.buffer, frame.byteOffset + offset + 4, length - 4).toString('utf8');
}

export function isFlushFrame(frame: Uint8Array, offset = 0, length = frame.length - offset): boolean {
  return length === 4 && new DataView(frame.buffer, frame.byteOffset + offset, 4).getUint32(0, true) === FLUSH_MARKER;
}

const HAS_RESPONSE = 1;
const HAS_ERROR = 2;
const HAS_LEASE = 4;
const ALARMS_CHANGED = 8;
/** The entry changed the auth store: the main thread reloads its mirror (docs/auth.md). */
const AUTH_CHANGED = 16;
/** The response is an InternalAuthenticateRequest{name, simple_token}: a token to record (docs/auth.md). */
const AUTH_TOKEN = 32;
/** Answer only once the batch is visible: the caller next relies on a mirror reloaded from the store (docs/architecture.md). */
const VISIBLE_ANSWER = 64;
/** eventCount of an entry whose events were left out: nobody listened when its batch was handed over. */
const EVENTS_OMITTED = 0xffffffff;
/** Batch frame flag: nobody listens to events now; the worker may leave them out. */
const BATCH_NO_EVENTS = 1;

import type { PromisedRevisions } from '../apply/interface.js';

const NO_PROMISES: PromisedRevisions = new Map();

/** Bytes of a batch frame beyond its entries' encodings. */
export function entryBatchOverheadBytes(promised: PromisedRevisions | undefined): number {
  return 12 + 16 * (promised?.size ?? 0);
}

export function encodeEntryBatch(entries: readonly Entry[], w = new ByteWriter(), promised: PromisedRevisions = NO_PROMISES, eventsWanted = true): Uint8Array {
  w.reset();
  w.u32(entries.length);
  for (const e of entries) {
    w.ensure(entryEncodingBytes(e));
    w.offset = writeEntry(w.buffer, w.view, w.offset, e);
  }
  w.u32(promised.size);
  for (const [index, revision] of promised) w.u64(index).u64(revision);
  w.u32(eventsWanted ? 0 : BATCH_NO_EVENTS);
  return w.result();
}

export interface EntryBatch {
  readonly entries: Entry[];
  readonly promised: PromisedRevisions;
  /** False: nobody listened to events at hand-off; outcomes may leave them out. */
  readonly eventsWanted: boolean;
}

/** Decodes a batch frame that may live in reused ring memory: entry data are copies. */
export function decodeEntryBatch(frame: Uint8Array, offset = 0, length = frame.length - offset): EntryBatch {
  const r = new ByteReader(frame, offset, length);
  const count = r.u32();
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const entries: Entry[] = [];
  let pos = r.offset;
  const end = offset + length;
  for (let i = 0; i < count; i++) {
    const { entry, next } = readEntry(frame, dv, pos, end - pos);
    entries.push(entry);
    pos = next;
  }
  const tail = new ByteReader(frame, pos, end - pos);
  const promisedCount = tail.u32();
  const promised = new Map<number, number>();
  for (let i = 0; i < promisedCount; i++) {
    const index = tail.u64();
    promised.set(index, tail.u64());
  }
  const flags = tail.u32();
  if ((flags & ~BATCH_NO_EVENTS) !== 0) throw new FrameError(`entry batch: unknown flags ${flags}`);
  tail.done();
  return { entries, promised: promisedCount === 0 ? NO_PROMISES : promised, eventsWanted: (flags & BATCH_NO_EVENTS) === 0 };
}

export function encodeOutcomes(outcomes: readonly ApplyOutcome[], w = new ByteWriter()): Uint8Array {
  w.reset();
  w.u32(outcomes.length);
  for (const o of outcomes) {
    w.u64(o.index).u64Big(o.requestId).u64(o.revision);
    const flags = (o.response !== undefined ? HAS_RESPONSE : 0) | (o.errorCode !== undefined ? HAS_ERROR : 0)
      | (o.lease !== undefined ? HAS_LEASE : 0) | (o.alarmsChanged ? ALARMS_CHANGED : 0)
      | (o.authChanged ? AUTH_CHANGED : 0) | (o.authToken ? AUTH_TOKEN : 0) | (o.visibleAnswer ? VISIBLE_ANSWER : 0);
    w.u8(flags);
    if (o.response !== undefined) w.lenBytes(o.response);
    if (o.errorCode !== undefined) w.lenBytes(Buffer.from(o.errorCode, 'utf8'));
    if (o.lease !== undefined) w.u64Big(BigInt.asUintN(64, o.lease.id)).u64(o.lease.ttl < 0 ? 0 : o.lease.ttl);
    const events = o.events ?? [];
    if (o.eventsOmitted === true && events.length > 0) throw new Error(`outcome ${o.index}: events both omitted and sent`);
    w.u32(o.eventsOmitted === true ? EVENTS_OMITTED : events.length);
    for (const e of events) w.lenBytes(e);
  }
  return w.result();
}

export function decodeOutcomes(frame: Uint8Array, offset = 0, length = frame.length - offset): ApplyOutcome[] {
  const r = new ByteReader(frame, offset, length);
  const count = r.u32();
  const out: ApplyOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const index = r.u64();
    const requestId = r.u64Big();
    const revision = r.u64();
    const flags = r.u8();
    if ((flags & ~(HAS_RESPONSE | HAS_ERROR | HAS_LEASE | ALARMS_CHANGED | AUTH_CHANGED | AUTH_TOKEN | VISIBLE_ANSWER)) !== 0) throw new FrameError(`outcome ${i}: unknown flags ${flags}`);
    const response = flags & HAS_RESPONSE ? r.lenBytesCopy() : undefined;
    const errorCode = flags & HAS_ERROR ? Buffer.from(r.lenBytesCopy()).toString('utf8') : undefined;
    let lease: { id: bigint; ttl: number } | undefined;
    if (flags & HAS_LEASE) {
      const id = BigInt.asIntN(64, r.u64Big());
      const ttl = r.u64();
      lease = { id, ttl: ttl === 0 ? -1 : ttl };
    }
    const eventCount = r.u32();
    const omitted = eventCount === EVENTS_OMITTED;
    let events: Uint8Array[] | undefined;
    if (eventCount > 0 && !omitted) {
      events = [];
      for (let j = 0; j < eventCount; j++) events.push(r.lenBytesCopy());
    }
    const o: ApplyOutcome = lease === undefined ? { index, requestId, revision, response, errorCode, events } : { index, requestId, revision, response, errorCode, events, lease };
    out.push(flags & (ALARMS_CHANGED | AUTH_CHANGED | AUTH_TOKEN | VISIBLE_ANSWER) || omitted
      ? {
        ...o, ...(flags & ALARMS_CHANGED ? { alarmsChanged: true } : {}), ...(flags & AUTH_CHANGED ? { authChanged: true } : {}),
        ...(flags & AUTH_TOKEN ? { authToken: true } : {}), ...(flags & VISIBLE_ANSWER ? { visibleAnswer: true } : {}),
        ...(omitted ? { eventsOmitted: true } : {}),
      }
      : o);
  }
  r.done();
  return out;
}
