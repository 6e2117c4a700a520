/**
 * JSON.parse rounds integer literals above 2^53, but gateway clients send 64-bit IDs as bare
 * numbers (`{"ID": 7587847878436347399}`, as etcd's own curl examples do; Go's decoder keeps
 * them exact). Before parsing, every integer literal outside a string that a double cannot hold
 * exactly is turned into a JSON string, which the gateway accepts for every integer field.
 */
export function quoteBigIntegers(text: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
      const next = text.charCodeAt(j);
      const isInteger = !(next === 0x2e || next === 0x65 || next === 0x45); // no fraction or exponent
      const literal = text.slice(i, j);
      if (isInteger && literal !== '-' && !Number.isSafeInteger(Number(literal))) {
        out += `${text.slice(last, i)}"${literal}"`;
        last = j;
      }
      i = j - 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}
