/**
 * Runs one replay inside the app's runtime: rebuild the recorded request, run the handler in a
 * replay session (every boundary served from the trace), collect the response or error and the
 * findings. Runtime adapters call this; it does not know which runtime it is in.
 * @module
 */
import { FluxError } from "../errors.js";
import { buildRequest } from "../boundaries/http.js";
import { runInSession, Session } from "../internal/session.js";
import { errorData, readStream } from "../internal/values.js";
import { HttpRequestData } from "../trace/schema.js";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import { ReplayEnvelope, type ReplayResult } from "./envelope.js";
import { headerPairs } from "../internal/values.js";

/** Decodes and checks a replay envelope. */
export function decodeEnvelope(bytes: Uint8Array): ReplayEnvelope {
  let raw: unknown;
  try {
    raw = decodeCbor(bytes);
  } catch (cause) {
    throw new FluxError(
      "ERR_REPLAY_ENVELOPE",
      "Could not read the replay envelope: it is not valid CBOR",
      { cause },
    );
  }
  const parsed = ReplayEnvelope.safeParse(raw);
  if (!parsed.success || parsed.data.events.length !== parsed.data.payloads.length) {
    throw new FluxError(
      "ERR_REPLAY_ENVELOPE",
      "Could not read the replay envelope: it does not match the schema",
    );
  }
  return parsed.data;
}

export function encodeResult(result: ReplayResult): Uint8Array {
  return encodeCbor(result);
}

/**
 * Replays one recorded execution through `invoke` (the wrapped handler's inner call).
 */
export async function executeReplay(
  envelope: ReplayEnvelope,
  invoke: (request: Request, session: Session) => Promise<Response>,
  options: { env: Record<string, unknown>; maskHeaders?: ReadonlySet<string> },
): Promise<ReplayResult> {
  const first = envelope.events[0];
  const req = HttpRequestData.safeParse(envelope.payloads[0]);
  if (first?.kind !== "request" || !req.success) {
    throw new FluxError("ERR_REPLAY_ENVELOPE", "The trace has no recorded request to replay");
  }
  if (first.truncated) {
    throw new FluxError(
      "ERR_REPLAY_TRUNCATED",
      "The recorded request body was truncated; it cannot be replayed",
    );
  }
  const session = new Session("replay", {
    recorded: { events: envelope.events, payloads: envelope.payloads },
  });
  session.env = options.env;
  if (options.maskHeaders) session.maskHeaders = options.maskHeaders;
  session.policy = envelope.policy;
  let consoleCount = 0;
  session.onConsole = () => consoleCount++;
  const request = buildRequest(req.data);
  let response: ReplayResult["response"] = null;
  let error: ReplayResult["error"] = null;
  try {
    const res = await runInSession(session, () => invoke(request, session));
    const body = await readStream(res.body, Infinity);
    response = {
      status: res.status,
      statusText: res.statusText,
      headers: headerPairs(res.headers),
      body: body instanceof Uint8Array ? body : null,
    };
  } catch (err) {
    error = errorData(err);
  }
  await session.settle();
  const findings = session.findings();
  return {
    version: 1,
    traceId: envelope.traceId,
    response,
    error,
    divergences: findings.divergences,
    served: findings.served,
    unconsumed: findings.unconsumed,
    console: consoleCount,
    live: findings.live,
  };
}
