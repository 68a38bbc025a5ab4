/**
 * Fuzzing the trace reader: a few thousand seeded mutations of real sealed traces (see
 * `fuzz-worker.ts`), each answered by `readTrace` and `openTrace` with success or a FluxError.
 * The loop runs in a worker thread with a 256 MB heap, so a blow-up fails this test instead of
 * swapping the machine; the test timeout is the only time bound (no wall-clock assertions).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import { afterAll, expect, it } from "vitest";
import type { FuzzResult } from "./fuzz-worker.js";

const SEED = 0x5eed_f00d;
const COUNT = 2000;

const dir = await mkdtemp(join(tmpdir(), "fluxrun-fuzz-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The worker bundled from source, so the test needs no build step. */
async function workerFile(): Promise<string> {
  const out = await build({
    entryPoints: [new URL("./fuzz-worker.ts", import.meta.url).pathname],
    bundle: true,
    write: false,
    format: "esm",
    platform: "node",
    target: "node20",
    logLevel: "silent",
  });
  const file = join(dir, "fuzz-worker.mjs");
  await writeFile(file, out.outputFiles[0]!.text);
  return file;
}

function run(file: string): Promise<FuzzResult> {
  const worker = new Worker(file, {
    workerData: { seed: SEED, count: COUNT },
    resourceLimits: { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
  });
  return new Promise((resolve, reject) => {
    worker.once("message", (result: FuzzResult) => {
      resolve(result);
      void worker.terminate();
    });
    // ERR_WORKER_OUT_OF_MEMORY lands here when an input blows the heap limit.
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the fuzz worker exited (${code}) early`)));
  });
}

it(`answers ${COUNT} mutated traces with success or a FluxError, in a 256 MB heap`, async () => {
  const result = await run(await workerFile());
  expect(result.failures).toEqual([]);
  expect(result.runs).toBe(2 * COUNT);
  // The mutations reach every stage, not just the first check.
  for (const code of [
    "ok",
    "ERR_TRACE_CORRUPT",
    "ERR_TRACE_TRUNCATED",
    "ERR_TRACE_LIMIT",
    "ERR_TRACE_SCHEMA",
    "ERR_TRACE_TAMPERED",
  ]) {
    expect(result.codes[code] ?? 0, code).toBeGreaterThan(0);
  }
}, 120_000);
