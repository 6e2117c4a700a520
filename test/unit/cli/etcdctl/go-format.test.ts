import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, goFixed, goJsonString, goQuote, humanizeBytes, parseGoDuration, tabwrite } from '../../../../src/cli/etcdctl/go-format.js';

describe("Go's formatting", () => {
  test('strconv.Quote', () => {
    assert.equal(goQuote('foo'), '"foo"');
    assert.equal(goQuote('a "b"\\'), '"a \\"b\\"\\\\"');
    assert.equal(goQuote('line1\nline2\t\x00\x7f'), '"line1\\nline2\\t\\x00\\x7f"');
    assert.equal(goQuote('héllo ☃'), '"héllo ☃"');
    assert.equal(goQuote(new Uint8Array([0xff, 0x41])), '"\\xffA"');
    assert.equal(goQuote('\u00a0'), '"\\u00a0"');
  });

  test('time.Duration String and ParseDuration', () => {
    assert.equal(formatGoDuration(2277466), '2.277466ms');
    assert.equal(formatGoDuration(1500), '1.5µs');
    assert.equal(formatGoDuration(999), '999ns');
    assert.equal(formatGoDuration(5e9), '5s');
    assert.equal(formatGoDuration(90.5e9), '1m30.5s');
    assert.equal(formatGoDuration(3600e9), '1h0m0s');
    assert.equal(formatGoDuration(0), '0s');
    assert.equal(parseGoDuration('5s'), 5e9);
    assert.equal(parseGoDuration('1m30s'), 90e9);
    assert.equal(parseGoDuration('500ms'), 5e8);
    assert.equal(parseGoDuration('1.5h'), 5400e9);
    assert.equal(parseGoDuration('x'), undefined);
    assert.equal(parseGoDuration('5'), undefined);
  });

  test('go-humanize Bytes, with round-half-even', () => {
    assert.equal(humanizeBytes(20480), '20 kB');
    assert.equal(humanizeBytes(40960), '41 kB');
    assert.equal(humanizeBytes(9), '9 B');
    assert.equal(humanizeBytes(1500), '1.5 kB');
    assert.equal(humanizeBytes(2_500_000), '2.5 MB');
    assert.equal(goFixed(20.5, 0), '20');
    assert.equal(goFixed(21.5, 0), '22');
  });

  test('encoding/json strings', () => {
    assert.equal(goJsonString('a<b>&"\\\n'), '"a\\u003cb\\u003e\\u0026\\"\\\\\\n"');
  });

  test('text/tabwriter with tab padding', () => {
    assert.equal(tabwrite('a\tx\nlonger-than-eight\ty\n'), 'a\t\t\tx\nlonger-than-eight\ty\n');
    assert.equal(tabwrite('NAME:\n\tget - x\n'), 'NAME:\n\tget - x\n');
  });
});
