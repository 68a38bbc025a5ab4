/**
 * The replay endpoint inside a wrapped worker: a request carrying the harness's per-run secret or
 * an agent-signed authorization is a replay envelope, not app traffic. This module checks the
 * credential, decodes the envelope, and answers a result (CBOR) or a refusal (JSON).
 * @module
 */
import { FluxError, isFluxError } from "../errors.js";
import {
  AGENT_KEY_VAR,
  REPLAY_AUTH_HEADER,
  claimsAgentReplay,
  hasHarnessSecret,
  verifyReplay,
} from "../replay/authorize.js";
import { decodeEnvelope, encodeResult } from "../replay/execute.js";
import type { ReplayEnvelope, ReplayResult } from "../replay/envelope.js";

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

/** A checked replay request: its envelope, and the bytes and headers to forward it with. */
export interface ReplayRequest {
  envelope: ReplayEnvelope;
  body: Uint8Array;
  headers: Headers;
  access: ReplayAccess;
}

/**
 * Answers a replay request: checks the credential (an agent's signature covers the exact
 * envelope bytes and names its trace), decodes the envelope and hands it to `handle`, whose
 * result is answered as CBOR. A refusal is JSON with a code, 403 for a signed request.
 */
export async function serveReplay(
  request: Request,
  env: Record<string, unknown>,
  access: ReplayAccess,
  handle: (replay: ReplayRequest) => Promise<ReplayResult | Response>,
  release?: string,
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
    const result = await handle({ envelope, body, headers: request.headers, access });
    if (result instanceof Response) return result;
    // The build answering names its release, so the report maps replayed sites with its map.
    if (release) result.release = release.slice(0, 64);
    return new Response(encodeResult(result), {
      headers: { "content-type": "application/cbor" },
    });
  } catch (err) {
    return replayRefusal(err, signed ? 403 : 422);
  }
}

/** A replay refusal as JSON: the FluxError's code and message, never a payload. */
export function replayRefusal(err: unknown, status: number): Response {
  const code = isFluxError(err) ? err.code : "ERR_REPLAY_ENVELOPE";
  const message = isFluxError(err) ? err.message : "Replay failed inside the worker";
  return Response.json({ error: { code, message } }, { status });
}
