/**
 * Reads the parts of a wrangler config that replay needs: entry, compatibility, vars and binding
 * names by kind. TOML (wrangler.toml) and JSON (wrangler.json/.jsonc).
 * @module
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
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
  kv: string[];
  r2: string[];
  d1: string[];
  queues: string[];
  services: string[];
  /** Binding kinds FluxRun cannot serve, by binding name (durable_objects, ai, ...). */
  unsupported: Record<string, string>;
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
  const names = (key: string, field = "binding") =>
    (Array.isArray(raw[key]) ? (raw[key] as Record<string, unknown>[]) : [])
      .map((b) => b[field])
      .filter((n): n is string => typeof n === "string");
  const queues =
    (raw.queues as { producers?: Record<string, unknown>[] } | undefined)?.producers ?? [];
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries((raw.vars as Record<string, unknown> | undefined) ?? {})) {
    vars[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  const unsupported: Record<string, string> = {};
  for (const n of (raw.durable_objects as { bindings?: { name?: string }[] } | undefined)
    ?.bindings ?? []) {
    if (n.name) unsupported[n.name] = "durable_object";
  }
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
    kv: names("kv_namespaces"),
    r2: names("r2_buckets"),
    d1: names("d1_databases"),
    queues: queues.map((q) => q.binding).filter((n): n is string => typeof n === "string"),
    services: names("services"),
    unsupported,
  };
}

function stripJsonComments(text: string): string {
  return text.replace(
    /("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (_, str: string | undefined) => str ?? "",
  );
}
