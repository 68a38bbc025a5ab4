/**
 * What every boundary talks to: the session of the running execution, found through
 * AsyncLocalStorage. Two objects implement it: a {@link RecordSession} collects events and
 * payloads, a {@link Player} serves them back in recorded time and lists every divergence.
 * Boundaries describe a call (kind, op, target, request) and how to capture and revive its
 * result; neither side branches on a boundary's kind.
 * @module
 */
import type { AsyncLocalStorage } from "node:async_hooks";
import { FluxError } from "../errors.js";
import type { EventKind, TraceEvent } from "../trace/schema.js";
import type { VirtualClock } from "./clock.js";
import type { RawSite } from "./site.js";
import type { SessionLimits, UnreadBodies } from "../options.js";

export { DEFAULT_LIMITS, type SessionLimits, type UnreadBodies } from "../options.js";

type ClearInfo = NonNullable<TraceEvent["info"]>;

/**
 * A payload read only if the trace is kept: an execution the sample left out holds a copy of a
 * body and reads it once it failed, or drops it (cancels the copy) once it ended ok.
 */
export class Deferred {
  constructor(
    readonly read: () => Promise<unknown>,
    readonly drop: () => void,
  ) {}
}

/** How an async boundary call is recorded and replayed. */
export interface CallSpec<T> {
  kind: EventKind;
  op: string;
  target: string;
  write?: boolean;
  /** The request as sealed data; replay matches calls by it. */
  request: unknown;
  info?: ClearInfo;
  live(): Promise<T>;
  /** Turns the live value into recordable data (maybe later) and the value handed back. */
  capture(
    value: T,
    addInfo: (info: ClearInfo) => void,
  ): { value: T; data: unknown; status?: number };
  /**
   * Builds the value handed back in replay from recorded data. `unread` reports (once) that the
   * app read a body the recording never read.
   */
  revive(data: unknown, unread: () => void): T;
  /** True when `live` runs user code (fluxHost): calls inside it are recorded as its children. */
  nests?: boolean;
  /** Differing request fields; default: top-level structural comparison. */
  compare?(recorded: unknown, actual: unknown): string[];
  /**
   * For a write whose result carries nothing (a KV put, a queue send): the value handed back when
   * replay blocks it because the trace lacks it. The app goes on; the report names the call.
   * Without it, an unrecorded call rejects.
   */
  blocked?(): T;
  /** The stack where the app made the call, captured at the boundary's entry. */
  site?: RawSite | undefined;
}

/** How a synchronous IO call (DO SQL, a D1 session bookmark, a message ack) is handled. */
export interface SyncCallSpec<T> {
  kind: EventKind;
  op: string;
  target: string;
  write?: boolean;
  request: unknown;
  live(): T;
  /** As {@link CallSpec.blocked}. */
  blocked?(): T;
  site?: RawSite | undefined;
}

/** How a synchronous read (clock, random, env) is recorded and replayed. */
export interface ReadSpec<T> {
  kind: EventKind;
  op: string;
  target: string;
  /** Recorded once per execution and looked up by target in replay (env reads). */
  byTarget?: boolean;
  live(): T;
  encode?(value: T): unknown;
  revive(data: unknown): T;
  /** Value served when replay runs out of recorded reads (also reported, unless `quiet`). */
  fallback?(): T;
  /** A missing recorded read is not a divergence (the env shape of an old trace). */
  quiet?: boolean;
}

/** Rules a replay compares requests with: header names and JSON paths to ignore. */
export interface CompareRules {
  ignore: { headers: readonly string[]; jsonPaths: readonly string[] };
}

/** What boundaries need from the session of the running execution. */
export interface Session {
  readonly mode: "record" | "replay";
  /**
   * False in an execution the sample left out when it started: it is kept only if it fails, so
   * boundaries capture no call sites and put off reading bodies ({@link Deferred}) until the
   * outcome is known. Always true in replay.
   */
  readonly sampled: boolean;
  readonly limits: SessionLimits;
  /** What a recording keeps of a response body the app never read ("keep" in replay). */
  readonly unreadBodies: UnreadBodies;
  /** The real env of the execution (bindings unwrapped), for fluxENV. */
  readonly env: Record<string, unknown>;
  /** Lower-cased header names whose values are masked. */
  readonly maskHeaders: ReadonlySet<string>;
  /** Noise a replay ignores when comparing (replay only). */
  readonly rules?: CompareRules | undefined;
  /** The clock replayed timers run on (replay only). */
  readonly clock?: VirtualClock | undefined;
  call<T>(spec: CallSpec<T>): Promise<T>;
  callSync<T>(spec: SyncCallSpec<T>): T;
  read<T>(spec: ReadSpec<T>): T;
  /** An event with no result to serve (console, unsupported API use). */
  note(
    kind: EventKind,
    op: string,
    target: string,
    payload: unknown,
    extra?: Partial<TraceEvent>,
    site?: RawSite,
  ): void;
  /** Work the execution must wait for before it closes (`waitUntil`). */
  track(p: Promise<unknown>): void;
  /** Waits for tracked work, including work tracked while waiting. */
  settle(): Promise<void>;
  /** A value computed once per execution under `key`. */
  memo<T>(key: string, make: () => T): T;
  /** Microseconds since the execution started (virtual in replay). */
  elapsed(): number;
}

/** What the async context holds: the session, and the host call we are inside, if any. */
interface Scope {
  session: Session;
  parent?: number;
}

/**
 * AsyncLocalStorage, loaded on the first execution rather than at module load: a worker without
 * `nodejs_compat` (or `nodejs_als`) then starts, and its first request fails with one line naming
 * the flag, in dev and production alike, instead of a startup error about a missing module.
 */
let storage: AsyncLocalStorage<Scope | undefined> | undefined;
let loading: Promise<void> | undefined;

/** The flag a worker needs, as its first failed request says it. */
export const ALS_FLAG_MESSAGE =
  'withFlux needs AsyncLocalStorage: add compatibility_flags = ["nodejs_compat"] (or "nodejs_als") to your wrangler config';

/** Loads AsyncLocalStorage once; throws FluxError ERR_CONFIG naming the flag when it is missing. */
export function sessionsReady(): Promise<void> | undefined {
  if (storage) return undefined;
  loading ??= import("node:async_hooks").then(
    (m) => {
      storage ??= new m.AsyncLocalStorage<Scope | undefined>();
    },
    (cause: unknown) => {
      loading = undefined;
      throw new FluxError("ERR_CONFIG", ALS_FLAG_MESSAGE, { cause });
    },
  );
  return loading;
}

/** The session of the running execution, if any. */
export function currentSession(): Session | undefined {
  return storage?.getStore()?.session;
}

/** The host call (event seq) the running code is inside, if any. */
export function currentParent(): number | undefined {
  return storage?.getStore()?.parent;
}

/** Runs `fn` inside `session` (or outside any, for FluxRun's own work). */
export function runInSession<T>(session: Session | undefined, fn: () => T): T {
  if (!storage) {
    if (session) throw new FluxError("ERR_CONFIG", ALS_FLAG_MESSAGE);
    return fn();
  }
  return storage.run(session ? { session } : undefined, fn);
}

/** Runs `fn` inside `session` with every call it makes recorded as a child of event `parent`. */
export function runNested<T>(session: Session, parent: number, fn: () => T): T {
  if (!storage) throw new FluxError("ERR_CONFIG", ALS_FLAG_MESSAGE);
  return storage.run({ session, parent }, fn);
}

/** Key of a stream of like events: kind, op and target. */
export function streamKey(kind: string, op: string, target: string): string {
  return `${kind}\0${op}\0${target}`;
}
