/**
 * Static scan of a worker for host APIs FluxRun cannot serve. Bundles the entry with esbuild's
 * metafile and reads every source file the worker reaches, except FluxRun's own package and what
 * only FluxRun imports. Never runs the code.
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
import type { CodeFinding, UnsupportedApi } from "../replay/preflight.js";
import type { WorkerConfig } from "./config.js";
import { FluxError } from "../errors.js";
import { workerBuildOptions } from "./esbuild.js";

const PATTERNS: { api: UnsupportedApi; re: RegExp; detail: string }[] = [
  { api: "raw_socket", re: /["']cloudflare:sockets["']/, detail: "imports cloudflare:sockets" },
  {
    api: "websocket",
    re: /\bnew\s+WebSocketPair\b|\bnew\s+WebSocket\s*\(|\.accept\(\)\s*;?\s*\/\/\s*ws|upgrade["']?\s*[:,]\s*["']websocket/i,
    detail: "opens a WebSocket",
  },
  {
    api: "key_generation",
    re: /\bsubtle\.generateKey\s*\(/,
    detail: "generates keys with crypto.subtle",
  },
  {
    api: "node_crypto_random",
    re: /["'](node:)?crypto["'][\s\S]{0,400}?\b(randomBytes|randomInt|randomFillSync|randomFill|generateKeyPair(Sync)?)\b/,
    detail: "draws randomness from node:crypto",
  },
];

/** FluxRun's own package directory (its code is what records; it is not the user's). */
const OWN_PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Inputs the entry reaches without passing through FluxRun's package. */
function userInputs(meta: Metafile, cwd: string): string[] {
  const own = [join(OWN_PACKAGE, "dist") + sep, join(OWN_PACKAGE, "src") + sep];
  const isOwn = (p: string) => {
    const abs = resolve(cwd, p);
    return own.some((d) => abs.startsWith(d)) || /node_modules\/fluxrun\//.test(p);
  };
  const entries = Object.values(meta.outputs)
    .map((o) => o.entryPoint)
    .filter((e): e is string => !!e);
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length) {
    const p = queue.shift()!;
    if (seen.has(p) || isOwn(p)) continue;
    seen.add(p);
    for (const imp of meta.inputs[p]?.imports ?? []) if (!imp.external) queue.push(imp.path);
  }
  return [...seen].filter((p) => meta.inputs[p]);
}

/**
 * Scans the worker named by a wrangler config, and its config's bindings.
 *
 * @example
 * ```ts
 * const findings = await scanWorker(await readWorkerConfig());
 * ```
 */
export async function scanWorker(config: WorkerConfig): Promise<CodeFinding[]> {
  const cwd = dirname(config.main);
  let meta: Metafile;
  try {
    const result = await build(
      workerBuildOptions(config.main, { metafile: true as const, absWorkingDir: cwd }),
    );
    meta = result.metafile;
  } catch (cause) {
    throw new FluxError("ERR_REPLAY_BUNDLE", `Could not scan the worker ${config.main}`, { cause });
  }
  const findings: CodeFinding[] = [];
  for (const input of userInputs(meta, cwd)) {
    const path = resolve(cwd, input);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      continue;
    }
    for (const p of PATTERNS) {
      const m = p.re.exec(text);
      if (m)
        findings.push({
          api: p.api,
          where: `${relative(process.cwd(), path)}:${lineOf(text, m.index)}`,
          detail: p.detail,
        });
    }
  }
  for (const [name, kind] of Object.entries(config.unsupported)) {
    findings.push({
      api: "unsupported_binding",
      where: `binding ${name}`,
      detail: `${kind} binding`,
    });
  }
  return findings;
}
