/**
 * The HTTP/1.1 side of the client port: a small exact-path router with prefix routes
 * (for the JSON gateway's /v3/... later) and a 404 fallback. Handlers get node's
 * IncomingMessage/ServerResponse untouched, so streaming answers (/metrics, watch over
 * the gateway) need nothing special.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

interface Route {
  readonly methods: ReadonlySet<string>;
  readonly handler: HttpHandler;
}

export class HttpRouter {
  private readonly exact = new Map<string, Route>();
  private readonly prefixes: Array<{ prefix: string; route: Route }> = [];
  private readonly logError: (msg: string, err: unknown) => void;

  constructor(opts: { logError?: (msg: string, err: unknown) => void } = {}) {
    this.logError = opts.logError ?? ((msg, err) => console.error(msg, err));
  }

  /** Serve `path` exactly (query string ignored) for the given methods. */
  route(methods: readonly string[], path: string, handler: HttpHandler): this {
    if (this.exact.has(path)) throw new Error(`http: route ${path} registered twice`);
    this.exact.set(path, { methods: new Set(methods), handler });
    return this;
  }

  /** GET and HEAD on `path`. */
  get(path: string, handler: HttpHandler): this {
    return this.route(['GET', 'HEAD'], path, handler);
  }

  /** Serve every path starting with `prefix` (longest prefix wins), e.g. '/v3/'. */
  prefix(methods: readonly string[], prefix: string, handler: HttpHandler): this {
    this.prefixes.push({ prefix, route: { methods: new Set(methods), handler } });
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    return this;
  }

  /** The request listener to give an http.Server. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let route = this.exact.get(path);
    if (route === undefined) {
      for (const p of this.prefixes) {
        if (path.startsWith(p.prefix)) {
          route = p.route;
          break;
        }
      }
    }
    if (route === undefined) {
      sendText(res, 404, '404 page not found\n');
      return;
    }
    if (!route.methods.has(req.method ?? 'GET')) {
      res.setHeader('Allow', [...route.methods].join(', '));
      sendText(res, 405, 'Method Not Allowed\n');
      return;
    }
    try {
      const r = route.handler(req, res);
      if (r instanceof Promise) r.catch((err: unknown) => this.fail(res, err));
    } catch (err) {
      this.fail(res, err);
    }
  };

  private fail(res: ServerResponse, err: unknown): void {
    this.logError('http handler failed', err);
    if (!res.headersSent) sendText(res, 500, 'internal server error\n');
    else res.destroy();
  }
}

export function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
