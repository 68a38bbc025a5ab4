/**
 * Recorded call sites mapped to source with the maps uploaded for an execution's app and release
 * (or, when it recorded no release, the maps uploaded without one, by bundle file name). A frame
 * no map covers stays as recorded. Parsed maps are kept per isolate by their content-addressed
 * key, a few at a time.
 * @module
 */
import { originalPositionFor, TraceMap } from "@jridgewell/trace-mapping";
import type { CallSite } from "fluxrun/contract";
import { mapsForRelease, type SourceMapRow } from "./store.js";

export type { CallSite };

/** What maps an execution's frames: whether a map exists for its release, and the mapping. */
export interface SiteMapper {
  /** The release the execution recorded (null: none). */
  release: string | null;
  /** The maps that serve it (empty: the "no source map" state). */
  maps: readonly SourceMapRow[];
  /** Each frame in source (`[function, file, line, column]`), or null where no map covers it. */
  mapFrames(frames: readonly CallSite[]): Promise<(CallSite | null)[]>;
}

const CACHE_SIZE = 4;
const cache = new Map<string, Promise<TraceMap | null>>();

function load(bucket: R2Bucket, key: string): Promise<TraceMap | null> {
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const loading = bucket
    .get(key)
    .then(async (obj) => (obj ? new TraceMap(await obj.text()) : null))
    .catch(() => null);
  cache.set(key, loading);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return loading;
}

/** The last path segment of a frame's file (`file:///…/index.js:…` and `.wrangler/tmp/…/index.js`). */
export function bundleName(file: string): string {
  return (
    file
      .replace(/[?#].*$/, "")
      .split(/[\\/]/)
      .pop() ?? file
  );
}

/** A map's source as shown: no `file://`, `webpack://<name>/` or leading `./` and `../`. */
export function shownSource(source: string): string {
  return source
    .replace(/^file:\/\//, "")
    .replace(/^webpack:\/\/[^/]*\//, "")
    .replace(/^(\.\.?\/)+/, "");
}

/**
 * The mapper for an execution of `app` in `ws` that recorded `release`.
 *
 * @example
 * ```ts
 * const mapper = await siteMapper(env.DB, env.FLUX_TRACES, { ws, app, release });
 * const [top] = await mapper.mapFrames(exception.site ?? []);
 * ```
 */
export async function siteMapper(
  db: D1Database,
  bucket: R2Bucket | undefined,
  at: { ws: string; app: string; release: string | null },
): Promise<SiteMapper> {
  const maps = bucket ? await mapsForRelease(db, at.ws, at.app, at.release) : [];
  const rowFor = (file: string): SourceMapRow | undefined => {
    const name = bundleName(file);
    return maps.find((m) => m.bundle === name) ?? (maps.length === 1 ? maps[0] : undefined);
  };
  return {
    release: at.release,
    maps,
    async mapFrames(frames) {
      if (!maps.length || !bucket) return frames.map(() => null);
      return Promise.all(
        frames.map(async ([fn, file, line, column]): Promise<CallSite | null> => {
          const row = rowFor(file);
          const map = row ? await load(bucket, row.r2Key) : null;
          if (!map) return null;
          // Frames are 1-based; trace-mapping takes 1-based lines and 0-based columns.
          const pos = originalPositionFor(map, { line, column: Math.max(0, column - 1) });
          if (pos.source === null || pos.line === null || pos.column === null) return null;
          // The recorded function is the enclosing one; a map's name is the identifier at the column.
          return [fn || pos.name || "", shownSource(pos.source), pos.line, pos.column + 1];
        }),
      );
    },
  };
}

/** The key of a recorded frame in a {@link MappedSites} lookup: its bundle position. */
export function siteKey(frame: CallSite): string {
  return `${frame[1]}:${frame[2]}:${frame[3]}`;
}

/** An execution page's frames in source: the lookup by bundle position, and the map state. */
export interface MappedSites {
  release: string | null;
  /** Bundle files a map was uploaded for (empty: the "no source map" state). */
  bundles: string[];
  /** Mapped frames by {@link siteKey} (frames no map covers are absent). */
  sites: ReadonlyMap<string, CallSite>;
  /** Releases of the app with a map (for the replayed build's frames), the newest first. */
  releases: string[];
}

/**
 * Every frame of `events` mapped with `mapper`, once per bundle position.
 *
 * @example
 * ```ts
 * const mapped = await mapSites(mapper, head.events, await releasesWithMaps(db, ws, app));
 * mapped.sites.get(siteKey(exception.site[0]));
 * ```
 */
export async function mapSites(
  mapper: SiteMapper,
  events: readonly { site?: readonly CallSite[] | undefined }[],
  releases: string[] = [],
): Promise<MappedSites> {
  const unique = new Map<string, CallSite>();
  for (const e of events) for (const f of e.site ?? []) unique.set(siteKey(f), f);
  const frames = [...unique.values()];
  const mapped = await mapper.mapFrames(frames);
  const sites = new Map<string, CallSite>();
  frames.forEach((f, i) => {
    const m = mapped[i];
    if (m) sites.set(siteKey(f), m);
  });
  return { release: mapper.release, bundles: mapper.maps.map((m) => m.bundle), sites, releases };
}

const FRAME_TEXT = /^(?:(.*?) \()?([^()\s]+):(\d+):(\d+)\)?$/;

/**
 * A summary's top frame (`fn (file:line:col)` or `file:line:col`) as a call site, or null when it
 * is not one.
 *
 * @example
 * ```ts
 * parseFrame("priceOf (index.js:120:7)"); // ["priceOf", "index.js", 120, 7]
 * ```
 */
export function parseFrame(text: string): CallSite | null {
  const m = FRAME_TEXT.exec(text.trim());
  return m ? [m[1] ?? "", m[2]!, Number(m[3]), Number(m[4])] : null;
}

/**
 * The top frames of issues in source: each mapped with the maps of its latest execution's release.
 * Issues whose frame no map covers are absent.
 *
 * @example
 * ```ts
 * const frames = await mapTopFrames(env.DB, env.FLUX_TRACES, ws, issues);
 * frames.get(issue.id); // ["priceOf", "src/orders.ts", 42, 7]
 * ```
 */
export async function mapTopFrames(
  db: D1Database,
  bucket: R2Bucket | undefined,
  ws: string,
  issues: readonly { id: number; app: string; lastTrace: string; topFrame: string | null }[],
): Promise<Map<number, CallSite>> {
  const out = new Map<number, CallSite>();
  const framed = issues.filter((i) => i.topFrame && parseFrame(i.topFrame));
  if (!bucket || !framed.length) return out;
  const { results } = await db
    .prepare(
      `SELECT trace_id AS traceId, release FROM executions
       WHERE ws = ? AND trace_id IN (${framed.map(() => "?").join(",")})`,
    )
    .bind(ws, ...framed.map((i) => i.lastTrace))
    .all<{ traceId: string; release: string | null }>();
  const releaseOf = new Map(results.map((r) => [r.traceId, r.release]));
  const mappers = new Map<string, Promise<SiteMapper>>();
  await Promise.all(
    framed.map(async (i) => {
      const release = releaseOf.get(i.lastTrace) ?? null;
      const k = `${i.app}\u0000${release ?? ""}`;
      if (!mappers.has(k)) mappers.set(k, siteMapper(db, bucket, { ws, app: i.app, release }));
      const [mapped] = await (await mappers.get(k)!).mapFrames([parseFrame(i.topFrame!)!]);
      if (mapped) out.set(i.id, mapped);
    }),
  );
  return out;
}
