/**
 * The `fluxrun` command line: `init`, `pull`, `replay`, `preflight`, `guard`, `keygen`, `agent`,
 * `policy pull`, `sourcemaps upload`.
 * Every command takes one option set (`--config`, `--entry`, `--env`, `--key`, `--json`); an
 * option a command has no use for is ignored with a note.
 * @module
 */
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parseArgs } from "node:util";
import { asFluxError, FluxError, isFluxError } from "../errors.js";
import { generateTraceKeys } from "../trace/keys.js";
import { generateSigningKeys } from "../trace/_sign.js";
import { loadOriginKeys, loadPrivateKey, PRIVATE_KEY_FILE } from "../trace/key-file.js";
import { formatReport } from "../replay/report.js";
import { exitCodeOf, loadPolicy, replayAll } from "./replay.js";
import { bindingNotes, configBlockers, readWorkerConfig, type ConfigOptions } from "./config.js";
import { scanWorker } from "./scan.js";
import { generateGuard } from "./guard.js";
import { preflight, formatPreflight, type PreflightReport } from "../replay/preflight.js";
import { readTrace } from "../trace/seal.js";
import { initApp, formatInit, gitignoreCovers, writeKeyPair } from "./init.js";
import { pullTraces, parseFilters, s3FromEnvironment } from "./pull.js";
import { localPolicyView, pullPolicy } from "./policy.js";
import { uploadSourceMap } from "./sourcemaps.js";
import type { SourceMapUploaded } from "../contract/sourcemap.js";

const USAGE = `Usage:
  fluxrun init [--dry-run] [--bucket fluxrun-traces] [--app name]
  fluxrun pull [--out .fluxrun] [--remote] [--bucket name] [--persist-to .wrangler/state]
               [--app name] [--route /path] [--method GET] [--status 5xx] [--outcome error]
               [--since 2h] [--until 2026-04-20T12:00Z] [--limit n]
  fluxrun replay <trace.cbor | dir> [--policy file] [--verify-key file] [--source-map file]
  fluxrun preflight <trace.cbor | dir>
  fluxrun guard <trace.cbor> --out <dir> [--redacted] [--verify-key file]
  fluxrun policy pull [--app name] [--dashboard URL] [--token fxd_…]
  fluxrun keygen [--out dir]
  fluxrun agent [--pair] [--dashboard url] [--host 127.0.0.1] [--port 8788] [--config wrangler.toml] ...
  fluxrun agent pairings | unpair <id>   (the local agent's claim-code pairings)
  fluxrun sourcemaps upload <file.map>... --app name [--release r] [--bundle index.js]
               [--dashboard https://…] [--token fxd_…]

Every command also takes:
  --config <file>   the wrangler config (default: wrangler.json, .jsonc or .toml here or above)
  --entry <file>    the worker's entry when the config has no "main" (as in wrangler dev src/index.ts)
  --env <name>      a wrangler environment, as wrangler --env
  --key <file>      the private trace key (replay, guard; init: an existing key to use)
  --json            machine-readable output
An option a command does not use is ignored with a note.

Exit codes (replay): 0 all match, 1 a replay diverged, 2 bad input or usage.
Exit codes (preflight): 0 ready, 1 not ready or unknown, 2 bad input.
The private key comes from --key, else $FLUX_PRIVATE_KEY (the JWK JSON), else the file
$FLUX_PRIVATE_KEY_FILE names, else .fluxrun/agent-private.jwk.
A trace's origin (the app's signature) is checked with --verify-key (a public Ed25519 JWK, or JSON
mapping apps to keys), else $FLUX_ORIGIN_KEYS, else .fluxrun/signing-public.jwk; an unsigned or
forged trace of an app with a key is refused, and without a key it replays marked unverified.
Call sites in a report are shown in source: the replay's with its own bundle's map, the recorded
ones with --source-map (the deployed bundle's map, e.g. wrangler deploy --outdir dist), else a
<bundle>.map beside the recorded bundle path when it exists here (wrangler dev's .wrangler/tmp).
sourcemaps upload sends a deployed bundle's map to the dashboard (which maps recorded frames with
it): --dashboard, else $FLUX_DASHBOARD_URL; --token, else $FLUX_DASHBOARD_TOKEN (prefer the variable:
arguments show in process lists), a dashboard API token of a responder of the app's workspace.
The replay policy comes from --policy, else fluxrun.policy.json next to the config, else deny-all.
policy pull writes the app's approved policy (dashboard → Policies) as fluxrun.policy.json next to
the config and its signed form as .fluxrun/policy.jws; replay reports a policy file that differs
from it (or was never pulled) as UNREVIEWED. The app defaults to the config's FLUX_APP var, else its
name; the dashboard to $FLUX_DASHBOARD_URL; the API token (Account → API tokens) to
$FLUX_DASHBOARD_TOKEN (prefer it to --token, which lands in shell history).
pull --remote reads R2 over its S3 API: R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY and R2_ENDPOINT
(or CLOUDFLARE_ACCOUNT_ID) from the environment.
Set FLUXRUN_DEBUG=1 to print the stack of an unexpected failure (it may quote trace contents).`;

/** Wrong arguments: main prints the usage and exits 2. */
class UsageError extends Error {}

/** The one positional argument a command takes. */
function onlyArgument(positionals: string[]): string {
  const [target] = positionals;
  if (target === undefined || positionals.length !== 1) throw new UsageError();
  return target;
}

export interface Io {
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

/** The option set every command takes. */
const COMMON = {
  config: { type: "string" },
  entry: { type: "string" },
  env: { type: "string" },
  key: { type: "string" },
  json: { type: "boolean" },
} as const;
type CommonName = keyof typeof COMMON;

type OptionSpec = Record<string, { type: "string" | "boolean" }>;
type Values = Record<string, string | boolean | undefined>;

/** Parsed arguments with typed accessors. */
interface Parsed {
  positionals: string[];
  str(name: string): string | undefined;
  flag(name: string): boolean;
  /** `--config`, `--entry`, `--env` as config options, resolved against the working directory. */
  configOptions(): ConfigOptions & { config?: string };
}

/**
 * Parses `args` with the common options plus `own`; a common option the command does not
 * use (`ignored` says why) is noted on stderr and dropped.
 */
function parseCommand(
  command: string,
  args: string[],
  io: Io,
  spec: { own?: OptionSpec; ignored?: Partial<Record<CommonName, string>> },
): Parsed {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...COMMON, ...(spec.own ?? {}) },
  });
  const v = values as Values;
  for (const [name, why] of Object.entries(spec.ignored ?? {})) {
    if (v[name] !== undefined) {
      io.err(`fluxrun ${command}: note: --${name} ignored: ${why}`);
      delete v[name];
    }
  }
  const str = (name: string) => (typeof v[name] === "string" ? (v[name] as string) : undefined);
  return {
    positionals,
    str,
    flag: (name) => v[name] === true,
    configOptions: () => ({
      cwd: io.cwd,
      ...(str("config") ? { config: resolve(io.cwd, str("config")!) } : {}),
      ...(str("entry") ? { entry: str("entry")! } : {}),
      ...(str("env") ? { env: str("env")! } : {}),
    }),
  };
}

/** Folders a trace search never enters: dependencies, VCS and wrangler's own state. */
const SKIPPED_DIRS = new Set(["node_modules", ".git", ".wrangler"]);

/**
 * The trace files at `target`: the file itself, or every `.cbor` under a directory, recursively
 * (the `traces/<app>/<day>/<hour>/` layout `fluxrun pull` and `fsSink` write), in path order.
 *
 * @example
 * ```ts
 * await traceFiles(".fluxrun/traces"); // [".fluxrun/traces/shop-api/2026-04-20/12/…cbor", …]
 * ```
 */
export async function traceFiles(target: string): Promise<string[]> {
  let s;
  try {
    s = await stat(target);
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `No trace at ${target}`, { cause });
  }
  if (!s.isDirectory()) return [target];
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory() && !SKIPPED_DIRS.has(e.name)) await walk(path);
      else if (e.isFile() && e.name.endsWith(".cbor")) files.push(path);
    }
  };
  await walk(target);
  if (!files.length) throw new FluxError("ERR_CONFIG", `No .cbor traces in ${target}`);
  return files.sort();
}

async function readTraceFile(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `Could not read the trace file ${file}`, { cause });
  }
}

function shown(io: Io, file: string): string {
  const rel = relative(io.cwd, file);
  return rel && !rel.startsWith("..") ? rel : file;
}

async function replayCommand(args: string[], io: Io): Promise<number> {
  const p = parseCommand("replay", args, io, {
    own: {
      policy: { type: "string" },
      "verify-key": { type: "string" },
      "source-map": { type: "string" },
    },
  });
  const target = onlyArgument(p.positionals);
  const key = await loadPrivateKey({ path: p.str("key"), cwd: io.cwd, env: io.env });
  const files = await traceFiles(resolve(io.cwd, target));
  const inputs = await Promise.all(
    files.map(async (file) => ({ file: shown(io, file), bytes: await readTraceFile(file) })),
  );
  const { config: path, ...options } = p.configOptions();
  // Cached as `Replayer.start` caches it: wrangler's reader costs about a second to load.
  const config = await readWorkerConfig(path, { ...options, cache: true });
  const policy = await loadPolicy(
    dirname(config.path),
    p.str("policy") ? resolve(io.cwd, p.str("policy")!) : undefined,
  );
  const origin = await loadOriginKeys({
    path: p.str("verify-key"),
    cwd: io.cwd,
    env: io.env,
    dirs: [io.cwd, dirname(config.path)],
  });
  const sourceMap = p.str("source-map");
  const outcomes = await replayAll(inputs, key, {
    config,
    policy,
    origin,
    cwd: io.cwd,
    ...(sourceMap ? { sourceMap: resolve(io.cwd, sourceMap) } : {}),
  });
  const view = await localPolicyView(dirname(config.path), policy, {
    ...(p.str("policy") ? { file: resolve(io.cwd, p.str("policy")!) } : {}),
  });
  for (const o of outcomes) if ("report" in o) o.report.policy = view;
  const exitCode = exitCodeOf(outcomes);
  if (p.flag("json")) {
    io.out(JSON.stringify({ exitCode, policy: view, traces: outcomes }, null, 2));
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

type PreflightOutcome =
  | { file: string; report: PreflightReport }
  | { file: string; error: { code: string; message: string } };

async function preflightCommand(args: string[], io: Io): Promise<number> {
  const p = parseCommand("preflight", args, io, {
    ignored: { key: "preflight reads only the clear head of a trace and needs no key" },
  });
  const target = resolve(io.cwd, onlyArgument(p.positionals));
  const files = await traceFiles(target);
  const single = files.length === 1 && files[0] === target;
  // One file: an unreadable trace is bad input (exit 2, one line), read before the config.
  const first = single ? readTrace(await readTraceFile(target)).head : undefined;
  const { config: path, ...options } = p.configOptions();
  const config = await readWorkerConfig(path, options);
  const code = await scanWorker(config);
  const notes = bindingNotes(config);
  const fromConfig = configBlockers(config);
  const judge = (head: Parameters<typeof preflight>[0]): PreflightReport => {
    const report = preflight(head, { code, notes });
    if (fromConfig.length) {
      report.blockers.unshift(...fromConfig);
      report.readiness = "not_ready";
    }
    return report;
  };
  if (first) {
    const report = judge(first);
    io.out(p.flag("json") ? JSON.stringify(report, null, 2) : formatPreflight(report));
    return report.readiness === "ready" ? 0 : 1;
  }
  const outcomes: PreflightOutcome[] = [];
  for (const file of files) {
    try {
      outcomes.push({
        file: shown(io, file),
        report: judge(readTrace(await readTraceFile(file)).head),
      });
    } catch (err) {
      const { code: c, message } = asFluxError(err, "ERR_INTERNAL", "Could not read the trace");
      outcomes.push({ file: shown(io, file), error: { code: c, message } });
    }
  }
  const ready = outcomes.filter((o) => "report" in o && o.report.readiness === "ready").length;
  const exitCode = outcomes.some((o) => "error" in o) ? 2 : ready === outcomes.length ? 0 : 1;
  if (p.flag("json")) {
    io.out(JSON.stringify({ exitCode, ready, traces: outcomes }, null, 2));
  } else {
    for (const o of outcomes) {
      if ("report" in o) io.out(formatPreflight(o.report));
      else io.err(`${o.file}: ${o.error.code}: ${o.error.message}`);
    }
    io.out(`${ready} of ${outcomes.length} traces ready to replay`);
  }
  return exitCode;
}

async function guardCommand(args: string[], io: Io): Promise<number> {
  const p = parseCommand("guard", args, io, {
    own: {
      out: { type: "string" },
      redacted: { type: "boolean" },
      "verify-key": { type: "string" },
    },
  });
  const target = onlyArgument(p.positionals);
  const out = p.str("out");
  if (!out) throw new UsageError();
  const key = await loadPrivateKey({ path: p.str("key"), cwd: io.cwd, env: io.env });
  const { config: path, cwd, ...options } = p.configOptions();
  const config = await readWorkerConfig(path, { cwd: cwd ?? io.cwd, ...options });
  const redacted = p.flag("redacted");
  const origin = await loadOriginKeys({
    path: p.str("verify-key"),
    cwd: io.cwd,
    env: io.env,
    dirs: [io.cwd, dirname(config.path)],
  });
  const files = await generateGuard(resolve(io.cwd, target), {
    out,
    key,
    redacted,
    cwd: io.cwd,
    config,
    origin,
  });
  // A sealed guard opens its fixture with the key: say where from when it is not the default.
  const keyFile = p.str("key");
  const defaultKey = resolve(io.cwd, PRIVATE_KEY_FILE);
  const command =
    !redacted && keyFile && resolve(io.cwd, keyFile) !== defaultKey
      ? `FLUX_PRIVATE_KEY_FILE=${shellQuote(resolve(io.cwd, keyFile))} ${files.command}`
      : files.command;
  if (p.flag("json")) {
    io.out(
      JSON.stringify(
        {
          test: shown(io, files.test),
          fixture: shown(io, files.fixture),
          vitestConfig: shown(io, files.vitestConfig),
          command,
          redacted,
          outcome: files.report.replayed,
          boundaries: files.report.boundaries,
        },
        null,
        2,
      ),
    );
    return 0;
  }
  io.out(`Guard written: ${shown(io, files.test)}`);
  io.out(
    `  fixture: ${shown(io, files.fixture)}${redacted ? " (redacted, unsealed)" : " (sealed: opened with FLUX_PRIVATE_KEY, FLUX_PRIVATE_KEY_FILE or .fluxrun/agent-private.jwk)"}`,
  );
  io.out(
    `  asserts: ${files.report.replayed.status ?? files.report.replayed.error?.name} · ${files.report.boundaries.length} boundaries · nothing blocked`,
  );
  io.out(`  run it with: ${command}`);
  return 0;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
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
  const noConfig = "keygen reads no worker config";
  const p = parseCommand("keygen", args, io, {
    own: { out: { type: "string" } },
    ignored: {
      config: noConfig,
      entry: noConfig,
      env: noConfig,
      key: "keygen makes a new key pair (--out sets the folder)",
    },
  });
  if (p.positionals.length) throw new UsageError();
  const dir = resolve(io.cwd, p.str("out") ?? ".fluxrun");
  const priv = join(dir, "agent-private.jwk");
  const pub = join(dir, "public.jwk");
  if (existsSync(priv)) {
    io.err(`${priv} already exists; refusing to overwrite a private key`);
    return 2;
  }
  const { publicJwk, privateJwk, kid } = await generateTraceKeys();
  await writeKeyPair(dir, ["agent-private.jwk", privateJwk], ["public.jwk", publicJwk]);
  const signPriv = join(dir, "signing-private.jwk");
  const signPub = join(dir, "signing-public.jwk");
  const signing = existsSync(signPriv) ? undefined : await generateSigningKeys();
  if (signing) {
    await writeKeyPair(
      dir,
      ["signing-private.jwk", signing.signingJwk],
      ["signing-public.jwk", signing.verifyJwk],
    );
  }
  const rel = relative(io.cwd, priv).split(sep).join("/");
  const ignoredBy = rel.startsWith("..") || (await gitignoreCovers(io.cwd, rel));
  if (p.flag("json")) {
    io.out(
      JSON.stringify(
        {
          kid,
          public: pub,
          private: priv,
          signing: signing ? { kid: signing.kid, public: signPub, private: signPriv } : null,
          gitIgnored: ignoredBy,
        },
        null,
        2,
      ),
    );
  } else {
    io.out(`Key ${kid}`);
    io.out(
      `  public:  ${pub}  → set as FLUX_PUBLIC_KEY on the recorded worker (wrangler.toml [vars])`,
    );
    io.out(
      `  private: ${priv}  → give only to the agent (wrangler secret put FLUX_PRIVATE_KEY) or pass to fluxrun replay --key`,
    );
    if (signing) {
      io.out(`Signing key ${signing.kid} (the origin of each trace)`);
      io.out(
        `  private: ${signPriv}  → the recorded worker's secret only (wrangler secret put FLUX_SIGNING_KEY; .dev.vars locally)`,
      );
      io.out(
        `  public:  ${signPub}  → register with the agent (FLUX_ORIGIN_KEYS) and the dashboard; fluxrun replay finds it here`,
      );
    }
    io.out(
      "  WARNING: never commit the private keys; keep them out of the dashboard (the trace key also out of the recorded worker).",
    );
  }
  if (!ignoredBy) {
    io.err(
      `fluxrun keygen: WARNING: no .gitignore here ignores ${shown(io, priv)}; add "${shown(io, dir).split(sep).join("/")}/" to .gitignore (fluxrun init does this)`,
    );
  }
  return 0;
}

async function initCommand(args: string[], io: Io): Promise<number> {
  const p = parseCommand("init", args, io, {
    own: {
      "dry-run": { type: "boolean" },
      bucket: { type: "string" },
      app: { type: "string" },
    },
  });
  if (p.positionals.length) throw new UsageError();
  const { config, cwd, entry, env } = p.configOptions();
  const result = await initApp({
    cwd: cwd ?? io.cwd,
    dryRun: p.flag("dry-run"),
    ...(config ? { config } : {}),
    ...(entry ? { entry } : {}),
    ...(env ? { env } : {}),
    ...(p.str("key") ? { key: resolve(io.cwd, p.str("key")!) } : {}),
    ...(p.str("bucket") ? { bucket: p.str("bucket")! } : {}),
    ...(p.str("app") ? { app: p.str("app")! } : {}),
  });
  if (p.flag("json")) io.out(JSON.stringify(result, null, 2));
  else for (const line of formatInit(result)) io.out(line);
  return 0;
}

async function pullCommand(args: string[], io: Io): Promise<number> {
  const p = parseCommand("pull", args, io, {
    own: {
      out: { type: "string" },
      remote: { type: "boolean" },
      endpoint: { type: "string" },
      bucket: { type: "string" },
      "persist-to": { type: "string" },
      app: { type: "string" },
      route: { type: "string" },
      method: { type: "string" },
      status: { type: "string" },
      outcome: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      limit: { type: "string" },
    },
    ignored: {
      entry: "pull reads no code",
      key: "traces stay sealed as stored; pull needs no key",
    },
  });
  if (p.positionals.length) throw new UsageError();
  const filters = parseFilters(
    {
      app: p.str("app"),
      route: p.str("route"),
      method: p.str("method"),
      status: p.str("status"),
      outcome: p.str("outcome"),
      since: p.str("since"),
      until: p.str("until"),
      limit: p.str("limit"),
    },
    Date.now(),
  );
  const { config, cwd, env } = p.configOptions();
  const remote = p.flag("remote");
  const endpoint = p.str("endpoint");
  if (endpoint && !remote) throw new FluxError("ERR_CONFIG", "--endpoint needs --remote");
  const json = p.flag("json");
  const result = await pullTraces({
    cwd: cwd ?? io.cwd,
    out: resolve(io.cwd, p.str("out") ?? ".fluxrun"),
    filters,
    ...(config ? { config } : {}),
    ...(env ? { env } : {}),
    ...(p.str("bucket") ? { bucket: p.str("bucket")! } : {}),
    ...(p.str("persist-to") ? { persistTo: resolve(io.cwd, p.str("persist-to")!) } : {}),
    ...(remote ? { s3: s3FromEnvironment(io.env, endpoint) } : {}),
    progress: (line) => io.err(line),
  });
  if (json) {
    io.out(JSON.stringify({ ...result, out: shown(io, result.out) }, null, 2));
  } else {
    io.out(
      `${result.written} new trace${result.written === 1 ? "" : "s"} (${result.present} already here, ${result.matched} matched of ${result.listed} listed) in ${shown(io, result.out)}`,
    );
    if (result.skipped.length) {
      for (const s of result.skipped) io.err(`  skipped ${s.key}: ${s.code}: ${s.message}`);
    }
    if (result.matched) {
      const args = [
        p.str("config") ? ` --config ${p.str("config")}` : "",
        env ? ` --env ${env}` : "",
        result.hasMain === false ? " --entry <entry>" : "",
      ].join("");
      io.out(`Next: npx fluxrun replay ${shown(io, result.tracesDir)}${args}`);
    }
  }
  return result.skipped.length ? 2 : 0;
}

async function policyCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "pull") throw new UsageError();
  const p = parseCommand("policy pull", rest, io, {
    own: {
      app: { type: "string" },
      dashboard: { type: "string" },
      token: { type: "string" },
    },
    ignored: { key: "a policy pull needs no trace key" },
  });
  if (p.positionals.length) throw new UsageError();
  const { config: path, ...options } = p.configOptions();
  const config = await readWorkerConfig(path, options);
  const dashboard = p.str("dashboard") ?? io.env.FLUX_DASHBOARD_URL;
  if (!dashboard)
    throw new FluxError(
      "ERR_CONFIG",
      "No dashboard: pass --dashboard https://… or set FLUX_DASHBOARD_URL",
    );
  const token = p.str("token") ?? io.env.FLUX_DASHBOARD_TOKEN;
  if (!token)
    throw new FluxError(
      "ERR_CONFIG",
      "No API token: create one on the dashboard's Account page and set FLUX_DASHBOARD_TOKEN (or pass --token)",
    );
  const app = p.str("app") ?? config.vars.FLUX_APP ?? config.name;
  const pulled = await pullPolicy({ dashboard, token, app, dir: dirname(config.path) });
  if (p.flag("json")) {
    io.out(
      JSON.stringify(
        {
          app: pulled.app,
          ws: pulled.ws,
          version: pulled.version,
          digest: pulled.digest,
          approvedBy: pulled.approvedBy,
          approvedAt: pulled.approvedAt,
          files: { policy: shown(io, pulled.files.policy), signed: shown(io, pulled.files.signed) },
        },
        null,
        2,
      ),
    );
  } else {
    io.out(
      `${pulled.app}: approved policy v${pulled.version} (approved by ${pulled.approvedBy} at ${pulled.approvedAt}) written to ${shown(io, pulled.files.policy)}; signed form in ${shown(io, pulled.files.signed)}`,
    );
  }
  return 0;
}

/** `fluxrun sourcemaps upload <file.map>... --app A [--release R]`: maps to the dashboard, in turn. */
async function sourcemapsCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "upload") throw new UsageError();
  const noConfig = "sourcemaps upload reads no worker config";
  const p = parseCommand("sourcemaps upload", rest, io, {
    own: {
      app: { type: "string" },
      release: { type: "string" },
      bundle: { type: "string" },
      dashboard: { type: "string" },
      token: { type: "string" },
    },
    ignored: { config: noConfig, entry: noConfig, env: noConfig, key: "no trace key is needed" },
  });
  if (!p.positionals.length) throw new UsageError();
  if (p.positionals.length > 1 && p.str("bundle")) {
    throw new FluxError("ERR_CONFIG", "--bundle names one map's bundle: upload one file with it");
  }
  const app = p.str("app");
  if (!app) throw new FluxError("ERR_CONFIG", "sourcemaps upload needs --app (as in withFlux)");
  const dashboard = p.str("dashboard") ?? io.env.FLUX_DASHBOARD_URL;
  if (!dashboard) {
    throw new FluxError(
      "ERR_CONFIG",
      "Name the dashboard: --dashboard <url> or $FLUX_DASHBOARD_URL",
    );
  }
  const token = p.str("token") ?? io.env.FLUX_DASHBOARD_TOKEN;
  if (!token) {
    throw new FluxError(
      "ERR_CONFIG",
      "A dashboard API token is needed: $FLUX_DASHBOARD_TOKEN (create one on your account page)",
    );
  }
  const all: SourceMapUploaded[] = [];
  for (const file of p.positionals) {
    const saved = await uploadSourceMap({
      file: resolve(io.cwd, file),
      app,
      release: p.str("release"),
      bundle: p.str("bundle"),
      dashboard,
      token,
    });
    all.push(saved);
    if (!p.flag("json")) {
      io.out(
        `${saved.replaced ? "Replaced" : "Uploaded"} the source map of ${saved.app} ${saved.release ? `release ${saved.release}` : "(no release)"}, bundle ${saved.bundle}: ${saved.sources} sources, ${saved.bytes} bytes stored (sha256 ${saved.sha256.slice(0, 16)}…)`,
      );
    }
  }
  if (p.flag("json")) io.out(JSON.stringify(all.length === 1 ? all[0] : all, null, 2));
  return 0;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "init":
        return await initCommand(rest, io);
      case "pull":
        return await pullCommand(rest, io);
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
      case "policy":
        return await policyCommand(rest, io);
      case "sourcemaps":
        return await sourcemapsCommand(rest, io);
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
