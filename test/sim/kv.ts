/**
 * The simulator's replicated state machine: a string key-value map with
 * per-operation dedup (a duplicated proposal must not take effect twice).
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface KvCommand {
  /** client id; -1 for the simulator's own liveness probes. */
  c: number;
  /** operation id, unique per client. */
  o: number;
  k: string;
  v: string;
}

export function encodeCommand(cmd: KvCommand): Uint8Array {
  return enc.encode(JSON.stringify(cmd));
}

export function decodeCommand(b: Uint8Array): KvCommand {
  return JSON.parse(dec.decode(b)) as KvCommand;
}

export function opKey(client: number, op: number): string {
  return `${client}:${op}`;
}

export class KvStateMachine {
  data = new Map<string, string>();
  applied = new Set<string>();
  appliedIndex = 0;

  /** Applies a command; returns false if it was a duplicate (already applied). */
  apply(cmd: KvCommand): boolean {
    const k = opKey(cmd.c, cmd.o);
    if (this.applied.has(k)) return false;
    this.applied.add(k);
    this.data.set(cmd.k, cmd.v);
    return true;
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ d: [...this.data], a: [...this.applied], i: this.appliedIndex }));
  }

  static restore(b: Uint8Array, index: number): KvStateMachine {
    const kv = new KvStateMachine();
    kv.appliedIndex = index;
    if (b.length === 0) return kv;
    const o = JSON.parse(dec.decode(b)) as { d: [string, string][]; a: string[]; i: number };
    kv.data = new Map(o.d);
    kv.applied = new Set(o.a);
    return kv;
  }

  fingerprint(): string {
    return JSON.stringify([...this.data].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }
}
