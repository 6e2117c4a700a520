/**
 * Go's formatting rules that etcdctl's output follows: strconv.Quote (%q), time.Duration's
 * String and parsing, encoding/json's string escaping, go-humanize's Bytes, text/tabwriter.
 * Written from the documented behaviour of those packages.
 */

const UNITS_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration; nanoseconds, or undefined when invalid. */
export function parseGoDuration(s: string): number | undefined {
  let t = s;
  let sign = 1;
  if (t.startsWith('-') || t.startsWith('+')) {
    if (t[0] === '-') sign = -1;
    t = t.slice(1);
  }
  if (t === '0') return 0;
  if (t === '') return undefined;
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/;
  while (t !== '') {
    const m = re.exec(t);
    if (!m || m[1] === '' || m[1] === '.') return undefined;
    total += parseFloat(m[1]!) * UNITS_NS[m[2]!]!;
    t = t.slice(m[0].length);
  }
  return sign * Math.round(total);
}

function fracString(v: bigint, prec: number): string {
  // v in units of 10^-prec; "int.frac" with trailing zeros (and a bare '.') trimmed
  const p = 10n ** BigInt(prec);
  const int = v / p;
  let frac = (v % p).toString().padStart(prec, '0').replace(/0+$/, '');
  if (frac !== '') frac = '.' + frac;
  return int.toString() + frac;
}

/** time.Duration.String() for a duration in nanoseconds. */
export function formatGoDuration(nsIn: number | bigint): string {
  let ns = BigInt(Math.round(Number(nsIn)));
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1000n) out = `${ns}ns`;
  else if (ns < 1000000n) out = `${fracString(ns, 3)}µs`;
  else if (ns < 1000000000n) out = `${fracString(ns, 6)}ms`;
  else {
    const h = ns / 3600000000000n;
    const rem = ns % 3600000000000n;
    const m = rem / 60000000000n;
    const s = rem % 60000000000n;
    out = `${fracString(s, 9)}s`;
    if (h > 0n || m > 0n) out = `${m}m` + out;
    if (h > 0n) out = `${h}h` + out;
  }
  return neg ? '-' + out : out;
}

function isGoPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(cp));
}

/** Decode UTF-8, yielding code points, or -1 for each byte that is not valid UTF-8. */
function* utf8Runes(b: Uint8Array): Generator<[number, number]> {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let need = 0;
    let cp = 0;
    let min = 0;
    if (c < 0x80) {
      yield [c, i];
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [need, cp, min] = [1, c & 0x1f, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [need, cp, min] = [2, c & 0x0f, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [need, cp, min] = [3, c & 0x07, 0x10000];
    else {
      yield [-1, i];
      i++;
      continue;
    }
    let ok = i + need < b.length;
    for (let k = 1; ok && k <= need; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (cc & 0x3f);
    }
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      yield [-1, i];
      i++;
      continue;
    }
    yield [cp, i];
    i += need + 1;
  }
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

/** strconv.Quote of the bytes (Go's %q of string(b)). */
export function goQuote(input: Uint8Array | string): string {
  const b = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let out = '"';
  for (const [cp, i] of utf8Runes(b)) {
    if (cp === -1) {
      out += '\\x' + hex2(b[i]!);
      continue;
    }
    if (cp === 0x22 || cp === 0x5c) {
      out += '\\' + String.fromCharCode(cp);
      continue;
    }
    if (isGoPrint(cp)) {
      out += String.fromCodePoint(cp);
      continue;
    }
    switch (cp) {
      case 7: out += '\\a'; continue;
      case 8: out += '\\b'; continue;
      case 12: out += '\\f'; continue;
      case 10: out += '\\n'; continue;
      case 13: out += '\\r'; continue;
      case 9: out += '\\t'; continue;
      case 11: out += '\\v'; continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex2(cp);
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** encoding/json's string encoding (HTML-safe escaping, invalid UTF-8 as U+FFFD). */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (cp < 0x20) {
      if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else out += '\\u00' + hex2(cp);
    } else if (ch === '<' || ch === '>' || ch === '&') out += '\\u00' + hex2(cp);
    else if (cp === 0x2028 || cp === 0x2029) out += '\\u' + cp.toString(16);
    else out += ch;
  }
  return out + '"';
}

/** Go's %.Nf: correctly rounded, ties to even (JS toFixed rounds exact ties up). */
export function goFixed(v: number, digits: number): string {
  const scaled = v * 10 ** digits;
  if (Number.isInteger(scaled * 2) && !Number.isInteger(scaled)) {
    const lo = Math.floor(scaled);
    const even = lo % 2 === 0 ? lo : lo + 1;
    return (even / 10 ** digits).toFixed(digits);
  }
  return v.toFixed(digits);
}

/** github.com/dustin/go-humanize Bytes (SI units). */
export function humanizeBytes(n: bigint | number): string {
  const s = Number(n);
  if (s < 10) return `${s} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(s) / Math.log(1000));
  const val = Math.floor((s / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? goFixed(val, 1) : goFixed(val, 0)} ${sizes[e]}`;
}

/** `%016x` of a 64-bit ID (negative int64 as Go prints it: a minus sign). */
export function hex016(v: bigint): string {
  return v < 0n ? '-' + (-v).toString(16).padStart(16, '0') : v.toString(16).padStart(16, '0');
}

/**
 * text/tabwriter with minwidth 0, tabwidth 8, padding 1, padchar '\t', no flags: cells are
 * tab-terminated; a column is aligned over each run of consecutive lines that have that cell;
 * each cell is padded with tabs to the column width rounded up to a multiple of 8.
 */
export function tabwrite(text: string): string {
  const lines = text.split('\n');
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[][] = cells.map((c) => new Array<number>(Math.max(0, c.length - 1)).fill(0));
  const width = (s: string): number => [...s].length;
  const fill = (line: number, col: number): void => {
    // the block of consecutive lines from `line` that have a cell in column `col`
    let end = line;
    while (end < cells.length && cells[end]!.length - 1 > col) end++;
    let w = 0;
    for (let i = line; i < end; i++) w = Math.max(w, width(cells[i]![col]!) + 1);
    w = Math.ceil(w / 8) * 8;
    for (let i = line; i < end; i++) widths[i]![col] = w;
  };
  for (let col = 0; ; col++) {
    let any = false;
    for (let i = 0; i < cells.length; i++) {
      if (cells[i]!.length - 1 > col) {
        any = true;
        if (widths[i]![col] === 0 && (i === 0 || !(cells[i - 1]!.length - 1 > col))) fill(i, col);
      }
    }
    if (!any) break;
  }
  return cells
    .map((c, i) => {
      let out = '';
      for (let col = 0; col < c.length - 1; col++) {
        const w = widths[i]![col]!;
        const cw = width(c[col]!);
        out += c[col]! + '\t'.repeat(Math.max(1, Math.ceil((w - cw) / 8)));
      }
      return out + c[c.length - 1]!;
    })
    .join('\n');
}

/** Go's grpc codes.Code String(). */
export const GRPC_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange',
  'Unimplemented', 'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated',
] as const;
