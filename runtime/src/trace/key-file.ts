/**
 * Finding the private trace key on a developer's or CI machine, with one set of rules for every
 * tool that opens traces (the `fluxrun` CLI, generated guards, the local agent connector, Deno's
 * replay task). Uses `node:fs/promises` (Deno supports it), loaded on first use so worker bundles
 * never pull it in.
 * @module
 */
import { FluxError } from "../errors.js";
import { parsePrivateJwk, type PrivateJwk } from "./keys.js";
import { parseVerifyJwk } from "./_sign.js";
import type { OriginKeys } from "./seal.js";

/** Where `fluxrun keygen` and `npm start` keep the local private key, relative to the project. */
export const PRIVATE_KEY_FILE = ".fluxrun/agent-private.jwk";

interface Fs {
  readFile(path: string, encoding: "utf8"): Promise<string>;
}

// A specifier in a variable: bundlers leave it alone, and TypeScript needs no Node types for it.
const FS_MODULE = "node:fs/promises";

function isAbsolute(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
}

function resolveIn(cwd: string | undefined, path: string): string {
  return cwd && !isAbsolute(path) ? `${cwd.replace(/[\\/]+$/, "")}/${path}` : path;
}

export interface LoadPrivateKeyOptions {
  /** An explicit key file (`--key`): the only place looked at when given. */
  path?: string | undefined;
  /** Directory relative paths start from. Default: the process's. */
  cwd?: string | undefined;
  /** Environment to read `FLUX_PRIVATE_KEY` (the JWK JSON) and `FLUX_PRIVATE_KEY_FILE` from. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Directories whose `.fluxrun/agent-private.jwk` is tried, in order. Default: `cwd`. */
  dirs?: readonly string[];
  /** Ends the "no key" message: what the caller's user should do. */
  hint?: string;
}

/**
 * Loads the private key that opens traces. In order: `path` when given; else `FLUX_PRIVATE_KEY`
 * (the JWK JSON); else the file `FLUX_PRIVATE_KEY_FILE` names; else `.fluxrun/agent-private.jwk`
 * under each of `dirs` (default `cwd`). Throws FluxError ERR_KEY_INVALID when none holds a private
 * X25519 JWK.
 *
 * @example
 * ```ts
 * const key = await loadPrivateKey({ path: args.key, cwd: process.cwd(), env: process.env });
 * ```
 */
export async function loadPrivateKey(options: LoadPrivateKeyOptions = {}): Promise<PrivateJwk> {
  const fs = (await import(FS_MODULE)) as Fs;
  const read = async (file: string): Promise<PrivateJwk> => {
    let text: string;
    try {
      text = await fs.readFile(resolveIn(options.cwd, file), "utf8");
    } catch (cause) {
      throw new FluxError("ERR_KEY_INVALID", `Could not read the private key file ${file}`, {
        cause,
      });
    }
    return parsePrivateJwk(text);
  };
  if (options.path) return read(options.path);
  const env = options.env ?? {};
  if (env.FLUX_PRIVATE_KEY) return parsePrivateJwk(env.FLUX_PRIVATE_KEY);
  if (env.FLUX_PRIVATE_KEY_FILE) return read(env.FLUX_PRIVATE_KEY_FILE);
  for (const dir of options.dirs ?? [options.cwd]) {
    let local: string | undefined;
    try {
      local = await fs.readFile(resolveIn(dir, PRIVATE_KEY_FILE), "utf8");
    } catch {
      continue; // no key there: try the next place, then say where one can come from
    }
    return parsePrivateJwk(local);
  }
  throw new FluxError(
    "ERR_KEY_INVALID",
    `No private key: pass --key <private.jwk>, set FLUX_PRIVATE_KEY (the JWK JSON) or FLUX_PRIVATE_KEY_FILE, or keep it in ${PRIVATE_KEY_FILE}${options.hint ? `. ${options.hint}` : ""}`,
  );
}

/** Where `fluxrun keygen` keeps the public half of the trace signing key, next to the private key. */
export const VERIFY_KEY_FILE = ".fluxrun/signing-public.jwk";

/**
 * The trace verification keys a local replay checks origin with. In order: `path`
 * (`--verify-key`: a public Ed25519 JWK, or JSON mapping apps to JWKs); else `FLUX_ORIGIN_KEYS`
 * (that JSON map, as the agent takes it); else `.fluxrun/signing-public.jwk` under each of
 * `dirs`. A single key is the key of every app (`"*"`). Without any, traces read as unverified.
 *
 * @example
 * ```ts
 * const origin = await loadOriginKeys({ cwd: process.cwd(), env: process.env });
 * await openTrace(bytes, key, { origin });
 * ```
 */
export async function loadOriginKeys(
  options: Omit<LoadPrivateKeyOptions, "hint"> = {},
): Promise<OriginKeys> {
  const fs = (await import(FS_MODULE)) as Fs;
  const parse = (text: string, from: string): OriginKeys => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw new FluxError("ERR_KEY_INVALID", `Could not parse ${from} as JSON`, { cause });
    }
    const map = json as Record<string, unknown> | null;
    if (typeof map === "object" && map !== null && map.kty === undefined) {
      for (const k of Object.values(map)) {
        for (const one of Array.isArray(k) ? k : [k]) parseVerifyJwk(one as object);
      }
      return map as OriginKeys;
    }
    return { "*": parseVerifyJwk(json as object) };
  };
  if (options.path) {
    let text: string;
    try {
      text = await fs.readFile(resolveIn(options.cwd, options.path), "utf8");
    } catch (cause) {
      throw new FluxError(
        "ERR_KEY_INVALID",
        `Could not read the verification key file ${options.path}`,
        { cause },
      );
    }
    return parse(text, options.path);
  }
  if (options.env?.FLUX_ORIGIN_KEYS) return parse(options.env.FLUX_ORIGIN_KEYS, "FLUX_ORIGIN_KEYS");
  for (const dir of options.dirs ?? [options.cwd]) {
    let local: string;
    try {
      local = await fs.readFile(resolveIn(dir, VERIFY_KEY_FILE), "utf8");
    } catch {
      continue;
    }
    return parse(local, VERIFY_KEY_FILE);
  }
  return {};
}
