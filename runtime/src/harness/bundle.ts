/**
 * Bundles a worker for Miniflare with esbuild ({@link workerBuildOptions}).
 * @module
 */
import { build } from "esbuild";
import { FluxError } from "../errors.js";
import { workerBuildOptions } from "./esbuild.js";

/** Bundles `entry` into one ES module and returns its code. */
export async function bundleWorker(
  entry: string,
  options: {
    minify?: boolean;
    keepNames?: boolean;
    define?: Record<string, string>;
    /** Append an inline source map (no source text) so frames of the bundle map to sources. */
    sourcemap?: boolean;
  } = {},
): Promise<string> {
  try {
    const result = await build(
      workerBuildOptions(entry, {
        minify: options.minify ?? false,
        // As wrangler does by default: class and function names survive bundling, so names the
        // trace holds (a Durable Object's class) read the same in the replay bundle.
        keepNames: options.keepNames ?? true,
        define: options.define ?? {},
        ...(options.sourcemap ? { sourcemap: "inline" as const, sourcesContent: false } : {}),
      }),
    );
    const file = result.outputFiles[0];
    if (!file) throw new Error("esbuild produced no output");
    return file.text;
  } catch (cause) {
    const first = (
      cause as { errors?: { text?: string; location?: { file?: string; line?: number } }[] }
    ).errors?.[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : "";
    throw new FluxError(
      "ERR_REPLAY_BUNDLE",
      `Could not bundle the worker ${entry}: ${first?.text ?? "build failed"}${where}`,
      { cause },
    );
  }
}
