/**
 * Trace origin at the dashboard: every trace of an app with a registered verification key
 * (`FLUX_ORIGIN_KEYS`, the same JSON map the agent takes) is checked against the app's signature
 * before it is stored or indexed; the index keeps whether each row was verified, and the pages
 * show it. Summary metadata in R2 is not authenticated, so for such an app the indexer reads the
 * trace itself.
 * @module
 */
import { isFluxError } from "fluxrun";
import { appPrefix } from "fluxrun/contract";
import { parseOriginKeys, verifyOrigin, type OriginKeys } from "fluxrun/trace";

/** What the index keeps about a row's origin. */
export type OriginStatus = "verified" | "unverified";

/** The registered keys, or none (everything indexes as unverified) when unset or not a map. */
export function registeredKeys(json: string | undefined): OriginKeys {
  try {
    return parseOriginKeys(json);
  } catch {
    console.error("[fluxrun dashboard] FLUX_ORIGIN_KEYS is not a JSON map of app → JWK; ignored");
    return {};
  }
}

/** True when the trace stored at `key` belongs to an app that signs its traces. */
export function signedAt(keys: OriginKeys, key: string): boolean {
  return (
    Object.hasOwn(keys, "*") || Object.keys(keys).some((app) => key.startsWith(appPrefix(app)))
  );
}

/**
 * The origin of a trace's bytes, or the FluxError code that refuses it (`ERR_TRACE_UNSIGNED`,
 * `ERR_TRACE_SIGNER`, `ERR_TRACE_SIGNATURE`, or a read error).
 */
export async function originOf(
  bytes: Uint8Array,
  keys: OriginKeys,
): Promise<{ ok: true; status: OriginStatus } | { ok: false; code: string }> {
  try {
    return { ok: true, status: (await verifyOrigin(bytes, keys)).status };
  } catch (err) {
    return { ok: false, code: isFluxError(err) ? err.code : "ERR_TRACE_CORRUPT" };
  }
}
