/**
 * Call sites mapped to source. Recorded frames are of the deployed bundle; a replay's frames are
 * of the CLI's own replay bundle. Each is mapped with its bundle's source map when one is at hand:
 * the replay bundle's (built inline), a `--source-map` file for the deployed bundle (wrangler's
 * `upload_source_maps` / `--outdir` output), else `<bundle>.map` beside a bundle file that exists
 * here (as `wrangler dev` leaves in `.wrangler/tmp`). Frames without a map stay as recorded.
 * Node only (the CLI).
 * @module
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { originalPositionFor, TraceMap, type SourceMapInput } from "@jridgewell/trace-mapping";
import type { CallSite as Frame, Divergence, ReplayReport } from "../contract/report.js";

/** A source map and how its sources are shown (relative to `cwd`). */
interface LoadedMap {
  map: TraceMap;
  /** Directory the map's relative sources resolve from. */
  base: string;
}

/** Maps frames of known bundles to their sources. */
export class SourceMaps {
  readonly #cwd: string;
  readonly #byFile = new Map<string, LoadedMap | null>();
  readonly #bundles: { name: string; loaded: LoadedMap }[] = [];
  #fallback: LoadedMap | undefined;

  constructor(cwd: string) {
    this.#cwd = cwd;
  }

  /** Uses `map` for frames of the bundle module `name` (as the runtime names its file). */
  addBundle(name: string, map: SourceMapInput, base: string): void {
    this.#bundles.push({ name, loaded: { map: new TraceMap(map), base } });
  }

  /** Uses the map at `path` for recorded frames whose bundle has no map of its own. */
  async addFallback(path: string): Promise<void> {
    this.#fallback = {
      map: new TraceMap(await readFile(path, "utf8")),
      base: dirname(resolve(this.#cwd, path)),
    };
  }

  async #mapFor(file: string): Promise<LoadedMap | undefined> {
    const bundle = this.#bundles.find((b) => file === b.name || file.endsWith(`/${b.name}`));
    if (bundle) return bundle.loaded;
    if (this.#byFile.has(file)) return this.#byFile.get(file) ?? this.#fallback;
    let found: LoadedMap | null = null;
    const candidate = `${resolve(this.#cwd, file)}.map`;
    if (existsSync(candidate)) {
      try {
        found = { map: new TraceMap(await readFile(candidate, "utf8")), base: dirname(candidate) };
      } catch {
        found = null; // not a usable map: the frame stays as recorded
      }
    }
    this.#byFile.set(file, found);
    return found ?? this.#fallback;
  }

  /** The source position of one frame, or the frame itself when no map covers it. */
  async frame(frame: Frame): Promise<Frame> {
    const [fn, file, line, column] = frame;
    const loaded = await this.#mapFor(file);
    if (!loaded) return frame;
    // Frames are 1-based; trace-mapping takes 1-based lines and 0-based columns.
    const pos = originalPositionFor(loaded.map, { line, column: Math.max(0, column - 1) });
    if (pos.source === null || pos.line === null || pos.column === null) return frame;
    const source = pos.source.startsWith("file://")
      ? new URL(pos.source).pathname
      : resolve(loaded.base, pos.source);
    const rel = relative(this.#cwd, source);
    const shown = rel && !rel.startsWith("..") ? rel.split(sep).join("/") : source;
    return [pos.name ?? fn, shown, pos.line, pos.column + 1];
  }

  async frames(frames: readonly Frame[] | undefined): Promise<Frame[] | undefined> {
    return frames ? Promise.all(frames.map((f) => this.frame(f))) : undefined;
  }
}

/** The maps for each side of a divergence: the recorded bundle's and the replay bundle's. */
export interface SiteMaps {
  recorded: SourceMaps;
  replayed: SourceMaps;
}

/**
 * The report with each divergence's call sites mapped to source where a map covers them.
 *
 * @example
 * ```ts
 * const maps = { recorded: new SourceMaps(cwd), replayed: new SourceMaps(cwd) };
 * await maps.recorded.addFallback("dist/index.js.map");
 * console.log(formatReport(await mapReportSites(report, maps)));
 * ```
 */
export async function mapReportSites(report: ReplayReport, maps: SiteMaps): Promise<ReplayReport> {
  const divergences = await Promise.all(
    report.divergences.map(async (d): Promise<Divergence> => {
      if (!d.site) return d;
      const recorded = await maps.recorded.frames(d.site.recorded);
      const replayed = await maps.replayed.frames(d.site.replayed);
      return {
        ...d,
        site: {
          ...(recorded ? { recorded } : {}),
          ...(replayed ? { replayed } : {}),
        },
      };
    }),
  );
  return { ...report, divergences };
}
