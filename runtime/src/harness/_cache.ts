/**
 * The CLI's on-disk cache under `.fluxrun/cache/` beside the worker's config, so a second
 * `fluxrun replay` neither loads wrangler (1-4 s of imports) to read an unchanged config nor
 * re-bundles unchanged sources:
 * - a config read is keyed by the config file's bytes, the environment asked for, wrangler's
 *   version and the `CLOUDFLARE_*`/`WRANGLER_*` variables wrangler reads;
 * - a bundle is keyed by its entry and build switches, and valid while every input esbuild read
 *   (its metafile) has the bytes it had (size, then SHA-256, compared).
 * A miss, an unreadable entry or an unwritable directory only means the work is done again.
 * `FLUXRUN_NO_CACHE=1` turns the cache off.
 * @module
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const VERSION = 1;

/** The cache folder for the worker whose config is at `configFile`. */
export function cacheDir(configFile: string): string {
  return join(dirname(configFile), ".fluxrun", "cache");
}

const enabled = () => !process.env.FLUXRUN_NO_CACHE;

/** A stable key: SHA-256 of the parts, as JSON. */
export function cacheKey(kind: string, parts: unknown): string {
  return `${kind}-${createHash("sha256")
    .update(JSON.stringify([VERSION, parts]))
    .digest("hex")
    .slice(0, 40)}`;
}

function read<T>(dir: string, key: string): T | undefined {
  if (!enabled()) return undefined;
  try {
    return JSON.parse(readFileSync(join(dir, `${key}.json`), "utf8")) as T;
  } catch {
    return undefined;
  }
}

function write(dir: string, key: string, value: unknown): void {
  if (!enabled()) return;
  try {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${key}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, file);
  } catch {
    // A read-only project is fine: nothing is cached.
  }
}

/** wrangler's version as fluxrun resolves it, or "" when it cannot be found. */
function wranglerVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return (
      JSON.parse(readFileSync(require.resolve("wrangler/package.json"), "utf8")) as {
        version: string;
      }
    ).version;
  } catch {
    return "";
  }
}

/** The parts of a config read's key: file bytes, env, wrangler's version, the variables it reads. */
function configKey(file: string, env: string | undefined): string | undefined {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch {
    return undefined;
  }
  const vars = Object.entries(process.env)
    .filter(([k]) => k.startsWith("CLOUDFLARE_") || k.startsWith("WRANGLER_"))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return cacheKey("config", {
    file,
    cwd: process.cwd(),
    text: createHash("sha256").update(text).digest("hex"),
    env: env ?? null,
    wrangler: wranglerVersion(),
    vars,
  });
}

/**
 * `read()` (wrangler's reading of `file`), or what it returned last time for the same key.
 *
 * @example
 * ```ts
 * const raw = await cachedConfig(file, env, async () => wranglerRead(file, env));
 * ```
 */
export async function cachedConfig<T>(
  file: string,
  env: string | undefined,
  readConfig: () => Promise<T>,
): Promise<T> {
  const key = configKey(file, env);
  const dir = cacheDir(file);
  if (key) {
    const hit = read<{ value: T }>(dir, key);
    if (hit) return hit.value;
  }
  // As JSON either way, so a hit and a miss hand back the same shape.
  const value = JSON.parse(JSON.stringify(await readConfig())) as T;
  if (key) write(dir, key, { value });
  return value;
}

interface BundleEntry {
  inputs: [path: string, size: number, sha256: string][];
  script: string;
}

const digest = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

function unchanged(inputs: BundleEntry["inputs"]): boolean {
  for (const [path, size, sha256] of inputs) {
    try {
      if (statSync(path).size !== size || digest(readFileSync(path)) !== sha256) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The bundle of `entry` built by `bundle` (which reports the files it read), or the one built
 * last time when none of those files changed.
 *
 * @example
 * ```ts
 * const script = await cachedBundle(dir, { entry, keepNames }, () => bundleWithInputs(entry));
 * ```
 */
export async function cachedBundle(
  dir: string,
  parts: Record<string, unknown>,
  bundle: () => Promise<{ script: string; inputs: string[] }>,
): Promise<string> {
  const key = cacheKey("bundle", parts);
  const hit = read<BundleEntry>(dir, key);
  if (hit && Array.isArray(hit.inputs) && typeof hit.script === "string" && unchanged(hit.inputs))
    return hit.script;
  const started = Date.now();
  const { script, inputs } = await bundle();
  const stamped: BundleEntry["inputs"] = [];
  for (const path of inputs) {
    try {
      // A file written while esbuild ran may not be what it read: not cached.
      if (statSync(path).mtimeMs >= started - 1000) return script;
      const bytes = readFileSync(path);
      stamped.push([path, bytes.length, digest(bytes)]);
    } catch {
      return script; // an input that cannot be stamped: do not cache
    }
  }
  write(dir, key, { inputs: stamped, script });
  return script;
}
