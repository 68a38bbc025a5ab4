/**
 * The harness side of a replay, runtime-agnostic: turn an opened trace into an envelope, send it
 * to the app through any fetch-like target (Miniflare's dispatchFetch, a service binding), and
 * turn the answer into a report.
 * @module
 */
import type { JWK } from "jose";
import { FluxError, isFluxError } from "../errors.js";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import { checkFirst } from "../trace/_check.js";
import type { PlainTrace } from "../trace/seal.js";
import { REPLAY_AUTH_HEADER } from "./authorize.js";
import { signReplay } from "./_sign.js";
import { ENVELOPE_LIMITS, REPLAY_HEADER, ReplayResult, type ReplayEnvelope } from "./envelope.js";
import { buildReport, type ReplayReport } from "./report.js";
import type { ReplayPolicy } from "./policy.js";

/** Anything that can deliver a request to the app: a Fetcher, or Miniflare's dispatchFetch. */
export type ReplayTarget = (request: Request) => Promise<Response>;

/** The envelope bytes for an opened trace. */
export function encodeEnvelope(trace: PlainTrace, policy?: ReplayPolicy): Uint8Array {
  return encodeCbor(envelopeOf(trace, policy));
}

/** The replay envelope of an opened trace: what to run, with every recorded event. */
export function envelopeOf(trace: PlainTrace, policy?: ReplayPolicy): ReplayEnvelope {
  const { handler, entry } = trace.head.summary;
  const envelope: ReplayEnvelope = {
    version: 1,
    traceId: trace.head.id,
    ...(handler === undefined ? {} : { handler }),
    ...(entry === undefined ? {} : { entry }),
    events: trace.head.events,
    payloads: trace.payloads,
    ...(policy ? { policy } : {}),
  };
  return envelope;
}

/** How the app is told this is a replay: the harness secret, or an agent signature. */
export type ReplayCredential = { secret: string } | { signingKey: JWK };

/**
 * Replays an opened trace through `target` and builds the report.
 *
 * @example
 * ```ts
 * const report = await replayThrough((r) => env.APP.fetch(r), opened, { signingKey });
 * ```
 */
export async function replayThrough(
  target: ReplayTarget,
  trace: PlainTrace,
  credential: ReplayCredential,
  options: { liveNetworkAttempts?: () => number; policy?: ReplayPolicy; values?: boolean } = {},
): Promise<ReplayReport> {
  const body = encodeEnvelope(trace, options.policy);
  const headers = new Headers({ "content-type": "application/cbor" });
  if ("secret" in credential) headers.set(REPLAY_HEADER, credential.secret);
  else
    headers.set(
      REPLAY_AUTH_HEADER,
      await signReplay(body, credential.signingKey, { traceId: trace.head.id }),
    );
  const before = options.liveNetworkAttempts?.() ?? 0;
  const res = await target(
    new Request("https://fluxrun.replay/", { method: "POST", headers, body: body as BodyInit }),
  );
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.headers.get("content-type") !== "application/cbor") {
    let detail = `status ${res.status}`;
    try {
      const j = JSON.parse(new TextDecoder().decode(bytes)) as {
        error?: { code?: string; message?: string };
      };
      if (j.error?.message) detail = `${j.error.code}: ${j.error.message}`;
    } catch {
      // not JSON: the worker did not run withFlux's replay path
    }
    throw new FluxError(
      "ERR_REPLAY_ENVELOPE",
      `The worker did not answer the replay (${detail}); is its default export wrapped with withFlux()?`,
    );
  }
  let raw: unknown;
  try {
    raw = decodeCbor(bytes, { limits: ENVELOPE_LIMITS, what: "worker's replay answer" });
  } catch (cause) {
    const message = isFluxError(cause) ? cause.message : "The worker's replay answer is not CBOR";
    throw new FluxError("ERR_REPLAY_ENVELOPE", message, { cause });
  }
  const parsed = checkFirst(ReplayResult, raw);
  if (!parsed.success)
    throw new FluxError(
      "ERR_REPLAY_ENVELOPE",
      `The worker's replay answer does not match the schema (at ${parsed.path})`,
    );
  const live = (options.liveNetworkAttempts?.() ?? 0) - before;
  return buildReport(trace, parsed.data, {
    liveNetworkAttempts: live,
    ...(options.policy ? { policy: options.policy } : {}),
    ...(options.values ? { values: true } : {}),
  });
}
