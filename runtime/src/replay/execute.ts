/**
 * Runs one replay inside the app's runtime: rebuild the recorded request, run the handler in a
 * replay session (every boundary served from the trace), collect the response or error and the
 * findings. Runtime adapters call this; it does not know which runtime it is in.
 * @module
 */
import { FluxError, isFluxError } from "../errors.js";
import { INCOMING } from "../boundaries/incoming/index.js";
import { runInSession, sessionsReady } from "../internal/session.js";
import { Player } from "../internal/player.js";
import { allowsLive } from "../internal/policy-rules.js";
import { errorData, readStream, recordable } from "../internal/values.js";
import type { HandlerKind, TraceEvent } from "../trace/schema.js";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import type { ReplayEnvelope, ReplayResult } from "./envelope.js";
import { checkEnvelope, ENVELOPE_LIMITS } from "./_wire.js";
import { headerPairs } from "../internal/values.js";

/** Decodes and checks a replay envelope (bounded: {@link ENVELOPE_LIMITS}). */
export function decodeEnvelope(bytes: Uint8Array): ReplayEnvelope {
  let raw: unknown;
  try {
    raw = decodeCbor(bytes, { limits: ENVELOPE_LIMITS, what: "replay envelope" });
  } catch (cause) {
    const message = isFluxError(cause)
      ? cause.message
      : "Could not read the replay envelope: it is not valid CBOR";
    throw new FluxError("ERR_REPLAY_ENVELOPE", message, { cause });
  }
  const parsed = checkEnvelope(raw);
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

/** What a replay runs: the handler, its class if not the default export, its arguments. */
export interface ReplayInvocation {
  handler: HandlerKind;
  entry?: string;
  /** The recorded request event (its target is the RPC method name). */
  event: TraceEvent;
  args: unknown[];
}

/**
 * Replays one recorded execution: the trigger's arguments are rebuilt from the trace and `run`
 * calls the handler with them inside a replay session; the response, returned value or thrown
 * error is collected with the session's findings.
 */
export async function executeReplay(
  envelope: ReplayEnvelope,
  run: (invocation: ReplayInvocation, session: Player) => Promise<unknown>,
  options: {
    env: Record<string, unknown>;
    maskHeaders?: ReadonlySet<string>;
    route?: (request: Request) => string;
  },
): Promise<ReplayResult> {
  await sessionsReady();
  const first = envelope.events[0];
  if (first?.kind !== "request") {
    throw new FluxError("ERR_REPLAY_ENVELOPE", "The trace has no recorded request to replay");
  }
  if (first.truncated) {
    throw new FluxError(
      "ERR_REPLAY_TRUNCATED",
      "The recorded request body was truncated; it cannot be replayed",
    );
  }
  const handler = envelope.handler ?? "fetch";
  const context = {
    ...(envelope.entry === undefined ? {} : { entry: envelope.entry }),
    ...(options.route ? { route: options.route } : {}),
    method: first.target,
  };
  let revived: ReturnType<(typeof INCOMING)[HandlerKind]["revive"]>;
  try {
    revived = INCOMING[handler].revive(envelope.payloads[0], context);
  } catch (cause) {
    throw new FluxError(
      "ERR_REPLAY_ENVELOPE",
      `The recorded ${handler} trigger does not match the schema`,
      { cause },
    );
  }
  const policy = envelope.policy;
  const session = new Player({
    events: envelope.events,
    payloads: envelope.payloads,
    env: options.env,
    ...(options.maskHeaders ? { maskHeaders: options.maskHeaders } : {}),
    ...(policy ? { rules: policy } : {}),
    allowLive: (request) => {
      const r = request as { method?: unknown; url?: unknown } | undefined;
      return (
        typeof r?.method === "string" &&
        typeof r.url === "string" &&
        allowsLive(policy, r.method, r.url)
      );
    },
  });
  const invocation: ReplayInvocation = {
    handler,
    ...(envelope.entry === undefined ? {} : { entry: envelope.entry }),
    event: first,
    args: revived.args,
  };
  let response: ReplayResult["response"] = null;
  let error: ReplayResult["error"] = null;
  let returned: unknown;
  try {
    const value = await runInSession(session, () => {
      const unsupported = revived.unsupported;
      if (unsupported) session.note("unsupported", unsupported.op, unsupported.target);
      return run(invocation, session);
    });
    if (value instanceof Response) {
      const body = await readStream(value.body, Infinity);
      response = {
        status: value.status,
        statusText: value.statusText,
        headers: headerPairs(value.headers),
        body: body instanceof Uint8Array ? body : null,
      };
    } else if (handler !== "fetch") {
      returned = recordable(value);
    }
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
    ...(returned === undefined ? {} : { returned }),
    divergences: findings.divergences,
    served: findings.served,
    unconsumed: findings.unconsumed,
    console: findings.console,
    live: findings.live,
  };
}
