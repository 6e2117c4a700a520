/**
 * proto3 JSON for the gateway, exact for 64-bit integers.
 *
 * protobufjs' reflection runs without Long in this project (src/proto/pb-runtime.ts), so its
 * own decode/toObject and fromObject round every int64 above 2^53; member, cluster and lease
 * IDs are 64-bit (docs/decisions/0003-64-bit-ids.md) and must come out of the gateway as
 * exact decimal strings. This module reads the wire format itself, driven by the reflected
 * types, and patches 64-bit values into messages about to be encoded.
 */
import protobuf from 'protobufjs';

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const PACKABLE = new Set(['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'bool', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

type Json = Record<string, unknown>;

/** An encoded message as proto3 JSON: proto field names, int64 as decimal strings, bytes base64, enums by name, zero values omitted. */
export function messageToJson(type: protobuf.Type, bytes: Uint8Array): Json {
  const r = protobuf.Reader.create(bytes);
  return readMessage(type, r, r.len);
}

function readMessage(type: protobuf.Type, r: protobuf.Reader, end: number): Json {
  const got: Json = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const wireType = tag & 7;
    const field = type.fieldsById[tag >>> 3];
    if (field === undefined) {
      r.skipType(wireType);
      continue;
    }
    const resolved = field.resolve().resolvedType;
    if (resolved instanceof protobuf.Type) {
      const len = r.uint32();
      const msg = readMessage(resolved, r, r.pos + len);
      if (field.repeated) ((got[field.name] ??= []) as unknown[]).push(msg);
      else got[field.name] = got[field.name] === undefined ? msg : merge(resolved, got[field.name] as Json, msg);
      continue;
    }
    if (field.repeated && wireType === 2 && PACKABLE.has(field.type)) {
      const len = r.uint32();
      const stop = r.pos + len;
      const list = (got[field.name] ??= []) as unknown[];
      while (r.pos < stop) list.push(readScalar(field, resolved, r));
      continue;
    }
    const v = readScalar(field, resolved, r);
    if (field.repeated) ((got[field.name] ??= []) as unknown[]).push(v);
    else if (v === zeroOf(field, resolved)) delete got[field.name];
    else got[field.name] = v;
  }
  if (r.pos !== end) throw new Error(`${type.name}: message overruns its length`);
  return inFieldOrder(type, got);
}

/** Protobuf's merge of a singular message field seen twice: scalars last-wins, repeated appended, messages merged. */
function merge(type: protobuf.Type, a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const field = type.fields[k];
    const resolved = field?.resolve().resolvedType;
    if (field?.repeated) out[k] = [...((out[k] as unknown[] | undefined) ?? []), ...(v as unknown[])];
    else if (resolved instanceof protobuf.Type && out[k] !== undefined) out[k] = merge(resolved, out[k] as Json, v as Json);
    else out[k] = v;
  }
  return inFieldOrder(type, out);
}

function inFieldOrder(type: protobuf.Type, got: Json): Json {
  const out: Json = {};
  for (const f of type.fieldsArray) {
    const v = got[f.name];
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    out[f.name] = v;
  }
  return out;
}

/** The JSON form of a field's zero value (proto3 JSON omits it). */
function zeroOf(field: protobuf.Field, resolved: protobuf.Type | protobuf.Enum | null): unknown {
  if (resolved instanceof protobuf.Enum) return resolved.valuesById[0] ?? 0;
  if (LONG_TYPES.has(field.type)) return '0';
  switch (field.type) {
    case 'bool': return false;
    case 'string':
    case 'bytes': return '';
    default: return 0;
  }
}

function readScalar(field: protobuf.Field, resolved: protobuf.Type | protobuf.Enum | null, r: protobuf.Reader): unknown {
  if (resolved instanceof protobuf.Enum) {
    const n = r.int32();
    return resolved.valuesById[n] ?? n;
  }
  switch (field.type) {
    case 'int64': return BigInt.asIntN(64, readVarint64(r)).toString();
    case 'uint64': return readVarint64(r).toString();
    case 'sint64': {
      const u = readVarint64(r);
      return ((u >> 1n) ^ -(u & 1n)).toString();
    }
    case 'fixed64': return readFixed64(r).toString();
    case 'sfixed64': return BigInt.asIntN(64, readFixed64(r)).toString();
    case 'int32': return r.int32();
    case 'uint32': return r.uint32();
    case 'sint32': return r.sint32();
    case 'fixed32': return r.fixed32();
    case 'sfixed32': return r.sfixed32();
    case 'bool': return r.bool();
    case 'double': return r.double();
    case 'float': return r.float();
    case 'string': return r.string();
    case 'bytes': return Buffer.from(r.bytes()).toString('base64');
    default: throw new Error(`field ${field.name}: unsupported type ${field.type}`);
  }
}

function readVarint64(r: protobuf.Reader): bigint {
  let v = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (r.pos >= r.len) throw new RangeError('index out of range');
    const b = r.buf[r.pos++]!;
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return BigInt.asUintN(64, v);
  }
  throw new Error('invalid varint encoding');
}

function readFixed64(r: protobuf.Reader): bigint {
  if (r.pos + 8 > r.len) throw new RangeError('index out of range');
  const v = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, 8).readBigUInt64LE(0);
  r.pos += 8;
  return v;
}

/**
 * After `type.fromObject(json)` (which rounds int64 above 2^53): puts the exact 64-bit
 * values of `json` into `message` as {low, high} pairs, which protobufjs' writer encodes
 * bit for bit. `json` holds the validated values (decimal strings or safe integers).
 */
export function restoreLongs(type: protobuf.Type, json: Json, message: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(json)) {
    const field = type.fields[name];
    if (field === undefined || value == null) continue;
    const key = message[name] !== undefined ? name : protobuf.util.camelCase(name);
    const resolved = field.resolve().resolvedType;
    if (LONG_TYPES.has(field.type)) {
      message[key] = field.repeated ? (value as unknown[]).map(longBits) : longBits(value);
    } else if (resolved instanceof protobuf.Type) {
      if (field.repeated) {
        (value as Json[]).forEach((v, i) => restoreLongs(resolved, v, (message[key] as Record<string, unknown>[])[i]!));
      } else if (message[key] != null) {
        restoreLongs(resolved, value as Json, message[key] as Record<string, unknown>);
      }
    }
  }
}

function longBits(v: unknown): { low: number; high: number } {
  const n = BigInt.asUintN(64, BigInt(v as string | number));
  return { low: Number(n & 0xffffffffn) | 0, high: Number(n >> 32n) | 0 };
}
