import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { argify, goUnquote, LineReader, parseCompare, parseRequestOp, readCompares, readOps } from '../../../../src/cli/etcdctl/commands/txn-parse.js';
import { CliExit } from '../../../../src/cli/etcdctl/global.js';

const s = (b: Uint8Array | null | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('latin1');

describe('txn input', () => {
  test('argify: double quotes are Go-unquoted', () => {
    assert.deepEqual(argify('put t1 "one b"'), ['put', 't1', 'one b']);
    assert.deepEqual(argify('put k "a\\nb"'), ['put', 'k', 'a\nb']);
    assert.deepEqual(argify('get --prefix t'), ['get', '--prefix', 't']);
  });

  test('goUnquote', () => {
    assert.equal(goUnquote('"a\\x41\\u00e9"'), 'aA\xc3\xa9');
    assert.equal(goUnquote('"bad'), undefined);
  });

  test('compares: every target and result', () => {
    assert.deepEqual({ ...parseCompare('value("t1") = "one"'), key: s(parseCompare('value("t1") = "one"').key) }, {
      key: 't1', target: 3, value: new Uint8Array(Buffer.from('one')), result: 0,
    });
    assert.equal(parseCompare('mod("t1") > "0"').modRevision, 0);
    assert.equal(parseCompare('mod("t1") > "0"').result, 1);
    assert.equal(parseCompare('ver("t1") < "100"').version, 100);
    assert.equal(parseCompare('c("t1") != "1"').result, 3);
    assert.equal(parseCompare('c("t1") != "1"').createRevision, 1);
  });

  test("compare errors: etcdctl's messages, exit 3", () => {
    const exit3 = (m: string) => (e: unknown) => e instanceof CliExit && e.exitCode === 3 && e.message === m;
    assert.throws(() => parseCompare('valuex("t1") = "one"'), exit3('malformed comparison: valuex("t1") = "one" (unknown target valuex)'));
    assert.throws(() => parseCompare('value "t1"'), exit3('malformed comparison: value "t1"'));
    assert.throws(() => parseCompare('value("t1") ='), exit3('malformed comparison: value("t1") =; got value("t1") = ""'));
    assert.throws(() => parseCompare('version("t1") = "x"'), exit3('invalid txn compare request: version("t1") = "x"'));
  });

  test('ops: put/get/del with their flags; unknown verbs', () => {
    const put = parseRequestOp('put t4 "four"');
    assert.equal(s(put.requestPut!.key), 't4');
    assert.equal(s(put.requestPut!.value), 'four');
    const get = parseRequestOp('get --prefix t');
    assert.equal(s(get.requestRange!.rangeEnd), 'u');
    const del = parseRequestOp('del --prefix t');
    assert.equal(s(del.requestDeleteRange!.rangeEnd), 'u');
    assert.throws(() => parseRequestOp('frobnicate t1'), (e) => e instanceof CliExit && e.message === 'invalid txn request: frobnicate t1');
    assert.throws(() => parseRequestOp('get'), (e) => e instanceof CliExit && e.message === 'invalid txn compare request: get');
  });

  test('sections end at a blank line; a missing newline is EOF', () => {
    const r = new LineReader('mod("t1") > "0"\n\nput a "1"\nget b\n\n\n');
    assert.equal(readCompares(r).length, 1);
    assert.equal(readOps(r).length, 2);
    assert.equal(readOps(r).length, 0);
    assert.throws(() => readOps(new LineReader('put a b')), (e) => e instanceof CliExit && e.exitCode === 3 && e.message === 'EOF');
  });
});
