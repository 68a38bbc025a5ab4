/**
 * The replay endpoint inside a wrapped worker: a request carrying the harness's per-run secret or
 * an agent-signed authorization is a replay envelope, not app traffic. This module checks the
 * credential, decodes the envelope, runs it and answers the result as CBOR.
 * @module
 */
import { FluxError, isFluxError } from "../errors.js";
import type { Session } from "../internal/session.js";
import {
  AGENT_KEY_VAR,
  REPLAY_AUTH_HEADER,
  claimsAgentReplay,
  hasHarnessSecret,
  verifyReplay,
} from "../replay/authorize.js";
import {
  decodeEnvelope,
  encodeResult,
  executeReplay,
  type ReplayInvocation,
} from "../replay/execute.js";

/** Who asks for a replay: the local harness (per-run secret) or a deployed agent (signature). */
export type ReplayAccess = "harness" | "agent";

/** Whether `request` asks for a replay, and how; undefined for app traffic. */
export function replayAccess(
  request: Request,
  env: Record<string, unknown>,
): ReplayAccess | undefined {
  if (hasHarnessSecret(request, env)) return "harness";
  if (claimsAgentReplay(request, env)) return "agent";
  return undefined;
}

/** Runs one replay envelope with `run` and answers its result (CBOR), or an error (JSON). */
export async function serveReplay(
  request: Request,
  env: Record<string, unknown>,
  access: ReplayAccess,
  run: (invocation: ReplayInvocation, session: Session) => Promise<unknown>,
  options: { maskHeaders: ReadonlySet<string>; route: (request: Request) => string },
): Promise<Response> {
  const signed = access === "agent";
  try {
    const body = new Uint8Array(await request.arrayBuffer());
    const signedFor = signed
      ? await verifyReplay(
          request.headers.get(REPLAY_AUTH_HEADER) ?? "",
          body,
          env[AGENT_KEY_VAR] as string,
        )
      : undefined;
    const envelope = decodeEnvelope(body);
    if (signedFor !== undefined && signedFor !== envelope.traceId) {
      throw new FluxError(
        "ERR_REPLAY_ENVELOPE",
        "Replay authorization refused: signed for another trace",
      );
    }
    const result = await executeReplay(envelope, run, { env, ...options });
    return new Response(encodeResult(result), {
      headers: { "content-type": "application/cbor" },
    });
  } catch (err) {
    const code = isFluxError(err) ? err.code : "ERR_REPLAY_ENVELOPE";
    const message = isFluxError(err) ? err.message : "Replay failed inside the worker";
    return Response.json({ error: { code, message } }, { status: signed ? 403 : 422 });
  }
}
