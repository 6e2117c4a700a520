/** Helpers shared by the `lease` subcommands. */
import { parseGoInt } from '../flags.js';
import { CliExit, ExitCode } from '../global.js';
import { appendVarintField } from '../wire.js';

/** A lease ID argument: hexadecimal, as etcdctl's leaseFromArgs. */
export function leaseFromArg(arg: string): bigint {
  try {
    return parseGoInt(arg, 16);
  } catch (e) {
    throw new CliExit(ExitCode.BadArgs, `bad lease ID arg (${(e as Error).message}), expecting ID in Hex`);
  }
}

/** A request whose field 1 is the lease ID (exact 64-bit), plus optional encoded other fields. */
export function leaseIdRequest(id: bigint, rest: Uint8Array = new Uint8Array(0)): Uint8Array {
  return appendVarintField(rest, 1, id);
}
