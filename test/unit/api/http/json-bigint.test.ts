import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteBigIntegers } from '../../../../src/api/http/json-bigint.js';

test('integer literals a double cannot hold become strings; everything else is untouched', () => {
  assert.equal(quoteBigIntegers('{"ID": 7000000000000000001, "TTL": 30}'), '{"ID": "7000000000000000001", "TTL": 30}');
  assert.equal(quoteBigIntegers('{"a":[-9223372036854775808,1.5e300,12345678901234567.5]}'), '{"a":["-9223372036854775808",1.5e300,12345678901234567.5]}');
  const inString = '{"k":"x 7000000000000000001 \\" 7000000000000000001"}';
  assert.equal(quoteBigIntegers(inString), inString);
  assert.equal(quoteBigIntegers('{"n":9007199254740991}'), '{"n":9007199254740991}');
  assert.equal(JSON.parse(quoteBigIntegers('{"ID":18446744073709551615}')).ID, '18446744073709551615');
});
