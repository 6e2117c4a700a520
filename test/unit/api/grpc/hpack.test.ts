// HPACK decoder and literal encoder (src/api/grpc/hpack.ts) against RFC 7541's worked examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HpackDecoder, HpackError, encodeLiterals, huffmanDecode, type HeaderField } from '../../../../src/api/grpc/hpack.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('RFC 7541 C.4: three requests with Huffman strings and the dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'],
  ]);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), [
    [':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache'],
  ]);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
  ]);
});

test('RFC 7541 C.3: the same requests without Huffman', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')).at(-1), [':authority', 'www.example.com']);
  assert.deepEqual(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865')).at(-1), ['cache-control', 'no-cache']);
});

test('evictions follow the table size, and size updates above the limit are refused', () => {
  const d = new HpackDecoder(64); // room for one small entry (32 + name + value)
  const lit = (name: string, value: string): Buffer => Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
  d.decode(lit('a', 'one'));
  d.decode(lit('b', 'two')); // evicts a
  assert.deepEqual(d.decode(Buffer.from([0x80 | 62])), [['b', 'two']]);
  assert.throws(() => d.decode(Buffer.from([0x80 | 63])), HpackError);
  assert.throws(() => d.decode(Buffer.from([0x3f, 0xe1, 0x1f])), /above the limit/); // size update to 4096 > 64
});

test('bad input throws HpackError, never anything else', () => {
  for (const bad of ['80', '3f', '41', '4105', '0085ffffffff', 'ff', '40ff80808080808080']) {
    assert.throws(() => new HpackDecoder().decode(hex(bad)), HpackError, bad);
  }
  assert.throws(() => huffmanDecode(hex('ffffffff')), HpackError); // EOS
  assert.throws(() => huffmanDecode(hex('00')), HpackError); // padding of zeros
});

test('encodeLiterals round-trips through the decoder, leaving its dynamic table empty', () => {
  const fields: HeaderField[] = [[':method', 'POST'], [':authority', '127.0.0.1:2379'], ['x-long', 'v'.repeat(300)], ['te', 'trailers']];
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(encodeLiterals(fields)), fields);
  assert.throws(() => d.decode(Buffer.from([0x80 | 62])), HpackError); // nothing was inserted
});
