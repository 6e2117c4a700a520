#!/usr/bin/env node
// Generates static protobufjs code from proto/ into src/pb/ (never edited by hand).
// `node scripts/gen-proto.mjs --check` regenerates into a temp dir and fails if src/pb is stale.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, mkdtempSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const protos = [
  'mvccpb/kv.proto',
  'authpb/auth.proto',
  'etcdserverpb/rpc.proto',
  'etcdserverpb/raft_internal.proto',
  'v3lockpb/v3lock.proto',
  'v3electionpb/v3election.proto',
];

/**
 * 64-bit ID fields decoded and encoded as bigint (docs/decisions/0003-64-bit-ids.md):
 * member, cluster, lease and request IDs. Every other int64/uint64 field (revisions,
 * versions, counts, TTLs, terms, indexes) stays a JavaScript number. The generated code
 * for these fields is rewritten below; generation fails if a rewrite does not apply.
 * [package, message, field (protobufjs camelCase), 'int64' | 'uint64', oneof?]
 */
const ID64_FIELDS = [
  ['mvccpb', 'KeyValue', 'lease', 'int64'],
  ['etcdserverpb', 'ResponseHeader', 'clusterId', 'uint64'],
  ['etcdserverpb', 'ResponseHeader', 'memberId', 'uint64'],
  ['etcdserverpb', 'PutRequest', 'lease', 'int64'],
  ['etcdserverpb', 'Compare', 'lease', 'int64', 'oneof'],
  ['etcdserverpb', 'LeaseGrantRequest', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseGrantResponse', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseRevokeRequest', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseCheckpoint', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseKeepAliveRequest', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseKeepAliveResponse', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseTimeToLiveRequest', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseTimeToLiveResponse', 'ID', 'int64'],
  ['etcdserverpb', 'LeaseStatus', 'ID', 'int64'],
  ['etcdserverpb', 'Member', 'ID', 'uint64'],
  ['etcdserverpb', 'MemberRemoveRequest', 'ID', 'uint64'],
  ['etcdserverpb', 'MemberUpdateRequest', 'ID', 'uint64'],
  ['etcdserverpb', 'MemberPromoteRequest', 'ID', 'uint64'],
  ['etcdserverpb', 'MoveLeaderRequest', 'targetID', 'uint64'],
  ['etcdserverpb', 'AlarmRequest', 'memberID', 'uint64'],
  ['etcdserverpb', 'AlarmMember', 'memberID', 'uint64'],
  ['etcdserverpb', 'StatusResponse', 'leader', 'uint64'],
  ['etcdserverpb', 'RequestHeader', 'ID', 'uint64'],
  ['etcdserverpb', 'InternalRaftRequest', 'ID', 'uint64'],
  ['v3lockpb', 'LockRequest', 'lease', 'int64'],
  ['v3electionpb', 'CampaignRequest', 'lease', 'int64'],
  ['v3electionpb', 'LeaderKey', 'lease', 'int64'],
];

/**
 * Helpers injected into the generated module for the ID64_FIELDS. Encoding: the bigint's
 * 64-bit two's complement as a varint (int64 and uint64 share it), through the writer's
 * own uint64 (which takes {low, high}). Decoding: a varint of at most 10 bytes into a
 * bigint, unsigned or signed (two's complement). A number where a bigint belongs is a
 * bug in the caller and throws, rather than being rounded; so does a bigint outside
 * [-2^63, 2^64).
 */
const ID64_HELPERS = `
// 64-bit ID fields as bigint (scripts/gen-proto.mjs ID64_FIELDS, docs/decisions/0003-64-bit-ids.md).
// A scratch DataView converts between bigint and two u32 natively (no bigint arithmetic).
const $id64View = new DataView(new ArrayBuffer(8));
const $U64_MAX = 0xffffffffffffffffn, $I64_MIN = -0x8000000000000000n;
function $writeId64(w, v) {
    if (typeof v !== "bigint")
        throw new TypeError("64-bit ID field: expected a bigint, got " + typeof v);
    if (v > $U64_MAX || v < $I64_MIN)
        throw new RangeError("64-bit ID field: " + v + " is out of range");
    $id64View.setBigUint64(0, v, true);
    return w.uint64({ low: $id64View.getUint32(0, true), high: $id64View.getUint32(4, true) });
}
function $readVarint64(r, signed) {
    const buf = r.buf, end = r.len;
    let pos = r.pos, lo = 0, hi = 0, b = 0, i = 0;
    for (; i < 4; ++i) {
        if (pos >= end) throw $RangeError("index out of range");
        b = buf[pos++];
        lo = (lo | (b & 127) << i * 7) >>> 0;
        if (b < 128) { r.pos = pos; return BigInt(lo); }
    }
    if (pos >= end) throw $RangeError("index out of range");
    b = buf[pos++];
    lo = (lo | (b & 127) << 28) >>> 0;
    hi = (b & 127) >> 4;
    if (b >= 128) {
        for (i = 0; i < 5; ++i) {
            if (pos >= end) throw $RangeError("index out of range");
            b = buf[pos++];
            hi = (hi | (b & 127) << (i * 7 + 3)) >>> 0;
            if (b < 128) break;
        }
        if (b >= 128) throw $Error("invalid varint encoding");
    }
    r.pos = pos;
    if (hi === 0) return BigInt(lo);
    $id64View.setUint32(0, lo, true);
    $id64View.setUint32(4, hi, true);
    return signed ? $id64View.getBigInt64(0, true) : $id64View.getBigUint64(0, true);
}
`;

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One rewrite that must apply exactly once in `text`. */
function replaceOnce(text, re, replacement, what) {
  const matches = text.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'));
  if (matches === null || matches.length !== 1) {
    throw new Error(`gen-proto: ID64 rewrite of ${what} matched ${matches === null ? 0 : matches.length} times, want 1`);
  }
  return text.replace(re, replacement);
}

/** The source of the generated block of message `pkg.msg` in etcd.js: [start, end). */
function jsBlock(js, pkg, msg) {
  const start = js.indexOf(`\n    ${pkg}.${msg} = (function() {\n`);
  if (start < 0) throw new Error(`gen-proto: message ${pkg}.${msg} not found in the generated code`);
  const end = js.indexOf('\n    })();\n', start);
  return [start, end];
}

function patchJs(js) {
  for (const [pkg, msg, field, type, oneof] of ID64_FIELDS) {
    const [start, end] = jsBlock(js, pkg, msg);
    let block = js.slice(start, end);
    const what = `${pkg}.${msg}.${field}`;
    const f = escapeRe(field);
    const signed = type === 'int64';
    if (oneof === undefined) {
      block = replaceOnce(block, new RegExp(`(${msg}\\.prototype\\.${f} = )\\$util\\.Long \\? \\$util\\.Long\\.fromBits\\(0,0,(true|false)\\) : 0;`), '$10n;', `${what} default`);
      block = replaceOnce(block, new RegExp(`\\(typeof m\\.${f} === "object" \\? m\\.${f}\\.low \\|\\| m\\.${f}\\.high : m\\.${f} !== 0\\)`), `m.${field} !== 0n`, `${what} zero check`);
      block = replaceOnce(block, new RegExp(`if \\(typeof \\(v = r\\.${type}\\(\\)\\) === "object" \\? v\\.low \\|\\| v\\.high : v !== 0\\)(\\s+)m\\.${f} = v;`),
        `if ((v = $readVarint64(r, ${signed})) !== 0n)$1m.${field} = v;`, `${what} decode`);
    } else {
      block = replaceOnce(block, new RegExp(`m\\.${f} = r\\.${type}\\(\\);`), `m.${field} = $readVarint64(r, ${signed});`, `${what} decode`);
    }
    block = replaceOnce(block, new RegExp(`w\\.uint32\\((/\\* id \\d+, wireType 0 =\\*/\\d+)\\)\\.${type}\\(m\\.${f}\\)`), `$writeId64(w.uint32($1), m.${field})`, `${what} encode`);
    js = js.slice(0, start) + block + js.slice(end);
  }
  const anchor = '\n// Exported root namespace\n';
  if (!js.includes(anchor)) throw new Error('gen-proto: no place for the ID64 helpers');
  return js.replace(anchor, ID64_HELPERS + anchor);
}

/** Types: `number` -> `bigint` for the ID64_FIELDS in etcd.d.ts (class, $Properties, $Shape). */
function patchDts(dts) {
  for (const [pkg, msg, field] of ID64_FIELDS) {
    const nsStart = dts.indexOf(`export namespace ${pkg} {\n`);
    const nsEnd = dts.indexOf('\n}\n', nsStart);
    const start = dts.indexOf(`\n    interface I${msg} extends ${pkg}.${msg}.$Properties {`, nsStart);
    if (nsStart < 0 || start < 0 || start > nsEnd) throw new Error(`gen-proto: ${pkg}.${msg} not found in etcd.d.ts`);
    let end = dts.indexOf('\n    interface I', start + 1);
    if (end < 0 || end > nsEnd) end = nsEnd;
    const block = dts.slice(start, end);
    const re = new RegExp(`(?<![\\w$])(${escapeRe(field)}\\??: \\(?)number\\b`, 'g');
    const patched = block.replace(re, '$1bigint');
    if (patched === block) throw new Error(`gen-proto: ${pkg}.${msg}.${field} has no number type in etcd.d.ts`);
    dts = dts.slice(0, start) + patched + dts.slice(end);
  }
  return dts;
}

function newestMtime(paths) {
  return Math.max(...paths.map((p) => statSync(p).mtimeMs));
}

function generate(outDir) {
  mkdirSync(outDir, { recursive: true });
  const js = join(outDir, 'etcd.js');
  execFileSync(bin('pbjs'), [
    '-t', 'static-module', '-w', 'es6', '--force-number', '--no-beautify',
    '--no-delimited', '--no-verify', '--no-convert',
    '-p', join(root, 'proto'), '-o', js, ...protos,
  ], { stdio: 'inherit' });
  // Node ESM needs the explicit file name of protobufjs' minimal runtime.
  const src = readFileSync(js, 'utf8').replace(/from "protobufjs\/minimal"/g, 'from "protobufjs/minimal.js"');
  writeFileSync(js, '// GENERATED by scripts/gen-proto.mjs from proto/ — do not edit.\n' + src);
  const dts = join(outDir, 'etcd.d.ts');
  execFileSync(bin('pbts'), ['--no-comments', '-o', dts, js], { stdio: 'inherit' });
  // After pbts, which reads the JSDoc (unchanged): the rewrite touches code only.
  writeFileSync(js, patchJs(readFileSync(js, 'utf8')));
  writeFileSync(dts, patchDts(readFileSync(dts, 'utf8')));
}

const outDir = join(root, 'src', 'pb');
if (process.argv.includes('--check')) {
  const tmp = mkdtempSync(join(tmpdir(), 'pb-'));
  generate(tmp);
  for (const f of readdirSync(tmp)) {
    if (!existsSync(join(outDir, f)) || readFileSync(join(tmp, f), 'utf8') !== readFileSync(join(outDir, f), 'utf8')) {
      console.error(`src/pb/${f} is stale: run npm run proto`);
      process.exit(1);
    }
  }
  console.log('src/pb is up to date');
} else {
  const inputs = protos.map((p) => join(root, 'proto', p)).concat([fileURLToPath(import.meta.url)]);
  const outputs = ['etcd.js', 'etcd.d.ts'].map((f) => join(outDir, f));
  if (outputs.every(existsSync) && newestMtime(outputs) > newestMtime(inputs) && !process.argv.includes('--force')) {
    process.exit(0); // up to date
  }
  generate(outDir);
  // tsc does not copy .js sources; the build step copies the runtime file into dist.
  mkdirSync(join(root, 'dist', 'src', 'pb'), { recursive: true });
  writeFileSync(join(root, 'dist', 'src', 'pb', 'etcd.js'), readFileSync(join(outDir, 'etcd.js')));
}
