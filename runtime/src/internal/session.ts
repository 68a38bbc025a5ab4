/**
 * The per-execution session: one per request, found through AsyncLocalStorage. In record mode it
 * collects events and payloads; in replay mode it serves them back and lists every divergence.
 * Boundaries describe a call (kind, op, target, request) and how to capture and revive its result;
 * nothing here branches on a boundary's kind.
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { FluxError } from "../errors.js";
import type { EventKind, TraceEvent } from "../trace/schema.js";
import type { Divergence } from "../replay/divergence.js";
import { describeCall, closestCandidate } from "../replay/divergence.js";
import { perfNow } from "./originals.js";
import { allowsLive, type ReplayPolicy } from "../replay/policy.js";
import { changedFields, errorData, isTruncated, reviveError } from "./values.js";

type ClearInfo = NonNullable<TraceEvent["info"]>;

/** How an async boundary call is recorded and replayed. */
export interface CallSpec<T> {
  kind: EventKind;
  op: string;
  target: string;
  write?: boolean;
  /** The request as sealed data; replay compares it with the recorded one. */
  request: unknown;
  info?: ClearInfo;
  live(): Promise<T>;
  /** Turns the live value into recordable data (maybe later) and the value handed back. */
  capture(
    value: T,
    addInfo: (info: ClearInfo) => void,
  ): { value: T; data: unknown; status?: number };
  /** Builds the value handed back in replay from recorded data. */
  revive(data: unknown): T;
  /** True when `live` runs user code (fluxHost): calls inside it are recorded as its children. */
  nests?: boolean;
  /** Differing request fields; default: top-level structural comparison. */
  compare?(recorded: unknown, actual: unknown): string[];
}

/** How a synchronous read (clock, random, env) is recorded and replayed. */
export interface ReadSpec<T> {
  kind: EventKind;
  op: string;
  target: string;
  /** Replay looks the value up by target instead of by position (env reads). */
  byTarget?: boolean;
  live(): T;
  encode?(value: T): unknown;
  revive(data: unknown): T;
  /** Value served when replay runs out of recorded reads (also reported, unless `quiet`). */
  fallback?(): T;
  /** A missing recorded read is not a divergence (the env shape of an old trace). */
  quiet?: boolean;
}

/** How a synchronous IO call (DO SQL, a D1 session bookmark) is recorded and replayed. */
export interface SyncCallSpec<T> {
  kind: EventKind;
  op: string;
  target: string;
  write?: boolean;
  request: unknown;
  live(): T;
}

export interface SessionLimits {
  maxEvents: number;
  maxBodyBytes: number;
  maxTraceBytes: number;
}

export const DEFAULT_LIMITS: SessionLimits = {
  maxEvents: 5000,
  maxBodyBytes: 256 * 1024,
  maxTraceBytes: 4 * 1024 * 1024,
};

interface Entry {
  event: TraceEvent;
  payload: unknown;
  used: boolean;
}

/** What the async context holds: the session, and the host call we are inside, if any. */
interface Scope {
  session: Session;
  parent?: number;
}

const storage = new AsyncLocalStorage<Scope | undefined>();

/** The session of the running execution, if any. */
export function currentSession(): Session | undefined {
  return storage.getStore()?.session;
}

/** Runs `fn` inside `session` (or outside any, for FluxRun's own work). */
export function runInSession<T>(session: Session | undefined, fn: () => T): T {
  return storage.run(session ? { session } : undefined, fn);
}

/** A replay's findings, as data. */
export interface ReplayFindings {
  live: { op: string; target: string }[];
  divergences: Divergence[];
  served: number[];
  unconsumed: number[];
}

const EFFECT_KINDS: ReadonlySet<EventKind> = new Set(["fetch", "host", "binding"]);

export class Session {
  readonly mode: "record" | "replay";
  readonly limits: SessionLimits;
  readonly events: TraceEvent[] = [];
  readonly payloads: unknown[] = [];
  readonly startPerf = perfNow();
  /** The real env of the execution (bindings unwrapped), for fluxENV and env reads. */
  env: Record<string, unknown> = {};
  /** Lower-cased header names whose values are masked. */
  maskHeaders: ReadonlySet<string> = new Set();
  #readTargets = new Set<string>();
  /** Replay policy: live read-only effects allowed, noise ignored. */
  policy: ReplayPolicy | undefined;
  readonly #live: { op: string; target: string }[] = [];
  /** Called for each console call in replay (output is not printed). */
  onConsole: (() => void) | undefined;
  droppedEvents = 0;
  /** Set when the trace is being closed: later events are counted as dropped, not recorded. */
  closed = false;
  #pending: Promise<unknown>[] = [];
  #memo = new Map<string, unknown>();
  // replay state
  #entries: Entry[] = [];
  #streams = new Map<string, Entry[]>();
  #divergences: { d: Divergence; pos: number }[] = [];
  #reorders: { entry: Entry; before: Entry }[] = [];
  #served: number[] = [];

  constructor(
    mode: "record" | "replay",
    options: {
      limits?: Partial<SessionLimits>;
      recorded?: { events: TraceEvent[]; payloads: unknown[] };
    } = {},
  ) {
    this.mode = mode;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    if (mode === "replay") {
      const rec = options.recorded;
      if (!rec) throw new TypeError("A replay session needs the recorded events");
      this.#entries = rec.events.map((event, i) => ({
        event,
        payload: rec.payloads[i],
        used: false,
      }));
      for (const e of this.#entries) {
        if (e.event.parent !== undefined) continue;
        const key = streamKey(e.event.kind, e.event.op, e.event.target);
        let list = this.#streams.get(key);
        if (!list) this.#streams.set(key, (list = []));
        list.push(e);
      }
    }
  }

  /** Microseconds since the session started. */
  elapsed(): number {
    return Math.max(0, Math.round((perfNow() - this.startPerf) * 1000));
  }

  /** Tracks work the trace must wait for before it closes. */
  track(p: Promise<unknown>): void {
    this.#pending.push(p.catch(() => {}));
  }

  /** Waits for tracked work, including work tracked while waiting. */
  async settle(): Promise<void> {
    while (this.#pending.length) {
      const batch = this.#pending;
      this.#pending = [];
      await Promise.all(batch);
    }
  }

  /** Adds an event (record mode). Returns null once the event budget is spent. */
  push(
    kind: EventKind,
    op: string,
    target: string,
    payload: unknown,
    extra: Partial<TraceEvent> = {},
  ): TraceEvent | null {
    if (this.closed || this.events.length >= this.limits.maxEvents) {
      this.droppedEvents++;
      return null;
    }
    const parent = storage.getStore()?.parent;
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
    return event;
  }

  /** Adds an event whose payload arrives later (record mode); the trace waits for it. */
  pushLater(
    kind: EventKind,
    op: string,
    target: string,
    payload: Promise<unknown>,
    extra: Partial<TraceEvent> = {},
  ): TraceEvent | null {
    const event = this.push(kind, op, target, undefined, extra);
    if (event) {
      this.track(
        payload.then((data) => {
          if (isTruncatedDeep(data)) event.truncated = true;
          this.payloads[event.seq] = data;
        }),
      );
    }
    return event;
  }

  /** Records or replays an async boundary call. */
  async call<T>(spec: CallSpec<T>): Promise<T> {
    if (this.mode === "replay") return this.#replayCall(spec);
    const event = this.push(spec.kind, spec.op, spec.target, undefined, {
      ...(spec.write ? { write: true } : {}),
      ...(spec.info ? { info: spec.info } : {}),
    });
    const t0 = this.elapsed();
    let value: T;
    try {
      // Calls made inside a host call's own code are evidence of it, not boundaries of their own:
      // they carry `parent`, and replay (which never runs that code) leaves them aside.
      value = await (spec.nests && event
        ? storage.run({ session: this, parent: event.seq }, spec.live)
        : spec.live());
    } catch (err) {
      if (event) {
        event.dur = this.elapsed() - t0;
        event.error = errorData(err).name;
        this.payloads[event.seq] = { request: spec.request, error: errorData(err) };
      }
      throw err;
    }
    const captured = spec.capture(value, (info) => {
      if (event) event.info = { ...event.info, ...info };
    });
    if (event) {
      event.dur = this.elapsed() - t0;
      if (captured.status !== undefined) event.status = captured.status;
      const seq = event.seq;
      const setPayload = (data: unknown) => {
        if (isTruncatedDeep(data)) event.truncated = true;
        this.payloads[seq] = { request: spec.request, result: data };
      };
      if (captured.data instanceof Promise) this.track(captured.data.then(setPayload));
      else setPayload(captured.data);
    }
    return captured.value;
  }

  /** A value computed once per execution under `key`. */
  memo<T>(key: string, make: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = make();
    this.#memo.set(key, value);
    return value;
  }

  /** Records or replays a synchronous read. */
  read<T>(spec: ReadSpec<T>): T {
    if (this.mode === "replay") return this.#replayRead(spec);
    const value = spec.live();
    if (spec.byTarget) {
      const key = streamKey(spec.kind, spec.op, spec.target);
      if (this.#readTargets.has(key)) return value;
      this.#readTargets.add(key);
    }
    this.push(spec.kind, spec.op, spec.target, spec.encode ? spec.encode(value) : value);
    return value;
  }

  /** Records or replays a synchronous IO call; its recorded result is data (no capture step). */
  callSync<T>(spec: SyncCallSpec<T>): T {
    if (this.mode === "replay") {
      return this.#serve<T>(spec, (d) => d as T);
    }
    const event = this.push(
      spec.kind,
      spec.op,
      spec.target,
      undefined,
      spec.write ? { write: true } : {},
    );
    const t0 = this.elapsed();
    try {
      const value = spec.live();
      if (event) {
        event.dur = this.elapsed() - t0;
        this.payloads[event.seq] = { request: spec.request, result: value };
        if (isTruncatedDeep(value)) event.truncated = true;
      }
      return value;
    } catch (err) {
      if (event) {
        event.dur = this.elapsed() - t0;
        event.error = errorData(err).name;
        this.payloads[event.seq] = { request: spec.request, error: errorData(err) };
      }
      throw err;
    }
  }

  /** Records an event with no result to serve (console, unsupported API use). */
  note(
    kind: EventKind,
    op: string,
    target: string,
    payload: unknown,
    extra: Partial<TraceEvent> = {},
  ): void {
    if (this.mode === "record") {
      this.push(kind, op, target, payload, extra);
      return;
    }
    if (kind === "unsupported") {
      this.#diverge({
        code: "unsupported",
        seq: null,
        kind,
        op,
        target,
        message: `${op} on ${target} cannot be replayed`,
      });
      throw new FluxError(
        "ERR_REPLAY_UNSUPPORTED",
        `Replay refused ${op} on ${target}: FluxRun cannot serve it`,
      );
    }
    if (kind === "console") this.onConsole?.();
    const list = this.#streams.get(streamKey(kind, op, target));
    const entry = list?.find((e) => !e.used);
    if (entry) this.#use(entry);
  }

  // ---------------------------------------------------------------- replay

  /** Adds a divergence, placed at `seq` or else where replay stood in the recording. */
  #diverge(d: Divergence): void {
    const pos =
      d.seq ??
      this.#entries.find(
        (e) => !e.used && e.event.parent === undefined && e.event.kind !== "request",
      )?.event.seq ??
      Infinity;
    this.#divergences.push({ d, pos });
  }

  #use(entry: Entry): void {
    entry.used = true;
    this.#served.push(entry.event.seq);
  }

  async #replayCall<T>(spec: CallSpec<T>): Promise<T> {
    if (spec.kind === "fetch" && !this.#unused(spec) && this.#allowedLive(spec.request)) {
      this.#live.push({ op: spec.op, target: spec.target });
      return spec.live();
    }
    return this.#serve(spec, spec.revive);
  }

  #unused(spec: { kind: EventKind; op: string; target: string }): Entry | undefined {
    return this.#streams.get(streamKey(spec.kind, spec.op, spec.target))?.find((e) => !e.used);
  }

  /** Serves one recorded call: its result revived, or its recorded error thrown. */
  #serve<T>(
    spec: Pick<CallSpec<T>, "kind" | "op" | "target" | "write" | "request" | "compare">,
    revive: (data: unknown) => T,
  ): T {
    const entry = this.#unused(spec);
    const actual = describeCall(spec.kind, spec.op, spec.target, spec.request);
    if (!entry) {
      const closest = closestCandidate(this.#entries, spec.kind, spec.op, spec.target);
      this.#diverge({
        code: "extra_call",
        seq: null,
        kind: spec.kind,
        op: spec.op,
        target: spec.target,
        message: `${spec.write ? "Unrecorded write" : "Unrecorded call"} ${spec.op} ${spec.target} was blocked`,
        actual,
        closest,
      });
      throw new FluxError(
        "ERR_REPLAY_UNRECORDED",
        `Replay blocked ${spec.op} ${spec.target}: the trace holds no such call, so it was not made live`,
      );
    }
    const recorded = entry.payload as
      { request?: unknown; result?: unknown; error?: unknown } | undefined;
    const fields = (spec.compare ?? changedFields)(recorded?.request, spec.request);
    if (fields.length) {
      this.#use(entry);
      this.#diverge({
        code: "changed_request",
        seq: entry.event.seq,
        kind: spec.kind,
        op: spec.op,
        target: spec.target,
        message: `${spec.op} ${spec.target} was made with a different ${fields.join(", ")}`,
        fields,
        expected: describeCall(spec.kind, spec.op, spec.target, recorded?.request),
        actual,
      });
      throw new FluxError(
        "ERR_REPLAY_DIVERGED",
        `Replay refused ${spec.op} ${spec.target}: its ${fields.join(", ")} differ from the recording`,
      );
    }
    this.#checkOrder(entry);
    this.#use(entry);
    if (entry.event.truncated || isTruncatedDeep(recorded?.result)) {
      this.#diverge({
        code: "truncated",
        seq: entry.event.seq,
        kind: spec.kind,
        op: spec.op,
        target: spec.target,
        message: `The recorded result of ${spec.op} ${spec.target} was cut by the size budget`,
      });
      throw new FluxError(
        "ERR_REPLAY_TRUNCATED",
        `Replay cannot serve ${spec.op} ${spec.target}: its recording was truncated`,
      );
    }
    if (recorded && "error" in recorded && recorded.error) {
      throw reviveError(recorded.error as Parameters<typeof reviveError>[0]);
    }
    return revive(recorded?.result);
  }

  #allowedLive(request: unknown): boolean {
    const r = request as { method?: unknown; url?: unknown } | undefined;
    return (
      typeof r?.method === "string" &&
      typeof r.url === "string" &&
      allowsLive(this.policy, r.method, r.url)
    );
  }

  /** Notes an effect served while an earlier one, finished before it in the recording, waits. */
  #checkOrder(entry: Entry): void {
    for (const other of this.#entries) {
      if (other.event.seq >= entry.event.seq) break;
      const o = other.event;
      if (
        !other.used &&
        o.parent === undefined &&
        EFFECT_KINDS.has(o.kind) &&
        o.at + (o.dur ?? 0) <= entry.event.at
      ) {
        this.#reorders.push({ entry, before: other });
        return;
      }
    }
  }

  #replayRead<T>(spec: ReadSpec<T>): T {
    const list = this.#streams.get(streamKey(spec.kind, spec.op, spec.target));
    const entry = spec.byTarget ? list?.[0] : list?.find((e) => !e.used);
    if (entry) {
      if (!entry.used) this.#use(entry);
      return spec.revive(entry.payload);
    }
    if (spec.fallback && spec.quiet) return spec.fallback();
    if (spec.fallback) {
      this.#diverge({
        code: "extra_call",
        seq: null,
        kind: spec.kind,
        op: spec.op,
        target: spec.target,
        message: spec.byTarget
          ? `${spec.kind} ${spec.target} was not read in the recording; the replay's own value was served`
          : `${spec.kind} ${spec.op} was read more often than recorded; a fixed value was served`,
      });
      return spec.fallback();
    }
    this.#diverge({
      code: "extra_call",
      seq: null,
      kind: spec.kind,
      op: spec.op,
      target: spec.target,
      message: `${spec.kind} ${spec.target} was not read in the recording`,
    });
    throw new FluxError(
      "ERR_REPLAY_UNRECORDED",
      `Replay has no recorded ${spec.kind} read of ${spec.target}`,
    );
  }

  /** Ends a replay: every unserved effect is a missing call. */
  findings(): ReplayFindings {
    const unconsumed: number[] = [];
    for (const e of this.#entries) {
      if (
        e.event.parent !== undefined ||
        e.used ||
        e.event.kind === "request" ||
        e.event.kind === "response" ||
        e.event.kind === "exception"
      )
        continue;
      unconsumed.push(e.event.seq);
      if (EFFECT_KINDS.has(e.event.kind)) {
        this.#diverge({
          code: "missing_call",
          seq: e.event.seq,
          kind: e.event.kind,
          op: e.event.op,
          target: e.event.target,
          message: `Recorded ${e.event.op} ${e.event.target} (event ${e.event.seq}) was not made in replay`,
          expected: describeCall(
            e.event.kind,
            e.event.op,
            e.event.target,
            (e.payload as { request?: unknown })?.request,
          ),
        });
      }
    }
    // A skipped effect that is made later is a reorder; one never made is a missing call.
    for (const { entry, before } of this.#reorders) {
      if (!before.used) continue;
      const e = entry.event;
      const o = before.event;
      this.#diverge({
        code: "reordered",
        seq: e.seq,
        kind: e.kind,
        op: e.op,
        target: e.target,
        message: `${e.op} ${e.target} ran before ${o.op} ${o.target} (event ${o.seq}), which had finished before it in the recording`,
        expected: { after: o.seq },
        actual: { before: o.seq },
      });
    }
    const divergences = this.#divergences
      .map((x, i) => ({ ...x, i }))
      .sort((a, b) => a.pos - b.pos || a.i - b.i)
      .map((x) => x.d);
    return { divergences, served: [...this.#served], unconsumed, live: [...this.#live] };
  }
}

function streamKey(kind: string, op: string, target: string): string {
  return `${kind}\0${op}\0${target}`;
}

function isTruncatedDeep(data: unknown): boolean {
  if (isTruncated(data)) return true;
  if (typeof data !== "object" || data === null || data instanceof Uint8Array) return false;
  for (const v of Object.values(data)) if (isTruncated(v)) return true;
  return false;
}
