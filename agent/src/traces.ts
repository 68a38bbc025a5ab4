/**
 * Finding and opening a trace by id. Ids start with their time, so the storage prefix (app, day,
 * hour) follows from app and id; one listing of that hour finds the object.
 * @module
 */
import { isFluxError, type FluxErrorCode } from "fluxrun";
import { parseTraceKey, TRACE_ID, tracePrefix, type AgentErrorCode } from "fluxrun/contract";
import {
  openTrace,
  parsePrivateJwk,
  readTrace,
  type PlainTrace,
  type PrivateJwk,
  type TraceHead,
} from "fluxrun/trace";
import { AgentError } from "./errors.js";

export function privateKey(json: string | undefined): PrivateJwk {
  if (!json)
    throw new AgentError(
      "ERR_KEY_MISSING",
      "The agent has no FLUX_PRIVATE_KEY: wrangler secret put FLUX_PRIVATE_KEY",
    );
  try {
    return parsePrivateJwk(json);
  } catch {
    throw new AgentError("ERR_KEY_MISSING", "FLUX_PRIVATE_KEY is not a private X25519 JWK");
  }
}

export async function fetchTrace(
  bucket: R2Bucket | undefined,
  app: string,
  id: string,
): Promise<Uint8Array> {
  if (!bucket)
    throw new AgentError("ERR_TRACE_NOT_FOUND", "The agent has no FLUX_TRACES bucket binding");
  if (!TRACE_ID.test(id))
    throw new AgentError("ERR_BAD_REQUEST", "A trace id is 32 hex characters");
  const prefix = tracePrefix(app, id);
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const list = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    const hit = list.objects.find((o) => parseTraceKey(o.key)?.traceId === id);
    if (hit) {
      const obj = await bucket.get(hit.key);
      if (obj) return new Uint8Array(await obj.arrayBuffer());
    }
    if (!list.truncated) break;
    cursor = list.cursor;
  }
  throw new AgentError("ERR_TRACE_NOT_FOUND", `No trace ${id} for app ${app}`);
}

/** How the agent answers each way a trace can fail to open. */
const TRACE_REFUSALS: Partial<Record<FluxErrorCode, AgentErrorCode>> = {
  ERR_TRACE_CORRUPT: "ERR_TRACE_CORRUPT",
  ERR_TRACE_TRUNCATED: "ERR_TRACE_TRUNCATED",
  ERR_TRACE_LIMIT: "ERR_TRACE_LIMIT",
  ERR_TRACE_VERSION: "ERR_TRACE_VERSION",
  ERR_TRACE_SCHEMA: "ERR_TRACE_SCHEMA",
  ERR_TRACE_KEY: "ERR_TRACE_KEY",
  ERR_TRACE_TAMPERED: "ERR_TRACE_TAMPERED",
  ERR_KEY_INVALID: "ERR_KEY_MISSING",
};

function traceRefusal(err: unknown): never {
  const code = isFluxError(err) ? TRACE_REFUSALS[err.code] : undefined;
  if (code) throw new AgentError(code, (err as Error).message);
  throw err;
}

export async function openStored(
  bytes: Uint8Array,
  key: PrivateJwk,
): Promise<PlainTrace & { dataKey: Uint8Array }> {
  try {
    return await openTrace(bytes, key);
  } catch (err) {
    return traceRefusal(err);
  }
}

export function readStored(bytes: Uint8Array): TraceHead {
  try {
    return readTrace(bytes).head;
  } catch (err) {
    return traceRefusal(err);
  }
}

/**
 * The trace the agent found must be the token's: its own head names the token's app and trace
 * (an object stored under another app's prefix, or under another id, is refused).
 */
export function checkTraceOwner(head: TraceHead, claims: { app: string; trace: string }): void {
  if (head.summary.app !== claims.app || head.id !== claims.trace)
    throw new AgentError("ERR_TOKEN_TRACE", "The stored trace is not the one the token names");
}
