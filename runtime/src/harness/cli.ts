/**
 * The `fluxrun` command line: `replay`, `keygen`.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { asFluxError, FluxError, isFluxError } from "../errors.js";
import { generateTraceKeys } from "../trace/keys.js";
import { loadPrivateKey } from "../trace/key-file.js";
import { formatReport } from "../replay/report.js";
import { exitCodeOf, loadPolicy, replayAll } from "./replay.js";
import { bindingNotes, readWorkerConfig } from "./config.js";
import { scanWorker } from "./scan.js";
import { generateGuard } from "./guard.js";
import { preflight, formatPreflight } from "../replay/preflight.js";
import { readTrace } from "../trace/seal.js";

const USAGE = `Usage:
  fluxrun replay <trace.cbor | dir> [--config wrangler.toml] [--key private.jwk] [--policy file] [--json]
  fluxrun preflight <trace.cbor> [--config wrangler.toml] [--json]
  fluxrun guard <trace.cbor> --out <dir> [--config wrangler.toml] [--key private.jwk] [--redacted]
  fluxrun keygen [--out dir]
  fluxrun agent [--host 127.0.0.1] [--port 8788] [--config wrangler.toml] [--key private.jwk] ...

Exit codes (replay): 0 all match, 1 a replay diverged, 2 bad input or usage.
Exit codes (preflight): 0 ready, 1 not ready or unknown, 2 bad input.
The private key comes from --key, else $FLUX_PRIVATE_KEY (the JWK JSON), else the file
$FLUX_PRIVATE_KEY_FILE names, else .fluxrun/agent-private.jwk.
The replay policy comes from --policy, else fluxrun.policy.json next to the config, else deny-all.
Set FLUXRUN_DEBUG=1 to print the stack of an unexpected failure (it may quote trace contents).`;

/** Wrong arguments: main prints the usage and exits 2. */
class UsageError extends Error {}

/** The one positional argument a command takes. */
function onlyArgument(positionals: string[]): string {
  const [target] = positionals;
  if (target === undefined || positionals.length !== 1) throw new UsageError();
  return target;
}

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  cwd: string;
  env: Record<string, string | undefined>;
}

const defaultIo: Io = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  cwd: process.cwd(),
  env: process.env,
};

async function traceFiles(target: string): Promise<string[]> {
  let s;
  try {
    s = await stat(target);
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `No trace at ${target}`, { cause });
  }
  if (!s.isDirectory()) return [target];
  const names = (await readdir(target)).filter((n) => n.endsWith(".cbor")).sort();
  if (!names.length) throw new FluxError("ERR_CONFIG", `No .cbor traces in ${target}`);
  return names.map((n) => join(target, n));
}

async function readTraceFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `Could not read the trace file ${file}`, { cause });
  }
}

async function replayCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      key: { type: "string" },
      policy: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const target = onlyArgument(positionals);
  const key = await loadPrivateKey({ path: values.key, cwd: io.cwd, env: io.env });
  const files = await traceFiles(resolve(io.cwd, target));
  const inputs = await Promise.all(
    files.map(async (file) => ({ file, bytes: await readTraceFile(file) })),
  );
  const config = await readWorkerConfig(
    values.config ? resolve(io.cwd, values.config) : undefined,
    io.cwd,
  );
  const policy = await loadPolicy(
    dirname(config.path),
    values.policy ? resolve(io.cwd, values.policy) : undefined,
  );
  const outcomes = await replayAll(inputs, key, { config: config.path, policy });
  const exitCode = exitCodeOf(outcomes);
  if (values.json) {
    io.out(JSON.stringify({ exitCode, traces: outcomes }, null, 2));
  } else {
    for (const o of outcomes) {
      if ("report" in o) io.out(formatReport(o.report));
      else io.err(`${o.file}: ${o.error.code}: ${o.error.message}`);
    }
    if (outcomes.length > 1) {
      const match = outcomes.filter((o) => "report" in o && o.report.verdict === "match").length;
      io.out(`${match} of ${outcomes.length} traces match`);
    }
  }
  return exitCode;
}

async function preflightCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const target = onlyArgument(positionals);
  const { head } = readTrace(await readTraceFile(resolve(io.cwd, target)));
  const config = await readWorkerConfig(
    values.config ? resolve(io.cwd, values.config) : undefined,
    io.cwd,
  );
  const report = preflight(head, { code: await scanWorker(config), notes: bindingNotes(config) });
  io.out(values.json ? JSON.stringify(report, null, 2) : formatPreflight(report));
  return report.readiness === "ready" ? 0 : 1;
}

async function guardCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      key: { type: "string" },
      out: { type: "string" },
      redacted: { type: "boolean", default: false },
    },
  });
  const target = onlyArgument(positionals);
  if (!values.out) throw new UsageError();
  const key = await loadPrivateKey({ path: values.key, cwd: io.cwd, env: io.env });
  const files = await generateGuard(resolve(io.cwd, target), {
    out: values.out,
    key,
    redacted: values.redacted,
    cwd: io.cwd,
    ...(values.config ? { config: resolve(io.cwd, values.config) } : {}),
  });
  io.out(`Guard written: ${files.test}`);
  io.out(
    `  fixture: ${files.fixture}${values.redacted ? " (redacted, unsealed)" : " (sealed: the test needs FLUX_PRIVATE_KEY or FLUX_PRIVATE_KEY_FILE)"}`,
  );
  io.out(
    `  asserts: ${files.report.replayed.status ?? files.report.replayed.error?.name} · ${files.report.boundaries.length} boundaries · nothing blocked`,
  );
  io.out("  run it with: npx vitest run " + relative(io.cwd, files.test));
  return 0;
}

async function agentCommand(args: string[], io: Io): Promise<number> {
  const connector = "@fluxrun/agent/connector";
  let mod: { agentCommand?: (argv: string[], io: Io) => Promise<number> };
  try {
    mod = (await import(connector)) as typeof mod;
  } catch (cause) {
    throw new FluxError(
      "ERR_CONFIG",
      `The local agent needs the ${connector} package next to fluxrun`,
      { cause },
    );
  }
  if (typeof mod.agentCommand !== "function")
    throw new FluxError("ERR_CONFIG", `${connector} has no agentCommand`);
  return mod.agentCommand(args, io);
}

async function keygenCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: "string", default: ".fluxrun" } } });
  const dir = resolve(io.cwd, values.out);
  const priv = join(dir, "agent-private.jwk");
  const pub = join(dir, "public.jwk");
  if (existsSync(priv)) {
    io.err(`${priv} already exists; refusing to overwrite a private key`);
    return 2;
  }
  const { publicJwk, privateJwk, kid } = await generateTraceKeys();
  await mkdir(dir, { recursive: true });
  await writeFile(priv, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 });
  await writeFile(pub, `${JSON.stringify(publicJwk)}\n`);
  io.out(`Key ${kid}`);
  io.out(
    `  public:  ${pub}  → set as FLUX_PUBLIC_KEY on the recorded worker (wrangler.toml [vars])`,
  );
  io.out(
    `  private: ${priv}  → give only to the agent (wrangler secret put FLUX_PRIVATE_KEY) or pass to fluxrun replay --key`,
  );
  io.out(
    "  WARNING: never commit the private key; keep it out of the dashboard and of the recorded worker.",
  );
  return 0;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "replay":
        return await replayCommand(rest, io);
      case "keygen":
        return await keygenCommand(rest, io);
      case "preflight":
        return await preflightCommand(rest, io);
      case "guard":
        return await guardCommand(rest, io);
      case "agent":
        return await agentCommand(rest, io);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`Unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(USAGE);
      return 2;
    }
    if (isFluxError(err)) {
      io.err(`fluxrun: ${err.code}: ${err.message}`);
      return 2;
    }
    if (err instanceof TypeError && (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`fluxrun: ${err.message}\n${USAGE}`);
      return 2;
    }
    // No stack trace or raw message unless asked: either may quote the trace being read.
    const failure = asFluxError(err, "ERR_INTERNAL", `fluxrun ${command} failed`);
    if (io.env.FLUXRUN_DEBUG && err instanceof Error) io.err(String(err.stack));
    io.err(`fluxrun: ${failure.code}: ${failure.message}`);
    return 2;
  }
}
