/**
 * etcdctl's txn input language: lines of compares (`value("k") = "v"`, `mod("k") > "3"`, ...),
 * a blank line, success ops (`put k v`, `get --prefix k`, `del k`), a blank line, failure ops,
 * a blank line. Ops take the same flags as the put/get/del commands.
 */
import { etcdserverpb } from '../../../proto/pb.js';
import { CliExit, ExitCode } from '../global.js';
import { FlagError, parseFlags, parseGoInt } from '../flags.js';
import { goQuote } from '../go-format.js';
import { bytesOf } from './keys.js';
import { delOp, DEL_FLAGS } from './del.js';
import { getOp, GET_FLAGS } from './get.js';
import { putOp, PUT_FLAGS } from './put.js';

const { CompareResult, CompareTarget } = etcdserverpb.Compare;

/** Go's strconv.Unquote for a double-quoted or back-quoted literal; undefined if malformed. */
export function goUnquote(lit: string): string | undefined {
  if (lit.length >= 2 && lit[0] === '`' && lit[lit.length - 1] === '`') return lit.slice(1, -1).replace(/\r/g, '');
  if (lit.length < 2 || lit[0] !== '"' || lit[lit.length - 1] !== '"') return undefined;
  const body = lit.slice(1, -1);
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '"' || c === '\n') return undefined;
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      bytes.push(...enc.encode(s));
      i += s.length - 1;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };
    if (e === undefined) return undefined;
    if (simple[e] !== undefined) {
      if (e === "'") return undefined;
      bytes.push(simple[e]!);
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) return undefined;
      const v = parseInt(hex, 16);
      if (e === 'x') bytes.push(v);
      else bytes.push(...enc.encode(String.fromCodePoint(v)));
      i += n;
    } else if (/[0-7]/.test(e)) {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) return undefined;
      const v = parseInt(oct, 8);
      if (v > 255) return undefined;
      bytes.push(v);
      i += 2;
    } else return undefined;
  }
  return Buffer.from(bytes).toString('latin1');
}

/** From a latin1 "byte string" (goUnquote's result) to bytes. */
export function latin1Bytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/** A byte string back to text (for args that go through the op parsers). */
function latin1ToUtf8(s: string): string {
  return Buffer.from(s, 'latin1').toString('utf8');
}

/** etcdctl's argify: split a line into words, honouring "double" (Go-unquoted) and 'single' quotes. */
export function argify(line: string): string[] {
  const re = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g;
  const args = line.match(re) ?? [];
  return args.map((a) => {
    if (a.length === 0) return a;
    if (a[0] === "'") {
      // etcdctl slices by the number of words, not the word's length: reproduced as is
      const end = args.length - 1;
      if (end < 1 || end > a.length) throw new CliExit(2, 'panic: runtime error: slice bounds out of range', false);
      return a.slice(1, end);
    }
    if (a[0] === '"') {
      const u = goUnquote(a);
      if (u === undefined) throw new CliExit(ExitCode.InvalidInput, 'unexpected EOF');
      return latin1ToUtf8(u);
    }
    return a;
  });
}

/**
 * A minimal fmt.Sscanf(s, "%q) %s %q"): how many items were scanned, and their values.
 */
function scanCompareRest(s: string): { n: number; key: string; op: string; val: string } {
  const out = { n: 0, key: '', op: '', val: '' };
  let i = 0;
  const skipSpace = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r')) i++;
  };
  const quoted = (): string | undefined => {
    skipSpace();
    if (s[i] === '`') {
      const j = s.indexOf('`', i + 1);
      if (j < 0) return undefined;
      const lit = s.slice(i, j + 1);
      i = j + 1;
      return goUnquote(lit);
    }
    if (s[i] !== '"') return undefined;
    let j = i + 1;
    while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
    if (j >= s.length) return undefined;
    const lit = s.slice(i, j + 1);
    i = j + 1;
    return goUnquote(lit);
  };
  const key = quoted();
  if (key === undefined) return out;
  out.key = key;
  out.n = 1;
  if (s[i] !== ')') return out;
  i++;
  skipSpace();
  const start = i;
  while (i < s.length && !/\s/.test(s[i]!)) i++;
  if (i === start) return out;
  out.op = s.slice(start, i);
  out.n = 2;
  const val = quoted();
  if (val === undefined) return out;
  out.val = val;
  out.n = 3;
  return out;
}

/** etcdctl's parseCompare. */
export function parseCompare(line: string): etcdserverpb.Compare.$Properties {
  const paren = line.indexOf('(');
  if (paren < 0) throw new CliExit(ExitCode.InvalidInput, `malformed comparison: ${line}`);
  const target = line.slice(0, paren);
  const { n, key, op, val } = scanCompareRest(line.slice(paren + 1));
  if (n !== 3) {
    throw new CliExit(ExitCode.InvalidInput, `malformed comparison: ${line}; got ${target}(${goQuote(latin1Bytes(key))}) ${op} ${goQuote(latin1Bytes(val))}`);
  }
  const cmp: etcdserverpb.Compare.$Properties = { key: latin1Bytes(key) };
  const int = (): number => Number(int64());
  const int64 = (): bigint => {
    try {
      return parseGoInt(val, 10);
    } catch {
      throw new CliExit(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
    }
  };
  switch (target) {
    case 'ver':
    case 'version':
      cmp.target = CompareTarget.VERSION;
      cmp.version = int();
      break;
    case 'c':
    case 'create':
      cmp.target = CompareTarget.CREATE;
      cmp.createRevision = int();
      break;
    case 'm':
    case 'mod':
      cmp.target = CompareTarget.MOD;
      cmp.modRevision = int();
      break;
    case 'val':
    case 'value':
      cmp.target = CompareTarget.VALUE;
      cmp.value = latin1Bytes(val);
      break;
    case 'lease':
      cmp.target = CompareTarget.LEASE;
      cmp.lease = int64();
      break;
    default:
      throw new CliExit(ExitCode.InvalidInput, `malformed comparison: ${line} (unknown target ${target})`);
  }
  switch (op) {
    case '=': cmp.result = CompareResult.EQUAL; break;
    case '!=': cmp.result = CompareResult.NOT_EQUAL; break;
    case '>': cmp.result = CompareResult.GREATER; break;
    case '<': cmp.result = CompareResult.LESS; break;
    default: throw new CliExit(2, 'panic: Unknown result op', false);
  }
  return cmp;
}

/** etcdctl's parseRequestUnion: `put|get|del <args...>` with those commands' flags. */
export function parseRequestOp(line: string): etcdserverpb.RequestOp.$Properties {
  const args = argify(line);
  if (args.length < 2) throw new CliExit(ExitCode.InvalidInput, `invalid txn compare request: ${line}`);
  const invalid = (): CliExit => new CliExit(ExitCode.InvalidInput, `invalid txn request: ${line}`);
  const [verb, ...rest] = args;
  const defs = verb === 'put' ? PUT_FLAGS : verb === 'get' ? GET_FLAGS : verb === 'del' ? DEL_FLAGS : undefined;
  if (defs === undefined) throw invalid();
  let flags;
  try {
    flags = parseFlags(rest, [...defs, { name: 'help', short: 'h', kind: 'bool', def: 'false', usage: '' }]);
  } catch (e) {
    if (e instanceof FlagError) throw invalid();
    throw e;
  }
  if (verb === 'put') {
    const { req, lease } = putOp(flags.positionals, flags);
    return { requestPut: { ...req, lease } };
  }
  if (verb === 'get') return { requestRange: getOp(flags.positionals, flags) };
  return { requestDeleteRange: delOp(flags.positionals, flags) };
}

/** Reads lines the way bufio.Reader.ReadString('\n') does: a last line without '\n' is an EOF error. */
export class LineReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  next(): string {
    const nl = this.text.indexOf('\n', this.pos);
    if (nl < 0) throw new CliExit(ExitCode.InvalidInput, 'EOF');
    const line = this.text.slice(this.pos, nl);
    this.pos = nl + 1;
    return line;
  }
}

function trimGoSpace(s: string): string {
  return s.replace(/^[\s\u0085\u00a0]+|[\s\u0085\u00a0]+$/g, '');
}

/** Read compares up to a blank line. */
export function readCompares(r: LineReader): etcdserverpb.Compare.$Properties[] {
  const out: etcdserverpb.Compare.$Properties[] = [];
  for (;;) {
    const line = trimGoSpace(r.next());
    if (line.length === 0) return out;
    out.push(parseCompare(line));
  }
}

/** Read ops up to a blank line. */
export function readOps(r: LineReader): etcdserverpb.RequestOp.$Properties[] {
  const out: etcdserverpb.RequestOp.$Properties[] = [];
  for (;;) {
    const line = trimGoSpace(r.next());
    if (line.length === 0) return out;
    out.push(parseRequestOp(line));
  }
}

export { bytesOf };
