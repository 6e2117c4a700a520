/**
 * The real Go client (etcdctl 3.4 from Debian's etcd-client, grpc-go 1.33) against both
 * transports through the shared port: put, get, an etcd error, an unimplemented method.
 * Skipped when etcdctl is not installed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import { EtcdError } from '../../../../src/errors/errors.js';
import { IMPLS, addFakeKv, startServer, type TestServer } from './helpers.js';

const exec = promisify(execFile);

function haveEtcdctl(): boolean {
  try {
    execFileSync('etcdctl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const skip = haveEtcdctl() ? false : 'etcdctl not installed';

for (const impl of IMPLS) {
  describe(`etcdctl (grpc-go) against ${impl}`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startServer(impl, (t) => {
        addFakeKv(t);
        t.addUnary<etcdserverpb.DeleteRangeRequest, etcdserverpb.IDeleteRangeResponse>({
          path: '/etcdserverpb.KV/DeleteRange',
          decode: (b) => etcdserverpb.DeleteRangeRequest.decode(b),
          encode: (r) => etcdserverpb.DeleteRangeResponse.encode(r).finish(),
          handler: () => {
            throw new EtcdError('ETCD_ERR_MVCC_COMPACTED');
          },
        });
      });
    });
    after(() => server.close());

    // Never execFileSync here: it would block the event loop the server runs on.
    const etcdctl = async (...args: string[]): Promise<{ out: string; err: string }> => {
      try {
        const r = await exec('etcdctl', ['--endpoints', server.address, '--command-timeout=5s', ...args], { encoding: 'utf8' });
        return { out: r.stdout.trim(), err: '' };
      } catch (e) {
        const x = e as { stdout?: string; stderr?: string };
        return { out: (x.stdout ?? '').trim(), err: (x.stderr ?? '').trim() };
      }
    };

    it('puts and gets', async () => {
      assert.deepEqual(await etcdctl('put', 'foo', 'bar'), { out: 'OK', err: '' });
      assert.deepEqual(await etcdctl('get', 'foo'), { out: 'foo\nvalue-of-foo', err: '' });
    });

    it('sees etcd errors and UNIMPLEMENTED as etcd would send them', async () => {
      assert.match((await etcdctl('del', 'foo')).err, /Error: etcdserver: mvcc: required revision has been compacted$/);
      assert.match((await etcdctl('lease', 'grant', '10')).err, /code = Unimplemented desc = method LeaseGrant not implemented/);
    });
  });
}
