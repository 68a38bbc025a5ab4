/**
 * Regression guards: a repaired replay saved as a vitest test plus its fixture in the user's
 * project. The test replays the trace against the current code in Miniflare with effect control
 * enforced and asserts the repaired outcome, the boundary sequence, and that nothing was blocked.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FluxError } from "../errors.js";
import type { Divergence } from "../replay/divergence.js";
import { preflight, type PreflightReport } from "../replay/preflight.js";
import type { OutcomeView, ReplayReport } from "../replay/report.js";
import type { ReplayPolicy } from "../replay/policy.js";
import { ENVELOPE_LIMITS } from "../replay/envelope.js";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import { checkFirst } from "../trace/_check.js";
import type { PrivateJwk } from "../trace/keys.js";
import { loadPrivateKey } from "../trace/key-file.js";
import { openTrace, readTrace, type OriginKeys, type PlainTrace } from "../trace/seal.js";
import { TraceHead } from "../trace/schema.js";
import { bindingNotes, configBlockers, readWorkerConfig, type WorkerConfig } from "./config.js";
import { redactTrace } from "./_redact.js";
import { Replayer } from "./replay.js";
import { scanWorker } from "./scan.js";

/** Divergence codes that mean replay had to block or could not serve something. */
export const BLOCKING_CODES: ReadonlySet<string> = new Set([
  "extra_call",
  "changed_request",
  "unsupported",
  "truncated",
  "live_network",
  "unread_body",
]);

const FIXTURE_FORMAT = "fluxrun/fixture";

export interface GuardResult {
  /** Effects replay blocked or could not serve; a passing guard has none. */
  blocked: Divergence[];
  outcome: OutcomeView;
  boundaries: string[];
  report: ReplayReport;
}

function pathOf(p: string | URL): string {
  return p instanceof URL ? fileURLToPath(p) : resolve(p);
}

/** Reads a guard fixture: a sealed trace (needs the key) or a redacted unsealed fixture. */
export async function loadFixture(
  file: string,
  key?: PrivateJwk,
  options: { appDirs?: string[] } = {},
): Promise<{ trace: PlainTrace; redacted: boolean }> {
  const bytes = new Uint8Array(await readFile(file));
  if (file.endsWith(".fixture.cbor")) {
    const raw = decodeCbor(bytes, { limits: ENVELOPE_LIMITS, what: `fixture ${file}` }) as {
      format?: unknown;
      version?: unknown;
      head?: unknown;
      payloads?: unknown;
    } | null;
    const head =
      raw?.format === FIXTURE_FORMAT && raw.version === 1
        ? checkFirst(TraceHead, raw.head)
        : { success: false as const };
    if (!head.success || !Array.isArray(raw?.payloads)) {
      throw new FluxError("ERR_TRACE_CORRUPT", `${file} is not a FluxRun fixture`);
    }
    return { trace: { head: head.data, payloads: raw.payloads }, redacted: true };
  }
  const opened = await openTrace(
    bytes,
    key ??
      (await loadPrivateKey({
        cwd: process.cwd(),
        dirs: [process.cwd(), ...(options.appDirs ?? [])],
        env: process.env,
        hint: "This guard's fixture is sealed: provide the key from a CI secret",
      })),
  );
  return { trace: opened, redacted: false };
}

/**
 * Replays a guard's fixture against the current code (what a generated guard test calls).
 * `entry` and `env` are those the guard was written with (`--entry`, `--env`).
 *
 * @example
 * ```ts
 * const r = await runGuard({ fixture: new URL("./abc.cbor", import.meta.url), config: new URL("../wrangler.toml", import.meta.url) });
 * expect(r.blocked).toEqual([]);
 * ```
 */
export async function runGuard(options: {
  fixture: string | URL;
  config: string | URL;
  entry?: string | URL;
  env?: string;
  key?: PrivateJwk;
}): Promise<GuardResult> {
  const { trace, redacted } = await loadFixture(pathOf(options.fixture), options.key, {
    appDirs: [dirname(pathOf(options.config))],
  });
  const replayer = await Replayer.start({
    config: pathOf(options.config),
    ...(options.entry ? { entry: pathOf(options.entry) } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  try {
    const policy = redacted ? redactedPolicy(replayer.policy, trace) : replayer.policy;
    const report = await replayer.replayOpened(trace, policy);
    return {
      blocked: report.divergences.filter((d) => BLOCKING_CODES.has(d.code)),
      outcome: report.replayed,
      boundaries: report.boundaries,
      report,
    };
  } finally {
    await replayer.dispose();
  }
}

/** A redacted fixture holds tokens where masked values were: those headers compare by name only. */
function redactedPolicy(policy: ReplayPolicy, trace: PlainTrace): ReplayPolicy {
  return {
    ...policy,
    ignore: { ...policy.ignore, headers: [...policy.ignore.headers, ...trace.head.masks.headers] },
  };
}

/** A path relative to the guard's folder, as a `new URL(…, import.meta.url)` argument. */
function urlFrom(out: string, file: string): string {
  const rel = relative(out, file).split(sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/**
 * The guard test. It runs in Node (it starts Miniflare): inside a Workers-pool vitest run it
 * skips itself and names the command that runs it, so an app's own suite never breaks on it.
 */
function testSource(args: {
  title: string;
  fixture: string;
  config: string;
  entry?: string;
  env?: string;
  command: string;
  expected: { outcome: OutcomeView; boundaries: string[] };
  redacted: boolean;
}): string {
  const keyNote = args.redacted
    ? "// The fixture is redacted and unsealed: every secret value (secret env values, masked headers\n// and fields, credential query parameters) is a REDACTED_… token wherever it appeared, and\n// replays as that token. Masked headers are compared by name only. No key is needed."
    : "// The fixture is sealed. The test opens it with $FLUX_PRIVATE_KEY (the private JWK JSON) or\n// $FLUX_PRIVATE_KEY_FILE; in CI, provide one from a secret. Never commit the private key.";
  const extra = [
    args.entry ? `    entry: new URL(${JSON.stringify(args.entry)}, import.meta.url),\n` : "",
    args.env ? `    env: ${JSON.stringify(args.env)},\n` : "",
  ].join("");
  return `// FluxRun regression guard: ${args.title}
// Generated by \`fluxrun guard\`. It replays the recorded execution against the current code in
// Miniflare with every effect served from the trace (nothing live) and asserts the repaired
// outcome, the boundary sequence, and that replay blocked nothing. Run it with:
//   ${args.command}
${keyNote}
import { expect, test } from "vitest";

const expected = ${JSON.stringify(args.expected, null, 2)};

// Guards start Miniflare from Node; inside the Workers runtime (a Workers-pool run) they skip.
const inWorkers =
  (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent ===
  "Cloudflare-Workers";

test.skipIf(inWorkers)(${JSON.stringify(`guard: ${args.title}`)}, { timeout: 120_000 }, async () => {
  const { runGuard } = await import("fluxrun/harness");
  const result = await runGuard({
    fixture: new URL(${JSON.stringify(`./${args.fixture}`)}, import.meta.url),
    config: new URL(${JSON.stringify(args.config)}, import.meta.url),
${extra}  });
  expect(result.blocked).toEqual([]);
  expect(result.outcome).toEqual(expected.outcome);
  expect(result.boundaries).toEqual(expected.boundaries);
});
`;
}

/** The guards' own vitest project: Node, this folder only, whatever the app's tests use. */
export const GUARD_VITEST_CONFIG = "vitest.config.mts";

const VITEST_CONFIG_SOURCE = `// FluxRun regression guards: a vitest project of their own. Guards replay traces in Miniflare
// from Node, so they run in Node whatever pool the app's own tests use (the Workers pool too).
// Written by \`fluxrun guard\`; run every guard in this folder with \`npx vitest run -c <this file>\`.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    dir: fileURLToPath(new URL(".", import.meta.url)),
    include: ["**/*.guard.test.ts"],
    pool: "forks",
    testTimeout: 120_000,
  },
});
`;

/**
 * Formats generated source with the project's own prettier and settings when it has prettier,
 * so a formatting check passes; as written otherwise.
 */
async function formatLikeProject(file: string, source: string): Promise<string> {
  let prettier: {
    format(s: string, o: Record<string, unknown>): Promise<string>;
    resolveConfig(f: string): Promise<Record<string, unknown> | null>;
  };
  try {
    const path = createRequire(file).resolve("prettier");
    const mod = (await import(pathToFileURL(path).href)) as typeof prettier & {
      default?: typeof prettier;
    };
    // Its CommonJS entry arrives as a default export.
    prettier = typeof mod.format === "function" ? mod : mod.default!;
    if (typeof prettier?.format !== "function") return source;
  } catch {
    return source;
  }
  try {
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(source, { ...options, filepath: file });
  } catch {
    return source;
  }
}

export interface GuardFiles {
  test: string;
  fixture: string;
  /** The guards' vitest config (written when absent). */
  vitestConfig: string;
  /** The command that runs the guards, from `cwd`, exactly as printed. */
  command: string;
  preflight: PreflightReport;
  report: ReplayReport;
}

/** Options of {@link generateGuard}. */
export interface GuardOptions {
  /** Folder for the test and its fixture. */
  out: string;
  /** A wrangler config path, or a config already read (with its `--entry`/`--env`). */
  config?: string | WorkerConfig;
  entry?: string;
  env?: string;
  key: PrivateJwk;
  redacted?: boolean;
  cwd?: string;
  /** Registered verification keys: a guard is never made from a trace the app did not sign. */
  origin?: OriginKeys;
}

/**
 * Generates a guard from a trace: preflight must be `ready`, and the replay against the current
 * (repaired) code must block nothing. Writes `<out>/<id>.guard.test.ts`, the fixture, and the
 * guards' own vitest config; `command` runs them.
 *
 * @example
 * ```ts
 * const files = await generateGuard("trace.cbor", { out: "test/guards", key });
 * console.log(files.command); // npx vitest run -c test/guards/vitest.config.mts
 * ```
 */
export async function generateGuard(traceFile: string, options: GuardOptions): Promise<GuardFiles> {
  const cwd = resolve(options.cwd ?? process.cwd());
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(traceFile));
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `Could not read the trace file ${traceFile}`, { cause });
  }
  const { head } = readTrace(bytes);
  const config =
    typeof options.config === "object"
      ? options.config
      : await readWorkerConfig(options.config, {
          cwd,
          ...(options.entry ? { entry: options.entry } : {}),
          ...(options.env ? { env: options.env } : {}),
        });
  const pre = preflight(head, { code: await scanWorker(config), notes: bindingNotes(config) });
  const blockers = [...configBlockers(config), ...pre.blockers];
  if (blockers.length || pre.readiness !== "ready") {
    throw new FluxError(
      "ERR_CONFIG",
      `Refusing to write a guard: preflight is ${blockers.length ? "not_ready" : pre.readiness} (${blockers.map((b) => `${b.code}: ${b.reason}`).join("; ") || "code not scanned"})`,
    );
  }
  const opened = await openTrace(bytes, options.key, { origin: options.origin ?? {} });
  // A redacted fixture replays with its tokens for the secrets: the guard expects what that
  // replay gives, and it must block nothing either.
  const plain = options.redacted ? await redactTrace(opened) : undefined;
  const replayer = await Replayer.start({ config });
  let report: ReplayReport;
  try {
    report = await replayer.replayOpened(opened);
    refuseBlocked(report, "");
    if (plain) {
      report = await replayer.replayOpened(plain, redactedPolicy(replayer.policy, plain));
      refuseBlocked(report, " (redacted)");
    }
  } finally {
    await replayer.dispose();
  }
  const out = resolve(cwd, options.out);
  await mkdir(out, { recursive: true });
  const short = head.id.slice(0, 12);
  const fixture = options.redacted ? `${short}.fixture.cbor` : `${short}.cbor`;
  if (plain) {
    await writeFile(
      join(out, fixture),
      encodeCbor({
        format: FIXTURE_FORMAT,
        version: 1,
        head: plain.head,
        payloads: plain.payloads,
      }),
    );
  } else {
    await writeFile(join(out, fixture), bytes);
  }
  const vitestConfig = join(out, GUARD_VITEST_CONFIG);
  if (!existsSync(vitestConfig)) {
    await writeFile(vitestConfig, await formatLikeProject(vitestConfig, VITEST_CONFIG_SOURCE));
  }
  const command = `npx vitest run -c ${relative(cwd, vitestConfig).split(sep).join("/")}`;
  const test = join(out, `${short}.guard.test.ts`);
  const source = testSource({
    title: `${head.summary.method} ${head.summary.route} (trace ${short})`,
    fixture,
    config: urlFrom(out, config.path),
    ...(configNeedsEntry(config) ? { entry: urlFrom(out, config.main) } : {}),
    ...(config.env ? { env: config.env } : {}),
    command,
    expected: { outcome: report.replayed, boundaries: report.boundaries },
    redacted: options.redacted ?? false,
  });
  await writeFile(test, await formatLikeProject(test, source));
  return { test, fixture: join(out, fixture), vitestConfig, command, preflight: pre, report };
}

function refuseBlocked(report: ReplayReport, which: string): void {
  const blocked = report.divergences.filter((d) => BLOCKING_CODES.has(d.code));
  if (blocked.length) {
    throw new FluxError(
      "ERR_REPLAY_DIVERGED",
      `Refusing to write a guard: replay${which} against the current code blocked ${blocked.map((d) => `${d.code} ${d.op} ${d.target}`).join("; ")}`,
    );
  }
}

/** True when the config's own `main` is not the entry replay used (it came from `--entry`). */
function configNeedsEntry(config: WorkerConfig): boolean {
  const main = config.raw.main;
  return typeof main !== "string" || resolve(config.path, "..", main) !== config.main;
}
