/**
 * Bundles a worker for Miniflare with esbuild ({@link workerBuildOptions}).
 * @module
 */
import { resolve } from "node:path";
import { build } from "esbuild";
import { FluxError } from "../errors.js";
import { workerBuildOptions } from "./esbuild.js";

/** How a worker is bundled. */
export interface BundleOptions {
  minify?: boolean;
  keepNames?: boolean;
  define?: Record<string, string>;
  /** Append an inline source map (no source text) so frames of the bundle map to sources. */
  sourcemap?: boolean;
}

/** Bundles `entry` into one ES module and returns its code. */
export async function bundleWorker(entry: string, options: BundleOptions = {}): Promise<string> {
  return (await bundleWithInputs(entry, options)).script;
}

/** Bundles `entry`, and says which files esbuild read (absolute paths), for a cache to stamp. */
export async function bundleWithInputs(
  entry: string,
  options: BundleOptions = {},
): Promise<{ script: string; inputs: string[] }> {
  try {
    const cwd = process.cwd();
    const result = await build(
      workerBuildOptions(entry, {
        minify: options.minify ?? false,
        // As wrangler does by default: class and function names survive bundling, so names the
        // trace holds (a Durable Object's class) read the same in the replay bundle.
        keepNames: options.keepNames ?? true,
        define: options.define ?? {},
        metafile: true,
        absWorkingDir: cwd,
        ...(options.sourcemap ? { sourcemap: "inline" as const, sourcesContent: false } : {}),
      }),
    );
    const file = result.outputFiles[0];
    if (!file) throw new Error("esbuild produced no output");
    const inputs = Object.keys(result.metafile?.inputs ?? {})
      .filter((p) => !/^[a-z-]+:/.test(p))
      .map((p) => resolve(cwd, p));
    return { script: file.text, inputs };
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
