/**
 * Reads the parts of a wrangler config that replay needs: entry, compatibility, vars and binding
 * names by kind. TOML (wrangler.toml) and JSON (wrangler.json/.jsonc).
 * @module
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { BINDING_KINDS } from "../boundaries/index.js";
import { unsupportedBinding } from "../boundaries/bindings/unsupported.js";
import { FluxError } from "../errors.js";

export interface WorkerConfig {
  /** Absolute path of the config file. */
  path: string;
  name: string;
  /** Absolute path of the entry module. */
  main: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
  /** Binding names by FluxRun binding kind (`kv`, `r2`, `d1`, `queue`, `service`...). */
  bindings: Record<string, string[]>;
  /** Binding kinds FluxRun cannot serve, by binding name (ai, vectorize, ...). */
  unsupported: Record<string, string>;
  /** The whole parsed config, for what binding kinds read beyond their own section. */
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
 * Miniflare options giving replay an empty local binding for each binding the config declares,
 * as each binding kind says; kinds without one get stand-ins inside the worker.
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

const CANDIDATES = ["wrangler.toml", "wrangler.jsonc", "wrangler.json"];

/** Finds the wrangler config in `dir` (or uses `path`) and reads it. */
export async function readWorkerConfig(path?: string, dir = process.cwd()): Promise<WorkerConfig> {
  const file = path
    ? resolve(path)
    : CANDIDATES.map((c) => resolve(dir, c)).find((c) => existsSync(c));
  if (!file || !existsSync(file)) {
    throw new FluxError(
      "ERR_CONFIG",
      `No wrangler config found${path ? ` at ${path}` : ` in ${dir}`}; pass --config`,
    );
  }
  const text = await readFile(file, "utf8");
  let raw: Record<string, unknown>;
  try {
    raw = file.endsWith(".toml")
      ? (parseToml(text) as Record<string, unknown>)
      : (JSON.parse(stripJsonComments(text)) as Record<string, unknown>);
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `Could not parse ${file}`, { cause });
  }
  if (typeof raw.main !== "string")
    throw new FluxError("ERR_CONFIG", `${file} has no "main" entry`);
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
  const flags = Array.isArray(raw.compatibility_flags) ? (raw.compatibility_flags as string[]) : [];
  return {
    path: file,
    name: typeof raw.name === "string" ? raw.name : "worker",
    main: resolve(dirname(file), raw.main),
    compatibilityDate:
      typeof raw.compatibility_date === "string" ? raw.compatibility_date : "2026-04-20",
    compatibilityFlags: flags.includes("nodejs_compat") ? flags : [...flags, "nodejs_compat"],
    vars,
    bindings,
    unsupported,
    raw,
  };
}

function stripJsonComments(text: string): string {
  return text.replace(
    /("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (_, str: string | undefined) => str ?? "",
  );
}
