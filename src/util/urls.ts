/**
 * URL lists as etcd's flags take them ("http://a:2379,http://b:2379"), with etcd's
 * checks (Go pkg/types.NewURLs): a scheme of http, https, unix or unixs; a "host:port"
 * authority; no path. Lists come back sorted and without duplicates, as etcd 3.5's
 * UniqueURLsFromFlag returns them, so two spellings of the same set compare equal.
 */

export const URL_SCHEMES: readonly string[] = ['http', 'https', 'unix', 'unixs'];

/** Thrown with etcd's wording; the caller adds which flag and value it came from. */
export class UrlError extends Error {
  override name = 'UrlError';
}

const kUrlShape = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/;

/** Parses one URL the way etcd does; throws UrlError with etcd's message. */
export function parseUrl(input: string): URL {
  const s = input.trim();
  const m = kUrlShape.exec(s);
  const scheme = m?.[1]?.toLowerCase();
  if (m === null || scheme === undefined || !URL_SCHEMES.includes(scheme)) {
    throw new UrlError(`URL scheme must be http, https, unix, or unixs: ${s}`);
  }
  const authority = m[2] ?? '';
  const rest = m[3] ?? '';
  if (!hasHostPort(authority)) {
    throw new UrlError(`URL address does not have the form "host:port": ${s}`);
  }
  if (rest !== '') {
    // Go's url.Parse keeps query and fragment apart from the path; etcd rejects only a
    // path, but a query or fragment on a listen URL is meaningless, so we reject both.
    throw new UrlError(rest.startsWith('/') ? `URL must not contain a path: ${s}` : `URL must not contain a query or fragment: ${s}`);
  }
  try {
    return new URL(`${scheme}://${authority}`);
  } catch {
    throw new UrlError(`URL address does not have the form "host:port": ${s}`);
  }
}

/** Go's net.SplitHostPort acceptance, for the authority part of a URL. */
function hasHostPort(authority: string): boolean {
  if (authority.includes('@')) return false;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    return close > 0 && authority[close + 1] === ':' && /^[0-9]*$/.test(authority.slice(close + 2));
  }
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return false;
  if (authority.indexOf(':') !== colon) return false; // "too many colons" (unbracketed IPv6)
  return /^[0-9]*$/.test(authority.slice(colon + 1));
}

/**
 * Parses a comma-separated list. The empty string is the empty list (etcd's default
 * for e.g. --listen-metrics-urls). Sorted by their string form, duplicates dropped.
 */
export function parseUrlList(value: string): URL[] {
  if (value.trim() === '') return [];
  return uniqueSortedUrls(value.split(',').map(parseUrl));
}

export function uniqueSortedUrls(urls: readonly URL[]): URL[] {
  const byKey = new Map<string, URL>();
  for (const u of urls) byKey.set(formatUrl(u), u);
  return [...byKey.keys()].sort().map((k) => byKey.get(k) as URL);
}

/**
 * The string form etcd prints: "http://localhost:2379" (WHATWG URL.toString() would
 * add a trailing "/", which etcd's flags reject on the way in).
 */
export function formatUrl(u: URL): string {
  if (u.port === '') {
    const port = urlPort(u);
    if (!Number.isNaN(port)) return `${u.protocol}//${u.host}:${port}`;
  }
  return `${u.protocol}//${u.host}`;
}

export function formatUrlList(urls: readonly URL[]): string {
  return urls.map(formatUrl).join(',');
}

/** Scheme without the trailing colon: "http", "https", "unix", "unixs". */
export function urlScheme(u: URL): string {
  return u.protocol.slice(0, -1);
}

/** The hostname without IPv6 brackets, as a listener binds it. */
export function urlHostname(u: URL): string {
  const h = u.hostname;
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/** The port as a number; NaN when the URL has none (e.g. "http://host:"). */
export function urlPort(u: URL): number {
  if (u.port !== '') return Number(u.port);
  // WHATWG drops default ports (":80" on http, ":443" on https); put them back.
  const scheme = urlScheme(u);
  if (scheme === 'http') return 80;
  if (scheme === 'https') return 443;
  return Number.NaN;
}
