/**
 * HTTP requests that are not gRPC over HTTP/2 on the plain client port (h2c, prior
 * knowledge): /health and /metrics to curl, the JSON gateway's unary calls and its streaming
 * /v3/watch to node:http2. The gRPC transport answers them through the HttpRouter
 * (docs/grpc-transport.md "Non-gRPC requests on HTTP/2"). TLS with ALPN h2 is in tls.test.ts.
 *
 * Ours only: etcd 3.4 hands every HTTP/2 connection of a plain port to grpc-go, which answers
 * non-gRPC requests with HTTP 415.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { useCluster } from './framework/hooks.js';
import { SUITE_TIMEOUT_MS, serverKind, serverUnavailableReason } from './framework/process.js';

const skip = serverKind() === 'real' ? 'etcd answers non-gRPC HTTP/2 on a plain port with 415' : (serverUnavailableReason() ?? false);
const noCurl = spawnSync('curl', ['--version']).status !== 0 ? 'curl is not installed' : false;

function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
  body?: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': body === undefined ? 'GET' : 'POST', ':path': path, 'content-type': 'application/json' });
    let status = 0;
    let headers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      headers = h;
      status = Number(h[':status']);
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve({ status, headers, text: Buffer.concat(chunks).toString() }));
    req.on('error', reject);
    req.end(body);
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('HTTP over h2c on the client port', { skip, timeout: SUITE_TIMEOUT_MS }, () => {
  const cluster = useCluster({ name: 'h2http' });

  it('/health and /metrics to curl --http2-prior-knowledge', { skip: noCurl }, async () => {
    const port = cluster.c.clientPort;
    const get = async (path: string): Promise<string> =>
      (await promisify(execFile)('curl', ['-s', '--http2-prior-knowledge', '-w', '\n%{http_version} %{http_code}', `http://127.0.0.1:${port}${path}`], { maxBuffer: 16 << 20 })).stdout;
    const health = await get('/health');
    assert.match(health, /\{"health":"true","reason":""\}/);
    assert.match(health, /\n2 200$/);
    const metrics = await get('/metrics');
    assert.match(metrics, /^etcd_server_has_leader 1$/m);
    assert.match(metrics, /\n2 200$/);
    assert.match(await get('/no-such-path'), /\n2 404$/);
  });

  it('the JSON gateway over h2: put, range, a bad body, and a streaming /v3/watch that sees a put', async () => {
    const session = http2.connect(`http://127.0.0.1:${cluster.c.clientPort}`);
    session.on('error', () => {});
    try {
      const put = await h2Request(session, '/v3/kv/put', JSON.stringify({ key: b64('h2/a'), value: b64('one') }));
      assert.equal(put.status, 200, put.text);
      assert.equal(put.headers['content-type'], 'application/json');
      const range = await h2Request(session, '/v3/kv/range', JSON.stringify({ key: b64('h2/a') }));
      assert.equal(range.status, 200);
      assert.equal(Buffer.from(JSON.parse(range.text).kvs[0].value, 'base64').toString(), 'one');
      const bad = await h2Request(session, '/v3/kv/put', '{not json');
      assert.equal(bad.status, 400, bad.text);

      // /v3/watch: a long response stream of JSON lines; the request body stays open.
      const watch = session.request({ ':method': 'POST', ':path': '/v3/watch', 'content-type': 'application/json' });
      let text = '';
      const lines: Array<Record<string, unknown>> = [];
      const seen = new Promise<void>((resolve, reject) => {
        watch.on('data', (d: Buffer) => {
          text += d.toString();
          let nl: number;
          while ((nl = text.indexOf('\n')) >= 0) {
            lines.push(JSON.parse(text.slice(0, nl)) as Record<string, unknown>);
            text = text.slice(nl + 1);
            const r = lines[lines.length - 1]!['result'] as { events?: Array<{ kv: { value: string } }> } | undefined;
            if (r?.events?.some((e) => Buffer.from(e.kv.value, 'base64').toString() === 'two')) resolve();
          }
        });
        watch.on('error', reject);
      });
      watch.write(JSON.stringify({ create_request: { key: b64('h2/a') } }));
      // wait for "created" before writing
      for (const end = Date.now() + 30_000; lines.length === 0; ) {
        if (Date.now() > end) throw new Error('no "created" line from /v3/watch');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((lines[0]!['result'] as { created?: boolean }).created, true);
      const put2 = await h2Request(session, '/v3/kv/put', JSON.stringify({ key: b64('h2/a'), value: b64('two') }));
      assert.equal(put2.status, 200);
      await seen;
      watch.close();
    } finally {
      session.close();
    }
  });
});
