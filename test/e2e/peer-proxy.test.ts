/**
 * The test framework's peer proxy (framework/peer-proxy.ts) on plain TCP echo servers: the
 * opener of a connection found through /proc, and each link mode (pass, blackhole, delay,
 * reset) on connections opened by this process ("x") and by a child process nobody knows ("?").
 */
import { describe, it, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { PeerProxyNet, procSourceResolver, BLACKHOLE } from './framework/peer-proxy.js';
import { sleep } from './framework/process.js';

const linux = process.platform === 'linux';

/** An echo server that counts the connections and bytes it saw. */
async function echoServer(): Promise<{ server: Server; port: number; conns: number; bytes: number }> {
  const s = { server: createServer(), port: 0, conns: 0, bytes: 0 };
  s.server.on('connection', (sock) => {
    s.conns++;
    sock.on('data', (d) => {
      s.bytes += d.length;
      sock.write(d);
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', () => r()));
  s.port = (s.server.address() as { port: number }).port;
  return s;
}

function client(port: number): Promise<Socket & { got: Buffer[]; closedWith: string | undefined }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port }) as Socket & { got: Buffer[]; closedWith: string | undefined };
    sock.got = [];
    sock.closedWith = undefined;
    sock.on('data', (d) => sock.got.push(d));
    sock.on('error', (e: NodeJS.ErrnoException) => (sock.closedWith = e.code ?? e.message));
    sock.on('close', () => (sock.closedWith ??= 'closed'));
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await sleep(25);
  }
  assert.fail(`not reached: ${what}`);
}

describe('peer proxy', { skip: linux ? false : 'needs Linux /proc to find who opened a connection' }, () => {
  let a: Awaited<ReturnType<typeof echoServer>>;
  let x: Awaited<ReturnType<typeof echoServer>>;
  let net: PeerProxyNet;
  before(async () => {
    a = await echoServer();
    x = await echoServer();
    net = await PeerProxyNet.create(
      new Map([
        ['x', x.port],
        ['a', a.port],
      ]),
      procSourceResolver(() => new Map([[process.pid, 'x']])),
    );
  });
  after(async () => {
    await net.close();
    a.server.close();
    x.server.close();
  });

  it('finds the opener through /proc, and passes bytes both ways', async () => {
    const c = await client(net.proxyPort('a'));
    c.write('hello');
    await until('echo', () => Buffer.concat(c.got).toString() === 'hello');
    assert.equal(net.openConnections().get('x->a'), 1);
    c.destroy();
  });

  it('a process that is not a member is "?"', async () => {
    const before = net.accepted.get('?') ?? 0;
    const child = spawn(process.execPath, ['-e', `const s=require('net').connect(${net.proxyPort('a')},'127.0.0.1',()=>{s.write('hi')});s.on('data',()=>process.exit(0))`]);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, 'the child got its echo');
    assert.equal(net.accepted.get('?'), before + 1);
  });

  it('blackhole: bytes dropped both ways, the connection held open; new ones held; reset when the link passes again', async () => {
    const c = await client(net.proxyPort('a'));
    c.write('one');
    await until('echo before the cut', () => Buffer.concat(c.got).toString() === 'one');
    const bytesBefore = a.bytes;
    const connsBefore = a.conns;
    net.setLink('x', 'a', BLACKHOLE);
    c.write('two');
    const held = await client(net.proxyPort('a'));
    held.write('three');
    await sleep(300);
    assert.equal(a.bytes, bytesBefore, 'nothing reached the target');
    assert.equal(a.conns, connsBefore, 'the new connection was not connected upstream');
    assert.equal(Buffer.concat(c.got).toString(), 'one', 'nothing came back');
    assert.equal(c.closedWith, undefined, 'still open');
    assert.equal(held.closedWith, undefined, 'still open');
    // the other direction (a -> x) is its own link and still passes
    const other = await client(net.proxyPort('x'));
    other.write('ok');
    await until('x echo', () => Buffer.concat(other.got).toString() === 'ok');
    net.heal();
    await until('both reset at the heal', () => c.closedWith !== undefined && held.closedWith !== undefined);
    const fresh = await client(net.proxyPort('a'));
    fresh.write('four');
    await until('a new connection passes', () => Buffer.concat(fresh.got).toString() === 'four');
    fresh.destroy();
    other.destroy();
  });

  it('isolate cuts both directions; a connection of unknown origin into a cut member is held', async () => {
    net.isolate('a');
    assert.equal(net.mode('x', 'a').kind, 'blackhole');
    assert.equal(net.mode('a', 'x').kind, 'blackhole');
    const before = a.conns;
    const child = spawn(process.execPath, ['-e', `const s=require('net').connect(${net.proxyPort('a')},'127.0.0.1',()=>{s.write('hi')});s.on('data',()=>process.exit(3));setTimeout(()=>process.exit(0),400)`]);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0, 'no echo for the unknown opener');
    assert.equal(a.conns, before);
    net.heal();
  });

  it('delay: 200 chunks from 4 concurrent connections all arrive, each in order', async () => {
    net.delay(20);
    const cs = await Promise.all([0, 1, 2, 3].map(() => client(net.proxyPort('a'))));
    const want = cs.map((_, i) => Array.from({ length: 50 }, (_, j) => `${i}:${j};`).join(''));
    cs.forEach((c, i) => {
      for (let j = 0; j < 50; j++) c.write(`${i}:${j};`);
    });
    await until('all echoes', () => cs.every((c, i) => Buffer.concat(c.got).toString() === want[i]));
    net.heal();
    for (const c of cs) c.destroy();
  });

  it('resetConnections: open connections of a link get a reset; others stay', async () => {
    const c = await client(net.proxyPort('a'));
    const o = await client(net.proxyPort('x'));
    c.write('z');
    await until('echo', () => c.got.length > 0);
    assert.equal(net.resetConnections('x', 'a'), 1);
    await until('reset', () => c.closedWith !== undefined);
    assert.match(c.closedWith!, /ECONNRESET|closed/);
    o.write('still');
    await until('the other link still passes', () => Buffer.concat(o.got).toString() === 'still');
    o.destroy();
  });

  it('refuses an unknown link name', () => {
    assert.throws(() => net.setLink('x', 'nope', BLACKHOLE), /unknown link/);
  });
});
