/**
 * The source-map contract: how a deployed bundle's source map (wrangler's `upload_source_maps` /
 * `--outdir` output) reaches the dashboard, where it is kept, and what the dashboard answers.
 * The CLI (`fluxrun sourcemaps upload`) and the dashboard's upload form send it; the dashboard
 * stores it (never executes it) and maps recorded call sites with it.
 *
 * - Request: `POST` {@link SOURCE_MAPS_PATH}`?app=<app>&release=<release>&bundle=<file>` with
 *   `authorization: Bearer <dashboard API token>`, `content-type: application/json`, the map as
 *   the body (at most {@link MAX_SOURCE_MAP_BYTES}). `release` is the release the app records
 *   (withFlux's `release` option or its version metadata); without one, the map serves frames
 *   of the bundle file `bundle` of executions that record no release.
 * - Response: 201 with {@link SourceMapUploaded}; errors as the dashboard's
 *   `{ error: { code, message, fix? } }` with {@link SourceMapErrorCode}s for a bad map.
 * - Storage: R2 under {@link SOURCE_MAP_ROOT} (outside `traces/`, so no trace listing sees it),
 *   `sourceMapKey(...)`; `sourcesContent` is dropped before storing (positions only).
 * @module
 */
import * as z from "zod/mini";
import { appSegment } from "./storage.js";

export const SOURCE_MAPS_PATH = "/api/sourcemaps";

/** Bytes of one uploaded source map at most (wrangler's own upload limit is of the same order). */
export const MAX_SOURCE_MAP_BYTES = 16 * 1024 * 1024;

/** Every stored source map's key starts with this; trace listings (`traces/`) never reach it. */
export const SOURCE_MAP_ROOT = "sourcemaps/";

/** A release name: what withFlux records, bounded and printable. */
export const RELEASE = /^[\x21-\x7e]{1,128}$/;

/** A bundle file name as frames name it (the last path segment). */
export const BUNDLE_FILE = /^[A-Za-z0-9._-]{1,256}$/;

/** The query of an upload. */
export const SourceMapUpload = z.object({
  app: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,128}$/)),
  release: z.optional(z.string().check(z.regex(RELEASE))),
  bundle: z.string().check(z.regex(BUNDLE_FILE)),
});
export type SourceMapUpload = z.infer<typeof SourceMapUpload>;

/** What the dashboard answers to an upload. */
export const SourceMapUploaded = z.object({
  app: z.string(),
  release: z.nullable(z.string()),
  bundle: z.string(),
  /** Bytes stored (without `sourcesContent`). */
  bytes: z.int(),
  /** SHA-256 (hex) of the stored map. */
  sha256: z.string(),
  /** Source files the map names. */
  sources: z.int(),
  /** True when a map for the same app, release and bundle was replaced. */
  replaced: z.boolean(),
});
export type SourceMapUploaded = z.infer<typeof SourceMapUploaded>;

/** The dashboard's refusals of a map (besides auth, role and unknown-app errors). */
export const SOURCE_MAP_ERROR_CODES = [
  "ERR_SOURCE_MAP_TOO_LARGE",
  "ERR_SOURCE_MAP_INVALID",
] as const;
export type SourceMapErrorCode = (typeof SOURCE_MAP_ERROR_CODES)[number];

async function sha256Hex(s: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The R2 key of a stored map: app, then a digest of the release and bundle (so any release
 * string is a safe key), then the map's own digest.
 *
 * @example
 * ```ts
 * await sourceMapKey({ app: "shop", release: "v42", bundle: "index.js", sha256 });
 * // "sourcemaps/shop/3f1c…/9ab0….map"
 * ```
 */
export async function sourceMapKey(m: {
  app: string;
  release: string | null;
  bundle: string;
  sha256: string;
}): Promise<string> {
  const slot = await sha256Hex(`${m.release ?? ""}\u0000${m.bundle}`);
  return `${SOURCE_MAP_ROOT}${appSegment(m.app)}/${slot.slice(0, 32)}/${m.sha256}.map`;
}
