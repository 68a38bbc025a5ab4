/**
 * `fluxrun sourcemaps upload` (the CLI, in Node) against the real dashboard worker in workerd: a
 * map esbuild writes here is uploaded with a responder's API token and stored without its source
 * text; the dashboard's refusals (role, foreign app, bad map) reach the CLI with their codes; the
 * CLI's own checks (no token, plain http to a remote host, no file) stop before sending anything.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { withNodeBindings } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli } from "fluxrun/harness";
import { frozenClock, seed, type Seeded } from "../_helpers.js";
import { dashboardDb, dashboardWorker, traceBucket } from "./_parts.js";

let mf: Miniflare;
let dashboard: string;
let db: D1Database;
let bucket: R2Bucket;
let s: Seeded;
let dir: string;

beforeAll(async () => {
  mf = new Miniflare(await withNodeBindings({ workers: [await dashboardWorker()] }));
  dashboard = (await mf.ready).toString().replace(/\/$/, "");
  db = await dashboardDb(mf);
  bucket = await traceBucket(mf);
  s = await seed(db, frozenClock(Date.now()));
  dir = await mkdtemp(join(tmpdir(), "fluxrun-maps-"));
  const out = await build({
    stdin: {
      contents: "export function priceOf(o: { p?: number }) { return o.p! * 100 }",
      loader: "ts",
      sourcefile: "src/orders.ts",
      resolveDir: dir,
    },
    bundle: true,
    format: "esm",
    write: false,
    sourcemap: "external",
    sourcesContent: true,
    outfile: join(dir, "dist/index.js"),
    absWorkingDir: dir,
  });
  await writeFile(
    join(dir, "index.js.map"),
    out.outputFiles.find((f) => f.path.endsWith(".map"))!.text,
  );
  await writeFile(join(dir, "broken.map"), '{"version":3,"sources":[],"mappings":"!!"}');
});
afterAll(async () => mf?.dispose());

async function run(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await cli(["sourcemaps", "upload", ...args], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    cwd: dir,
    env,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("fluxrun sourcemaps upload against the dashboard", () => {
  it("uploads a responder's map for an app and release, without its source text", async () => {
    const res = await run(["index.js.map", "--app", "shop-api", "--release", "v42", "--json"], {
      FLUX_DASHBOARD_URL: dashboard,
      FLUX_DASHBOARD_TOKEN: s.tokens.acmeResponder,
    });
    expect(res.err).toBe("");
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({
      app: "shop-api",
      release: "v42",
      bundle: "index.js",
      sources: 1,
      replaced: false,
    });
    const objects = (await bucket.list({ prefix: "sourcemaps/shop-api/" })).objects;
    expect(objects).toHaveLength(1);
    expect(await (await bucket.get(objects[0]!.key))!.text()).not.toContain("priceOf(o");
    const audit = await db
      .prepare("SELECT actor, action FROM audit WHERE action LIKE 'sourcemap.%'")
      .all();
    expect(audit.results).toEqual([
      { actor: s.emails.acmeResponder, action: "sourcemap.uploaded" },
    ]);
  });

  it("uploads every map of a deploy's outdir in one command", async () => {
    const chunk = JSON.parse(await readFile(join(dir, "index.js.map"), "utf8")) as object;
    await writeFile(join(dir, "chunk.js.map"), JSON.stringify({ ...chunk, file: "chunk.js" }));
    const res = await run(
      ["index.js.map", "chunk.js.map", "--app", "shop-api", "--release", "v43", "--json"],
      { FLUX_DASHBOARD_URL: dashboard, FLUX_DASHBOARD_TOKEN: s.tokens.acmeAdmin },
    );
    expect(res.code).toBe(0);
    const saved = JSON.parse(res.out) as { bundle: string; release: string }[];
    expect(saved.map((m) => [m.release, m.bundle])).toEqual([
      ["v43", "index.js"],
      ["v43", "chunk.js"],
    ]);
    const both = await run(
      ["index.js.map", "chunk.js.map", "--app", "shop-api", "--bundle", "x.js"],
      {
        FLUX_DASHBOARD_URL: dashboard,
        FLUX_DASHBOARD_TOKEN: s.tokens.acmeAdmin,
      },
    );
    expect(both.err).toContain("fluxrun: ERR_CONFIG: --bundle names one map's bundle");
  });

  it.each([
    ["a viewer", "acmeViewer", "index.js.map", "ERR_FORBIDDEN"],
    ["an admin of another workspace", "globexAdmin", "index.js.map", "ERR_NOT_FOUND"],
    ["a broken map", "acmeResponder", "broken.map", "ERR_SOURCE_MAP_INVALID"],
  ] as const)("reports the dashboard's refusal of %s", async (_who, user, file, code) => {
    const res = await run([file, "--app", "shop-api", "--dashboard", dashboard], {
      FLUX_DASHBOARD_TOKEN: s.tokens[user],
    });
    expect(res.code).toBe(2);
    expect(res.err).toContain(`ERR_DASHBOARD_REFUSED: ${code}`);
    expect(res.err).not.toContain(s.tokens[user]);
  });

  it("refuses an unknown token with the dashboard's code", async () => {
    const res = await run(["index.js.map", "--app", "shop-api", "--dashboard", dashboard], {
      FLUX_DASHBOARD_TOKEN: "fxd_not-a-real-token",
    });
    expect(res.err).toContain("ERR_DASHBOARD_REFUSED: ERR_AUTH_INVALID");
    expect(res.err).not.toContain("fxd_not-a-real-token");
  });

  it.each([
    ["no token", ["index.js.map", "--app", "shop-api"], {}, "ERR_CONFIG"],
    ["no app", ["index.js.map"], { FLUX_DASHBOARD_TOKEN: "fxd_x" }, "ERR_CONFIG"],
    [
      "plain http to a remote host",
      ["index.js.map", "--app", "shop-api", "--dashboard", "http://fluxrun.example.com"],
      { FLUX_DASHBOARD_TOKEN: "fxd_x" },
      "ERR_CONFIG",
    ],
    [
      "a missing file",
      ["nope.map", "--app", "shop-api"],
      { FLUX_DASHBOARD_TOKEN: "fxd_x" },
      "ERR_SOURCE_MAP",
    ],
  ] as const)("stops on %s before sending anything", async (_what, args, env, code) => {
    const before = (await bucket.list({ prefix: "sourcemaps/" })).objects.length;
    const res = await run([...args], { FLUX_DASHBOARD_URL: dashboard, ...env });
    expect(res.code).toBe(2);
    expect(res.err).toContain(`fluxrun: ${code}:`);
    expect((await bucket.list({ prefix: "sourcemaps/" })).objects.length).toBe(before);
  });
});
