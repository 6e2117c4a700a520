/**
 * Wire-format helpers for the watch hub (docs/watch.md, "Data path"): read the key and type of
 * an encoded mvccpb.Event without decoding it, and build encoded WatchResponses by
 * concatenating bytes.
 *
 *   mvccpb.Event     { 1: type varint (absent = PUT), 2: kv KeyValue, 3: prev_kv KeyValue }
 *   mvccpb.KeyValue  { 1: key bytes, ... }
 *   WatchResponse    { 1: header, 2: watch_id, 3: created, 4: canceled, 5: compact_revision,
 *                      6: cancel_reason, 7: fragment, 11: repeated events }
 */

export const EVENT_PUT = 0;
export const EVENT_DELETE = 1;

const EMPTY = Buffer.alloc(0);

/** The key and type of one encoded Event. Throws on bytes that are not an Event. */
export interface ParsedEvent {
  readonly type: number;
  /** A view into the event's bytes (not a copy). */
  readonly key: Buffer;
}

function readVarint(b: Uint8Array, pos: { o: number }): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos.o >= b.length) throw new Error('watch: truncated varint');
    const c = b[pos.o++]!;
    result += (c & 0x7f) * mul;
    if ((c & 0x80) === 0) return result;
    mul *= 128;
  }
  throw new Error('watch: varint too long');
}

function skipField(b: Uint8Array, wireType: number, pos: { o: number }): void {
  if (wireType === 0) readVarint(b, pos);
  else if (wireType === 2) {
    const len = readVarint(b, pos); // not `pos.o += readVarint(...)`: that reads pos.o before the call moves it
    pos.o += len;
  }
  else if (wireType === 1) pos.o += 8;
  else if (wireType === 5) pos.o += 4;
  else throw new Error(`watch: unexpected wire type ${wireType}`);
  if (pos.o > b.length) throw new Error('watch: truncated field');
}

export function parseEvent(bytes: Uint8Array): ParsedEvent {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pos = { o: 0 };
  let type = EVENT_PUT;
  let key: Buffer = EMPTY;
  while (pos.o < buf.length) {
    const tag = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (field === 1 && wt === 0) type = readVarint(buf, pos);
    else if (field === 2 && wt === 2) {
      const len = readVarint(buf, pos);
      const end = pos.o + len;
      if (end > buf.length) throw new Error('watch: truncated kv');
      const kp = { o: pos.o };
      while (kp.o < end) {
        const t = readVarint(buf, kp);
        if (t === 0x0a) {
          const kl = readVarint(buf, kp);
          key = buf.subarray(kp.o, kp.o + kl);
          kp.o += kl;
        } else skipField(buf, t & 7, kp);
      }
      pos.o = end;
    } else skipField(buf, wt, pos);
  }
  return { type, key };
}

export function varintSize(n: number): number {
  if (n < 0) return 10;
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes a non-negative integer below 2^53, or a negative one as a 10-byte two's complement (int64). */
function writeVarint(out: Buffer, o: number, n: number): number {
  if (n < 0) {
    const v = BigInt.asUintN(64, BigInt(n));
    let x = v;
    for (let i = 0; i < 9; i++) {
      out[o++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    out[o++] = Number(x);
    return o;
  }
  while (n >= 128) {
    out[o++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[o++] = n;
  return o;
}

/** Bytes of one `repeated Event` entry (tag 11, length, bytes). */
export function eventFieldSize(e: Uint8Array): number {
  return 1 + varintSize(e.length) + e.length;
}

/**
 * An encoded WatchResponse with events: `header` is an encoded ResponseHeader.
 * `events` are encoded mvccpb.Events (each possibly with prev_kv appended).
 */
export function encodeEventsResponse(header: Uint8Array, watchId: number, events: readonly Uint8Array[], fragment = false): Buffer {
  let size = 1 + varintSize(header.length) + header.length;
  if (watchId !== 0) size += 1 + varintSize(watchId);
  if (fragment) size += 2;
  for (const e of events) size += eventFieldSize(e);
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  out[o++] = 0x0a;
  o = writeVarint(out, o, header.length);
  out.set(header, o);
  o += header.length;
  if (watchId !== 0) {
    out[o++] = 0x10;
    o = writeVarint(out, o, watchId);
  }
  if (fragment) {
    out[o++] = 0x38;
    out[o++] = 1;
  }
  for (const e of events) {
    out[o++] = 0x5a;
    o = writeVarint(out, o, e.length);
    out.set(e, o);
    o += e.length;
  }
  if (o !== size) throw new Error(`watch: response size ${o} != ${size}`);
  return out;
}

/** An event with prev_kv (an encoded KeyValue) appended as field 3. */
export function withPrevKv(event: Uint8Array, prevKv: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(event.length + 1 + varintSize(prevKv.length) + prevKv.length);
  out.set(event, 0);
  let o = event.length;
  out[o++] = 0x1a;
  o = writeVarint(out, o, prevKv.length);
  out.set(prevKv, o);
  return out;
}
