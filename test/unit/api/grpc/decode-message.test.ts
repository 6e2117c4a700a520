// decodeGrpcMessage and unaryRequestError (src/api/grpc/framing.ts), shared by both server
// transports: compressed messages per grpc-encoding, and grpc-go's statuses for what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync, deflateSync } from 'node:zlib';
import { decodeGrpcMessage, unaryRequestError } from '../../../../src/api/grpc/framing.js';
import { GrpcStatus, GrpcStatusError } from '../../../../src/api/grpc/status.js';
import { etcdserverpb } from '../../../../src/proto/pb.js';

const decode = (b: Uint8Array): etcdserverpb.PutRequest => etcdserverpb.PutRequest.decode(b);
const put = Buffer.from(etcdserverpb.PutRequest.encode({ key: Buffer.from('k'), value: Buffer.alloc(1000, 'v') }).finish());

function statusOf(fn: () => unknown): { code: GrpcStatus; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GrpcStatusError, String(err));
    return { code: err.grpcStatus, message: err.message };
  }
  assert.fail('no error');
}

test('identity, gzip and deflate messages decode to the same request', () => {
  for (const [compressed, body, encoding] of [[false, put, undefined], [true, gzipSync(put), 'gzip'], [true, deflateSync(put), 'deflate']] as const) {
    const r = decodeGrpcMessage(decode, compressed, body, encoding, 4 * 1024 * 1024);
    assert.equal(Buffer.from(r.key).toString(), 'k');
    assert.equal(r.value.length, 1000);
  }
});

test('a compressed message with an unknown or missing grpc-encoding: UNIMPLEMENTED, as grpc-go', () => {
  assert.deepEqual(statusOf(() => decodeGrpcMessage(decode, true, gzipSync(put), 'br', 1 << 20)), {
    code: GrpcStatus.UNIMPLEMENTED,
    message: 'grpc: Decompressor is not installed for grpc-encoding "br"',
  });
  assert.equal(statusOf(() => decodeGrpcMessage(decode, true, gzipSync(put), undefined, 1 << 20)).message, 'grpc: Decompressor is not installed for grpc-encoding "identity"');
});

test('a message over the limit once decompressed (a small gzip bomb): RESOURCE_EXHAUSTED', () => {
  const bomb = gzipSync(Buffer.alloc(1 << 20));
  assert.ok(bomb.length < 10_000);
  const s = statusOf(() => decodeGrpcMessage(decode, true, bomb, 'gzip', 64 * 1024));
  assert.equal(s.code, GrpcStatus.RESOURCE_EXHAUSTED);
  assert.match(s.message, /^grpc: received message after decompression larger than max \(\d+ vs\. 65536\)$/);
});

test('bytes that do not decode, and corrupt gzip: INTERNAL errors with grpc-go\'s texts', () => {
  assert.equal(statusOf(() => decodeGrpcMessage(decode, false, put.subarray(0, 10), undefined, 1 << 20)).code, GrpcStatus.INTERNAL);
  const corrupt = statusOf(() => decodeGrpcMessage(decode, true, Buffer.from('not gzip'), 'gzip', 1 << 20));
  assert.equal(corrupt.code, GrpcStatus.INTERNAL);
  assert.match(corrupt.message, /^grpc: failed to decompress the received message: /);
});

test('a unary request must be exactly one whole message', () => {
  assert.equal(unaryRequestError(1, false), undefined);
  assert.deepEqual({ ...statusOf(() => { throw unaryRequestError(0, false); }) }, { code: GrpcStatus.INTERNAL, message: 'grpc: error unmarshalling request: EOF' });
  assert.equal(unaryRequestError(2, false)?.message, 'grpc: client streaming protocol violation: want one message');
  assert.equal(unaryRequestError(1, true)?.message, 'grpc: client streaming protocol violation: want one message');
});
