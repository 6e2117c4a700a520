/**
 * A unary gRPC method as v3rpc handlers describe it: its path, codecs and handler.
 * The transport (src/api/grpc) frames, decodes, calls, encodes and maps errors.
 */
export interface UnaryMethodSpec<Req, Res> {
  readonly path: string;
  decode(bytes: Uint8Array): Req;
  /** Handlers on the write path return an already encoded response (header filled): passed through. */
  encode(res: Res): Uint8Array;
  handler(req: Req): Promise<Res> | Res;
}

/** The codec pair of a generated protobufjs message class. */
export interface MessageCodec<T> {
  decode(bytes: Uint8Array): T;
  encode(message: T): { finish(): Uint8Array };
}

export function encodeWith<T>(codec: MessageCodec<T>): (res: T | Uint8Array) => Uint8Array {
  return (res) => (res instanceof Uint8Array ? res : codec.encode(res).finish());
}
