/**
 * The methods a server transport serves, by path (both transports: http2-transport.ts and
 * wire-transport.ts). A path is registered once, as unary or as streaming.
 */
import type { StreamMethod, UnaryMethod } from './types.js';

export type AnyUnary = UnaryMethod<unknown, unknown>;
export type AnyStream = StreamMethod<unknown, unknown>;

export class MethodTable {
  readonly #unary = new Map<string, AnyUnary>();
  readonly #streaming = new Map<string, AnyStream>();

  addUnary<Req, Res>(m: UnaryMethod<Req, Res>): void {
    this.#checkFree(m.path);
    this.#unary.set(m.path, m as unknown as AnyUnary);
  }

  addStream<Req, Res>(m: StreamMethod<Req, Res>): void {
    this.#checkFree(m.path);
    this.#streaming.set(m.path, m as unknown as AnyStream);
  }

  unary(path: string): AnyUnary | undefined {
    return this.#unary.get(path);
  }

  stream(path: string): AnyStream | undefined {
    return this.#streaming.get(path);
  }

  /** Every registered path (for the UNIMPLEMENTED message: etcd-services.ts unimplementedError). */
  paths(): string[] {
    return [...this.#unary.keys(), ...this.#streaming.keys()];
  }

  #checkFree(path: string): void {
    if (this.#unary.has(path) || this.#streaming.has(path)) throw new Error(`grpc: method ${path} registered twice`);
  }
}
