/**
 * Reads a wrangler config the way wrangler does, with wrangler's own reader (`wrangler.json`,
 * `wrangler.jsonc` with comments and trailing commas, `wrangler.toml`; environments), and keeps
 * the parts replay needs: entry, compatibility, build switches, vars and binding names by kind.
 * wrangler is loaded lazily: it is what the user already has next to the worker; with `cache`
 * (replay), an unchanged config is read from FluxRun's cache ({@link module:_cache}) without it.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { BINDING_KINDS } from "../boundaries/index.js";
import { unsupportedBinding } from "../boundaries/bindings/unsupported.js";
import { FluxError } from "../errors.js";
import { cachedConfig } from "./_cache.js";
import type { PreflightItem } from "../replay/preflight.js";

export interface WorkerConfig {
  /** Absolute path of the config file. */
  path: string;
  name: string;
  /** Absolute path of the entry module (`main`, or `--entry`). */
  main: string;
  /** The wrangler environment read (`--env`), if any. */
  env?: string;
  compatibilityDate: string;
  /** The config's flags as written: replay adds none (dev would not either). */
  compatibilityFlags: string[];
  /** wrangler's `keep_names` (default true) and `minify` (default false), for the replay bundle. */
  keepNames: boolean;
  minify: boolean;
  vars: Record<string, string>;
  /** Binding names by FluxRun binding kind (`kv`, `r2`, `d1`, `queue`, `service`...). */
  bindings: Record<string, string[]>;
  /** Binding kinds FluxRun cannot serve, by binding name (ai, vectorize, ...). */
  unsupported: Record<string, string>;
  /** The config as wrangler resolved it (the environment applied), for what binding kinds read. */
  raw: Record<string, unknown>;
}

/** Where to look and what to read. */
export interface ConfigOptions {
  /** Directory the search for a config starts in, and relative paths resolve against. */
  cwd?: string;
  /** The worker's entry when the config has no `main` (an app run as `wrangler dev src/index.ts`). */
  entry?: string;
  /** A wrangler environment (`[env.<name>]`), as `wrangler dev --env`. */
  env?: string;
  /**
   * Keep wrangler's reading in `.fluxrun/cache/` and reuse it while the config is unchanged
   * ({@link module:_cache}); replay asks for it, commands that must write nothing do not.
   */
  cache?: boolean;
}

/** Config file names in wrangler's order of preference. */
export const CONFIG_NAMES = ["wrangler.json", "wrangler.jsonc", "wrangler.toml"] as const;

/** The part of the `wrangler` package FluxRun uses. */
export interface WranglerModule {
  unstable_readConfig(
    args: { config?: string; env?: string; script?: string },
    options?: { hideWarnings?: boolean },
  ): Record<string, unknown>;
  experimental_readRawConfig(args: { config?: string }): { rawConfig: Record<string, unknown> };
  experimental_patchConfig(path: string, patch: Record<string, unknown>, append?: boolean): string;
}

// A specifier in a variable: TypeScript does not load wrangler's types, esbuild never bundles it.
const WRANGLER = "wrangler";
let wranglerModule: Promise<WranglerModule> | undefined;

/**
 * wrangler's own config reader and writer, loaded on first use.
 *
 * @example
 * ```ts
 * const { unstable_readConfig } = await loadWrangler();
 * ```
 */
export function loadWrangler(): Promise<WranglerModule> {
  wranglerModule ??= (import(WRANGLER) as Promise<WranglerModule>).catch((cause: unknown) => {
    wranglerModule = undefined;
    throw new FluxError(
      "ERR_CONFIG",
      "fluxrun reads wrangler configs with wrangler itself: install it next to your worker (npm install -D wrangler)",
      { cause },
    );
  });
  return wranglerModule;
}

/**
 * The config file: `path` resolved against `cwd`, else the first of {@link CONFIG_NAMES} in `cwd`
 * or a parent directory, as wrangler searches.
 *
 * @example
 * ```ts
 * const file = findWorkerConfig(undefined, process.cwd()); // ".../wrangler.toml"
 * ```
 */
export function findWorkerConfig(path: string | undefined, cwd: string): string {
  if (path) {
    const file = resolve(cwd, path);
    if (existsSync(file) && statSync(file).isFile()) return file;
    throw new FluxError("ERR_CONFIG", `No wrangler config at ${path}`);
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      const file = join(dir, name);
      if (existsSync(file)) return file;
    }
    if (dirname(dir) === dir) break;
  }
  throw new FluxError(
    "ERR_CONFIG",
    `No wrangler config (${CONFIG_NAMES.join(", ")}) in ${cwd} or above; pass --config`,
  );
}

/** wrangler's parse errors carry `text` and a `location`; its validation errors a message. */
interface WranglerError {
  text?: unknown;
  message?: unknown;
  location?: { file?: unknown; line?: unknown; column?: unknown };
}

/** wrangler's error as one line with file and position, never the file's text. */
function configError(file: string, cwd: string, err: unknown): FluxError {
  const e = (err ?? {}) as WranglerError;
  const shown = relative(cwd, file) || file;
  const loc = e.location;
  if (loc && typeof loc.line === "number") {
    const column = typeof loc.column === "number" ? `:${loc.column + 1}` : "";
    const what = typeof e.text === "string" ? e.text : "syntax error";
    return new FluxError("ERR_CONFIG", `Could not parse ${shown}:${loc.line}${column}: ${what}`, {
      cause: err,
    });
  }
  const message =
    typeof e.message === "string" ? e.message : typeof e.text === "string" ? e.text : "";
  // The first paragraph: wrangler follows it with suggested snippets.
  const lines = message.split("\n").map((l) => l.trim());
  const start = lines.findIndex((l) => l && !l.startsWith("Processing "));
  const end = lines.indexOf("", start < 0 ? 0 : start);
  const detail = start < 0 ? "" : lines.slice(start, end < 0 ? undefined : end).join(" ");
  return new FluxError(
    "ERR_CONFIG",
    `Could not read ${shown}${detail ? `: ${detail.replace(/^- /, "")}` : ""}`,
    { cause: err },
  );
}

/** A wrangler config as wrangler resolved it (`env` applied), before FluxRun's checks. */
export interface WranglerConfig {
  /** Absolute path of the config file. */
  path: string;
  env?: string;
  /** The config as wrangler resolved it. */
  raw: Record<string, unknown>;
}

/** What each declared binding's kind says about replay, by binding name (for preflight). */
export function bindingNotes(config: WorkerConfig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of BINDING_KINDS) {
    for (const name of config.bindings[kind.name] ?? []) out[name] = kind.note;
  }
  for (const name of Object.keys(config.unsupported)) out[name] = unsupportedBinding.note;
  return out;
}

/**
 * Reads a wrangler config with wrangler's own reader, `env` applied; no entry needed (for
 * commands that read no code, such as `fluxrun pull`).
 *
 * @example
 * ```ts
 * const { raw } = await readWranglerConfig(undefined, { cwd: "my-app" });
 * ```
 */
export async function readWranglerConfig(
  path: string | undefined,
  options: Omit<ConfigOptions, "entry"> = {},
): Promise<WranglerConfig> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const file = findWorkerConfig(path, cwd);
  // Only a config wrangler read without complaint is cached; a refusal is read again each time.
  const readConfig = async () => {
    const wrangler = await loadWrangler();
    let raw: Record<string, unknown>;
    try {
      raw = wrangler.unstable_readConfig(
        { config: file, ...(options.env ? { env: options.env } : {}) },
        { hideWarnings: true },
      );
    } catch (err) {
      throw configError(file, cwd, err);
    }
    if (options.env && !hasEnvironment(wrangler, file, options.env)) {
      throw new FluxError(
        "ERR_CONFIG",
        `${relative(cwd, file) || file} has no environment "${options.env}"`,
      );
    }
    return raw;
  };
  const raw = options.cache
    ? await cachedConfig(file, options.env, readConfig)
    : await readConfig();
  return { path: file, raw, ...(options.env ? { env: options.env } : {}) };
}

/**
 * Reads the worker's wrangler config (found in `cwd` or above, or at `path`) with wrangler's
 * own reader, applying `env` and `entry` as `wrangler dev --env <env> <entry>` would.
 *
 * @example
 * ```ts
 * const config = await readWorkerConfig(undefined, { cwd: "my-app", env: "staging" });
 * const noMain = await readWorkerConfig("wrangler.jsonc", { entry: "src/index.ts" });
 * ```
 */
export async function readWorkerConfig(
  path?: string,
  options: ConfigOptions | string = {},
): Promise<WorkerConfig> {
  const opts: ConfigOptions = typeof options === "string" ? { cwd: options } : options;
  const cwd = resolve(opts.cwd ?? process.cwd());
  const { path: file, raw } = await readWranglerConfig(path, {
    cwd,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cache ? { cache: true } : {}),
  });
  let main: string;
  if (opts.entry) {
    main = resolve(cwd, opts.entry);
    if (!existsSync(main)) throw new FluxError("ERR_CONFIG", `No entry module at ${opts.entry}`);
  } else if (typeof raw.main === "string") {
    main = isAbsolute(raw.main) ? raw.main : resolve(dirname(file), raw.main);
  } else {
    throw new FluxError(
      "ERR_CONFIG",
      `${relative(cwd, file) || file} has no "main": pass --entry <file> (the script you give wrangler dev)`,
    );
  }
  const bindings: Record<string, string[]> = {};
  for (const kind of BINDING_KINDS) {
    if (kind.config) bindings[kind.name] = kind.config.names(raw[kind.config.wranglerKey]);
  }
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries((raw.vars as Record<string, unknown> | undefined) ?? {})) {
    vars[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const unsupported: Record<string, string> = {};
  for (const key of ["ai", "browser", "vectorize", "hyperdrive", "analytics_engine_datasets"]) {
    const v = raw[key];
    for (const b of Array.isArray(v) ? v : v ? [v] : []) {
      const name =
        (b as { binding?: string; name?: string }).binding ?? (b as { name?: string }).name;
      if (name) unsupported[name] = key;
    }
  }
  const flags = Array.isArray(raw.compatibility_flags)
    ? (raw.compatibility_flags as unknown[]).filter((f): f is string => typeof f === "string")
    : [];
  return {
    path: file,
    name: typeof raw.name === "string" ? raw.name : "worker",
    main,
    ...(opts.env ? { env: opts.env } : {}),
    compatibilityDate:
      typeof raw.compatibility_date === "string" ? raw.compatibility_date : "2026-04-20",
    compatibilityFlags: flags,
    keepNames: raw.keep_names !== false,
    minify: raw.minify === true,
    vars,
    bindings,
    unsupported,
    raw,
  };
}

/** wrangler treats an unknown `--env` as the top level with a warning; FluxRun refuses it. */
function hasEnvironment(wrangler: WranglerModule, file: string, env: string): boolean {
  const { rawConfig } = wrangler.experimental_readRawConfig({ config: file });
  const envs = rawConfig.env;
  return typeof envs === "object" && envs !== null && Object.hasOwn(envs, env);
}

/** Flags under which workerd provides `node:async_hooks` (AsyncLocalStorage), which withFlux needs. */
export const ASYNC_CONTEXT_FLAGS = ["nodejs_compat", "nodejs_compat_v2", "nodejs_als"] as const;

/**
 * The line to add to the config for the flag withFlux needs, in the config's own syntax.
 *
 * @example
 * ```ts
 * compatFlagLine({ path: "wrangler.toml" }); // 'compatibility_flags = ["nodejs_compat"]'
 * ```
 */
export function compatFlagLine(config: Pick<WorkerConfig, "path">): string {
  return config.path.endsWith(".toml")
    ? 'compatibility_flags = ["nodejs_compat"]'
    : '"compatibility_flags": ["nodejs_compat"]';
}

/**
 * What in the config stops a replay before any trace is read: no AsyncLocalStorage flag (the
 * worker would fail in wrangler dev and in production alike, so replay does not add it).
 *
 * @example
 * ```ts
 * for (const b of configBlockers(config)) console.log(b.code, b.reason);
 * ```
 */
export function configBlockers(config: WorkerConfig): PreflightItem[] {
  if (config.compatibilityFlags.some((f) => (ASYNC_CONTEXT_FLAGS as readonly string[]).includes(f)))
    return [];
  return [
    {
      code: "BLOCK_COMPAT_FLAG",
      reason: `${config.path} lacks the nodejs_compat flag that withFlux needs (AsyncLocalStorage); wrangler dev fails without it too: add ${compatFlagLine(config)}`,
    },
  ];
}

/**
 * Throws ERR_CONFIG when {@link configBlockers} finds something: replay refuses a config the
 * worker could not run under.
 *
 * @example
 * ```ts
 * assertReplayable(await readWorkerConfig());
 * ```
 */
export function assertReplayable(config: WorkerConfig): void {
  const [first] = configBlockers(config);
  if (first) throw new FluxError("ERR_CONFIG", first.reason);
}

/**
 * Miniflare options giving replay an empty local binding for each binding the config declares,
 * as each binding kind says; kinds without one get stand-ins inside the worker.
 *
 * @example
 * ```ts
 * new Miniflare({ ...replayBindingOptions(config), modules: [...] });
 * ```
 */
export function replayBindingOptions(config: WorkerConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kind of BINDING_KINDS) {
    const names = config.bindings[kind.name] ?? [];
    if (names.length && kind.config?.miniflare) {
      Object.assign(out, kind.config.miniflare(names, config.raw));
    }
  }
  return out;
}
