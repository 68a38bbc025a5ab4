/**
 * Runtime-agnostic recording: open a session for an incoming request, run the handler in it,
 * then (after the response, in the background) close the trace, seal it and hand it to a sink.
 * @module
 */
import { FluxError, isFluxError } from "../errors.js";
import type { ResolvedOptions } from "../options.js";
import type { SinkDrops } from "../contract/ingest.js";
import { countDrop, dropReasonOf, traceKey, type TraceSink } from "../sink/_sink.js";
import { encodePayloadList, sealV3 } from "../trace/_writer.js";
import { eventFacts } from "../trace/_facts.js";
import { encodeCbor } from "../trace/_cbor.js";
import { ReusedWriter } from "../trace/_encode.js";
import type { HandlerKind, Outcome, TraceEvent, TraceHead, TraceSummary } from "../trace/schema.js";
import type { PublicJwk } from "../trace/keys.js";
import { loadSigner, type SigningJwk } from "../trace/_sign.js";
import { consoleMethods, mathRandom, newTraceId, now } from "../originals.js";
import { Deferred, runInSession, sessionsReady } from "./session.js";
import { formatFrame, parseStack } from "./site.js";
import { RecordSession } from "./record-session.js";
import { errorData, recordable, sha256Hex, type Unencodable } from "./values.js";

/** Counters of this isolate's recorder, for diagnostics. */
export interface FluxStats {
  recorded: number;
  stored: number;
  sampledOut: number;
  /** Traces lost: not stored (a configuration error, a sink that gave up). */
  failed: number;
  /** Of `failed`, the traces a sink gave up on, by reason (`timeout`, `spool_full`...). */
  dropped: SinkDrops;
  lastErrorCode: string | null;
}

const stats: FluxStats = {
  recorded: 0,
  stored: 0,
  sampledOut: 0,
  failed: 0,
  dropped: {},
  lastErrorCode: null,
};

/**
 * This isolate's recorder counters: traces recorded, stored, sampled out, failed to store (and
 * why a sink dropped them). A trace handed to a sink is counted once its write settles.
 *
 * @example
 * ```ts
 * app.get("/_flux", (c) => c.json(fluxStats()));
 * ```
 */
export function fluxStats(): Readonly<FluxStats> {
  return { ...stats, dropped: { ...stats.dropped } };
}

/** What started an execution, and how its input and result become trace events. */
export interface Trigger<T = unknown> {
  handler: HandlerKind;
  /** The Durable Object or entrypoint class, when not the default export. */
  entry?: string;
  /** Summary method and route: `POST` `/orders`, `SCHEDULED` `0 * * * *`, `QUEUE` `jobs`. */
  method: string;
  route: string;
  /** The request event: op and target (`POST` `/orders`, `queue` `jobs`). */
  op: string;
  target: string;
  /**
   * The request event's sealed payload (read outside the session: FluxRun's own work). With
   * `sampled` false, it may be a {@link Deferred}: read only if the execution fails.
   */
  capture(limit: number, sampled: boolean): unknown;
  /**
   * The result event of a normal return. With `sampled` false, the payload may be a
   * {@link Deferred}: read only if the execution turns out to have failed.
   */
  result(
    value: T,
    limit: number,
    sampled: boolean,
  ): { op: string; status?: number; payload: unknown };
  /** Clear facts of the trigger for search: the `cf-ray` header and `request.cf.colo`. */
  cfRay?: string;
  colo?: string;
  /** An API the trigger itself uses that replay cannot serve (an incoming WebSocket upgrade). */
  unsupported?: { op: string; target: string };
}

export interface Recording {
  session: RecordSession;
  /** Drawn at the start: an execution the sample leaves out is kept only if it fails. */
  sampled: boolean;
  id: string;
  start: number;
  trigger: Trigger<never>;
}

/** Opens a record session and captures what started the execution. */
export function beginRecording<T>(
  trigger: Trigger<T>,
  env: Record<string, unknown>,
  resolved: ResolvedOptions,
): Recording {
  const sampled = resolved.sample >= 1 || mathRandom() < resolved.sample;
  const session = new RecordSession({
    limits: resolved.limits,
    env,
    maskHeaders: resolved.maskHeaders,
    sampled,
    unreadBodies: resolved.unreadBodies,
  });
  const start = now();
  const recording = {
    session,
    sampled,
    id: newTraceId(start),
    start,
    trigger: trigger as Trigger<never>,
  };
  const payload = runInSession(undefined, () =>
    trigger.capture(session.limits.maxBodyBytes, sampled),
  );
  if (payload instanceof Promise || payload instanceof Deferred) {
    session.pushLater("request", trigger.op, trigger.target, payload);
  } else session.push("request", trigger.op, trigger.target, payload);
  if (trigger.unsupported) {
    session.note("unsupported", trigger.unsupported.op, trigger.unsupported.target, null);
  }
  return recording;
}

/** An answer with this status is a failure: its trace is kept whatever the sample drew. */
export function failedStatus(status: number): boolean {
  return status >= 500;
}

/** Records a normal return (a Response's body is read from a copy, in the background). */
export function recordResult<T>(rec: Recording, value: T): void {
  const trigger = rec.trigger as unknown as Trigger<T>;
  const r = runInSession(undefined, () =>
    trigger.result(value, rec.session.limits.maxBodyBytes, rec.sampled),
  );
  const extra = r.status === undefined ? {} : { status: r.status };
  if (r.payload instanceof Promise || r.payload instanceof Deferred) {
    rec.session.pushLater("response", r.op, trigger.route, r.payload, extra);
  } else rec.session.push("response", r.op, trigger.route, r.payload, extra);
  // Left out by the sample and answered below 500: the outcome is ok, so the trace is not kept.
  // Known now, not at the end: what it held is let go and `waitUntil` work is not captured.
  if (!rec.sampled && !failedStatus(r.status ?? 0)) rec.session.abandon();
}

/** Records a thrown error; its site is the top of its own stack. */
export function recordException(rec: Recording, err: unknown): void {
  const data = errorData(err);
  const site = data.stack ? parseStack(data.stack) : [];
  rec.session.push("exception", data.name, rec.trigger.route, data, {
    error: data.name,
    ...(site.length ? { site } : {}),
  });
}

let reported = false;

/** Logs a configuration error once per isolate (no payload in it), then rethrows it. */
function reportOnce(err: unknown): never {
  if (!reported && isFluxError(err)) {
    reported = true;
    consoleMethods.error(`[fluxrun] ${err.code}: ${err.message}`);
  }
  throw err;
}

/** Where a finished trace goes. */
export interface StoreTarget {
  app: string;
  runtime: string;
  sink: TraceSink | undefined;
  publicKey: string | PublicJwk | undefined;
  /** The Ed25519 key traces are signed with (their origin); unsigned without one. */
  signingKey: string | SigningJwk | undefined;
  /** The release (script version) that ran, when known. */
  release?: string | undefined;
}

/** How an adapter runs one recorded execution. */
export interface ExecutionSettings {
  resolved: ResolvedOptions;
  /** The real env (bindings unwrapped), for fluxENV. */
  env: Record<string, unknown>;
  /** Where the trace goes, resolved when it closes. */
  store(): StoreTarget;
  /** Keeps the closing work alive after the result (`ctx.waitUntil`). */
  defer(work: Promise<void>): void;
}

/**
 * Runs one execution in a record session: the trigger is captured, `run` is called inside the
 * session, its result or thrown error is recorded, and the trace is closed, sealed and stored in
 * the background (`defer`). The result or error is handed back unchanged.
 *
 * @example
 * ```ts
 * return recordExecution(fetchTrigger(request, route), settings, () => app.fetch(request, env, ctx));
 * ```
 */
export async function recordExecution<T>(
  trigger: Trigger<T>,
  settings: ExecutionSettings,
  run: (session: RecordSession) => T | Promise<T>,
): Promise<T> {
  const ready = sessionsReady();
  if (ready) await ready.catch((err: unknown) => reportOnce(err));
  const rec = beginRecording(trigger, settings.env, settings.resolved);
  const close = () =>
    settings.defer(finishRecording(rec, settings.resolved, () => settings.store()));
  let value: T;
  try {
    value = await runInSession(rec.session, () => run(rec.session));
  } catch (err) {
    recordException(rec, err);
    close();
    throw err;
  }
  recordResult(rec, value);
  close();
  return value;
}

function summarize(rec: Recording, target: StoreTarget, truncated: boolean): TraceSummary {
  const { trigger } = rec;
  const { session } = rec;
  const { eventCounts, fetches } = eventFacts(session.events);
  let status = 0;
  let errorClass: string | undefined;
  // Frameworks such as Hono catch the error, log it and answer 500: the logged class stands in.
  let loggedError: string | undefined;
  let thrownAt: TraceEvent["site"];
  let loggedAt: TraceEvent["site"];
  for (const e of session.events) {
    if (e.kind === "response") status = e.status ?? 0;
    if (e.kind === "exception") {
      errorClass = e.error;
      thrownAt = e.site;
    } else if (e.kind === "console" && e.op === "error" && e.error && loggedError === undefined) {
      loggedError = e.error;
      loggedAt = e.site;
    }
  }
  const outcome: Outcome =
    errorClass !== undefined ? "exception" : failedStatus(status) ? "error" : "ok";
  const summary: TraceSummary = {
    traceId: rec.id,
    app: target.app,
    route: trigger.route,
    method: trigger.method,
    status: errorClass !== undefined ? 500 : status,
    outcome,
    start: rec.start,
    durationMs: Math.round(session.elapsed() / 10) / 100,
    eventCounts,
    fetches,
    truncated,
    runtime: target.runtime,
  };
  if (trigger.handler !== "fetch") summary.handler = trigger.handler;
  if (trigger.entry !== undefined) summary.entry = trigger.entry;
  if (target.release) summary.release = target.release.slice(0, 64);
  if (trigger.cfRay) summary.cfRay = trigger.cfRay.slice(0, 64);
  if (trigger.colo) summary.colo = trigger.colo.slice(0, 16);
  let top: TraceEvent["site"];
  if (errorClass !== undefined) {
    summary.errorClass = errorClass;
    top = thrownAt;
  } else if (outcome === "error" && loggedError !== undefined) {
    summary.errorClass = loggedError;
    top = loggedAt;
  }
  const frame = top?.[0];
  if (frame) summary.topFrame = formatFrame(frame).slice(0, 200);
  return summary;
}

/**
 * A payload as the trace can hold it: a field outside the data model (a call's `request` or
 * `result`) becomes a marker, and the marker's type is returned to flag the event.
 */
function keepable(payload: unknown): { value: unknown; unencodable?: string } {
  const whole = recordable(payload);
  if (whole === payload) return { value: payload };
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { value: whole, unencodable: (whole as Unencodable).unencodable };
  }
  let unencodable: string | undefined;
  const value: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) {
    const kept = recordable(v);
    if (kept !== v) unencodable ??= (kept as Unencodable).unencodable;
    value[k] = kept;
  }
  return unencodable === undefined ? { value } : { value, unencodable };
}

/** The payload writer of this isolate (see {@link encodePayloads}). */
const payloadWriter = new ReusedWriter(16 * 1024, { compact: true });

/**
 * Encodes the payload list once, into one buffer. A payload outside the data model (a Map a host
 * call returned) is kept as a marker instead and its event flagged, so the reader can always read
 * the trace and preflight and replay refuse that call. Over the trace budget, the largest payloads
 * are replaced with truncation markers (size and digest) until it fits, and their events flagged.
 */
async function encodePayloads(session: RecordSession): Promise<Uint8Array> {
  const { payloads, events } = session;
  const sizes: number[] = [];
  const whole = payloadWriter.write((w) => {
    w.head(4, payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      const mark = w.length;
      const p = payloads[i] === undefined ? null : payloads[i];
      try {
        w.value(p);
      } catch {
        w.rewind(mark);
        const { value, unencodable } = keepable(p);
        const event = events[i];
        if (unencodable && event) event.info = { ...event.info, unencodable };
        payloads[i] = value;
        w.value(value);
      }
      sizes.push(w.length - mark);
    }
  });
  const limit = session.limits.maxTraceBytes;
  if (whole.length <= limit) return whole;
  let total = whole.length;
  const largest = sizes.map((size, i) => ({ i, size })).sort((a, b) => b.size - a.size);
  for (const { i, size } of largest) {
    if (total <= limit) break;
    const bytes = encodeCbor(payloads[i] ?? null);
    payloads[i] = { truncated: true, size, sha256: await sha256Hex(bytes) };
    total -= size - 100;
    const event = events[i];
    if (event) event.truncated = true;
  }
  return encodePayloadList(payloads);
}

/**
 * Closes a recording after the response and every tracked task settled: builds head and
 * payloads, applies sampling, seals and writes. Never throws: failures are counted and reported.
 */
export function finishRecording(
  rec: Recording,
  resolved: ResolvedOptions,
  store: () => StoreTarget,
): Promise<void> {
  return runInSession(undefined, async () => {
    stats.recorded++;
    let writing = false;
    try {
      await rec.session.settle();
      const target = store();
      const { session } = rec;
      // From here on the trace is fixed: late, untracked work is counted as dropped.
      session.close();
      // Sampling was drawn at the start; an execution left out is still kept when it failed.
      if (!rec.sampled && summarize(rec, target, false).outcome === "ok") {
        session.discard();
        stats.sampledOut++;
        return;
      }
      await session.materialize();
      session.resolveSites();
      session.markTruncated();
      const payloadBytes = await encodePayloads(session);
      const truncatedPayloads = session.events.filter((e) => e.truncated).length;
      const summary = summarize(rec, target, truncatedPayloads > 0 || session.droppedEvents > 0);
      if (!target.sink)
        throw new FluxError(
          "ERR_CONFIG",
          "No trace sink: bind an R2 bucket as FLUX_TRACES or pass `sink`",
        );
      if (!target.publicKey)
        throw new FluxError("ERR_CONFIG", "No public key: set FLUX_PUBLIC_KEY or pass `publicKey`");
      const head: Omit<TraceHead, "recipient" | "version"> = {
        id: rec.id,
        summary,
        events: session.events,
        masks: { headers: [...resolved.maskHeaders], fields: [...resolved.maskFields] },
        // payloadBytes is filled in by the writer from the encoded payload list.
        stats: { droppedEvents: session.droppedEvents, truncatedPayloads, payloadBytes: 0 },
      };
      const signer = target.signingKey ? await loadSigner(target.signingKey) : undefined;
      const bytes = await sealV3(head, payloadBytes, target.publicKey, { now: now(), signer });
      writing = true;
      await target.sink.write({ key: traceKey(summary), bytes, summary });
      stats.stored++;
    } catch (cause) {
      stats.failed++;
      const err = isFluxError(cause)
        ? cause
        : new FluxError("ERR_SINK_WRITE", "Could not store the trace", { cause });
      stats.lastErrorCode = err.code;
      if (writing) countDrop(stats.dropped, dropReasonOf(cause));
      const reason = cause instanceof Error && !isFluxError(cause) ? ` (${cause.name})` : "";
      consoleMethods.warn(
        `[fluxrun] ${err.code}: ${err.message}${reason}; ${stats.failed} trace(s) lost in this isolate. The response was not affected.`,
      );
      try {
        resolved.options.onError?.(err);
      } catch {
        // a failing onError must not break the request either
      }
    } finally {
      // Copies still held (the trace failed before it read them) are let go.
      rec.session.discard();
    }
  });
}
