/**
 * The Watch service handler (src/api/v3rpc/watch.ts) on a fake transport stream and a fake hub:
 * `hasleader=true` metadata (refused without a leader; ended when the leader is lost), requests
 * handled one at a time in order (a create that waits holds back the ones after it), drain and
 * close reach the hub.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdserverpb } from '../../../../src/proto/pb.js';
import { EtcdError } from '../../../../src/errors/errors.js';
import { watchMethod, type Watchable, type WatchStreamHandle } from '../../../../src/api/v3rpc/watch.js';
import type { CallContext, ServerStream } from '../../../../src/api/grpc/types.js';

class FakeCall implements ServerStream<etcdserverpb.WatchRequest, Uint8Array> {
  closed = false;
  ended: unknown = 'not ended';
  msg: ((r: etcdserverpb.WatchRequest) => void) | undefined;
  close: (() => void) | undefined;
  drain: (() => void) | undefined;
  onMessage(fn: (req: etcdserverpb.WatchRequest) => void): void {
    this.msg = fn;
  }
  onHalfClose(): void {}
  onClose(fn: () => void): void {
    this.close = fn;
  }
  send(): boolean {
    return true;
  }
  onDrain(fn: () => void): void {
    this.drain = fn;
  }
  end(err?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = err;
    this.close?.();
  }
}

function ctx(md: Record<string, string>): CallContext {
  return { metadata: (k) => md[k], deadline: undefined, signal: new AbortController().signal, path: '/etcdserverpb.Watch/Watch' };
}

function fakeHub(log: string[], gate?: Promise<void>): Watchable {
  return {
    openStream(): WatchStreamHandle {
      log.push('open');
      return {
        create: (c) => {
          log.push(`create ${Buffer.from(c.key ?? []).toString()}`);
          if (c.startRevision === 0 && gate !== undefined) return gate.then(() => void log.push('create done'));
          return undefined;
        },
        cancel: (id) => void log.push(`cancel ${id}`),
        requestProgress: () => void log.push('progress'),
        drained: () => void log.push('drained'),
        close: () => void log.push('close'),
      };
    },
  };
}

const req = (r: etcdserverpb.IWatchRequest) => etcdserverpb.WatchRequest.create(r);

test('hasleader=true without a leader: the stream ends with "etcdserver: no leader" and no hub stream opens', () => {
  const log: string[] = [];
  const call = new FakeCall();
  watchMethod(fakeHub(log), { hasLeader: () => false }).handler(call, ctx({ hasleader: 'true' }));
  assert.ok(call.ended instanceof EtcdError);
  assert.equal((call.ended as EtcdError).message, 'etcdserver: no leader');
  assert.deepEqual(log, []);
  // without the metadata the same member serves the stream
  const call2 = new FakeCall();
  watchMethod(fakeHub(log), { hasLeader: () => false }).handler(call2, ctx({}));
  assert.equal(call2.closed, false);
  assert.deepEqual(log, ['open']);
});

test('hasleader=true: losing the leader ends the stream and closes the hub stream; others are untouched', () => {
  const log: string[] = [];
  const listeners = new Set<() => void>();
  const opts = { hasLeader: () => true, onLeaderLost: (l: () => void) => (listeners.add(l), () => void listeners.delete(l)) };
  const strict = new FakeCall();
  const loose = new FakeCall();
  watchMethod(fakeHub(log), opts).handler(strict, ctx({ hasleader: 'true' }));
  watchMethod(fakeHub(log), opts).handler(loose, ctx({}));
  assert.equal(listeners.size, 1, 'only the hasleader stream listens');
  for (const l of [...listeners]) l();
  assert.equal((strict.ended as EtcdError).message, 'etcdserver: no leader');
  assert.equal(loose.closed, false);
  assert.equal(listeners.size, 0, 'unsubscribed when the stream closed');
  assert.deepEqual(log, ['open', 'open', 'close']);
});

test('requests run one at a time in arrival order; a waiting create holds back the rest', async () => {
  const log: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const call = new FakeCall();
  watchMethod(fakeHub(log, gate), { hasLeader: () => true }).handler(call, ctx({}));
  call.msg!(req({ createRequest: { key: Buffer.from('a'), startRevision: 5 } }));
  call.msg!(req({ createRequest: { key: Buffer.from('b'), startRevision: 0 } }));
  call.msg!(req({ cancelRequest: { watchId: 0 } }));
  call.msg!(req({ progressRequest: {} }));
  call.msg!(req({}));
  assert.deepEqual(log, ['open', 'create a', 'create b']);
  open();
  await gate;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['open', 'create a', 'create b', 'create done', 'cancel 0', 'progress']);
  call.drain!();
  call.end();
  assert.deepEqual(log.slice(-2), ['drained', 'close']);
});
