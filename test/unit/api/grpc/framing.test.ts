/** MessageReader reassembly and limits; status helpers (percent-encoding, grpc-timeout, UNIMPLEMENTED wording). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessageReader, encodeFrame } from '../../../../src/api/grpc/framing.js';
import { decodeGrpcMessage, encodeGrpcMessage, parseGrpcTimeoutMs, toStatus } from '../../../../src/api/grpc/status.js';
import { etcdMethodPaths, unimplementedError } from '../../../../src/api/grpc/etcd-services.js';
import { EtcdError, GrpcStatus } from '../../../../src/errors/errors.js';

function collect(reader: MessageReader, chunks: Buffer[]): { msgs: string[]; err?: string } {
  const msgs: string[] = [];
  for (const c of chunks) {
    const err = reader.push(c, { onMessage: (compressed, body) => msgs.push(`${compressed ? 'z' : ''}${body.toString()}`) });
    if (err) return { msgs, err: err.message };
  }
  return { msgs };
}

describe('MessageReader', () => {
  const frames = Buffer.concat([encodeFrame(Buffer.from('hello')), encodeFrame(Buffer.alloc(0)), encodeFrame(Buffer.from('world!'))]);

  it('reads several messages from one chunk, including an empty one', () => {
    assert.deepEqual(collect(new MessageReader(100), [frames]).msgs, ['hello', '', 'world!']);
  });

  it('reassembles messages split at every possible byte boundary', () => {
    for (let cut = 1; cut < frames.length; cut++) {
      const r = new MessageReader(100);
      assert.deepEqual(collect(r, [frames.subarray(0, cut), frames.subarray(cut)]).msgs, ['hello', '', 'world!'], `cut ${cut}`);
      assert.equal(r.partial, false);
    }
    const r = new MessageReader(100);
    assert.deepEqual(collect(r, [...frames].map((b) => Buffer.from([b]))).msgs, ['hello', '', 'world!']);
  });

  it('reports the compressed flag', () => {
    const f = encodeFrame(Buffer.from('x'));
    f[0] = 1;
    assert.deepEqual(collect(new MessageReader(100), [f]).msgs, ['zx']);
  });

  it('rejects a message over the limit from its header alone, with grpc-go wording', () => {
    const header = Buffer.from([0, 0, 0, 0, 11]);
    assert.equal(collect(new MessageReader(10), [header]).err, 'grpc: received message larger than max (11 vs. 10)');
    assert.equal(collect(new MessageReader(10), [header.subarray(0, 2), header.subarray(2)]).err, 'grpc: received message larger than max (11 vs. 10)');
    assert.equal(collect(new MessageReader(11), [header]).err, undefined);
  });

  it('tells a partial message apart', () => {
    const r = new MessageReader(100);
    collect(r, [encodeFrame(Buffer.from('abc')).subarray(0, 6)]);
    assert.equal(r.partial, true);
  });
});

describe('status helpers', () => {
  it('percent-encodes grpc-message per the gRPC spec and decodes it back', () => {
    assert.equal(encodeGrpcMessage('etcdserver: request is too large'), 'etcdserver: request is too large');
    assert.equal(encodeGrpcMessage('100%\n\u00e9'), '100%25%0A%C3%A9');
    for (const s of ['plain', '100% sure', 'línea\r\nnueva', '日本語', '%zz']) assert.equal(decodeGrpcMessage(encodeGrpcMessage(s)), s);
    assert.equal(decodeGrpcMessage('bad %zz escape %4'), 'bad %zz escape %4');
  });

  it('parses grpc-timeout in every unit and rejects malformed values', () => {
    assert.equal(parseGrpcTimeoutMs('5S'), 5000);
    assert.equal(parseGrpcTimeoutMs('1H'), 3_600_000);
    assert.equal(parseGrpcTimeoutMs('2M'), 120_000);
    assert.equal(parseGrpcTimeoutMs('250m'), 250);
    assert.equal(parseGrpcTimeoutMs('1500u'), 1.5);
    assert.equal(parseGrpcTimeoutMs('99999999n'), 99.999999);
    for (const bad of [undefined, '', 'S', '5', '5s', '123456789S', '-5S', '5.5S']) assert.equal(parseGrpcTimeoutMs(bad), undefined, String(bad));
  });

  it('maps EtcdError to its status and hides other errors behind INTERNAL', () => {
    assert.deepEqual(toStatus(new EtcdError('ETCD_ERR_SERVER_REQUEST_TOO_LARGE')), {
      code: GrpcStatus.INVALID_ARGUMENT,
      message: 'etcdserver: request is too large',
    });
    const logged: unknown[] = [];
    const s = toStatus(new Error('secret detail'), (_m, e) => logged.push(e));
    assert.equal(s.code, GrpcStatus.INTERNAL);
    assert.doesNotMatch(s.message, /secret/);
    assert.equal(logged.length, 1);
  });

  it('words UNIMPLEMENTED as grpc-go does', () => {
    assert.equal(unimplementedError('/etcdserverpb.Watch/Watch', []).message, 'method Watch not implemented');
    assert.equal(unimplementedError('/etcdserverpb.KV/Foo', []).message, 'unknown method Foo for service etcdserverpb.KV');
    assert.equal(unimplementedError('/my.Svc/Foo', ['/my.Svc/Bar']).message, 'unknown method Foo for service my.Svc');
    assert.equal(unimplementedError('/my.Svc/Foo', []).message, 'unknown service my.Svc');
    assert.equal(unimplementedError('nonsense', []).message, 'malformed method name: "nonsense"');
  });

  it('lists every method of the six etcd services plus Lock and Election', () => {
    const paths = etcdMethodPaths();
    assert.equal(paths.size, 5 + 1 + 5 + 5 + 8 + 17 + 2 + 5);
    assert.equal(paths.get('/etcdserverpb.Watch/Watch'), 'bidi');
    assert.equal(paths.get('/etcdserverpb.Maintenance/Snapshot'), 'server');
    assert.equal(paths.get('/v3electionpb.Election/Observe'), 'server');
    assert.equal(paths.get('/v3lockpb.Lock/Unlock'), 'unary');
  });
});
