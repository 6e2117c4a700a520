/**
 * A small etcd v3 client over @grpc/grpc-js: raw request bytes in (encoded with src/api/pb.ts),
 * raw response bytes out, decoded with exact 64-bit integers (./wire.ts). Each call waits for
 * the connection up to its deadline (as etcdctl's calls wait under --command-timeout), so an
 * unreachable endpoint ends in DeadlineExceeded, which etcdctl shows as "context deadline exceeded".
 */
import { etcdserverpb } from '../../proto/pb.js';
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { codeByMessage } from '../../errors/errors.js';

/** Our own error codes that are not etcd's: the Go client would not recognise their messages. */
const NOT_ETCDS = /^ETCD_ERR_APPLY_/;
import { GRPC_CODE_NAMES } from './go-format.js';
import { decodeAs, type Decoded } from './messages.js';
import type { MessageSchema } from './wire.js';

/** A failed call: the gRPC status, and the text etcdctl 3.4 prints for it. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(RpcError.describe(code, details));
    this.name = 'RpcError';
  }

  /**
   * etcd's own errors print as their message (the Go client maps them to rpctypes errors);
   * a deadline is "context deadline exceeded"; anything else is Go's status error string.
   */
  static describe(code: number, details: string): string {
    if (code === grpc.status.DEADLINE_EXCEEDED) return 'context deadline exceeded';
    if (code === grpc.status.CANCELLED) return 'context canceled';
    const known = codeByMessage(details);
    if (known !== undefined && !NOT_ETCDS.test(known)) return details;
    return `rpc error: code = ${GRPC_CODE_NAMES[code] ?? `Code(${code})`} desc = ${details}`;
  }
}

export interface TlsOptions {
  cacert?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

export interface ClientOptions {
  /** host:port, or a URL (http:// or https://). */
  endpoint: string;
  tls?: TlsOptions;
  /** --user / --password: the client authenticates before its first call and sends the token. */
  credentials?: { name: string; password: string };
}

const identity = (b: Buffer): Uint8Array => b;
const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** `host:port` from an endpoint as given (`http://host:port`, `https://host:port`, `host:port`). */
export function endpointAddress(ep: string): { address: string; secure: boolean } {
  const m = /^(https?|unixs?):\/\/(.*)$/.exec(ep);
  if (m === null) return { address: ep, secure: false };
  return { address: m[2]!.replace(/\/$/, ''), secure: m[1] === 'https' || m[1] === 'unixs' };
}

export class EtcdClient {
  private readonly client: grpc.Client;
  private readonly credentials: ClientOptions['credentials'];
  /** The auth token once authenticated (none when the server has auth disabled). */
  private token: string | undefined;
  private login: Promise<void> | undefined;

  constructor(opts: ClientOptions) {
    this.credentials = opts.credentials;
    const { address, secure } = endpointAddress(opts.endpoint);
    const tls = opts.tls ?? {};
    const useTls = secure || tls.cacert !== undefined || tls.cert !== undefined;
    const creds = useTls
      ? grpc.credentials.createSsl(
          tls.cacert ? readFileSync(tls.cacert) : null,
          tls.key ? readFileSync(tls.key) : null,
          tls.cert ? readFileSync(tls.cert) : null,
          tls.insecureSkipVerify ? { checkServerIdentity: () => undefined } : undefined,
        )
      : grpc.credentials.createInsecure();
    this.client = new grpc.Client(address, creds, {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      'grpc.enable_retries': 0,
    });
  }

  /** Wait for the channel, then make one unary call; rejects with RpcError. */
  async unary<T>(path: string, request: Uint8Array, schema: MessageSchema, deadline: Date): Promise<Decoded<T>> {
    return decodeAs<T>(schema, await this.unaryRaw(path, request, deadline));
  }

  /** One unary call, the response as bytes (commands that decode with the generated messages). */
  async unaryRaw(path: string, request: Uint8Array, deadline: Date): Promise<Uint8Array> {
    await this.ready(deadline);
    if (this.credentials !== undefined && path !== RPC.authenticate) await this.authenticate(deadline);
    return this.call(path, request, deadline);
  }

  /** clientv3's getToken: Authenticate once; "authentication is not enabled" means no token is needed. */
  private authenticate(deadline: Date): Promise<void> {
    this.login ??= (async () => {
      const { name, password } = this.credentials!;
      try {
        const raw = await this.call(RPC.authenticate, etcdserverpb.AuthenticateRequest.encode({ name, password }).finish(), deadline);
        this.token = etcdserverpb.AuthenticateResponse.decode(raw).token;
      } catch (err) {
        if (err instanceof RpcError && err.message === 'etcdserver: authentication is not enabled') return;
        this.login = undefined;
        throw err;
      }
    })();
    return this.login;
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token !== undefined) md.set('token', this.token);
    return md;
  }

  private call(path: string, request: Uint8Array, deadline: Date): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      this.client.makeUnaryRequest<Uint8Array, Uint8Array>(
        path,
        toBuffer,
        identity,
        request,
        this.metadata(),
        { deadline },
        (err, value) => {
          if (err) reject(new RpcError(err.code, err.details));
          else resolve(value ?? new Uint8Array(0));
        },
      );
    });
  }

  /** Open a bidi stream, send one request, take the first response, end the stream. */
  async streamOnce<T>(path: string, request: Uint8Array, schema: MessageSchema, deadline: Date): Promise<Decoded<T>> {
    await this.ready(deadline);
    if (this.credentials !== undefined) await this.authenticate(deadline);
    const raw = await new Promise<Uint8Array>((resolve, reject) => {
      const call = this.client.makeBidiStreamRequest<Uint8Array, Uint8Array>(path, toBuffer, identity, this.metadata(), { deadline });
      let done = false;
      call.on('data', (d: Uint8Array) => {
        if (done) return;
        done = true;
        resolve(d);
        call.cancel();
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (done) return;
        done = true;
        reject(new RpcError(err.code, err.details));
      });
      call.on('end', () => {
        if (done) return;
        done = true;
        reject(new RpcError(grpc.status.UNKNOWN, 'stream ended without a response'));
      });
      call.write(request);
    });
    return decodeAs<T>(schema, raw);
  }

  /**
   * Open a bidi stream, send `request`, and hand every response to `onMessage` until it returns
   * false (then the stream is cancelled) or the server ends the stream; rejects with RpcError.
   */
  async stream<T>(
    path: string,
    request: Uint8Array,
    schema: MessageSchema,
    onMessage: (m: Decoded<T>) => boolean,
    metadata: Record<string, string> = {},
  ): Promise<void> {
    // no deadline on streams; a day (grpc-js timers are 32-bit) stands in for "none"
    await this.ready(new Date(Date.now() + 86400_000));
    if (this.credentials !== undefined) await this.authenticate(new Date(Date.now() + 30_000));
    const md = this.metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    await new Promise<void>((resolve, reject) => {
      const call = this.client.makeBidiStreamRequest<Uint8Array, Uint8Array>(path, toBuffer, identity, md);
      let done = false;
      call.on('data', (d: Uint8Array) => {
        if (done) return;
        let more: boolean;
        try {
          more = onMessage(decodeAs<T>(schema, d));
        } catch (e) {
          done = true;
          call.cancel();
          reject(e);
          return;
        }
        if (!more) {
          done = true;
          call.cancel();
          resolve();
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (done) return;
        done = true;
        reject(new RpcError(err.code, err.details));
      });
      call.on('end', () => {
        if (done) return;
        done = true;
        resolve();
      });
      call.write(request);
    });
  }

  private ready(deadline: Date): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(deadline, (err) => {
        if (err) reject(new RpcError(grpc.status.DEADLINE_EXCEEDED, err.message));
        else resolve();
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

/** etcd's gRPC method paths. */
export const RPC = {
  range: '/etcdserverpb.KV/Range',
  put: '/etcdserverpb.KV/Put',
  deleteRange: '/etcdserverpb.KV/DeleteRange',
  txn: '/etcdserverpb.KV/Txn',
  compact: '/etcdserverpb.KV/Compact',
  status: '/etcdserverpb.Maintenance/Status',
  memberList: '/etcdserverpb.Cluster/MemberList',
  leaseGrant: '/etcdserverpb.Lease/LeaseGrant',
  leaseRevoke: '/etcdserverpb.Lease/LeaseRevoke',
  leaseKeepAlive: '/etcdserverpb.Lease/LeaseKeepAlive',
  leaseTimeToLive: '/etcdserverpb.Lease/LeaseTimeToLive',
  leaseLeases: '/etcdserverpb.Lease/LeaseLeases',
  watch: '/etcdserverpb.Watch/Watch',
  authenticate: '/etcdserverpb.Auth/Authenticate',
} as const;
