/**
 * What withFlux puts into a user's worker bundle: the recording path and the replay endpoint, and
 * none of the libraries the CLI and the dashboard use (zod, jose, noble, cbor-x). A module that
 * pulls one of them into the worker's import graph fails here, before the bench shows it.
 */
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { workerBuildOptions } from "../src/harness/esbuild.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const HEAVY = /node_modules\/(zod|jose|@noble|cbor-x)\//;

/** The modules that put bytes into the bundle (esbuild reads more than it keeps). */
async function inputsOf(entry: string): Promise<string[]> {
  const result = await build(workerBuildOptions(entry, { metafile: true, minify: true }));
  const [output] = Object.values(result.metafile!.outputs);
  return Object.entries(output!.inputs)
    .filter(([, i]) => i.bytesInOutput > 0)
    .map(([file]) => file);
}

describe("the worker bundle", () => {
  it.each([
    ["the example Hono app", `${ROOT}worker/src/index.ts`],
    ["a module worker using every binding kind", `${ROOT}runtime/test/fixtures/kinds/index.ts`],
  ])("%s carries no schema, JOSE, hash or CBOR library", async (_name, entry) => {
    const inputs = await inputsOf(entry);
    expect(inputs.some((f) => f.includes("runtime/"))).toBe(true);
    expect(inputs.filter((f) => HEAVY.test(f))).toEqual([]);
  });
});
