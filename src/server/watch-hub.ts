/**
 * The watch hub (docs/watch.md): the one owner of every watcher of this member. A subscriber of
 * the applied-batch stream; fans events out to synced watchers through a WatchIndex, and lets
 * unsynced ones (past start revisions, slow streams) catch up from LMDB history in bounded
 * slices, round robin between streams. Everything here runs on the main thread, outside the
 * apply loop's subscriber call (which only queues the batch).
 *
 * Invariants (checked by test/unit/server/watch-hub*.test.ts):
 * - `processedRev` only grows; a synced watcher has been handed every matching event at or
 *   below it; an unsynced watcher has been handed every matching event below `nextRev`.
 * - a watcher is in exactly one of: the index (synced), its stream's unsynced set, nowhere (gone).
 * - per watcher, revisions sent strictly increase; a revision's events go in one response
 *   (unless split by `fragment`).
 */
import { etcdserverpb, mvccpb } from '../proto/pb.js';
import { LmdbBackend } from '../backend/backend.js';
import { LmdbKvReader, type LmdbReadView } from '../mvcc/kvstore.js';
import { decodeKvRecord } from '../mvcc/records.js';
import { encodeRevision, readU64 } from '../mvcc/revision.js';
import type { AppliedBatch } from './apply-loop.js';
import type { ApplyOutcome } from './ports.js';
import { WatchIndex, inRange } from './watch-index.js';
import { EVENT_DELETE, EVENT_PUT, encodeEventsResponse, eventFieldSize, parseEvent, withPrevKv } from './watch-encode.js';

/** Time one pump turn may spend fanning out before it yields the event loop, ms. Metric: watch_hub_queue_bytes growing. */
export const PUMP_SLICE_MS = 5;
/** Response bytes one catch-up slice of one stream may build before it yields to the next stream. */
export const CATCHUP_SLICE_BYTES = 256 * 1024;
/** Revisions one catch-up slice may scan (bounds the time of a slice that matches nothing). */
export const CATCHUP_SLICE_REVISIONS = 2000;
/**
 * Event bytes queued for fan-out at most. Past it the queue is dropped and every synced watcher
 * catches up from LMDB instead (nothing is lost). Metric: `watch.overflows` should stay 0.
 */
export const HUB_QUEUE_BYTES_MAX = 64 * 1024 * 1024;

const EMPTY_BYTES = new Uint8Array(0);

/** etcd's mvcc errors for a watch create, sent as cancel_reason. */
export const ERR_EMPTY_WATCHER_RANGE = 'mvcc: watcher range is empty';
export const ERR_DUPLICATE_WATCH_ID = 'mvcc: duplicate watch ID provided on the WatchStream';

export interface WatchHubOptions {
  /** The LMDB data file (read-only handle for history and prev_kv). */
  readonly dbPath: string;
  /** A response header at `revision` (the server fills cluster, member, term). */
  header(revision: number): etcdserverpb.IResponseHeader;
  /** The store revision once every write this member answered is applied ("now" for start_revision 0). */
  storeRevision(): Promise<number>;
  /** Subscribes to the applied-batch stream; returns the unsubscribe function. */
  subscribe(fn: (batch: AppliedBatch) => void): () => void;
  /** Largest response before `fragment` splits it (--max-request-bytes). */
  readonly maxRequestBytes: number;
  /** --experimental-watch-progress-notify-interval in ms; 0 disables. */
  readonly progressNotifyIntervalMs: number;
  /** Event bytes queued for fan-out at most (default HUB_QUEUE_BYTES_MAX; tests set it low). */
  readonly queueBytesMax?: number;
}

/** What a watch stream sends through: returns false when the transport's buffer is full. */
export type WatchSend = (response: Uint8Array) => boolean;

export interface WatchCreate {
  readonly key?: Uint8Array | null;
  readonly rangeEnd?: Uint8Array | null;
  readonly startRevision?: number | null;
  readonly progressNotify?: boolean | null;
  readonly filters?: readonly number[] | null;
  readonly prevKv?: boolean | null;
  readonly watchId?: number | null;
  readonly fragment?: boolean | null;
}

export interface WatchHubCounters {
  /** Watchers now (etcd_debugging_mvcc_watcher_total). */
  watchers: number;
  /** Unsynced watchers now (etcd_debugging_mvcc_slow_watcher_total). */
  unsynced: number;
  streams: number;
  /** Event responses sent. */
  eventResponses: number;
  /** Times the hub queue overflowed into catch-up. */
  overflows: number;
  /** Watchers moved to unsynced because their stream was blocked. */
  slowed: number;
  /** Times a revision's delivery yielded the event loop before it was done (a hot key). */
  deliveryYields: number;
}

class Watcher {
  synced = false;
  /** Unsynced: the first revision not yet sent. */
  nextRev = 0;
  /** Sent something since the last progress tick. */
  sentSinceTick = false;
  gone = false;
  constructor(
    readonly id: number,
    readonly stream: HubStream,
    readonly key: Buffer,
    readonly end: Buffer | null | undefined,
    /** Events below are not for this watcher (start revision, or "now" + 1). */
    public minRev: number,
    readonly noPut: boolean,
    readonly noDelete: boolean,
    readonly prevKv: boolean,
    readonly fragment: boolean,
    readonly progressNotify: boolean,
  ) {}
}

/** One Watch stream as the hub sees it. */
export class HubStream {
  readonly watchers = new Map<number, Watcher>();
  readonly unsynced = new Set<Watcher>();
  #nextId = 0;
  blocked = false;
  closed = false;
  progressPending = false;
  /** A pending progress response waits until processedRev reaches this. */
  progressTarget = 0;

  constructor(
    readonly hub: WatchHub,
    readonly send: WatchSend,
  ) {}

  /** Handles a create request; resolves once the created response is sent. */
  create(req: WatchCreate): Promise<void> | void {
    return this.hub.create(this, req);
  }

  cancel(watchId: number): void {
    this.hub.cancel(this, watchId);
  }

  requestProgress(): Promise<void> {
    return this.hub.requestProgress(this);
  }

  /** The transport's buffer drained: live events may flow again, catch-up may run. */
  drained(): void {
    this.hub.drained(this);
  }

  close(): void {
    this.hub.closeStream(this);
  }

  /** Ids given to creates still reading the store revision. */
  readonly reserved = new Set<number>();

  /** Allocate a watch id: the client's (when not 0 and free) or the next free one. */
  allocId(requested: number): number | undefined {
    if (requested !== 0) return this.watchers.has(requested) || this.reserved.has(requested) ? undefined : requested;
    while (this.watchers.has(this.#nextId) || this.reserved.has(this.#nextId)) this.#nextId++;
    return this.#nextId++;
  }
}

interface LiveEvent {
  readonly bytes: Uint8Array;
  readonly type: number;
  readonly key: Buffer;
  /** Cached event bytes with prev_kv appended (computed once per event). */
  withPrev?: Uint8Array;
}

export class WatchHub {
  readonly counters: WatchHubCounters = { watchers: 0, unsynced: 0, streams: 0, eventResponses: 0, overflows: 0, slowed: 0, deliveryYields: 0 };
  readonly #opts: WatchHubOptions;
  readonly #backend: LmdbBackend;
  readonly #reader: LmdbKvReader;
  readonly #index = new WatchIndex<Watcher>();
  readonly #streams = new Set<HubStream>();
  readonly #unsubscribe: () => void;
  /** Outcomes with events not yet fanned out, from #queueHead on. */
  #queue: ApplyOutcome[] = [];
  #queueHead = 0;
  #queueBytes = 0;
  #pumpScheduled = false;
  /** Highest revision published to the hub; LMDB holds at least this. */
  #publishedRev: number;
  /**
   * Highest revision whose fan-out has started (done unless `#inflight` holds it): catch-up reads
   * LMDB up to it, and headers carry it.
   */
  #processedRev: number;
  /** The revision being delivered in slices, if any (see #fanOut). */
  #inflight: { rev: number; targets: Watcher[]; lists: LiveEvent[][]; next: number } | undefined;
  /** Streams waiting for a catch-up slice, in turn order. */
  readonly #catchupQueue = new Set<HubStream>();
  /** Streams with a progress request not answered yet. */
  readonly #progressWaiters = new Set<HubStream>();
  #catchupScheduled = false;
  #headerRev = -1;
  #headerBytes: Uint8Array = new Uint8Array(0);
  readonly #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: WatchHubOptions) {
    this.#opts = opts;
    this.#backend = LmdbBackend.open({ path: opts.dbPath, writable: false });
    this.#reader = new LmdbKvReader(this.#backend);
    // Batches published after this point may be below the revision read here (LMDB can be ahead
    // of the stream): outcomes at or below it are skipped.
    this.#processedRev = this.#reader.currentRevision();
    this.#publishedRev = this.#processedRev;
    this.#unsubscribe = opts.subscribe((b) => this.#onApplied(b));
    if (opts.progressNotifyIntervalMs > 0) {
      this.#timer = setInterval(() => this.progressTick(), opts.progressNotifyIntervalMs);
      this.#timer.unref();
    }
  }

  /** Whether any watcher is open (the apply loop then makes applied batches visible at once). */
  get watching(): boolean {
    // Every watcher, synced or catching up: one catching up joins the live path soon, and the
    // batches handed over meanwhile must carry their events (or it would be sent back to
    // catch-up by each batch that left them out).
    return this.counters.watchers > 0;
  }

  get processedRevision(): number {
    return this.#processedRev;
  }

  /** Bytes of events queued for fan-out. */
  get queueBytes(): number {
    return this.#queueBytes;
  }

  openStream(send: WatchSend): HubStream {
    const s = new HubStream(this, send);
    this.#streams.add(s);
    this.counters.streams++;
    return s;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const s of [...this.#streams]) this.closeStream(s);
    await this.#backend.close();
  }

  // ---- requests ----

  /** Synchronous unless start_revision is 0 (then it first learns the store revision). */
  create(s: HubStream, req: WatchCreate): Promise<void> | void {
    if (s.closed) return;
    const key = Buffer.from(req.key ?? []);
    const rawEnd = req.rangeEnd ?? EMPTY_BYTES;
    let end: Buffer | null | undefined;
    if (rawEnd.length === 0) end = undefined;
    else if (rawEnd.length === 1 && rawEnd[0] === 0) end = null;
    else end = Buffer.from(rawEnd);
    if (end !== undefined && end !== null && Buffer.compare(key, end) >= 0) {
      this.#sendControl(s, { watchId: -1, created: true, canceled: true, cancelReason: ERR_EMPTY_WATCHER_RANGE });
      return;
    }
    const id = s.allocId(Number(req.watchId ?? 0));
    if (id === undefined) {
      this.#sendControl(s, { watchId: -1, created: true, canceled: true, cancelReason: ERR_DUPLICATE_WATCH_ID });
      return;
    }
    const start = Number(req.startRevision ?? 0);
    if (start !== 0) {
      this.#addWatcher(s, id, key, end, start, req);
      return;
    }
    s.reserved.add(id); // not reusable by a later auto id while the revision is read
    return this.#opts.storeRevision().then((now) => {
      s.reserved.delete(id);
      if (s.closed || this.#closed) return;
      this.#addWatcher(s, id, key, end, now + 1, req);
    });
  }

  #addWatcher(s: HubStream, id: number, key: Buffer, end: Buffer | null | undefined, minRev: number, req: WatchCreate): void {
    const filters = req.filters ?? [];
    const w = new Watcher(
      id, s, key, end, minRev,
      filters.includes(0), filters.includes(1),
      req.prevKv === true, req.fragment === true, req.progressNotify === true,
    );
    s.watchers.set(id, w);
    this.counters.watchers++;
    // The created response goes out before the watcher can be sent anything.
    this.#sendControl(s, { watchId: id, created: true });
    // A start below the compacted revision is canceled by the catch-up, even while the hub has
    // not processed the revisions up to it yet (etcd decides against its applied revision).
    if (minRev > this.#processedRev && minRev >= this.#reader.view((v) => v.compactedRev)) this.#sync(w);
    else {
      w.nextRev = minRev;
      s.unsynced.add(w);
      this.counters.unsynced++;
      this.#scheduleCatchup(s);
    }
  }

  cancel(s: HubStream, watchId: number): void {
    const w = s.watchers.get(watchId);
    if (w === undefined) return; // etcd does not answer a cancel of an unknown id
    this.#removeWatcher(w);
    this.#sendControl(s, { watchId, canceled: true });
  }

  /**
   * A progress response (watch_id -1, no events) once every watcher on the stream is synced and
   * every write answered before the request is fanned out: its header revision then says "every
   * event up to here was sent", which is what kube-apiserver relies on.
   */
  async requestProgress(s: HubStream): Promise<void> {
    await this.#opts.storeRevision();
    if (s.closed || this.#closed) return;
    s.progressTarget = Math.max(s.progressTarget, this.#publishedRev);
    s.progressPending = true;
    this.#progressWaiters.add(s);
    this.#progressIfPending(s);
  }

  drained(s: HubStream): void {
    s.blocked = false;
    if (s.unsynced.size > 0 || s.progressPending) this.#scheduleCatchup(s);
  }

  closeStream(s: HubStream): void {
    if (s.closed) return;
    s.closed = true;
    for (const w of [...s.watchers.values()]) this.#removeWatcher(w);
    this.#streams.delete(s);
    this.#catchupQueue.delete(s);
    this.#progressWaiters.delete(s);
    this.counters.streams--;
  }

  /** Progress notifications: every synced progress_notify watcher that sent nothing since the last tick. */
  progressTick(): void {
    // A revision half delivered: a progress header now could claim events not sent yet. Next tick.
    if (this.#inflight !== undefined) return;
    for (const s of this.#streams) {
      for (const w of s.watchers.values()) {
        if (!w.progressNotify) continue;
        if (w.synced && !w.sentSinceTick && !s.blocked) this.#sendControl(s, { watchId: w.id });
        w.sentSinceTick = false;
      }
    }
  }

  // ---- internals ----

  #removeWatcher(w: Watcher): void {
    if (w.gone) return;
    w.gone = true;
    if (w.synced) this.#index.delete(w);
    else if (w.stream.unsynced.delete(w)) this.counters.unsynced--;
    w.stream.watchers.delete(w.id);
    this.counters.watchers--;
  }

  #sync(w: Watcher): void {
    w.synced = true;
    this.#index.add(w);
  }

  #unsync(w: Watcher, nextRev: number): void {
    this.#index.delete(w);
    w.synced = false;
    w.nextRev = nextRev;
    w.stream.unsynced.add(w);
    this.counters.unsynced++;
  }

  #header(): Uint8Array {
    if (this.#headerRev !== this.#processedRev) {
      this.#headerRev = this.#processedRev;
      this.#headerBytes = etcdserverpb.ResponseHeader.encode(this.#opts.header(this.#processedRev)).finish();
    }
    return this.#headerBytes;
  }

  #sendControl(s: HubStream, fields: Omit<etcdserverpb.IWatchResponse, 'header'>): void {
    if (s.closed) return;
    const header = this.#opts.header(this.#processedRev);
    const bytes = etcdserverpb.WatchResponse.encode({ header, ...fields }).finish();
    if (!s.send(bytes)) s.blocked = true;
  }

  /** Sends one watcher's events (split by `fragment` when asked and too large). */
  #sendEvents(w: Watcher, events: readonly Uint8Array[]): void {
    const s = w.stream;
    w.sentSinceTick = true;
    this.counters.eventResponses++;
    const header = this.#header();
    let ok: boolean;
    if (w.fragment && events.length > 1 && this.#responseSize(header, events) > this.#opts.maxRequestBytes) {
      ok = true;
      let part: Uint8Array[] = [];
      let size = header.length + 16;
      for (let i = 0; i < events.length; i++) {
        const e = events[i]!;
        const es = eventFieldSize(e);
        if (part.length > 0 && size + es > this.#opts.maxRequestBytes) {
          ok = s.send(encodeEventsResponse(header, w.id, part, true)) && ok;
          part = [];
          size = header.length + 16;
        }
        part.push(e);
        size += es;
      }
      ok = s.send(encodeEventsResponse(header, w.id, part, false)) && ok;
    } else {
      ok = s.send(encodeEventsResponse(header, w.id, events));
    }
    if (!ok) s.blocked = true;
  }

  #responseSize(header: Uint8Array, events: readonly Uint8Array[]): number {
    let n = header.length + 16;
    for (const e of events) n += eventFieldSize(e);
    return n;
  }

  #onApplied(batch: AppliedBatch): void {
    if (batch.snapshot !== undefined) {
      // A Raft snapshot replaced the store: the events in between exist only in LMDB's history.
      this.#publishedRev = Math.max(this.#publishedRev, batch.snapshot.revision);
      this.#resyncAll();
      return;
    }
    let omitted = false;
    for (const o of batch.outcomes) {
      if (o.eventsOmitted === true && o.revision > this.#publishedRev) {
        // Handed over while nobody watched: its events are only in the store (visible now).
        this.#publishedRev = o.revision;
        omitted = true;
        continue;
      }
      if (o.events === undefined || o.events.length === 0 || o.revision <= this.#publishedRev) continue;
      this.#publishedRev = o.revision;
      this.#queue.push(o);
      for (const e of o.events) this.#queueBytes += e.length;
    }
    if (omitted) {
      // Every watcher there is now came after the hand-off: each catches up from the store.
      this.#resyncAll();
      return;
    }
    if (this.#queueBytes > (this.#opts.queueBytesMax ?? HUB_QUEUE_BYTES_MAX)) this.#overflow();
    if (this.#queueHead < this.#queue.length && !this.#pumpScheduled) {
      this.#pumpScheduled = true;
      setImmediate(() => this.#pump());
    }
  }

  /** The queue is too big: drop it; every synced watcher catches up from LMDB instead. */
  #overflow(): void {
    this.counters.overflows++;
    this.#resyncAll();
  }

  /** Every synced watcher catches up from LMDB; the queue is dropped. */
  #resyncAll(): void {
    const f = this.#inflight;
    if (f !== undefined) {
      // Watchers the in-flight revision has not reached yet need it from LMDB.
      for (let i = f.next; i < f.targets.length; i++) {
        const w = f.targets[i]!;
        if (w.synced && !w.gone && f.rev >= w.minRev) this.#unsync(w, f.rev);
      }
    }
    const from = this.#processedRev + 1;
    for (const w of [...this.#index.all()]) this.#unsync(w, Math.max(from, w.minRev));
    this.#queue = [];
    this.#queueHead = 0;
    this.#queueBytes = 0;
    this.#inflight = undefined; // its remaining watchers were just unsynced: they catch up
    this.#processedRev = this.#publishedRev;
    for (const s of this.#streams) if (s.unsynced.size > 0) this.#scheduleCatchup(s);
  }

  #pump(): void {
    this.#pumpScheduled = false;
    if (this.#closed) return;
    const deadline = performance.now() + PUMP_SLICE_MS;
    for (;;) {
      if (this.#inflight !== undefined && !this.#deliverInflight(deadline)) break; // out of time mid-revision
      if (this.#queueHead >= this.#queue.length) break;
      const o = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead++] = undefined as unknown as ApplyOutcome;
      for (const e of o.events!) this.#queueBytes -= e.length;
      this.#fanOut(o);
      if (performance.now() > deadline) break;
    }
    for (const s of this.#progressWaiters) this.#progressIfPending(s);
    if (this.#queueHead >= this.#queue.length && this.#inflight === undefined) {
      this.#queue = [];
      this.#queueHead = 0;
    } else {
      if (this.#queueHead > 4096) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      this.#pumpScheduled = true;
      setImmediate(() => this.#pump());
    }
  }

  /**
   * One revision's events: match them (the index is read once, here), then deliver to the
   * matched watchers, in slices when there are many (#deliverInflight), so one hot key with
   * 100,000 watchers never holds the event loop for long. `processedRev` moves to the revision
   * now: a watcher that falls behind meanwhile catches up through it from LMDB, and one that
   * rejoins gets `minRev` past it, so the rest of the delivery skips it (exactly once either way).
   */
  #fanOut(o: ApplyOutcome): void {
    const rev = o.revision;
    if (rev <= this.#processedRev) return;
    this.#processedRev = rev;
    if (this.#index.size === 0) return;
    const evs = o.events!;
    const targets: Watcher[] = [];
    const lists: LiveEvent[][] = [];
    if (evs.length === 1) {
      const e: LiveEvent = { bytes: evs[0]!, ...parseEvent(evs[0]!) };
      const one = [e];
      this.#index.match(e.key, (w) => {
        targets.push(w);
        lists.push(one);
      });
    } else {
      const perWatcher = new Map<Watcher, LiveEvent[]>();
      for (const bytes of evs) {
        const e: LiveEvent = { bytes, ...parseEvent(bytes) };
        this.#index.match(e.key, (w) => {
          const l = perWatcher.get(w);
          if (l === undefined) perWatcher.set(w, [e]);
          else l.push(e);
        });
      }
      for (const [w, l] of perWatcher) {
        targets.push(w);
        lists.push(l);
      }
    }
    if (targets.length === 0) return;
    this.#inflight = { rev, targets, lists, next: 0 };
  }

  /** Delivers the in-flight revision until done (true) or past the deadline (false). */
  #deliverInflight(deadline: number): boolean {
    const f = this.#inflight!;
    while (f.next < f.targets.length) {
      const i = f.next++;
      this.#deliverLive(f.targets[i]!, f.rev, f.lists[i]!);
      if ((i & 255) === 255 && performance.now() > deadline) {
        if (f.next >= f.targets.length) return this.#endInflight();
        this.counters.deliveryYields++;
        return false;
      }
    }
    return this.#endInflight();
  }

  #endInflight(): true {
    this.#inflight = undefined;
    return true;
  }

  #deliverLive(w: Watcher, rev: number, events: LiveEvent[]): void {
    if (rev < w.minRev || w.gone || !w.synced) return;
    const out: Uint8Array[] = [];
    for (const e of events) {
      if ((e.type === EVENT_PUT && w.noPut) || (e.type === EVENT_DELETE && w.noDelete)) continue;
      if (w.prevKv) {
        e.withPrev ??= this.#reader.view((v) => this.#attachPrev(v, e.bytes, e.key, rev));
        out.push(e.withPrev);
      } else out.push(e.bytes);
    }
    if (out.length === 0) return;
    if (w.stream.blocked) {
      // A slow stream: the watcher leaves the live path and catches up from LMDB later.
      this.counters.slowed++;
      this.#unsync(w, rev);
      return;
    }
    this.#sendEvents(w, out);
  }

  /** `event` with the key's value before `rev` as prev_kv, when there is one and it is not compacted. */
  #attachPrev(v: LmdbReadView, event: Uint8Array, key: Buffer, rev: number): Uint8Array {
    if (rev - 1 < v.compactedRev || rev <= 1) return event;
    const e = v.get(key, rev - 1);
    if (e === undefined) return event;
    return withPrevKv(event, mvccpb.KeyValue.encode(v.toKeyValue(key, e, true)).finish());
  }

  #scheduleCatchup(s: HubStream): void {
    if (s.closed) return;
    this.#catchupQueue.add(s);
    if (!this.#catchupScheduled) {
      this.#catchupScheduled = true;
      setImmediate(() => this.#catchupTurn());
    }
  }

  /** One slice for the stream whose turn it is; then the next stream, next turn. */
  #catchupTurn(): void {
    this.#catchupScheduled = false;
    if (this.#closed) return;
    const first = this.#catchupQueue.values().next();
    if (first.done) return;
    const s = first.value;
    this.#catchupQueue.delete(s);
    if (!s.closed && !s.blocked) {
      const more = this.#catchupSlice(s);
      if (more && !s.blocked) this.#catchupQueue.add(s);
    }
    if (this.#catchupQueue.size > 0) {
      this.#catchupScheduled = true;
      setImmediate(() => this.#catchupTurn());
    }
  }

  /** Returns true when the stream still has unsynced watchers to catch up. */
  #catchupSlice(s: HubStream): boolean {
    const to = this.#processedRev;
    // Compacted start points first: a watcher whose start the hub has not processed yet would
    // otherwise rejoin the live path and be sent revisions that are compacted.
    this.#cancelCompacted(s, this.#reader.view((v) => v.compactedRev));
    this.#rejoin(s, to);
    if (s.unsynced.size === 0) {
      this.#progressIfPending(s);
      return false;
    }
    this.#reader.view((v) => {
      // Again in the view the scan reads: a compaction may have committed since.
      this.#cancelCompacted(s, v.compactedRev);
      if (s.unsynced.size === 0) return;
      let from = Infinity;
      for (const w of s.unsynced) from = Math.min(from, w.nextRev);
      from = Math.max(from, 1);
      const watchers = [...s.unsynced];
      const pending = new Map<Watcher, Uint8Array[]>();
      let bytes = 0;
      let revs = 0;
      let scannedTo = to;
      let curRev = 0;
      let prevCache = new Map<string, Uint8Array>();
      for (const { key: rk, value } of this.#backend.rev.getRange({ ...v.opts, start: encodeRevision(from, 0), end: encodeRevision(to + 1, 0) })) {
        const main = readU64(rk, 0);
        if (main !== curRev) {
          if (curRev !== 0 && (bytes >= CATCHUP_SLICE_BYTES || revs >= CATCHUP_SLICE_REVISIONS)) {
            scannedTo = curRev;
            break;
          }
          curRev = main;
          revs++;
          prevCache = new Map();
        }
        const r = decodeKvRecord(value);
        const key = Buffer.from(r.key);
        const type = r.tombstone ? EVENT_DELETE : EVENT_PUT;
        let evBytes: Uint8Array | undefined;
        for (const w of watchers) {
          if (main < w.nextRev || main < w.minRev || !inRange(w, key)) continue;
          if ((type === EVENT_PUT && w.noPut) || (type === EVENT_DELETE && w.noDelete)) continue;
          evBytes ??= mvccpb.Event.encode(
            r.tombstone
              ? { type: mvccpb.Event.EventType.DELETE, kv: { key, modRevision: main } }
              : { type: mvccpb.Event.EventType.PUT, kv: { key, createRevision: r.createRevision, modRevision: main, version: r.version, value: r.value, lease: r.lease } },
          ).finish();
          let out = evBytes;
          if (w.prevKv) {
            const ck = key.toString('latin1');
            let p = prevCache.get(ck);
            if (p === undefined) prevCache.set(ck, (p = this.#attachPrev(v, evBytes, key, main)));
            out = p;
          }
          let l = pending.get(w);
          if (l === undefined) pending.set(w, (l = []));
          l.push(out);
          bytes += out.length;
        }
      }
      for (const w of watchers) {
        const l = pending.get(w);
        if (l !== undefined) this.#sendEvents(w, l);
        if (w.nextRev <= scannedTo) w.nextRev = scannedTo + 1;
      }
    });
    this.#rejoin(s, this.#processedRev);
    if (s.unsynced.size === 0) {
      this.#progressIfPending(s);
      return false;
    }
    return true;
  }

  /** Unsynced watchers past `to` (= processedRev) go back to the live path. */
  /** etcd answers a start below the compacted revision with compact_revision and cancels the watcher. */
  #cancelCompacted(s: HubStream, compacted: number): void {
    for (const w of [...s.unsynced]) {
      if (w.nextRev < compacted) {
        this.#removeWatcher(w);
        // etcd 3.4 sends header revision 0 here; we keep the stream's headers monotonic (issue 9).
        this.#sendControl(s, { watchId: w.id, canceled: true, compactRevision: compacted });
      }
    }
  }

  #rejoin(s: HubStream, to: number): void {
    if (to !== this.#processedRev) return;
    for (const w of [...s.unsynced]) {
      if (w.nextRev > to) {
        s.unsynced.delete(w);
        this.counters.unsynced--;
        w.minRev = Math.max(w.minRev, w.nextRev);
        this.#sync(w);
      }
    }
  }

  #progressIfPending(s: HubStream): void {
    if (s.progressPending && s.unsynced.size === 0 && this.#processedRev >= s.progressTarget && this.#inflight === undefined && !s.closed) {
      s.progressPending = false;
      this.#progressWaiters.delete(s);
      this.#sendControl(s, { watchId: -1 });
    }
  }
}
