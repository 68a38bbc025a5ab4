/**
 * The one error class FluxRun throws for domain failures, with a literal `code`.
 *
 * Messages say what was being attempted and never carry payloads, keys or tokens.
 * @module
 */

/** Every code a {@link FluxError} can carry. */
export const FLUX_ERROR_CODES = [
  "ERR_TRACE_CORRUPT",
  "ERR_TRACE_TRUNCATED",
  "ERR_TRACE_LIMIT",
  "ERR_TRACE_VERSION",
  "ERR_TRACE_TAMPERED",
  "ERR_TRACE_KEY",
  "ERR_TRACE_SCHEMA",
  "ERR_TRACE_UNSIGNED",
  "ERR_TRACE_SIGNER",
  "ERR_TRACE_SIGNATURE",
  "ERR_KEY_INVALID",
  "ERR_CONFIG",
  "ERR_SINK_WRITE",
  "ERR_REPLAY_UNRECORDED",
  "ERR_REPLAY_DIVERGED",
  "ERR_REPLAY_TRUNCATED",
  "ERR_REPLAY_UNREAD",
  "ERR_REPLAY_UNSUPPORTED",
  "ERR_REPLAY_LIVE_NETWORK",
  "ERR_REPLAY_ENVELOPE",
  "ERR_REPLAY_BUNDLE",
  "ERR_SOURCE_MAP",
  "ERR_DASHBOARD_REFUSED",
  "ERR_INTERNAL",
  /** `fluxrun policy pull`: the dashboard refused, was unreachable, or answered something else. */
  "ERR_POLICY_PULL",
] as const;

/** A FluxRun error code. */
export type FluxErrorCode = (typeof FLUX_ERROR_CODES)[number];

/**
 * A FluxRun domain failure. Switch on `code`; the message is safe to log.
 *
 * @example
 * ```ts
 * try { await openTrace(bytes, key) } catch (err) {
 *   if (err instanceof FluxError && err.code === "ERR_TRACE_KEY") console.error(err.message);
 * }
 * ```
 */
export class FluxError extends Error {
  override name = "FluxError";
  readonly code: FluxErrorCode;

  constructor(code: FluxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `err` is a {@link FluxError}, optionally with the given code. */
export function isFluxError(err: unknown, code?: FluxErrorCode): err is FluxError {
  return (
    err instanceof Error &&
    (err as { name?: unknown }).name === "FluxError" &&
    typeof (err as { code?: unknown }).code === "string" &&
    (code === undefined || (err as FluxError).code === code)
  );
}

/**
 * `err` as a FluxError: a FluxError passes through; anything else becomes one with `code`, the
 * original as `cause`, and a message naming only its class and system code (its own message may
 * quote the input it failed on).
 *
 * @example
 * ```ts
 * catch (err) { throw asFluxError(err, "ERR_TRACE_CORRUPT", "Could not read the trace") }
 * ```
 */
export function asFluxError(err: unknown, code: FluxErrorCode, doing: string): FluxError {
  if (isFluxError(err)) return err;
  const kind = err instanceof Error ? err.name : typeof err;
  const system = (err as { code?: unknown } | null)?.code;
  const detail =
    typeof system === "string" && /^[A-Z][A-Z0-9_]{1,40}$/.test(system) ? ` ${system}` : "";
  return new FluxError(code, `${doing}: unexpected ${kind}${detail}`, { cause: err });
}
