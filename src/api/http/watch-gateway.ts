/**
 * The JSON gateway's streaming watch route, as etcd's grpc-gateway serves it: `POST /v3/watch`
 * (and `/v3beta/watch`) with a body of one or more JSON WatchRequests (proto field names, bytes
 * as base64), answered by a chunked stream of `{"result": <WatchResponse as JSON>}` lines for as
 * long as the client keeps the connection. The watch itself is the same hub stream the gRPC
 * service uses (docs/watch.md); a full socket buffer tells the hub the stream is slow.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import '../../proto/pb-runtime.js';
import { etcdserverpb } from '../../proto/pb.js';
import type { Watchable } from '../v3rpc/watch.js';
import type { HttpRouter } from './router.js';

const PROTO_ROOT = fileURLToPath(new URL('../../../../proto/', import.meta.url));

export interface WatchGatewayOptions {
  /** Largest request body text kept while waiting for a complete JSON object. */
  readonly maxBodyBytes: number;
  /**
   * The auth check of a create (docs/auth.md): the encoded WatchResponse that refuses it, or
   * undefined to let it through. `authorization` is the request's Authorization header (the token).
   */
  readonly refuseCreate?: (create: etcdserverpb.IWatchCreateRequest, authorization: string | undefined) => Uint8Array | undefined;
}

export function registerWatchGateway(router: HttpRouter, watchable: Watchable, opts: WatchGatewayOptions): void {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => PROTO_ROOT + target;
  root.loadSync(['etcdserverpb/rpc.proto'], { keepCase: true });
  const reqType = root.lookupType('etcdserverpb.WatchRequest');
  const resType = root.lookupType('etcdserverpb.WatchResponse');
  const handler = (req: IncomingMessage, res: ServerResponse): void => serveWatch(req, res, watchable, reqType, resType, opts);
  router.route(['POST'], '/v3/watch', handler);
  router.route(['POST'], '/v3beta/watch', handler);
}

function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  watchable: Watchable,
  reqType: protobuf.Type,
  resType: protobuf.Type,
  opts: WatchGatewayOptions,
): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  const send = (bytes: Uint8Array): boolean => {
    if (res.destroyed) return false;
    const obj = resType.toObject(resType.decode(bytes), { longs: String, enums: String, bytes: String, defaults: false });
    return res.write(JSON.stringify({ result: obj }) + '\n');
  };
  const handle = watchable.openStream(send);
  let chain: Promise<void> = Promise.resolve();
  const fail = (message: string): void => {
    if (!res.destroyed) res.end(JSON.stringify({ error: { grpc_code: 3, http_code: 400, message, http_status: 'Bad Request' } }) + '\n');
    handle.close();
  };
  const splitter = new JsonObjectSplitter(opts.maxBodyBytes);
  req.on('data', (chunk: Buffer) => {
    let objects: string[];
    try {
      objects = splitter.push(chunk.toString('utf8'));
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
      return;
    }
    for (const text of objects) {
      let wr: etcdserverpb.WatchRequest;
      try {
        const bytes = reqType.encode(reqType.fromObject(JSON.parse(text) as Record<string, unknown>)).finish();
        wr = etcdserverpb.WatchRequest.decode(bytes);
      } catch (err) {
        fail(err instanceof Error ? err.message : String(err));
        return;
      }
      if (wr.createRequest != null) {
        const c = wr.createRequest;
        const refusal = opts.refuseCreate?.(c, req.headers.authorization);
        if (refusal !== undefined) chain = chain.then(() => void send(refusal));
        else chain = chain.then(() => handle.create(c));
      } else if (wr.cancelRequest != null) {
        const id = Number(wr.cancelRequest.watchId ?? 0);
        chain = chain.then(() => handle.cancel(id));
      } else if (wr.progressRequest != null) {
        chain = chain.then(() => handle.requestProgress());
      }
      chain = chain.catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
    }
  });
  res.on('drain', () => handle.drained());
  res.on('close', () => handle.close());
}

/** Splits a text stream of concatenated JSON objects into complete objects (strings aware). */
export class JsonObjectSplitter {
  #buf = '';
  #depth = 0;
  #inString = false;
  #escape = false;
  #start = -1;
  #scanned = 0;

  constructor(private readonly maxBytes: number) {}

  push(text: string): string[] {
    this.#buf += text;
    const out: string[] = [];
    const s = this.#buf;
    let i = this.#scanned;
    let cut = 0;
    for (; i < s.length; i++) {
      const c = s[i]!;
      if (this.#inString) {
        if (this.#escape) this.#escape = false;
        else if (c === '\\') this.#escape = true;
        else if (c === '"') this.#inString = false;
        continue;
      }
      if (c === '"') this.#inString = true;
      else if (c === '{') {
        if (this.#depth++ === 0) this.#start = i;
      } else if (c === '}') {
        if (--this.#depth === 0) {
          out.push(s.slice(this.#start, i + 1));
          cut = i + 1;
        } else if (this.#depth < 0) throw new Error('invalid JSON: unbalanced "}"');
      } else if (this.#depth === 0 && !/\s/.test(c)) throw new Error(`invalid character ${JSON.stringify(c)} looking for beginning of value`);
    }
    this.#buf = s.slice(cut);
    this.#scanned = i - cut;
    if (this.#start >= 0) this.#start -= cut;
    if (this.#buf.length > this.maxBytes) throw new Error(`request body larger than ${this.maxBytes} bytes`);
    return out;
  }
}
