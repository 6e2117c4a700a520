/**
 * Global flags (etcdctl's persistent flags, also read from ETCDCTL_* environment variables),
 * exit codes, and the per-run context a command gets: printer, output, client, deadlines.
 */
import { EtcdClient, RpcError } from './client.js';
import type { FlagDef, FlagValue, ParsedFlags } from './flags.js';
import { newPrinter } from './printers/index.js';
import type { Output, Printer } from './printers/printer.js';

/** etcdctl's exit codes (ctlv3/command/error.go). */
export const ExitCode = {
  Success: 0,
  Error: 1,
  BadConnection: 2,
  InvalidInput: 3,
  BadFeature: 4,
  Interrupted: 5,
  IO: 6,
  BadArgs: 128,
} as const;

/** Ends the command: `Error: <message>` on stderr (unless `silent`) and the exit code. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
    readonly silent = false,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

export const GLOBAL_FLAGS: readonly FlagDef[] = [
  { name: 'cacert', kind: 'string', def: '', usage: 'verify certificates of TLS-enabled secure servers using this CA bundle' },
  { name: 'cert', kind: 'string', def: '', usage: 'identify secure client using this TLS certificate file' },
  { name: 'command-timeout', kind: 'duration', def: '5s', usage: 'timeout for short running command (excluding dial timeout)' },
  { name: 'debug', kind: 'bool', def: 'false', usage: 'enable client-side debug logging' },
  { name: 'dial-timeout', kind: 'duration', def: '2s', usage: 'dial timeout for client connections' },
  { name: 'discovery-srv', short: 'd', kind: 'string', def: '', usage: 'domain name to query for SRV records describing cluster endpoints' },
  { name: 'discovery-srv-name', kind: 'string', def: '', usage: 'service name to query when using DNS discovery' },
  { name: 'endpoints', kind: 'stringSlice', def: '[127.0.0.1:2379]', usage: 'gRPC endpoints' },
  { name: 'hex', kind: 'bool', def: 'false', usage: 'print byte strings as hex encoded strings' },
  { name: 'insecure-discovery', kind: 'bool', def: 'true', usage: 'accept insecure SRV records describing cluster endpoints' },
  { name: 'insecure-skip-tls-verify', kind: 'bool', def: 'false', usage: 'skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)' },
  { name: 'insecure-transport', kind: 'bool', def: 'true', usage: 'disable transport security for client connections' },
  { name: 'keepalive-time', kind: 'duration', def: '2s', usage: 'keepalive time for client connections' },
  { name: 'keepalive-timeout', kind: 'duration', def: '6s', usage: 'keepalive timeout for client connections' },
  { name: 'key', kind: 'string', def: '', usage: 'identify secure client using this TLS key file' },
  { name: 'password', kind: 'string', def: '', usage: 'password for authentication (if this option is used, --user option shouldn\'t include password)' },
  { name: 'user', kind: 'string', def: '', usage: 'username[:password] for authentication (prompt if password is not supplied)' },
  { name: 'write-out', short: 'w', kind: 'string', def: 'simple', usage: 'set the output format (fields, json, protobuf, simple, table)' },
];

export interface GlobalOptions {
  endpoints: string[];
  writeOut: string;
  hex: boolean;
  commandTimeoutNs: number;
  dialTimeoutNs: number;
  cacert?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify: boolean;
  /** --user name[:password] and --password. */
  credentials?: { name: string; password: string };
}

export function globalOptions(flags: ParsedFlags): GlobalOptions {
  const v = (name: string): FlagValue => flags.values.get(name)!;
  const str = (name: string): string | undefined => (v(name) === '' ? undefined : (v(name) as string));
  const opts: GlobalOptions = {
    endpoints: v('endpoints') as string[],
    writeOut: v('write-out') as string,
    hex: v('hex') as boolean,
    commandTimeoutNs: v('command-timeout') as number,
    dialTimeoutNs: v('dial-timeout') as number,
    insecureSkipVerify: v('insecure-skip-tls-verify') as boolean,
  };
  const cacert = str('cacert');
  const cert = str('cert');
  const key = str('key');
  if (cacert !== undefined) opts.cacert = cacert;
  if (cert !== undefined) opts.cert = cert;
  if (key !== undefined) opts.key = key;
  const user = str('user');
  if (user !== undefined) {
    const password = str('password');
    const colon = user.indexOf(':');
    // etcdctl 3.4: --password means the whole --user is the name; else name:password (no prompt here).
    if (password !== undefined) opts.credentials = { name: user, password };
    else if (colon >= 0) opts.credentials = { name: user.slice(0, colon), password: user.slice(colon + 1) };
    else throw new CliExit(ExitCode.BadArgs, 'password is required: give --user name:password or --password (no prompt in this etcdctl)');
  } else if (str('password') !== undefined) {
    throw new CliExit(ExitCode.BadArgs, 'username is empty');
  }
  return opts;
}

/** What a command runs with. */
export class Context {
  private clients: EtcdClient[] = [];
  private printerCache: Printer | undefined;

  constructor(
    readonly global: GlobalOptions,
    readonly flags: ParsedFlags,
    readonly out: Output,
    readonly stdin: () => Promise<string>,
  ) {}

  /** A command flag's value. */
  flag<T extends FlagValue>(name: string): T {
    return this.flags.values.get(name) as T;
  }

  /** The printer for -w; --print-value-only applies to the simple printer. */
  printer(valueOnly = false): Printer {
    if (this.printerCache !== undefined) return this.printerCache;
    const p = newPrinter(this.global.writeOut, this.out, { isHex: this.global.hex, valueOnly });
    if (p === undefined) throw new CliExit(ExitCode.BadFeature, 'unsupported output format');
    this.printerCache = p;
    return p;
  }

  /** The deadline of one request (--command-timeout from now). */
  deadline(): Date {
    return new Date(Date.now() + this.global.commandTimeoutNs / 1e6);
  }

  /** A client for one endpoint, or (without one) for all of --endpoints, tried in order. */
  client(endpoint: string = balancedTarget(this.global.endpoints)): EtcdClient {
    const tls: NonNullable<ConstructorParameters<typeof EtcdClient>[0]['tls']> = { insecureSkipVerify: this.global.insecureSkipVerify };
    if (this.global.cacert !== undefined) tls.cacert = this.global.cacert;
    if (this.global.cert !== undefined) tls.cert = this.global.cert;
    if (this.global.key !== undefined) tls.key = this.global.key;
    const c = new EtcdClient({ endpoint, tls, ...(this.global.credentials !== undefined ? { credentials: this.global.credentials } : {}) });
    this.clients.push(c);
    return c;
  }

  close(): void {
    for (const c of this.clients) c.close();
    this.clients = [];
  }
}

/**
 * One gRPC target for several endpoints: grpc-js' `ipv4:a:1,b:2` (pick-first over the list)
 * when every endpoint is an IPv4 address; otherwise the first endpoint.
 */
export function balancedTarget(endpoints: readonly string[]): string {
  const plain = endpoints.map((e) => e.replace(/^http:\/\//, '').replace(/\/$/, ''));
  if (plain.length > 1 && plain.every((e) => /^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(e))) return `ipv4:${plain.join(',')}`;
  return endpoints[0] ?? '127.0.0.1:2379';
}

/** A failed request ends the command as etcdctl's ExitWithError(ExitError, err) does. */
export function rpcExit(err: unknown, code: number = ExitCode.Error, wrap?: (msg: string) => string): never {
  if (err instanceof RpcError) throw new CliExit(code, wrap ? wrap(err.message) : err.message);
  throw err;
}
