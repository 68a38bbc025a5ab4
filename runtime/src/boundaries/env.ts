/**
 * Secrets and env: `fluxENV.get(name)` and every env value the app reads through the wrapped env
 * (vars, `.dev.vars`, secrets, JSON vars, bindings' primitive configuration). Values are sealed in
 * the trace and served from it in replay, whatever the replay config holds, so replay needs no
 * production secret.
 * @module
 */
import { FluxError } from "../errors.js";
import { currentSession, type Session } from "../internal/session.js";
import { recordable } from "../internal/values.js";

/** Names FluxRun keeps for itself; invisible to the app, never recorded. */
export function isFluxName(name: string): boolean {
  return name.startsWith("FLUX_") || name.startsWith("__FLUX");
}

let fallbackSource: (name: string) => string | undefined = () => undefined;

/** Where fluxENV reads outside a request (Deno.env, process.env). Set by runtime adapters. */
export function setEnvFallback(source: (name: string) => string | undefined): void {
  fallbackSource = source;
}

/** Reads `name` once per execution: recorded the first time, served from the trace in replay. */
function readOnce<T>(session: Session, op: "get" | "var", name: string, live: () => T): T {
  return session.read<T>({
    kind: "env",
    op,
    target: name,
    byTarget: true,
    live,
    // Replay of a read the recording lacks: the replay config's value, reported as extra.
    fallback: live,
    encode: (v) => (v === undefined ? null : recordable(v)),
    revive: (d) => (d === null ? undefined : d) as T,
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
    if (isFluxName(name)) return undefined;
    const session = currentSession();
    if (!session) return fallbackSource(name);
    return readOnce(session, "get", name, () => {
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

/** Records a plain env value read through the wrapped env (first read per name per execution). */
export function recordVarRead<T>(session: Session, name: string, value: T): T {
  return readOnce(session, "var", name, () => value);
}

/** Records a binding's primitive property (`HYPERDRIVE.connectionString`) like an env value. */
export function recordPropertyRead<T>(session: Session, target: string, value: T): T {
  return readOnce(session, "var", target, () => value);
}
