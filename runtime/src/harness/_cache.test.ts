import { mkdtempSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cacheDir, cachedBundle, cachedConfig } from "./_cache.js";

const dir = () => mkdtempSync(join(tmpdir(), "fluxrun-cache-"));
const saved = process.env.FLUXRUN_NO_CACHE;
afterEach(() => {
  if (saved === undefined) delete process.env.FLUXRUN_NO_CACHE;
  else process.env.FLUXRUN_NO_CACHE = saved;
});

describe("config cache", () => {
  it("reads a config once per content and environment, and again when either changes", async () => {
    delete process.env.FLUXRUN_NO_CACHE;
    const file = join(dir(), "wrangler.toml");
    writeFileSync(file, 'name = "a"\n');
    let reads = 0;
    const read = async () => ({ name: `read ${++reads}`, gone: undefined });
    expect(await cachedConfig(file, undefined, read)).toEqual({ name: "read 1" });
    expect(await cachedConfig(file, undefined, read)).toEqual({ name: "read 1" });
    expect(await cachedConfig(file, "staging", read)).toEqual({ name: "read 2" });
    writeFileSync(file, 'name = "b"\n');
    expect(await cachedConfig(file, undefined, read)).toEqual({ name: "read 3" });
    expect(reads).toBe(3);
  });

  it("caches no refusal, and nothing at all with FLUXRUN_NO_CACHE", async () => {
    const file = join(dir(), "wrangler.toml");
    writeFileSync(file, "broken");
    const refuse = async () => {
      throw new Error("refused");
    };
    await expect(cachedConfig(file, undefined, refuse)).rejects.toThrow("refused");
    await expect(cachedConfig(file, undefined, refuse)).rejects.toThrow("refused");
    process.env.FLUXRUN_NO_CACHE = "1";
    let reads = 0;
    const read = async () => ({ n: ++reads });
    await cachedConfig(file, undefined, read);
    await cachedConfig(file, undefined, read);
    expect(reads).toBe(2);
  });
});

describe("bundle cache", () => {
  it("hands back the last bundle while its inputs are unchanged, and rebuilds after an edit", async () => {
    delete process.env.FLUXRUN_NO_CACHE;
    const root = dir();
    const src = join(root, "index.ts");
    const other = join(root, "dep.ts");
    writeFileSync(src, "export default 1;\n");
    writeFileSync(other, "export const x = 1;\n");
    // Stamped as read before this build, as esbuild would have read them.
    const past = new Date(Date.now() - 60_000);
    utimesSync(src, past, past);
    utimesSync(other, past, past);
    let builds = 0;
    const bundle = async () => ({ script: `build ${++builds}`, inputs: [src, other] });
    const cache = cacheDir(join(root, "wrangler.toml"));
    expect(await cachedBundle(cache, { entry: src }, bundle)).toBe("build 1");
    expect(await cachedBundle(cache, { entry: src }, bundle)).toBe("build 1");
    expect(await cachedBundle(cache, { entry: src, minify: true }, bundle)).toBe("build 2");
    writeFileSync(other, "export const x = 2;\n"); // same size, new bytes
    utimesSync(other, past, past);
    expect(await cachedBundle(cache, { entry: src }, bundle)).toBe("build 3");
  });

  it("does not cache a bundle whose input was written while it was built", async () => {
    delete process.env.FLUXRUN_NO_CACHE;
    const root = dir();
    const src = join(root, "index.ts");
    let builds = 0;
    const bundle = async () => {
      writeFileSync(src, `export default ${builds};\n`);
      return { script: `build ${++builds}`, inputs: [src] };
    };
    const cache = cacheDir(join(root, "wrangler.toml"));
    expect(await cachedBundle(cache, { entry: src }, bundle)).toBe("build 1");
    expect(await cachedBundle(cache, { entry: src }, bundle)).toBe("build 2");
  });
});
