/**
 * A TCP proxy in front of every member's peer port, controlled by the test, with one rule per
 * ORDERED PAIR of members (docs/testing.md, "Partitions: the peer proxy").
 *
 *   member A --dial B's advertised peer URL--> proxy(B) :advertised --> B :listen-peer-urls
 *                                                 |
 *                          which member opened it? (/proc: the socket's inode in A's fd table)
 *                          rule for the link A->B: pass | blackhole | delay(ms)
 *
 * Each member listens on its real peer port (--listen-peer-urls) and advertises its proxy's
 * port (--initial-advertise-peer-urls and --initial-cluster), so every connection TO a member
 * goes through its proxy. A proxy alone only sees "someone dialled B"; Raft messages flow both
 * ways on a connection (etcd's rafthttp streams carry B's messages to A on a connection A
 * opened), so cutting only B's inbound connections is not a partition. The proxy therefore
 * finds the member that opened each accepted connection: the peer's ephemeral port ->
 * /proc/net/tcp -> socket inode -> the member process holding that inode in /proc/<pid>/fd.
 * Linux only; the members must run as our user. The link A->B governs every connection A
 * opened to B, both directions of bytes on it; isolating X cuts X->Y and Y->X for every Y.
 *
 * Modes of a link:
 *   - pass: bytes are copied both ways as they come;
 *   - blackhole: bytes are read and dropped both ways; the connections stay open (the ends see
 *     silence, as behind a dropping firewall); new connections are accepted and held, never
 *     connected upstream. When the link leaves blackhole every connection that lived through it
 *     is reset: a TCP stream with a hole in it never resumes (a real network retransmits; the
 *     ends here would read garbage, e.g. etcd's msgappv2 frames are stateful);
 *   - delay: every chunk is forwarded `ms` later, order kept.
 * `resetConnections()` closes the current connections of some links at once (both sides).
 * A connection whose opener cannot be found (a process that just died) counts as blackholed
 * while any link into its target is not `pass`.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export type LinkMode = { kind: 'pass' } | { kind: 'blackhole' } | { kind: 'delay'; ms: number };

export const PASS: LinkMode = { kind: 'pass' };
export const BLACKHOLE: LinkMode = { kind: 'blackhole' };

/** Who opened a connection: a member name, or undefined when unknown. */
export type SourceResolver = (remotePort: number, localPort: number) => string | undefined;

interface ProxiedConn {
  from: string | undefined;
  to: string;
  down: Socket;
  up: Socket | undefined;
  /** Set once bytes were dropped on it: it is reset when its link passes again. */
  holed: boolean;
  closed: boolean;
}

const key = (from: string, to: string): string => `${from}\u0000${to}`;

/** One proxy per member, and the link rules between them. */
export class PeerProxyNet {
  readonly #servers = new Map<string, Server>();
  readonly #proxyPorts = new Map<string, number>();
  readonly #targets = new Map<string, number>();
  readonly #links = new Map<string, LinkMode>();
  readonly #conns = new Set<ProxiedConn>();
  readonly #resolve: SourceResolver;
  /** Connections accepted, by resolved source ('?' unknown): for diagnostics. */
  readonly accepted = new Map<string, number>();

  private constructor(resolve: SourceResolver) {
    this.#resolve = resolve;
  }

  /** One listening proxy per member name on 127.0.0.1 (ports chosen by the OS), forwarding to `targets`. */
  static async create(targets: ReadonlyMap<string, number>, resolve: SourceResolver): Promise<PeerProxyNet> {
    const net = new PeerProxyNet(resolve);
    for (const [name, port] of targets) {
      net.#targets.set(name, port);
      const srv = createServer((sock) => net.#accept(name, sock));
      await new Promise<void>((res, rej) => {
        srv.once('error', rej);
        srv.listen(0, '127.0.0.1', () => res());
      });
      const addr = srv.address();
      if (addr === null || typeof addr !== 'object') throw new Error('proxy has no address');
      net.#servers.set(name, srv);
      net.#proxyPorts.set(name, addr.port);
    }
    return net;
  }

  /** The port members dial to reach `name` (its advertised peer port). */
  proxyPort(name: string): number {
    const p = this.#proxyPorts.get(name);
    if (p === undefined) throw new Error(`no proxy for ${name}`);
    return p;
  }

  get names(): string[] {
    return [...this.#targets.keys()];
  }

  mode(from: string, to: string): LinkMode {
    return this.#links.get(key(from, to)) ?? PASS;
  }

  /** Set the rule of the link from -> to (connections `from` opened to `to`). */
  setLink(from: string, to: string, mode: LinkMode): void {
    if (!this.#targets.has(from) || !this.#targets.has(to)) throw new Error(`unknown link ${from} -> ${to}`);
    this.#links.set(key(from, to), mode);
    if (mode.kind !== 'blackhole') {
      // A connection that lost bytes never carries bytes again: close it, as a timed-out TCP
      // connection would be after a long partition.
      for (const c of this.#conns) if (c.holed && this.#modeOf(c).kind !== 'blackhole') this.#reset(c);
    }
  }

  /** Cut `name` off from every other member, both ways. */
  isolate(name: string): void {
    for (const other of this.names) {
      if (other === name) continue;
      this.setLink(name, other, BLACKHOLE);
      this.setLink(other, name, BLACKHOLE);
    }
  }

  /** Split the members into groups that only talk within themselves. */
  partition(...groups: string[][]): void {
    const groupOf = new Map<string, number>();
    groups.forEach((g, i) => g.forEach((n) => groupOf.set(n, i)));
    for (const a of this.names) for (const b of this.names) if (a !== b) this.setLink(a, b, groupOf.get(a) === groupOf.get(b) ? PASS : BLACKHOLE);
  }

  /** Every link back to pass (connections that lost bytes are reset). */
  heal(): void {
    for (const a of this.names) for (const b of this.names) if (a !== b) this.setLink(a, b, PASS);
  }

  /** Delay every link into and out of `name` (or every link) by `ms`. */
  delay(ms: number, name?: string): void {
    for (const a of this.names) for (const b of this.names) {
      if (a !== b && (name === undefined || a === name || b === name)) this.setLink(a, b, { kind: 'delay', ms });
    }
  }

  /** Close at once the current connections of the links matching from/to (undefined: any). Returns how many. */
  resetConnections(from?: string, to?: string): number {
    let n = 0;
    for (const c of [...this.#conns]) {
      if ((to === undefined || c.to === to) && (from === undefined || c.from === from)) {
        this.#reset(c);
        n++;
      }
    }
    return n;
  }

  /** Open connections per link ("a->b": count), for diagnostics and tests. */
  openConnections(): Map<string, number> {
    const m = new Map<string, number>();
    for (const c of this.#conns) {
      const k = `${c.from ?? '?'}->${c.to}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  }

  async close(): Promise<void> {
    for (const c of [...this.#conns]) this.#reset(c);
    await Promise.all([...this.#servers.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  #modeOf(c: ProxiedConn): LinkMode {
    if (c.from !== undefined) return this.mode(c.from, c.to);
    for (const a of this.names) if (a !== c.to && this.mode(a, c.to).kind !== 'pass') return BLACKHOLE;
    return PASS;
  }

  #accept(to: string, down: Socket): void {
    const from = down.remotePort === undefined || down.localPort === undefined ? undefined : this.#resolve(down.remotePort, down.localPort);
    this.accepted.set(from ?? '?', (this.accepted.get(from ?? '?') ?? 0) + 1);
    const c: ProxiedConn = { from, to, down, up: undefined, holed: false, closed: false };
    this.#conns.add(c);
    down.setNoDelay(true);
    down.on('error', () => this.#close(c));
    down.on('close', () => this.#close(c));
    if (this.#modeOf(c).kind === 'blackhole') {
      // Held: accepted, never connected upstream; reset when the link passes again.
      c.holed = true;
      down.on('data', () => undefined);
      return;
    }
    const up = connect({ host: '127.0.0.1', port: this.#targets.get(to)!, noDelay: true });
    c.up = up;
    up.on('error', () => this.#close(c));
    up.on('close', () => this.#close(c));
    this.#pipe(c, down, up);
    this.#pipe(c, up, down);
  }

  /** Copy src -> dst under the link's current rule. */
  #pipe(c: ProxiedConn, src: Socket, dst: Socket): void {
    let lastDue = 0;
    src.on('data', (chunk: Buffer) => {
      const mode = this.#modeOf(c);
      if (c.holed || mode.kind === 'blackhole') {
        c.holed = true;
        return;
      }
      if (mode.kind === 'pass' && lastDue <= Date.now()) {
        if (!dst.destroyed) dst.write(chunk);
        return;
      }
      // delay (or pass while delayed chunks are still queued: order is kept)
      const due = Math.max(lastDue, Date.now() + (mode.kind === 'delay' ? mode.ms : 0));
      lastDue = due;
      setTimeout(() => {
        if (!c.holed && !dst.destroyed) dst.write(chunk);
      }, due - Date.now()).unref();
    });
    src.on('end', () => {
      // after the delayed chunks, if any
      const end = (): void => {
        if (!c.holed && !dst.destroyed) dst.end();
      };
      if (lastDue > Date.now()) setTimeout(end, lastDue - Date.now()).unref();
      else end();
    });
  }

  /**
   * Closes both ends at once. A FIN, not an RST: Node's resetAndDestroy() on a socket with
   * writes in flight left the test process spinning forever at exit (libuv's close-with-reset
   * refuses a handle with pending writes; seen here under load), and for the members a closed
   * connection is the same event: the stream ended mid-way, reconnect.
   */
  #reset(c: ProxiedConn): void {
    c.holed = false;
    this.#close(c);
  }

  #close(c: ProxiedConn): void {
    if (c.closed) return;
    c.closed = true;
    this.#conns.delete(c);
    c.down.destroy();
    c.up?.destroy();
  }
}

/**
 * Finds which of `pids` holds the client end of a TCP connection 127.0.0.1:remotePort ->
 * 127.0.0.1:localPort (Linux /proc). Undefined when not found (not Linux, the process is gone,
 * or a process that is not a member).
 */
export function procSourceResolver(pids: () => ReadonlyMap<number, string>): SourceResolver {
  return (remotePort, localPort) => {
    const inode = socketInode(remotePort, localPort);
    if (inode === undefined) return undefined;
    const want = `socket:[${inode}]`;
    for (const [pid, name] of pids()) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === want) return name;
        } catch {
          /* closed meanwhile */
        }
      }
    }
    return undefined;
  };
}

/** The inode of the socket whose local end is 127.0.0.1:port and remote end 127.0.0.1:remote. */
function socketInode(port: number, remote: number): string | undefined {
  const hexPort = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');
  const local = `0100007F:${hexPort(port)}`;
  const rem = `0100007F:${hexPort(remote)}`;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10) continue;
      const l = f[1]!;
      const r = f[2]!;
      if ((l === local || l.endsWith(`0100007F:${hexPort(port)}`)) && (r === rem || r.endsWith(`0100007F:${hexPort(remote)}`))) return f[9];
    }
  }
  return undefined;
}
