/**
 * `fluxrun/deno`: `withFlux` for `Deno.serve`. Same recorder, trace format, sealing and replay as
 * on Workers; traces go to a sink (`fsSink(dir)`, `httpSink(...)`) after the response, and
 * `fluxENV` falls back to `Deno.env`, reading only variables the process may read (a denied or
 * unasked permission reads as unset, and never prompts).
 * @module
 */
import { setEnvFallback } from "../boundaries/env.js";
import {
  flush,
  replayTrace,
  wrapFetchHandler,
  type FetchHandlerLike,
  type FluxFetchFunction,
  type FluxFetchOptions,
  type HostRuntime,
} from "./_handler.js";

export { flush, replayTrace };
export type {
  FetchFunction,
  FetchHandlerLike,
  FluxFetchFunction,
  FluxFetchOptions,
} from "./_handler.js";
export { fsSink, type FsSinkOptions } from "../sink/fs.js";
export { httpSink, type HttpSink, type HttpSinkOptions, type HttpSinkStats } from "../sink/http.js";
export { fsSpool, type FsSpoolOptions } from "../sink/fs-spool.js";
export type { TraceSpool, SpoolAdmission } from "../sink/_spool.js";
export { fluxHost } from "../boundaries/host.js";
export { fluxENV } from "../boundaries/env.js";
export { fluxStats } from "../internal/recorder.js";

/** The part of the `Deno` namespace this module uses (declared here: the core has no Deno types). */
interface DenoNamespace {
  env: { get(name: string): string | undefined };
  permissions: {
    querySync?(descriptor: { name: "env"; variable: string }): { state: string };
  };
}

/** Reads `Deno.env` only when the env permission for `name` is already granted. */
function denoEnv(name: string): string | undefined {
  const deno = (globalThis as { Deno?: DenoNamespace }).Deno;
  if (!deno) return undefined;
  try {
    const state = deno.permissions.querySync?.({ name: "env", variable: name }).state;
    if (state !== "granted") return undefined;
    return deno.env.get(name);
  } catch {
    return undefined;
  }
}

const host: HostRuntime = { name: "deno", env: denoEnv };
setEnvFallback(denoEnv);

/**
 * Wraps a `Deno.serve` handler so every execution is recorded into a sealed trace.
 *
 * @example
 * ```ts
 * import { withFlux, fsSink, fluxENV } from "fluxrun/deno";
 * Deno.serve(
 *   withFlux((req) => new Response(`hi ${fluxENV.get("NAME")}`), {
 *     app: "hello",
 *     sink: fsSink("./traces"), // publicKey: default $FLUX_PUBLIC_KEY (--allow-env=FLUX_PUBLIC_KEY)
 *   }),
 * );
 * ```
 */
export function withFlux<I = unknown>(
  handler: FetchHandlerLike<I>,
  options: FluxFetchOptions,
): FluxFetchFunction<I> {
  return wrapFetchHandler(handler, options, host);
}
