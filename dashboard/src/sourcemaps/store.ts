/**
 * Source maps kept by the dashboard: checked (a version 3 map trace-mapping can read), stripped of
 * `sourcesContent` (positions only: no source text at rest), stored in R2 under `sourcemaps/`
 * (never listed by the indexer, never executed, never served back) and indexed in D1 by app,
 * release and bundle file. One map per (app, release, bundle): a new upload replaces it.
 * @module
 */
import {
  MAX_SOURCE_MAP_BYTES,
  sourceMapKey,
  type SourceMapUpload,
  type SourceMapUploaded,
} from "fluxrun/contract";
import { decodedMappings, TraceMap } from "@jridgewell/trace-mapping";
import { DashboardError } from "../errors.js";

/** A stored map, as the index knows it. */
export interface SourceMapRow {
  app: string;
  /** null: the map serves executions that record no release. */
  release: string | null;
  bundle: string;
  ws: string;
  r2Key: string;
  bytes: number;
  sha256: string;
  sources: number;
  uploadedAt: number;
  uploadedBy: string;
}

const COLS = `app, nullif(release, '') AS release, bundle, ws, r2_key AS r2Key, bytes, sha256, sources,
  uploaded_at AS uploadedAt, uploaded_by AS uploadedBy`;

function invalid(message: string, cause?: unknown): DashboardError {
  return new DashboardError("ERR_SOURCE_MAP_INVALID", message, {
    fix: "Upload the .map file wrangler writes beside the bundle (wrangler deploy --outdir dist --upload-source-maps)",
    ...(cause ? { cause } : {}),
  });
}

/** A checked map without `sourcesContent`, as the JSON text to store, and its source count. */
export function checkedMap(text: string): { json: string; sources: number } {
  if (text.length > MAX_SOURCE_MAP_BYTES) {
    throw new DashboardError(
      "ERR_SOURCE_MAP_TOO_LARGE",
      `The source map is over ${MAX_SOURCE_MAP_BYTES / 1024 / 1024} MiB`,
      { fix: "Upload the map of one bundle file; build without sourcesContent to make it smaller" },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw invalid("The source map is not JSON", cause);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalid("The source map is not a JSON object");
  }
  const { sourcesContent: _dropped, ...map } = parsed as Record<string, unknown>;
  if (map.version !== 3) throw invalid("The source map is not a version 3 source map");
  if ("sections" in map) {
    throw invalid("Indexed source maps (with sections) are not supported: upload a flat map");
  }
  if (typeof map.mappings !== "string") throw invalid("The source map has no mappings");
  if (!Array.isArray(map.sources) || !map.sources.every((s) => s === null || typeof s === "string"))
    throw invalid("The source map's sources are not a list of file names");
  if (map.names !== undefined && !Array.isArray(map.names))
    throw invalid("The source map's names are not a list");
  if (!/^[A-Za-z0-9+/,;]*$/.test(map.mappings))
    throw invalid("The source map's mappings are not base64 VLQ");
  const json = JSON.stringify(map);
  const names = Array.isArray(map.names) ? map.names.length : 0;
  try {
    // Every segment must point into the map's own sources and names before anything is stored.
    for (const line of decodedMappings(new TraceMap(json))) {
      for (const seg of line) {
        const bad =
          seg[0] < 0 ||
          (seg.length >= 4 &&
            (seg[1]! < 0 || seg[1]! >= map.sources.length || seg[2]! < 0 || seg[3]! < 0)) ||
          (seg.length === 5 && (seg[4]! < 0 || seg[4]! >= names));
        if (bad) throw new RangeError("segment out of range");
      }
    }
  } catch (cause) {
    throw invalid("The source map's mappings do not decode to its sources", cause);
  }
  return { json, sources: map.sources.length };
}

async function sha256Hex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks and stores one map for an app of `ws`, replacing the map of the same app, release and
 * bundle. The caller has checked the app is in `ws` and the uploader's role.
 *
 * @example
 * ```ts
 * const saved = await saveSourceMap(env.DB, env.FLUX_TRACES, text, { app, release, bundle, ws, by, now });
 * ```
 */
export async function saveSourceMap(
  db: D1Database,
  bucket: R2Bucket,
  text: string,
  meta: SourceMapUpload & { ws: string; by: string; now: number },
): Promise<SourceMapUploaded> {
  const { json, sources } = checkedMap(text);
  const sha256 = await sha256Hex(json);
  const release = meta.release ?? null;
  const r2Key = await sourceMapKey({ app: meta.app, release, bundle: meta.bundle, sha256 });
  const before = await db
    .prepare("SELECT r2_key AS r2Key FROM source_maps WHERE app = ? AND release = ? AND bundle = ?")
    .bind(meta.app, release ?? "", meta.bundle)
    .first<{ r2Key: string }>();
  await bucket.put(r2Key, json, {
    httpMetadata: { contentType: "application/json" },
    customMetadata: { app: meta.app, bundle: meta.bundle },
  });
  await db
    .prepare(
      `INSERT INTO source_maps (app, release, bundle, ws, r2_key, bytes, sha256, sources, uploaded_at, uploaded_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (app, release, bundle) DO UPDATE SET ws = excluded.ws, r2_key = excluded.r2_key,
         bytes = excluded.bytes, sha256 = excluded.sha256, sources = excluded.sources,
         uploaded_at = excluded.uploaded_at, uploaded_by = excluded.uploaded_by`,
    )
    .bind(
      meta.app,
      release ?? "",
      meta.bundle,
      meta.ws,
      r2Key,
      json.length,
      sha256,
      sources,
      meta.now,
      meta.by,
    )
    .run();
  if (before && before.r2Key !== r2Key) await bucket.delete(before.r2Key);
  return {
    app: meta.app,
    release,
    bundle: meta.bundle,
    bytes: json.length,
    sha256,
    sources,
    replaced: before !== null,
  };
}

/** The maps of a workspace, the newest upload first. */
export async function sourceMapsOf(
  db: D1Database,
  ws: string,
  options: { app?: string; limit?: number } = {},
): Promise<SourceMapRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLS} FROM source_maps WHERE ws = ? ${options.app ? "AND app = ?" : ""}
       ORDER BY uploaded_at DESC LIMIT ?`,
    )
    .bind(...(options.app ? [ws, options.app] : [ws]), options.limit ?? 50)
    .all<SourceMapRow>();
  return results;
}

/** The maps serving an execution of `app` in `ws` that recorded `release` (null: none). */
export async function mapsForRelease(
  db: D1Database,
  ws: string,
  app: string,
  release: string | null,
): Promise<SourceMapRow[]> {
  const { results } = await db
    .prepare(`SELECT ${COLS} FROM source_maps WHERE ws = ? AND app = ? AND release = ? LIMIT 20`)
    .bind(ws, app, release ?? "")
    .all<SourceMapRow>();
  return results;
}

/** The releases of an app with a source map, the newest upload first. */
export async function releasesWithMaps(db: D1Database, ws: string, app: string): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT release FROM source_maps WHERE ws = ? AND app = ? AND release != ''
       GROUP BY release ORDER BY max(uploaded_at) DESC LIMIT 50`,
    )
    .bind(ws, app)
    .all<{ release: string }>();
  return results.map((r) => r.release);
}
