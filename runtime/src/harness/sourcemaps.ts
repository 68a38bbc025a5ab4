/**
 * `fluxrun sourcemaps upload`: sends a deployed bundle's source map (wrangler's
 * `--upload-source-maps` / `--outdir` output) to the dashboard for an app and release, with the
 * dashboard API token a deploy pipeline uses. The contract is {@link module:sourcemap}. Node only.
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import {
  BUNDLE_FILE,
  MAX_SOURCE_MAP_BYTES,
  RELEASE,
  SOURCE_MAPS_PATH,
  SourceMapUploaded,
} from "../contract/sourcemap.js";
import { FluxError } from "../errors.js";
import { isLoopback } from "./_loopback.js";

/** What to upload, and where. */
export interface SourceMapUploadOptions {
  /** The `.map` file. */
  file: string;
  app: string;
  /** The release the app records; absent: the map serves executions without one. */
  release?: string | undefined;
  /** The bundle file frames name (default: the map's `file`, else its name without `.map`). */
  bundle?: string | undefined;
  /** The dashboard's origin (`https://fluxrun.example.com`). */
  dashboard: string;
  /** A dashboard API token (`fxd_…`) of a responder or admin of the app's workspace. */
  token: string;
  /** Injected in tests; default the global fetch. */
  fetch?: typeof fetch;
}

function bundleOf(file: string, text: string): string {
  try {
    const f = (JSON.parse(text) as { file?: unknown }).file;
    if (typeof f === "string" && f) return basename(f);
  } catch {
    // Not JSON: the dashboard names the problem; the bundle falls back to the file name.
  }
  return basename(file).replace(/\.map$/, "");
}

/**
 * Uploads one source map and returns what the dashboard stored.
 *
 * @example
 * ```ts
 * const saved = await uploadSourceMap({ file: "dist/index.js.map", app: "shop", release: "v42",
 *   dashboard: "https://flux.example.com", token: process.env.FLUX_DASHBOARD_TOKEN! });
 * ```
 */
export async function uploadSourceMap(options: SourceMapUploadOptions): Promise<SourceMapUploaded> {
  let url: URL;
  try {
    url = new URL(SOURCE_MAPS_PATH, options.dashboard);
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", "The dashboard URL is not a URL (--dashboard)", { cause });
  }
  if (url.protocol !== "https:" && !isLoopback(url.hostname)) {
    throw new FluxError(
      "ERR_CONFIG",
      "The dashboard URL must be https (the API token travels with the upload)",
    );
  }
  if (options.release !== undefined && !RELEASE.test(options.release)) {
    throw new FluxError("ERR_CONFIG", "--release is 1 to 128 printable characters without spaces");
  }
  const size = await stat(options.file).then(
    (s) => s.size,
    (cause: unknown) => {
      throw new FluxError("ERR_SOURCE_MAP", `Cannot read the source map ${options.file}`, {
        cause,
      });
    },
  );
  if (size > MAX_SOURCE_MAP_BYTES) {
    throw new FluxError(
      "ERR_SOURCE_MAP",
      `The source map is over ${MAX_SOURCE_MAP_BYTES / 1024 / 1024} MiB (the dashboard's limit)`,
    );
  }
  const text = await readFile(options.file, "utf8");
  const bundle = options.bundle ?? bundleOf(options.file, text);
  if (!BUNDLE_FILE.test(bundle)) {
    throw new FluxError("ERR_CONFIG", `--bundle must be a file name such as index.js`);
  }
  url.search = new URLSearchParams({
    app: options.app,
    bundle,
    ...(options.release ? { release: options.release } : {}),
  }).toString();
  let res: Response;
  try {
    res = await (options.fetch ?? fetch)(url, {
      method: "POST",
      headers: {
        authorization: `Bearer ${options.token}`,
        "content-type": "application/json",
      },
      body: text,
    });
  } catch (cause) {
    throw new FluxError("ERR_DASHBOARD_REFUSED", `The dashboard at ${url.origin} did not answer`, {
      cause,
    });
  }
  const body = (await res.json().catch(() => null)) as {
    error?: { code?: unknown; message?: unknown; fix?: unknown };
  } | null;
  if (!res.ok) {
    const e = body?.error;
    const code = typeof e?.code === "string" ? e.code : `HTTP ${res.status}`;
    const message = typeof e?.message === "string" ? e.message : "the upload was refused";
    const fix = typeof e?.fix === "string" ? ` (fix: ${e.fix})` : "";
    throw new FluxError("ERR_DASHBOARD_REFUSED", `${code}: ${message}${fix}`);
  }
  const parsed = SourceMapUploaded.safeParse(body);
  if (!parsed.success) {
    throw new FluxError("ERR_DASHBOARD_REFUSED", "The dashboard's answer is not an upload result");
  }
  return parsed.data;
}
