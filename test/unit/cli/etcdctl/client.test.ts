import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointAddress, RpcError } from '../../../../src/cli/etcdctl/client.js';
import { balancedTarget } from '../../../../src/cli/etcdctl/global.js';

test('RpcError texts as etcdctl 3.4 prints them', () => {
  // etcd's own errors: the message alone (the Go client maps them to rpctypes errors)
  assert.equal(new RpcError(11, 'etcdserver: mvcc: required revision has been compacted').message, 'etcdserver: mvcc: required revision has been compacted');
  // anything else: Go's status error string
  assert.equal(new RpcError(12, 'method LeaseGrant not implemented').message, 'rpc error: code = Unimplemented desc = method LeaseGrant not implemented');
  // our own codes that etcd does not have are not recognised by the Go client either
  assert.equal(
    new RpcError(12, 'etcdserver: request type not supported by this server yet').message,
    'rpc error: code = Unimplemented desc = etcdserver: request type not supported by this server yet',
  );
  assert.equal(new RpcError(4, 'Deadline exceeded after 5.001s').message, 'context deadline exceeded');
});

test('endpoints: schemes, and several IPv4 endpoints as one pick-first target', () => {
  assert.deepEqual(endpointAddress('http://127.0.0.1:2379'), { address: '127.0.0.1:2379', secure: false });
  assert.deepEqual(endpointAddress('https://etcd:2379'), { address: 'etcd:2379', secure: true });
  assert.equal(balancedTarget(['127.0.0.1:1', 'http://127.0.0.1:2']), 'ipv4:127.0.0.1:1,127.0.0.1:2');
  assert.equal(balancedTarget(['localhost:1', '127.0.0.1:2']), 'localhost:1');
  assert.equal(balancedTarget(['127.0.0.1:1']), '127.0.0.1:1');
});
