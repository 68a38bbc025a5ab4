/**
 * Finding and opening a trace by id. Ids start with their time, so the storage prefix (app, day,
 * hour) follows from app and id; one listing of that hour finds every object claiming the id.
 * Each is checked for origin (the app's signature, against `FLUX_ORIGIN_KEYS`) before anything
 * in it is trusted: a forged object never stands in for the real one.
 * @module
 */
import { isFluxError, type FluxErrorCode } from "fluxrun";
import { parseTraceKey, TRACE_ID, tracePrefix, type AgentErrorCode } from "fluxrun/contract";
import {
  openTrace,
  parseOriginKeys,
  parsePrivateJwk,
  readTrace,
  verifyOrigin,
  type OriginKeys,
  type PlainTrace,
  type TraceOrigin,
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

/**
 * The registered trace verification keys, `FLUX_ORIGIN_KEYS`: JSON mapping each app name to its
 * public Ed25519 JWK (or a list of them, while rotating). Apps not listed read as unverified.
 */
export function originKeys(json: string | undefined): OriginKeys {
  try {
    return parseOriginKeys(json);
  } catch (err) {
    throw new AgentError("ERR_ORIGIN_KEYS_INVALID", (err as Error).message);
  }
}

/** A stored trace chosen for an action, and what its signature says about where it came from. */
export interface StoredTrace {
  bytes: Uint8Array;
  origin: TraceOrigin;
  /** Other objects that claimed the same id and were set aside (forged or damaged). */
  setAside: number;
}

/** Keys of every object under the app's hour prefix that claims the id. */
async function candidates(bucket: R2Bucket, app: string, id: string): Promise<string[]> {
  const prefix = tracePrefix(app, id);
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const list = await bucket.list({ prefix, ...(cursor ? { cursor } : {}) });
    for (const o of list.objects) if (parseTraceKey(o.key)?.traceId === id) keys.push(o.key);
    if (!list.truncated) break;
    cursor = list.cursor;
  }
  return keys;
}

/** Checks one candidate: its own head must name this app and id, then its origin. */
async function checked(bytes: Uint8Array, app: string, id: string, keys: OriginKeys) {
  const { head } = readTrace(bytes);
  if (head.id !== id || head.summary.app !== app)
    throw new AgentError(
      "ERR_TRACE_SIGNATURE",
      `An object stored as trace ${id} of app ${app} holds another trace: it was placed there by hand`,
    );
  return verifyOrigin(bytes, keys);
}

/**
 * Finds the trace `id` of `app`: every object claiming that id is read and its origin checked;
 * the one the app signed is served. With no registered key for the app, a single object is served
 * as unverified and two objects claiming one id are refused (`ERR_TRACE_DUPLICATE`): the agent
 * cannot tell which is real.
 */
export async function findTrace(
  bucket: R2Bucket | undefined,
  app: string,
  id: string,
  keys: OriginKeys,
): Promise<StoredTrace> {
  if (!bucket)
    throw new AgentError("ERR_TRACE_NOT_FOUND", "The agent has no FLUX_TRACES bucket binding");
  if (!TRACE_ID.test(id))
    throw new AgentError("ERR_BAD_REQUEST", "A trace id is 32 hex characters");
  const found: { bytes: Uint8Array; origin?: TraceOrigin; error?: unknown }[] = [];
  for (const key of await candidates(bucket, app, id)) {
    const obj = await bucket.get(key);
    if (!obj) continue;
    const bytes = new Uint8Array(await obj.arrayBuffer());
    try {
      found.push({ bytes, origin: await checked(bytes, app, id, keys) });
    } catch (error) {
      found.push({ bytes, error });
    }
  }
  if (found.length === 0)
    throw new AgentError("ERR_TRACE_NOT_FOUND", `No trace ${id} for app ${app}`);
  const verified = found.find((f) => f.origin?.status === "verified");
  if (verified)
    return { bytes: verified.bytes, origin: verified.origin!, setAside: found.length - 1 };
  if (found.length > 1)
    throw new AgentError(
      "ERR_TRACE_DUPLICATE",
      `${found.length} objects claim trace ${id} of app ${app} and none is signed by a registered key: register the app's verification key (FLUX_ORIGIN_KEYS) to tell the real one`,
    );
  const only = found[0]!;
  if (only.error !== undefined) return traceRefusal(only.error);
  return { bytes: only.bytes, origin: only.origin!, setAside: 0 };
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
  ERR_TRACE_UNSIGNED: "ERR_TRACE_UNSIGNED",
  ERR_TRACE_SIGNER: "ERR_TRACE_SIGNER",
  ERR_TRACE_SIGNATURE: "ERR_TRACE_SIGNATURE",
  ERR_KEY_INVALID: "ERR_KEY_MISSING",
};

function traceRefusal(err: unknown): never {
  if (err instanceof AgentError) throw err;
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
