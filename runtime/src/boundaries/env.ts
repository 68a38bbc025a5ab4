/**
 * Secrets and env: `fluxENV.get(name)` and plain string vars read from the wrapped env. Values are
 * sealed in the trace and served from it in replay, so replay needs no production secret.
 * @module
 */
import { FluxError } from "../errors.js";
import { currentSession, type Session } from "../internal/session.js";

/** Names FluxRun keeps for itself; never recorded, never handed to replay. */
export function isFluxName(name: string): boolean {
  return name.startsWith("FLUX_") || name.startsWith("__FLUX");
}

let fallbackSource: (name: string) => string | undefined = () => undefined;

/** Where fluxENV reads outside a request (Deno.env, process.env). Set by runtime adapters. */
export function setEnvFallback(source: (name: string) => string | undefined): void {
  fallbackSource = source;
}

function readVar(
  session: Session,
  op: "get" | "var",
  name: string,
  live: () => string | undefined,
  fallback?: () => string | undefined,
) {
  return session.read<string | undefined>({
    kind: "env",
    op,
    target: name,
    byTarget: true,
    live,
    ...(fallback ? { fallback } : {}),
    encode: (v) => (v === undefined ? null : v),
    revive: (d) => (d === null || d === undefined ? undefined : (d as string)),
  });
}

/**
 * Secret and env reads of the current execution.
 *
 * @example
 * ```ts
 * const apiKey = fluxENV.require("PAYMENTS_API_KEY");
 * ```
 */
export const fluxENV = {
  /** The value of `name`, or undefined. */
  get(name: string): string | undefined {
    if (typeof name !== "string" || name.length === 0)
      throw new TypeError("fluxENV.get needs a variable name");
    const session = currentSession();
    if (!session) return fallbackSource(name);
    return readVar(session, "get", name, () => {
      const v = session.env[name];
      return typeof v === "string" ? v : v === undefined ? fallbackSource(name) : JSON.stringify(v);
    });
  },
  /** The value of `name`; throws when it is not set. */
  require(name: string): string {
    const v = fluxENV.get(name);
    if (v === undefined)
      throw new FluxError("ERR_CONFIG", `Environment variable ${name} is not set`);
    return v;
  },
};

/** Records a plain var read through the wrapped env (first read per name per execution). */
export function recordVarRead(session: Session, name: string, value: string): string {
  return (
    readVar(
      session,
      "var",
      name,
      () => value,
      () => value,
    ) ?? value
  );
}
