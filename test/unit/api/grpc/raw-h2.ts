/**
 * A raw HTTP/2 client for the wire transport's tests: it writes whatever bytes a test builds
 * (malformed on purpose, too) and records every frame the server sends, decoding header
 * blocks in order so HPACK state stays right.
 */
import * as net from 'node:net';
import { HpackDecoder, encodeLiterals, type HeaderField } from '../../../../src/api/grpc/hpack.js';
import {
  F_END_HEADERS,
  F_END_STREAM,
  H2_PREFACE,
  T_CONTINUATION,
  T_DATA,
  T_HEADERS,
  T_SETTINGS,
  frame,
  settingsFrame,
} from '../../../../src/api/grpc/h2-frames.js';

export interface RxFrame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
  /** Decoded header block (HEADERS with END_HEADERS; CONTINUATIONs joined onto the HEADERS). */
  headers?: HeaderField[];
}

export class RawH2 {
  readonly socket: net.Socket;
  readonly frames: RxFrame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private readonly decoder = new HpackDecoder();
  private cont: { f: RxFrame; parts: Buffer[] } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connect; with `settings` undefined the preface and an empty SETTINGS are sent at once. */
  static async connect(port: number, opts: { preface?: boolean; settings?: Array<[number, number]> } = {}): Promise<RawH2> {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawH2(socket);
    if (opts.preface !== false) c.send(Buffer.concat([H2_PREFACE, settingsFrame(opts.settings ?? [])]));
    return c;
  }

  send(b: Buffer): void {
    this.socket.write(b);
  }

  /** HEADERS (END_HEADERS) for a gRPC request, then optionally a message as DATA with END_STREAM. */
  request(id: number, path: string, message: Buffer | undefined, extra: HeaderField[] = []): void {
    const block = requestBlock(path, extra);
    const parts = [frame(T_HEADERS, F_END_HEADERS | (message === undefined ? F_END_STREAM : 0), id, block)];
    if (message !== undefined) parts.push(frame(T_DATA, F_END_STREAM, id, grpcMessage(message)));
    this.send(Buffer.concat(parts));
  }

  /** Wait until `pred` finds a frame (or the socket closed: then undefined). Bounded only to catch a hang. */
  async waitFrame(pred: (f: RxFrame) => boolean, ms = 20_000): Promise<RxFrame | undefined> {
    const end = Date.now() + ms;
    for (;;) {
      const f = this.frames.find(pred);
      if (f !== undefined) return f;
      if (this.closed) return undefined;
      if (Date.now() > end) throw new Error('waitFrame: timed out');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async waitClosed(ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > end) throw new Error('waitClosed: timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The status trailers of a stream: the last HEADERS with END_STREAM. */
  async status(id: number): Promise<{ status: string | undefined; message: string | undefined; data: Buffer }> {
    const end = await this.waitFrame((f) => f.id === id && f.type === T_HEADERS && (f.flags & F_END_STREAM) !== 0);
    if (end === undefined) throw new Error(`stream ${id}: connection closed before the status`);
    const data = Buffer.concat(this.frames.filter((f) => f.id === id && f.type === T_DATA).map((f) => f.payload));
    const h = end.headers ?? [];
    return { status: h.find((x) => x[0] === 'grpc-status')?.[1], message: h.find((x) => x[0] === 'grpc-message')?.[1], data };
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: RxFrame = {
        type: this.buf[3]!,
        flags: this.buf[4]!,
        id: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buf.subarray(9, 9 + len)),
      };
      this.buf = this.buf.subarray(9 + len);
      if (f.type === T_HEADERS) {
        if (f.flags & F_END_HEADERS) f.headers = this.decoder.decode(f.payload);
        else this.cont = { f, parts: [f.payload] };
      } else if (f.type === T_CONTINUATION && this.cont !== undefined) {
        this.cont.parts.push(f.payload);
        if (f.flags & F_END_HEADERS) {
          this.cont.f.headers = this.decoder.decode(Buffer.concat(this.cont.parts));
          this.cont = undefined;
        }
      }
      this.frames.push(f);
    }
    this.wake();
  }
}

export function requestBlock(path: string, extra: HeaderField[] = []): Buffer {
  return encodeLiterals([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'http://127.0.0.1:2379'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ...extra,
  ]);
}

export function grpcMessage(body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  body.copy(out, 5);
  return out;
}

export const SETTINGS = T_SETTINGS;
