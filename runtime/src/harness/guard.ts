/**
 * Regression guards: a repaired replay saved as a vitest test plus its fixture in the user's
 * project. The test replays the trace against the current code in Miniflare with effect control
 * enforced and asserts the repaired outcome, the boundary sequence, and that nothing was blocked.
 * @module
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FluxError } from "../errors.js";
import type { Divergence } from "../replay/divergence.js";
import { preflight, type PreflightReport } from "../replay/preflight.js";
import type { OutcomeView, ReplayReport } from "../replay/report.js";
import type { ReplayPolicy } from "../replay/policy.js";
import { ENVELOPE_LIMITS } from "../replay/envelope.js";
import { decodeCbor, encodeCbor } from "../trace/_cbor.js";
import { checkFirst } from "../trace/_check.js";
import { redactionToken, type PrivateJwk } from "../trace/keys.js";
import { loadPrivateKey } from "../trace/key-file.js";
import { openTrace, readTrace, type PlainTrace } from "../trace/seal.js";
import { TraceHead } from "../trace/schema.js";
import { bindingNotes, readWorkerConfig } from "./config.js";
import { Replayer } from "./replay.js";
import { scanWorker } from "./scan.js";

/** Divergence codes that mean replay had to block or could not serve something. */
export const BLOCKING_CODES: ReadonlySet<string> = new Set([
  "extra_call",
  "changed_request",
  "unsupported",
  "truncated",
  "live_network",
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
        env: process.env,
        hint: "This guard's fixture is sealed: provide the key from a CI secret",
      })),
  );
  return { trace: opened, redacted: false };
}

/**
 * Replays a guard's fixture against the current code (what a generated guard test calls).
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
  key?: PrivateJwk;
}): Promise<GuardResult> {
  const { trace, redacted } = await loadFixture(pathOf(options.fixture), options.key);
  const replayer = await Replayer.start({ config: pathOf(options.config) });
  try {
    // A redacted fixture holds tokens where masked values were: compare those headers by name only.
    const policy: ReplayPolicy = redacted
      ? {
          ...replayer.policy,
          ignore: {
            ...replayer.policy.ignore,
            headers: [...replayer.policy.ignore.headers, ...trace.head.masks.headers],
          },
        }
      : replayer.policy;
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

/** Env names that hold secrets when read as plain vars (fluxENV reads are always redacted). */
const SECRET_NAME = /key|secret|token|passw|auth|credential|private|session|cookie/i;

/**
 * The trace with masked header values, fluxENV values and secret-looking env vars replaced by
 * redaction tokens.
 */
async function redact(trace: PlainTrace & { dataKey: Uint8Array }): Promise<PlainTrace> {
  const masked = new Set(trace.head.masks.headers);
  const redactHeaders = async (headers: unknown) => {
    if (!Array.isArray(headers)) return headers;
    return Promise.all(
      (headers as [string, string][]).map(async ([n, v]) =>
        masked.has(n.toLowerCase()) ? [n, await redactionToken(trace.dataKey, n, v)] : [n, v],
      ),
    );
  };
  const payloads = await Promise.all(
    trace.payloads.map(async (p, i) => {
      const event = trace.head.events[i];
      if (!event || p === null || typeof p !== "object") {
        const secret =
          event?.kind === "env" && (event.op === "get" || SECRET_NAME.test(event.target));
        return secret && typeof p === "string" ? redactionToken(trace.dataKey, event.target, p) : p;
      }
      const copy = structuredClone(p) as Record<string, Record<string, unknown> | unknown>;
      for (const part of [copy, copy.request, copy.result]) {
        if (part && typeof part === "object" && "headers" in part) {
          (part as { headers: unknown }).headers = await redactHeaders(
            (part as { headers: unknown }).headers,
          );
        }
      }
      return copy;
    }),
  );
  return { head: trace.head, payloads };
}

function testSource(args: {
  title: string;
  fixture: string;
  config: string;
  expected: { outcome: OutcomeView; boundaries: string[] };
  redacted: boolean;
}): string {
  const keyNote = args.redacted
    ? "// The fixture is redacted and unsealed: masked header values and env values are tokens,\n// compared by name only. No key is needed."
    : "// The fixture is sealed. The test opens it with $FLUX_PRIVATE_KEY (the private JWK JSON) or\n// $FLUX_PRIVATE_KEY_FILE; in CI, provide one from a secret. Never commit the private key.";
  return `// FluxRun regression guard: ${args.title}
// Generated by \`fluxrun guard\`. It replays the recorded execution against the current code in
// Miniflare with every effect served from the trace (nothing live) and asserts the repaired
// outcome, the boundary sequence, and that replay blocked nothing.
${keyNote}
import { expect, test } from "vitest";
import { runGuard } from "fluxrun/harness";

const expected = ${JSON.stringify(args.expected, null, 2)};

test(${JSON.stringify(`guard: ${args.title}`)}, async () => {
  const result = await runGuard({
    fixture: new URL(${JSON.stringify(`./${args.fixture}`)}, import.meta.url),
    config: new URL(${JSON.stringify(args.config)}, import.meta.url),
  });
  expect(result.blocked).toEqual([]);
  expect(result.outcome).toEqual(expected.outcome);
  expect(result.boundaries).toEqual(expected.boundaries);
}, 120_000);
`;
}

export interface GuardFiles {
  test: string;
  fixture: string;
  preflight: PreflightReport;
  report: ReplayReport;
}

/**
 * Generates a guard from a trace: preflight must be `ready`, and the replay against the current
 * (repaired) code must block nothing. Writes `<out>/<id>.guard.test.ts` and the fixture.
 */
export async function generateGuard(
  traceFile: string,
  options: { out: string; config?: string; key: PrivateJwk; redacted?: boolean; cwd?: string },
): Promise<GuardFiles> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(traceFile));
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", `Could not read the trace file ${traceFile}`, { cause });
  }
  const { head } = readTrace(bytes);
  const config = await readWorkerConfig(options.config, options.cwd);
  const pre = preflight(head, { code: await scanWorker(config), notes: bindingNotes(config) });
  if (pre.readiness !== "ready") {
    throw new FluxError(
      "ERR_CONFIG",
      `Refusing to write a guard: preflight is ${pre.readiness} (${pre.blockers.map((b) => `${b.code}: ${b.reason}`).join("; ") || "code not scanned"})`,
    );
  }
  const opened = await openTrace(bytes, options.key);
  const replayer = await Replayer.start({ config: config.path });
  let report: ReplayReport;
  try {
    report = await replayer.replayOpened(opened);
  } finally {
    await replayer.dispose();
  }
  const blocked = report.divergences.filter((d) => BLOCKING_CODES.has(d.code));
  if (blocked.length) {
    throw new FluxError(
      "ERR_REPLAY_DIVERGED",
      `Refusing to write a guard: replay against the current code blocked ${blocked.map((d) => `${d.code} ${d.op} ${d.target}`).join("; ")}`,
    );
  }
  const out = resolve(options.cwd ?? process.cwd(), options.out);
  await mkdir(out, { recursive: true });
  const short = head.id.slice(0, 12);
  const fixture = options.redacted ? `${short}.fixture.cbor` : `${short}.cbor`;
  if (options.redacted) {
    const plain = await redact(opened);
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
  const configRel = relative(out, config.path) || "wrangler.toml";
  const test = join(out, `${short}.guard.test.ts`);
  await writeFile(
    test,
    testSource({
      title: `${head.summary.method} ${head.summary.route} (trace ${short})`,
      fixture,
      config: configRel.startsWith(".") ? configRel : `./${configRel}`,
      expected: { outcome: report.replayed, boundaries: report.boundaries },
      redacted: options.redacted ?? false,
    }),
  );
  return { test, fixture: join(out, fixture), preflight: pre, report };
}
