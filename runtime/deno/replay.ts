/**
 * `deno task replay <trace.cbor | dir> --key <private.jwk> --handler <module> [--json]`: replays
 * Deno-recorded traces in Deno, through the default export of the handler module (the handler, or
 * what `withFlux` from `fluxrun/deno` returned). Same fail-closed replay as on Workers
 * (`executeReplay`): every boundary is served from the trace, anything it lacks is blocked and
 * reported. Run with `--deny-net`: a live call is impossible. Prints the report shape of
 * `fluxrun replay --json`; exit code 0 all match, 1 a replay diverged, 2 bad input.
 * @module
 */
import { liveNetworkAttempts } from "./_guard.ts"; // first: before FluxRun saves the host's fetch
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { replayTrace } from "fluxrun/deno";
import { formatReport } from "fluxrun/replay";
import { isFluxError } from "fluxrun";
import { loadPrivateKey, openTrace } from "fluxrun/trace";

const USAGE = `Usage: deno task replay <trace.cbor | dir> --key <private.jwk> --handler <module> [--json]

Replays each trace in this Deno process with the network denied. The handler module's default
export is the handler (a fetch function or { fetch }) or what withFlux() from fluxrun/deno returned.
The private key comes from --key, else $FLUX_PRIVATE_KEY (the JWK JSON), else the file
$FLUX_PRIVATE_KEY_FILE names, else .fluxrun/agent-private.jwk (the same rules as fluxrun replay).`;

/** An env var, or undefined when this run may not read it (no --allow-env for it). */
function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

async function traceFiles(target: string): Promise<string[]> {
  const info = await Deno.stat(target);
  if (!info.isDirectory) return [target];
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else if (e.name.endsWith(".cbor")) out.push(path);
    }
  };
  await walk(target.replace(/\/$/, ""));
  return out.sort();
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        key: { type: "string" },
        handler: { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
  } catch {
    console.error(USAGE);
    return 2;
  }
  const { values, positionals } = parsed;
  const target = positionals[0];
  if (!target || positionals.length > 1 || !values.handler) {
    console.error(USAGE);
    return 2;
  }
  let key;
  let files: string[];
  let handler: unknown;
  try {
    key = await loadPrivateKey({
      path: values.key,
      env: {
        FLUX_PRIVATE_KEY: envVar("FLUX_PRIVATE_KEY"),
        FLUX_PRIVATE_KEY_FILE: envVar("FLUX_PRIVATE_KEY_FILE"),
      },
    });
    files = await traceFiles(target);
    if (!files.length) throw new Error(`No .cbor traces in ${target}`);
    const mod = (await import(pathToFileURL(resolve(values.handler)).href)) as {
      default?: unknown;
    };
    handler = mod.default;
    const fetchLike = handler as { fetch?: unknown } | null | undefined;
    if (typeof handler !== "function" && typeof fetchLike?.fetch !== "function") {
      throw new TypeError(`${values.handler} has no default export handler`);
    }
  } catch (err) {
    const code = isFluxError(err) ? (err as { code: string }).code : "ERR_CONFIG";
    console.error(`${code}: ${err instanceof Error ? err.message : "bad input"}`);
    return 2;
  }
  const traces: (
    | { file: string; report: Parameters<typeof formatReport>[0] & { verdict: string } }
    | { file: string; error: { code: string; message: string } }
  )[] = [];
  for (const file of files) {
    try {
      const opened = await openTrace(await Deno.readFile(file), key);
      const report = await replayTrace(handler as Parameters<typeof replayTrace>[0], opened, {
        liveNetworkAttempts,
      });
      traces.push({ file, report });
    } catch (err) {
      // An unexpected error's own message may quote the trace: report only its class.
      const { code, message } = isFluxError(err)
        ? (err as { code: string; message: string })
        : {
            code: "ERR_INTERNAL",
            message: `Could not replay the trace: unexpected ${err instanceof Error ? err.name : typeof err}`,
          };
      traces.push({ file, error: { code, message } });
    }
  }
  const exitCode = traces.some((t) => "error" in t)
    ? 2
    : traces.some((t) => "report" in t && t.report.verdict === "diverged")
      ? 1
      : 0;
  if (values.json) {
    console.log(JSON.stringify({ exitCode, traces }, null, 2));
  } else {
    for (const t of traces) {
      if ("report" in t) console.log(formatReport(t.report));
      else console.error(`${t.file}: ${t.error.code}: ${t.error.message}`);
    }
    if (traces.length > 1) {
      const match = traces.filter((t) => "report" in t && t.report.verdict === "match").length;
      console.log(`${match} of ${traces.length} traces match`);
    }
  }
  return exitCode;
}

Deno.exit(await main(Deno.args));
