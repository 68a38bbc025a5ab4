/**
 * The one set of esbuild options FluxRun bundles workers with: replay bundles, the preflight's
 * code scan, and the bench. ESM for workerd (its package conditions first), `node:*` and
 * `cloudflare:*` left to the runtime, nothing written to disk.
 * @module
 */
import type { BuildOptions } from "esbuild";

/**
 * Options to bundle the worker at `entry`; `extra` adds to or overrides them.
 *
 * @example
 * ```ts
 * const { outputFiles } = await build(workerBuildOptions("src/index.ts", { minify: true }));
 * ```
 */
export function workerBuildOptions<T extends Omit<BuildOptions, "entryPoints" | "write">>(
  entry: string,
  extra: T = {} as T,
): BuildOptions & T & { write: false } {
  return {
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["workerd", "worker", "browser", "module", "main"],
    external: ["node:*", "cloudflare:*"],
    logLevel: "silent",
    ...extra,
    write: false,
  };
}
