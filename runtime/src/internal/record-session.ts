/**
 * The recorder: the session of an execution being recorded. It runs every call live and keeps an
 * event (clear: kind, op, target, timing, logical completion tick) and a payload (sealed later:
 * request and result or error) for each, within the event budget.
 *
 * Completion ticks make recorded time exact where workerd's clock is coarse: one logical counter
 * advances on every event pushed and every call completed, and a call keeps the counter's value at
 * completion as `end`. A player serves results in `end` order, and knows a call finished before
 * another began when its `end`, less the completions up to it, is at most the other's `seq`.
 * @module
 */
import type { EventKind, TraceEvent } from "../trace/schema.js";
import { perfNow } from "../originals.js";
import {
  currentParent,
  DEFAULT_LIMITS,
  Deferred,
  runNested,
  streamKey,
  type CallSpec,
  type ReadSpec,
  type Session,
  type SessionLimits,
  type SyncCallSpec,
  type UnreadBodies,
} from "./session.js";
import { errorData, isTruncated } from "./values.js";
import { readSite, type RawSite } from "./site.js";

export class RecordSession implements Session {
  readonly mode = "record" as const;
  readonly sampled: boolean;
  readonly limits: SessionLimits;
  readonly unreadBodies: UnreadBodies;
  readonly env: Record<string, unknown>;
  readonly maskHeaders: ReadonlySet<string>;
  readonly events: TraceEvent[] = [];
  readonly payloads: unknown[] = [];
  readonly #start = perfNow();
  #tick = 0;
  #dropped = 0;
  #closed = false;
  #abandoned = false;
  #pending: Promise<unknown>[] = [];
  /** Payloads put off until the outcome is known: event seq, the read, and whether it is a result. */
  #deferred: { seq: number; payload: Deferred; result: boolean }[] = [];
  readonly #readTargets = new Set<string>();
  /** Captured, unread call sites by event seq: read only if the trace is kept. */
  readonly #sites = new Map<number, RawSite>();
  readonly #memo = new Map<string, unknown>();

  constructor(options: {
    limits?: Partial<SessionLimits>;
    env?: Record<string, unknown>;
    maskHeaders?: ReadonlySet<string>;
    /** False when the sample left the execution out (default true): see {@link Session.sampled}. */
    sampled?: boolean;
    unreadBodies?: UnreadBodies;
  }) {
    this.sampled = options.sampled ?? true;
    this.unreadBodies = options.unreadBodies ?? "keep";
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.env = options.env ?? {};
    this.maskHeaders = options.maskHeaders ?? new Set();
  }

  /** Events the budget or a closed trace turned away. */
  get droppedEvents(): number {
    return this.#dropped;
  }

  /** Fixes the trace: later events are counted as dropped, not recorded. */
  close(): void {
    this.#closed = true;
  }

  /**
   * The trace will not be kept (an execution the sample left out ended ok): held copies are
   * cancelled now, and later calls (`waitUntil` work) go live without being captured.
   */
  abandon(): void {
    this.#abandoned = true;
    this.close();
    this.discard();
  }

  elapsed(): number {
    return Math.max(0, Math.round((perfNow() - this.#start) * 1000));
  }

  track(p: Promise<unknown>): void {
    this.#pending.push(p.catch(() => {}));
  }

  async settle(): Promise<void> {
    while (this.#pending.length) {
      const batch = this.#pending;
      this.#pending = [];
      await Promise.all(batch);
    }
  }

  memo<T>(key: string, make: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = make();
    this.#memo.set(key, value);
    return value;
  }

  /** Adds an event. Returns null once the event budget is spent or the trace is closed. */
  push(
    kind: EventKind,
    op: string,
    target: string,
    payload: unknown,
    extra: Partial<TraceEvent> = {},
    site?: RawSite,
  ): TraceEvent | null {
    if (this.#closed || this.events.length >= this.limits.maxEvents) {
      this.#dropped++;
      return null;
    }
    this.#tick++;
    const parent = currentParent();
    const event: TraceEvent = {
      seq: this.events.length,
      kind,
      op,
      target,
      at: this.elapsed(),
      ...(parent === undefined ? {} : { parent }),
      ...extra,
    };
    this.events.push(event);
    this.payloads.push(payload);
    if (site) this.#sites.set(event.seq, site);
    return event;
  }

  /** Reads the captured call sites into their events (a kept trace only: reading costs). */
  resolveSites(): void {
    for (const [seq, site] of this.#sites) {
      const frames = readSite(site);
      const event = this.events[seq];
      if (event && frames.length) event.site = frames;
    }
    this.#sites.clear();
  }

  /** Reads the payloads put off until the outcome was known: the trace is kept. */
  async materialize(): Promise<void> {
    const deferred = this.#deferred;
    this.#deferred = [];
    await Promise.all(
      deferred.map(async ({ seq, payload, result }) => {
        const data = await payload.read();
        this.payloads[seq] = result
          ? { ...(this.payloads[seq] as { request: unknown }), result: data }
          : data;
      }),
    );
  }

  /** Drops the payloads put off until the outcome was known: the trace is not kept. */
  discard(): void {
    for (const { payload } of this.#deferred) payload.drop();
    this.#deferred = [];
  }

  /**
   * Flags the events whose payload holds a truncation marker (a body over the budget): done once,
   * for a kept trace, instead of on every call.
   */
  markTruncated(): void {
    for (const event of this.events) {
      const p = this.payloads[event.seq];
      // A call's result must be whole for replay to serve it; its request may be cut.
      const served = event.end === undefined ? p : (p as { result?: unknown } | undefined)?.result;
      if (served !== undefined && isTruncatedDeep(served)) event.truncated = true;
    }
  }

  /** Adds an event whose payload arrives later; the trace waits for it. */
  pushLater(
    kind: EventKind,
    op: string,
    target: string,
    payload: Promise<unknown> | Deferred,
    extra: Partial<TraceEvent> = {},
  ): TraceEvent | null {
    const event = this.push(kind, op, target, undefined, extra);
    if (!event) {
      if (payload instanceof Deferred) payload.drop();
    } else if (payload instanceof Deferred) {
      this.#deferred.push({ seq: event.seq, payload, result: false });
    } else {
      this.track(
        payload.then((data) => {
          this.payloads[event.seq] = data;
        }),
      );
    }
    return event;
  }

  /** Marks a call's completion: duration and logical tick. */
  #complete(event: TraceEvent, t0: number): void {
    event.dur = this.elapsed() - t0;
    event.end = ++this.#tick;
  }

  async call<T>(spec: CallSpec<T>): Promise<T> {
    if (this.#abandoned) return spec.live();
    const event = this.push(
      spec.kind,
      spec.op,
      spec.target,
      undefined,
      { ...(spec.write ? { write: true } : {}), ...(spec.info ? { info: spec.info } : {}) },
      spec.site,
    );
    const t0 = this.elapsed();
    let value: T;
    try {
      // Calls made inside a host call's own code are evidence of it, not boundaries of their own:
      // they carry `parent`, and replay (which never runs that code) leaves them aside.
      const live = spec.nests && event ? runNested(this, event.seq, spec.live) : spec.live();
      // A call the app stopped waiting for (the loser of a race) still completes into the trace.
      if (event) this.track(live);
      value = await live;
    } catch (err) {
      if (event) {
        this.#complete(event, t0);
        const data = errorData(err);
        event.error = data.name;
        this.payloads[event.seq] = { request: spec.request, error: data };
      }
      throw err;
    }
    const captured = spec.capture(value, (info) => {
      if (event) event.info = { ...event.info, ...info };
    });
    if (event) {
      this.#complete(event, t0);
      if (captured.status !== undefined) event.status = captured.status;
      const setPayload = (data: unknown) => {
        this.payloads[event.seq] = { request: spec.request, result: data };
      };
      if (captured.data instanceof Deferred) {
        this.payloads[event.seq] = { request: spec.request };
        this.#deferred.push({ seq: event.seq, payload: captured.data, result: true });
      } else if (captured.data instanceof Promise) this.track(captured.data.then(setPayload));
      else setPayload(captured.data);
    } else if (captured.data instanceof Deferred) {
      captured.data.drop();
    }
    return captured.value;
  }

  callSync<T>(spec: SyncCallSpec<T>): T {
    const event = this.push(
      spec.kind,
      spec.op,
      spec.target,
      undefined,
      spec.write ? { write: true } : {},
      spec.site,
    );
    const t0 = this.elapsed();
    try {
      const value = spec.live();
      if (event) {
        this.#complete(event, t0);
        this.payloads[event.seq] = { request: spec.request, result: value };
      }
      return value;
    } catch (err) {
      if (event) {
        this.#complete(event, t0);
        const data = errorData(err);
        event.error = data.name;
        this.payloads[event.seq] = { request: spec.request, error: data };
      }
      throw err;
    }
  }

  read<T>(spec: ReadSpec<T>): T {
    const value = spec.live();
    if (spec.byTarget) {
      const key = streamKey(spec.kind, spec.op, spec.target);
      if (this.#readTargets.has(key)) return value;
      this.#readTargets.add(key);
    }
    this.push(spec.kind, spec.op, spec.target, spec.encode ? spec.encode(value) : value);
    return value;
  }

  note(
    kind: EventKind,
    op: string,
    target: string,
    payload: unknown,
    extra: Partial<TraceEvent> = {},
    site?: RawSite,
  ): void {
    this.push(kind, op, target, payload, extra, site);
  }
}

/** True when a payload or one of its fields (or their fields) is a truncation marker. */
export function isTruncatedDeep(data: unknown, depth = 0): boolean {
  if (isTruncated(data)) return true;
  if (depth >= 2 || typeof data !== "object" || data === null || data instanceof Uint8Array) {
    return false;
  }
  for (const v of Object.values(data)) if (isTruncatedDeep(v, depth + 1)) return true;
  return false;
}
