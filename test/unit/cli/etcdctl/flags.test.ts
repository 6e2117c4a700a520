import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyEnv, FlagError, parseFlags, parseGoInt, type FlagDef } from '../../../../src/cli/etcdctl/flags.js';
import { GLOBAL_FLAGS } from '../../../../src/cli/etcdctl/global.js';
import { GET_FLAGS, getOp } from '../../../../src/cli/etcdctl/commands/get.js';
import { putOp, PUT_FLAGS } from '../../../../src/cli/etcdctl/commands/put.js';
import { delOp, DEL_FLAGS } from '../../../../src/cli/etcdctl/commands/del.js';
import { CliExit } from '../../../../src/cli/etcdctl/global.js';
import { prefixRangeEnd } from '../../../../src/cli/etcdctl/commands/keys.js';
import { findCommandWords, unknownCommandMessage } from '../../../../src/cli/etcdctl/etcdctl.js';

const defs: FlagDef[] = [...GLOBAL_FLAGS, ...GET_FLAGS];
const s = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

describe('pflag-style parsing', () => {
  test('long flags with = and with a separate value, shorthand, positionals anywhere', () => {
    const p = parseFlags(['--prefix', 'foo', '-w', 'json', '--limit=2', '--endpoints', 'a:1,b:2', '--rev', '7'], defs);
    assert.deepEqual(p.positionals, ['foo']);
    assert.equal(p.values.get('prefix'), true);
    assert.equal(p.values.get('write-out'), 'json');
    assert.equal(p.values.get('limit'), 2n);
    assert.equal(p.values.get('rev'), 7n);
    assert.deepEqual(p.values.get('endpoints'), ['a:1', 'b:2']);
  });

  test('-wjson and -w=json', () => {
    assert.equal(parseFlags(['-wjson'], defs).values.get('write-out'), 'json');
    assert.equal(parseFlags(['-w=fields'], defs).values.get('write-out'), 'fields');
  });

  test('bool flags take =value only; -- ends flags; defaults', () => {
    const p = parseFlags(['--prefix=false', '--', '--not-a-flag', '-x'], defs);
    assert.equal(p.values.get('prefix'), false);
    assert.deepEqual(p.positionals, ['--not-a-flag', '-x']);
    assert.equal(p.values.get('command-timeout'), 5e9);
    assert.deepEqual(p.values.get('endpoints'), ['127.0.0.1:2379']);
    assert.equal(p.values.get('consistency'), 'l');
  });

  test("pflag's error texts", () => {
    assert.throws(() => parseFlags(['--frobnicate'], defs), new FlagError('unknown flag: --frobnicate'));
    assert.throws(() => parseFlags(['-z'], defs), new FlagError("unknown shorthand flag: 'z' in -z"));
    assert.throws(() => parseFlags(['-w'], defs), new FlagError("flag needs an argument: 'w' in -w"));
    assert.throws(() => parseFlags(['--limit'], defs), new FlagError('flag needs an argument: --limit'));
    assert.throws(
      () => parseFlags(['--limit=x'], defs),
      new FlagError('invalid argument "x" for "--limit" flag: strconv.ParseInt: parsing "x": invalid syntax'),
    );
    assert.throws(
      () => parseFlags(['--prefix=maybe'], defs),
      new FlagError('invalid argument "maybe" for "--prefix" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
    );
    assert.throws(
      () => parseFlags(['--dial-timeout=x'], defs),
      new FlagError('invalid argument "x" for "--dial-timeout" flag: time: invalid duration "x"'),
    );
  });

  test('ETCDCTL_* environment variables fill flags not given on the command line', () => {
    const p = parseFlags(['-w', 'json'], GLOBAL_FLAGS);
    applyEnv(p, GLOBAL_FLAGS, 'ETCDCTL', { ETCDCTL_ENDPOINTS: 'x:1,y:2', ETCDCTL_WRITE_OUT: 'fields', ETCDCTL_API: '3', ETCDCTL_COMMAND_TIMEOUT: '1m30s' });
    assert.deepEqual(p.values.get('endpoints'), ['x:1', 'y:2']);
    assert.equal(p.values.get('write-out'), 'json');
    assert.equal(p.values.get('command-timeout'), 90e9);
  });

  test('strconv.ParseInt', () => {
    assert.equal(parseGoInt('694d7a1c2e3f4b05', 16), 0x694d7a1c2e3f4b05n);
    assert.equal(parseGoInt('0x10', 0), 16n);
    assert.throws(() => parseGoInt('zz', 16), /strconv.ParseInt: parsing "zz": invalid syntax/);
    assert.throws(() => parseGoInt('99999999999999999999', 10), /value out of range/);
  });
});

describe('command words', () => {
  test('skip global flags and their values', () => {
    assert.deepEqual(findCommandWords(['--endpoints', 'x', '-w', 'json', 'get', 'foo']), [4]);
    assert.deepEqual(findCommandWords(['endpoint', '-w', 'table', 'status']), [0, 3]);
    assert.deepEqual(findCommandWords(['lease', 'grant', '60']), [0, 1]);
    assert.deepEqual(findCommandWords(['put', 'endpoint', 'x']), [0]);
  });

  test('unknown command, with cobra-like suggestions', () => {
    assert.equal(unknownCommandMessage('frobnicate'), 'unknown command "frobnicate" for "etcdctl"');
    assert.equal(unknownCommandMessage('gte'), 'unknown command "gte" for "etcdctl"\n\nDid you mean this?\n\tget\n');
  });
});

describe('get/put/del requests as etcdctl builds them', () => {
  const get = (...args: string[]) => {
    const p = parseFlags(args, GET_FLAGS);
    return getOp(p.positionals, p);
  };

  test('--prefix, --from-key, empty key, range end', () => {
    const r = get('--prefix', 'foo');
    assert.equal(s(r.key!), 'foo');
    assert.equal(s(r.rangeEnd!), 'fop');
    const all = get('--prefix', '');
    assert.equal(s(all.key!), '\0');
    assert.equal(s(all.rangeEnd!), '\0');
    const from = get('--from-key', 'b');
    assert.equal(s(from.rangeEnd!), '\0');
    assert.equal(s(get('a', 'c').rangeEnd!), 'c');
    assert.deepEqual(prefixRangeEnd(new Uint8Array([0x61, 0xff])), new Uint8Array([0x62]));
    assert.deepEqual(prefixRangeEnd(new Uint8Array([0xff, 0xff])), new Uint8Array([0]));
  });

  test('sort: KEY ASCEND is sent as no order; other targets keep theirs', () => {
    assert.equal(get('--sort-by=KEY', '--order=ASCEND', 'k').sortOrder, 0);
    assert.equal(get('--sort-by=create', '--order=descend', 'k').sortTarget, 2);
    assert.equal(get('--sort-by=create', '--order=descend', 'k').sortOrder, 2);
  });

  test('errors and exit codes in etcdctl order', () => {
    const exit = (code: number, message: string) => (e: unknown) => e instanceof CliExit && e.exitCode === code && e.message === message;
    assert.throws(() => get(), exit(128, 'get command needs one argument as key and an optional argument as range_end'));
    assert.throws(() => get('--prefix', '--from-key', 'k'), exit(128, '`--prefix` and `--from-key` cannot be set at the same time, choose one'));
    assert.throws(() => get('--order=SIDEWAYS', 'k'), exit(4, 'bad sort order SIDEWAYS'));
    assert.throws(() => get('--sort-by=COLOR', 'k'), exit(4, 'bad sort target COLOR'));
    assert.throws(() => get('--consistency=x', 'k'), exit(4, 'unknown consistency flag "x"'));
    const put = (...args: string[]) => {
      const p = parseFlags(args, PUT_FLAGS);
      return putOp(p.positionals, p);
    };
    assert.throws(() => put(), exit(128, 'put command needs 1 argument and input from stdin or 2 arguments'));
    assert.throws(() => put('--ignore-value', 'k', 'v'), exit(128, "put command needs only 1 argument when 'ignore-value' is set"));
    assert.equal(put('--lease=694d7a1c2e3f4b05', 'k', 'v').lease, 0x694d7a1c2e3f4b05n);
    const del = (...args: string[]) => {
      const p = parseFlags(args, DEL_FLAGS);
      return delOp(p.positionals, p);
    };
    assert.throws(() => del('a', 'b', 'c'), exit(128, 'del command needs one argument as key and an optional argument as range_end'));
  });
});
