/**
 * Runtime-agnostic recording: open a session for an incoming request, run the handler in it,
 * then (after the response, in the background) close the trace, seal it and hand it to a sink.
 * @module
 */
import { FluxError, isFluxError } from "../errors.js";
import type { ResolvedOptions } from "../options.js";
import { traceKey, type TraceSink } from "../sink/_sink.js";
import { sealEncoded } from "../trace/seal.js";
import { encodeCbor } from "../trace/_cbor.js";
import type { Outcome, TraceHead, TraceSummary } from "../trace/schema.js";
import type { PublicJwk } from "../trace/keys.js";
import { captureRequest, captureResponse, httpTarget } from "../boundaries/http.js";
import { consoleMethods, mathRandom, newTraceId, now } from "./originals.js";
import { runInSession, Session } from "./session.js";
import { errorData, sha256Hex } from "./values.js";

/** Counters of this isolate's recorder, for diagnostics. */
export interface FluxStats {
  recorded: number;
  stored: number;
  sampledOut: number;
  failed: number;
  lastErrorCode: string | null;
}

const stats: FluxStats = { recorded: 0, stored: 0, sampledOut: 0, failed: 0, lastErrorCode: null };

/**
 * This isolate's recorder counters: traces recorded, stored, sampled out, failed to store.
 *
 * @example
 * ```ts
 * app.get("/_flux", (c) => c.json(fluxStats()));
 * ```
 */
export function fluxStats(): Readonly<FluxStats> {
  return { ...stats };
}

export interface Recording {
  session: Session;
  id: string;
  start: number;
  request: Request;
  route: string;
}

/** Opens a record session and captures the incoming request. */
export function beginRecording(
  request: Request,
  env: Record<string, unknown>,
  resolved: ResolvedOptions,
): Recording {
  const session = new Session("record", { limits: resolved.limits });
  session.env = env;
  session.maskHeaders = resolved.maskHeaders;
  let route: string;
  try {
    route = resolved.route(request);
  } catch {
    route = httpTarget(request.url);
  }
  const start = now();
  const recording = { session, id: newTraceId(start), start, request, route };
  session.pushLater(
    "request",
    request.method,
    route,
    runInSession(undefined, () => captureRequest(request, session.limits.maxBodyBytes)),
  );
  return recording;
}

/** Records the handler's response (its body read from a copy, in the background). */
export function recordResponse(rec: Recording, response: Response): void {
  rec.session.pushLater(
    "response",
    String(response.status),
    rec.route,
    captureResponse(response, rec.session.limits.maxBodyBytes),
    {
      status: response.status,
    },
  );
}

/** Records a thrown error. */
export function recordException(rec: Recording, err: unknown): void {
  const data = errorData(err);
  rec.session.push("exception", data.name, rec.route, data, { error: data.name });
}

function summarize(rec: Recording, app: string, runtime: string, truncated: boolean): TraceSummary {
  const { session } = rec;
  const counts: Record<string, number> = {};
  const fetches: TraceSummary["fetches"] = [];
  let status = 0;
  let errorClass: string | undefined;
  // Frameworks such as Hono catch the error, log it and answer 500: the logged class stands in.
  let loggedError: string | undefined;
  for (const e of session.events) {
    counts[e.kind] = (counts[e.kind] ?? 0) + 1;
    if (e.kind === "fetch" && fetches.length < 32) {
      const host = e.target.split("/")[0] ?? "";
      fetches.push(
        e.status === undefined ? { host, method: e.op } : { host, method: e.op, status: e.status },
      );
    }
    if (e.kind === "response") status = e.status ?? 0;
    if (e.kind === "exception") errorClass = e.error;
    else if (e.kind === "console" && e.op === "error" && e.error && loggedError === undefined)
      loggedError = e.error;
  }
  const outcome: Outcome = errorClass !== undefined ? "exception" : status >= 500 ? "error" : "ok";
  const summary: TraceSummary = {
    traceId: rec.id,
    app,
    route: rec.route,
    method: rec.request.method,
    status: errorClass !== undefined ? 500 : status,
    outcome,
    start: rec.start,
    durationMs: Math.round(session.elapsed() / 10) / 100,
    eventCounts: counts,
    fetches,
    truncated,
    runtime,
  };
  if (errorClass !== undefined) summary.errorClass = errorClass;
  else if (outcome === "error" && loggedError !== undefined) summary.errorClass = loggedError;
  return summary;
}

/**
 * Encodes the payload list once; when it is over the trace budget, replaces the largest payloads
 * with truncation markers (size and digest) until it fits, and flags their events.
 */
async function fitPayloads(payloads: unknown[], session: Session): Promise<Uint8Array> {
  let bytes = encodeCbor(payloads);
  const limit = session.limits.maxTraceBytes;
  if (bytes.length <= limit) return bytes;
  const sized = payloads
    .map((p, i) => ({ i, bytes: encodeCbor(p) }))
    .sort((a, b) => b.bytes.length - a.bytes.length);
  let total = bytes.length;
  for (const { i, bytes: b } of sized) {
    if (total <= limit) break;
    payloads[i] = { truncated: true, size: b.length, sha256: await sha256Hex(b) };
    total -= b.length - 100;
    const event = session.events[i];
    if (event) event.truncated = true;
  }
  bytes = encodeCbor(payloads);
  return bytes;
}

/**
 * Closes a recording after the response and every tracked task settled: builds head and
 * payloads, applies sampling, seals and writes. Never throws: failures are counted and reported.
 */
export function finishRecording(
  rec: Recording,
  resolved: ResolvedOptions,
  target: {
    app: string;
    runtime: string;
    sink: TraceSink | undefined;
    publicKey: string | PublicJwk | undefined;
  },
): Promise<void> {
  return runInSession(undefined, async () => {
    stats.recorded++;
    try {
      await rec.session.settle();
      const { session } = rec;
      // From here on the trace is fixed: late, untracked work is counted as dropped.
      session.closed = true;
      const payloads = session.payloads.map((p) => (p === undefined ? null : p));
      const payloadBytes = await fitPayloads(payloads, session);
      const truncatedPayloads = session.events.filter((e) => e.truncated).length;
      const summary = summarize(
        rec,
        target.app,
        target.runtime,
        truncatedPayloads > 0 || session.droppedEvents > 0,
      );
      if (summary.outcome === "ok" && resolved.sample < 1 && mathRandom() >= resolved.sample) {
        stats.sampledOut++;
        return;
      }
      if (!target.sink)
        throw new FluxError(
          "ERR_CONFIG",
          "No trace sink: bind an R2 bucket as FLUX_TRACES or pass `sink`",
        );
      if (!target.publicKey)
        throw new FluxError("ERR_CONFIG", "No public key: set FLUX_PUBLIC_KEY or pass `publicKey`");
      const head: Omit<TraceHead, "recipient"> = {
        id: rec.id,
        version: 1,
        summary,
        events: session.events,
        masks: { headers: [...resolved.maskHeaders], fields: [...resolved.maskFields] },
        // payloadBytes is filled in by sealEncoded from the encoded payload list.
        stats: { droppedEvents: session.droppedEvents, truncatedPayloads, payloadBytes: 0 },
      };
      const bytes = await sealEncoded(head, payloadBytes, target.publicKey);
      await target.sink.write({ key: traceKey(summary), bytes, summary });
      stats.stored++;
    } catch (cause) {
      stats.failed++;
      const err = isFluxError(cause)
        ? cause
        : new FluxError("ERR_SINK_WRITE", "Could not store the trace", { cause });
      stats.lastErrorCode = err.code;
      const reason = cause instanceof Error && !isFluxError(cause) ? ` (${cause.name})` : "";
      consoleMethods.warn(
        `[fluxrun] ${err.code}: ${err.message}${reason}; ${stats.failed} trace(s) lost in this isolate. The response was not affected.`,
      );
      try {
        resolved.options.onError?.(err);
      } catch {
        // a failing onError must not break the request either
      }
    }
  });
}
