/**
 * The filesystem sink: one file per trace at `<dir>/<traceKey>`, for Deno and Node. Uses
 * `node:fs/promises` (Deno supports it), loaded on first write so worker bundles never pull it in.
 * Each file is written under a temporary name and renamed, so a reader never sees half a trace.
 * @module
 */
import { FluxError } from "../errors.js";
import { newTraceId } from "../originals.js";
import { loadFs } from "./_fs.js";
import type { SealedTrace, TraceSink } from "./_sink.js";

export interface FsSinkOptions {
  /** File mode of each trace file. Default `0o600`: traces are sealed, but still private. */
  mode?: number;
}

/** Refuses keys that would leave the directory: absolute, `..`, empty or odd segments. */
function safeRelative(key: string): string {
  const parts = key.split("/");
  const ok =
    key.length > 0 &&
    !key.startsWith("/") &&
    parts.every((p) => p.length > 0 && p !== "." && p !== ".." && !/[\\\0:]/.test(p));
  if (!ok) throw new FluxError("ERR_SINK_WRITE", "Refused a trace key that leaves the directory");
  return key;
}

/**
 * Stores each trace as `<dir>/<traceKey>` (`traces/<app>/<day>/<hour>/<time>-<id>.cbor`).
 * Deno needs `--allow-write=<dir>`.
 *
 * @example
 * ```ts
 * import { withFlux, fsSink } from "fluxrun/deno";
 * Deno.serve(withFlux(handler, { sink: fsSink("./.fluxrun/traces") }));
 * ```
 */
export function fsSink(dir: string, options: FsSinkOptions = {}): TraceSink {
  if (typeof dir !== "string" || dir.length === 0) {
    throw new TypeError("fsSink needs a directory path");
  }
  const mode = options.mode ?? 0o600;
  const root = dir.endsWith("/") ? dir.slice(0, -1) : dir;
  return {
    name: "fs",
    async write(trace: SealedTrace) {
      const rel = safeRelative(trace.key);
      const file = `${root}/${rel}`;
      const fs = await loadFs();
      await fs.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
      const tmp = `${file}.${newTraceId().slice(0, 12)}.tmp`;
      try {
        await fs.writeFile(tmp, trace.bytes, { mode });
        await fs.rename(tmp, file);
      } catch (err) {
        await fs.rm(tmp, { force: true }).catch(() => {});
        throw err;
      }
    },
  };
}
