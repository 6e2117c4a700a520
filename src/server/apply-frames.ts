/**
 * The frame the apply worker sends back for one applied batch (docs/architecture.md,
 * "Apply channel frames"). Layout, little-endian:
 *
 *   u32 count
 *   count x outcome:
 *     f64 index, f64 requestId, f64 revision
 *     u8 flags            bit 0: response present, bit 1: error present
 *     [u32 len, bytes]    encoded response, when bit 0
 *     [u32 len, utf8]     EtcdError code, when bit 1
 *     u32 eventCount, eventCount x [u32 len, bytes]   encoded mvccpb.Event
 */
import { BinaryReader, BinaryWriter, FrameError } from '../util/binary.js';
import type { ApplyOutcome } from './ports.js';

const HAS_RESPONSE = 1;
const HAS_ERROR = 2;

export function encodeOutcomes(outcomes: readonly ApplyOutcome[], w = new BinaryWriter()): Uint8Array {
  w.u32(outcomes.length);
  for (const o of outcomes) {
    w.f64(o.index).f64(o.requestId).f64(o.revision);
    const flags = (o.response !== undefined ? HAS_RESPONSE : 0) | (o.errorCode !== undefined ? HAS_ERROR : 0);
    w.u8(flags);
    if (o.response !== undefined) w.bytes(o.response);
    if (o.errorCode !== undefined) w.string(o.errorCode);
    const events = o.events ?? [];
    w.u32(events.length);
    for (const e of events) w.bytes(e);
  }
  return w.finish();
}

export function decodeOutcomes(frame: Uint8Array): ApplyOutcome[] {
  const r = new BinaryReader(frame);
  const count = r.u32();
  const out: ApplyOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const index = r.f64();
    const requestId = r.f64();
    const revision = r.f64();
    const flags = r.u8();
    if ((flags & ~(HAS_RESPONSE | HAS_ERROR)) !== 0) throw new FrameError(`outcome ${i}: unknown flags ${flags}`);
    const response = flags & HAS_RESPONSE ? r.bytes() : undefined;
    const errorCode = flags & HAS_ERROR ? r.string() : undefined;
    const eventCount = r.u32();
    const events: Uint8Array[] = [];
    for (let j = 0; j < eventCount; j++) events.push(r.bytes());
    out.push({ index, requestId, revision, response, errorCode, events });
  }
  if (r.remaining !== 0) throw new FrameError(`outcome frame has ${r.remaining} trailing bytes`);
  return out;
}
