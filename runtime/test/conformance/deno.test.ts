/**
 * The conformance suite on Deno, inside the single `npm test` gate: runs `deno task test` (the
 * suite recording through `Deno.serve(withFlux(...))`) with the traces kept in a scratch directory,
 * then replays those Deno-recorded traces twice more: with `deno task replay` (a separate Deno
 * process under `--deny-net`), and in Miniflare through the Workers `withFlux` of the same handler.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, readdir, readFile, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateTraceKeys } from "../../src/trace/keys.js";
import type { ReplayReport } from "../../src/replay/report.js";
import { conformanceReplayer } from "./_workerd.js";
import { CASES } from "./suite.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const DENO = join(ROOT, "node_modules/.bin/deno");
const HANDLER = "runtime/test/conformance/handlers.ts";

let dir: string;
let keys: Awaited<ReturnType<typeof generateTraceKeys>>;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function deno(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      DENO,
      args,
      {
        cwd: ROOT,
        env: {
          ...process.env,
          NO_COLOR: "1",
          DENO_NO_UPDATE_CHECK: "1",
          FLUXRUN_CONFORMANCE_DIR: dir,
        },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 120_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

type ReplayOutput = {
  exitCode: number;
  traces: ({ file: string; report: ReplayReport } | { file: string; error: { code: string } })[];
};

async function replayTask(target: string, handler = HANDLER): Promise<ReplayOutput & Run> {
  const run = await deno([
    "task",
    "replay",
    target,
    "--key",
    join(dir, "private.jwk"),
    "--handler",
    handler,
    "--json",
  ]);
  return { ...run, ...(JSON.parse(run.stdout) as ReplayOutput) };
}

async function traceFiles(): Promise<string[]> {
  const files = await readdir(join(dir, "traces"), { recursive: true });
  return files
    .filter((f) => f.endsWith(".cbor"))
    .map((f) => join(dir, "traces", f))
    .sort();
}

beforeAll(async () => {
  dir = join(ROOT, ".tmp-conformance", `vitest-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  keys = await generateTraceKeys();
  await writeFile(join(dir, "public.jwk"), JSON.stringify(keys.publicJwk));
  await writeFile(join(dir, "private.jwk"), JSON.stringify(keys.privateJwk), { mode: 0o600 });
  await chmod(join(dir, "private.jwk"), 0o600);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rmdir(join(ROOT, ".tmp-conformance")).catch(() => {}); // only when no other run uses it
});

it("deno test: the conformance suite passes on Deno", async () => {
  const run = await deno(["task", "test"]);
  if (run.code !== 0) throw new Error(`deno task test failed:\n${run.stdout}\n${run.stderr}`);
  expect(run.stdout).toContain(
    `running ${CASES.length + 2} tests from ./runtime/deno/conformance.test.ts`,
  );
  expect(run.stdout).toMatch(/ok \| \d+ passed \| 0 failed/);
  expect(await traceFiles()).toHaveLength(CASES.length);
});

it("deno check: the Deno-only entry files typecheck", async () => {
  const run = await deno(["task", "check"]);
  if (run.code !== 0) throw new Error(`deno task check failed:\n${run.stderr}`);
});

it("deno task replay: every Deno trace matches under --deny-net", async () => {
  const out = await replayTask(join(dir, "traces"));
  expect(out.stderr).toContain("--deny-net");
  expect(out.exitCode).toBe(0);
  expect(out.code).toBe(0);
  expect(out.traces).toHaveLength(CASES.length);
  for (const t of out.traces) {
    if (!("report" in t)) throw new Error(`${t.file}: ${t.error.code}`);
    expect(t.report.divergences).toEqual([]);
    expect(t.report).toMatchObject({ verdict: "match", liveNetworkAttempts: 0 });
  }
});

it("deno task replay: a call around FluxRun is refused, counted and reported", async () => {
  const out = await replayTask(join(dir, "traces"), "runtime/deno/fixtures/sneaky.ts");
  expect(out.exitCode).toBe(1);
  expect(out.code).toBe(1);
  const diverged = out.traces.filter((t) => "report" in t && t.report.verdict === "diverged");
  expect(diverged).toHaveLength(1);
  const report = (diverged[0] as { report: ReplayReport }).report;
  expect(report.route).toBe("/fetch");
  expect(report.liveNetworkAttempts).toBe(1);
  expect(report.divergences.map((d) => d.code)).toEqual(["live_network"]);
});

it("deno task replay: a tampered trace is an error (exit 2), never a live fallback", async () => {
  const [first] = await traceFiles();
  const bytes = new Uint8Array(await readFile(first!));
  bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 1;
  const tampered = join(dir, "tampered.cbor");
  await writeFile(tampered, bytes);
  const out = await replayTask(tampered);
  expect(out.code).toBe(2);
  expect(out.traces).toEqual([
    { file: tampered, error: expect.objectContaining({ code: "ERR_TRACE_TAMPERED" }) },
  ]);
});

it("Deno-recorded traces replay in Miniflare with the Workers withFlux", async () => {
  const replayer = await conformanceReplayer();
  try {
    for (const file of await traceFiles()) {
      const report = await replayer.replay(new Uint8Array(await readFile(file)), keys.privateJwk);
      expect(report.divergences).toEqual([]);
      expect(report).toMatchObject({ verdict: "match", liveNetworkAttempts: 0 });
    }
  } finally {
    await replayer.dispose();
  }
});
