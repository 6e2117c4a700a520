/**
 * A recorded client workload for the fault tests: clients, each pinned to one member, issuing
 * linearizable gets, puts and compare-and-swap txns on a few keys, every call and return
 * stamped on one logical clock, as the history the linearizability checker takes
 * (test/sim/checkers/linearizability.ts).
 *
 *   get  k            -> Range k (linearizable)                       output: value | null
 *   put  k=v          -> Put k v                                      output: -
 *   cas  k: e -> v    -> Txn if Value(k) == e then Put k v else Range k  output: CAS_OK | value read
 *
 * Outcomes: an answered op is recorded with its return stamp; a failed or timed-out get is
 * dropped (it had no effect a client saw); a failed or timed-out put or cas is recorded with
 * `ret = Infinity` (unknown: it may take effect at any later point, or never), whatever the
 * error, since a request can fail at the client after the leader committed it. Values are
 * unique (`<client>.<seq>`), so a read names the write it saw.
 */
import { CAS_OK, type KvInput, type KvOp } from '../sim/checkers/linearizability.js';
import { etcdserverpb } from '../../src/proto/pb.js';
import type { RawEtcdClient } from '../e2e/framework/raw.js';
import { sleep } from '../e2e/framework/process.js';
import { mulberry32 } from '../seeded-random.js';

/** One op as recorded, with what the test needs beyond the checker's fields. */
export interface RecordedOp {
  client: number;
  member: string;
  input: KvInput;
  output: string | null;
  call: number;
  /** Return stamp; Infinity = unknown outcome (failed write); undefined while in flight. */
  ret: number | undefined;
  ok: boolean;
  error?: string;
}

export interface WorkloadClient {
  member: string;
  raw: RawEtcdClient;
}


/**
 * Pause between two ops of one client: keeps a history in the low thousands of ops whatever the
 * server's speed (the real etcd answers ~10x more ops than a phase needs), so the
 * linearizability search stays small. Pass/fail does not depend on it.
 */
const OP_PAUSE_MS = 10;

const EQUAL = etcdserverpb.Compare.CompareResult.EQUAL;
const TARGET_VALUE = etcdserverpb.Compare.CompareTarget.VALUE;

export class KvWorkload {
  readonly ops: RecordedOp[] = [];
  readonly seed: number;
  #now = 0;
  #stopped = false;
  #loops: Promise<void>[] = [];
  readonly #rand: () => number;

  constructor(
    readonly keys: readonly string[],
    /** Deadline of every request (ms): bounds how long a partitioned member can hold a client. */
    readonly deadlineMs: number,
    seed = Number(process.env['FAULT_SEED'] ?? Math.floor(Math.random() * 0x7fffffff)),
  ) {
    this.seed = seed;
    this.#rand = mulberry32(seed);
  }

  tick(): number {
    return ++this.#now;
  }

  /** Put every key's initial value through `client` (recorded). */
  async init(client: WorkloadClient): Promise<void> {
    for (const k of this.keys) {
      const op = await this.#run(-1, client, { kind: 'put', key: k, value: `init.${k}` });
      if (!op.ok) throw new Error(`initial put of ${k} failed: ${op.error}`);
    }
  }

  /** Start one loop per client; each issues one op at a time until stop(). */
  start(clients: readonly WorkloadClient[]): void {
    this.#loops = clients.map((c, i) => this.#loop(i, c));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }

  /** Ops answered successfully so far, optionally only those matching `pred`. */
  acked(pred: (op: RecordedOp) => boolean = () => true): number {
    let n = 0;
    for (const op of this.ops) if (op.ok && pred(op)) n++;
    return n;
  }

  /** The history for the checker (in-flight ops count as unknown). */
  history(): KvOp[] {
    const out: KvOp[] = [];
    for (const op of this.ops) {
      if (op.input.kind === 'get' && !op.ok) continue;
      out.push({ client: op.client, input: op.input, output: op.output, call: op.call, ret: op.ok ? op.ret! : Infinity });
    }
    return out;
  }

  async #loop(id: number, client: WorkloadClient): Promise<void> {
    let seq = 0;
    /** The last value this client saw per key: what its next cas expects. */
    const last = new Map<string, string>(this.keys.map((k) => [k, `init.${k}`]));
    while (!this.#stopped) {
      const key = this.keys[Math.floor(this.#rand() * this.keys.length)]!;
      const r = this.#rand();
      const value = `c${id}.${seq++}`;
      const input: KvInput =
        r < 0.4 ? { kind: 'get', key } : r < 0.7 ? { kind: 'put', key, value } : { kind: 'cas', key, expected: last.get(key)!, value };
      const op = await this.#run(id, client, input);
      await sleep(OP_PAUSE_MS);
      if (op.ok) {
        if (input.kind === 'put') last.set(key, input.value);
        else if (input.kind === 'cas' && op.output === CAS_OK) last.set(key, input.value);
        else if (op.output !== null) last.set(key, op.output);
      } else {
        await sleep(50); // do not spin on a member that answers errors at once
      }
    }
  }

  async #run(client: number, c: WorkloadClient, input: KvInput): Promise<RecordedOp> {
    const op: RecordedOp = { client, member: c.member, input, output: null, call: this.tick(), ret: undefined, ok: false };
    this.ops.push(op);
    const k = Buffer.from(input.key);
    let res;
    if (input.kind === 'get') {
      res = await c.raw.call('/etcdserverpb.KV/Range', etcdserverpb.RangeRequest.encode({ key: k }).finish(), this.deadlineMs);
      if (res.ok) {
        const kv = etcdserverpb.RangeResponse.decode(res.bytes).kvs[0];
        op.output = kv === undefined ? null : Buffer.from(kv.value ?? []).toString();
      }
    } else if (input.kind === 'put') {
      res = await c.raw.call('/etcdserverpb.KV/Put', etcdserverpb.PutRequest.encode({ key: k, value: Buffer.from(input.value) }).finish(), this.deadlineMs);
    } else {
      const txn = etcdserverpb.TxnRequest.encode({
        compare: [{ key: k, result: EQUAL, target: TARGET_VALUE, value: Buffer.from(input.expected) }],
        success: [{ requestPut: { key: k, value: Buffer.from(input.value) } }],
        failure: [{ requestRange: { key: k } }],
      }).finish();
      res = await c.raw.call('/etcdserverpb.KV/Txn', txn, this.deadlineMs);
      if (res.ok) {
        const t = etcdserverpb.TxnResponse.decode(res.bytes);
        if (t.succeeded) op.output = CAS_OK;
        else {
          const kv = t.responses[0]?.responseRange?.kvs?.[0];
          op.output = kv === undefined ? null : Buffer.from(kv.value ?? []).toString();
        }
      }
    }
    if (res.ok) {
      op.ok = true;
      op.ret = this.tick();
    } else {
      op.ret = Infinity;
      op.error = `${res.error.code} ${res.error.details}`;
    }
    return op;
  }
}
