/**
 * Source maps in real D1/R2 (Miniflare) through the dashboard app: uploads by role (API token and
 * the page's form), bad and oversized maps refused with their codes and audited, maps kept under
 * `sourcemaps/` without source text where the trace sweep never looks, and recorded frames of an
 * execution mapped to source on its page and by the sites API (a map generated here by esbuild).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "esbuild";
import { MAX_SOURCE_MAP_BYTES, SOURCE_MAPS_PATH } from "fluxrun/contract";
import { createApp } from "../src/app.js";
import { sweep } from "../src/indexer/sweep.js";
import type { Env } from "../src/env.js";
import { checkedMap } from "../src/sourcemaps/store.js";
import {
  bearer,
  frozenClock,
  hexId,
  makeEnv,
  putTrace,
  seed,
  startStorage,
  T0,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });
const FAILED = hexId(0x5a);

/** A small worker bundled here with an external map, and where its `priceOf` throws. */
let bundled: { map: string; line: number; column: number };

const SOURCE = `
export function priceOf(item: { price?: { amount: number } }): number {
  return item.price!.amount * 100;
}
export default {
  fetch() {
    return new Response(String(priceOf({})));
  },
};
`;

async function bundle(): Promise<typeof bundled> {
  const out = await build({
    stdin: { contents: SOURCE, loader: "ts", sourcefile: "src/orders.ts", resolveDir: "/" },
    bundle: true,
    format: "esm",
    write: false,
    sourcemap: "external",
    outfile: "index.js",
    absWorkingDir: "/",
  });
  const js = out.outputFiles.find((f) => f.path.endsWith("index.js"))!.text;
  const map = out.outputFiles.find((f) => f.path.endsWith("index.js.map"))!.text;
  const lines = js.split("\n");
  const line = lines.findIndex((l) => l.includes("item.price.amount"));
  return { map, line: line + 1, column: lines[line]!.indexOf("item.price.amount") + 1 };
}

function upload(
  token: string,
  body: string,
  query: Record<string, string> = { app: "shop-api", bundle: "index.js" },
): Promise<Response> {
  return Promise.resolve(
    app.request(
      `${SOURCE_MAPS_PATH}?${new URLSearchParams(query)}`,
      bearer(token, { method: "POST", headers: { "content-type": "application/json" }, body }),
      env,
    ),
  );
}

async function lastAudit(): Promise<{
  action: string;
  allowed: number;
  reason: string | null;
  detail: string;
}> {
  return (await t.db
    .prepare("SELECT action, allowed, reason, detail FROM audit ORDER BY id DESC LIMIT 1")
    .first())!;
}

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t);
  bundled = await bundle();
  await putTrace(t.bucket, {
    id: FAILED,
    app: "shop-api",
    route: "/orders/:id",
    status: 500,
    outcome: "exception",
    errorClass: "TypeError",
    start: T0 - 60_000,
    site: [["priceOf", "index.js", bundled.line, bundled.column]],
  });
  await sweep(t.db, t.bucket, { now: T0 });
});
afterAll(async () => t?.dispose());

describe("source-map uploads", () => {
  it("shows the no-map state until a map for the bundle is uploaded", async () => {
    const page = await (
      await app.request(`/w/acme/executions/${FAILED}`, bearer(s.tokens.acmeViewer), env)
    ).text();
    expect(page).toContain('data-sourcemap="none"');
    expect(page).toContain("No source map for this bundle");
    expect(page).toContain(`index.js:${bundled.line}:${bundled.column}`);
  });

  it("refuses a viewer, and audits the refusal", async () => {
    const res = await upload(s.tokens.acmeViewer, bundled.map);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ERR_FORBIDDEN");
    expect(await lastAudit()).toMatchObject({
      action: "sourcemap.denied",
      allowed: 0,
      reason: "role viewer",
    });
  });

  it("answers an app of another workspace as not found", async () => {
    const res = await upload(s.tokens.globexAdmin, bundled.map);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ERR_NOT_FOUND");
  });

  it.each([
    ["not JSON", "{oops"],
    ["not version 3", JSON.stringify({ version: 2, sources: [], mappings: "" })],
    ["bad mappings", JSON.stringify({ version: 3, sources: ["a.ts"], names: [], mappings: "!!!" })],
    [
      "pointing past its sources",
      JSON.stringify({ version: 3, sources: ["a.ts"], names: [], mappings: "AEAA" }),
    ],
    ["sections", JSON.stringify({ version: 3, sections: [] })],
  ])("refuses a map that is %s with ERR_SOURCE_MAP_INVALID", async (_what, body) => {
    const res = await upload(s.tokens.acmeResponder, body);
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("ERR_SOURCE_MAP_INVALID");
    expect(error.message).not.toContain(body.slice(0, 8));
    expect(await lastAudit()).toMatchObject({ action: "sourcemap.denied", reason: "invalid map" });
  });

  it("refuses an oversized map with ERR_SOURCE_MAP_TOO_LARGE before storing anything", async () => {
    const big = `{"version":3,"sources":[],"mappings":"${"A".repeat(MAX_SOURCE_MAP_BYTES)}"}`;
    const res = await upload(s.tokens.acmeResponder, big);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      "ERR_SOURCE_MAP_TOO_LARGE",
    );
    expect(await lastAudit()).toMatchObject({ action: "sourcemap.denied", reason: "too large" });
    expect((await t.bucket.list({ prefix: "sourcemaps/" })).objects).toHaveLength(0);
  });

  it("refuses bad query fields with ERR_BAD_REQUEST", async () => {
    const res = await upload(s.tokens.acmeResponder, bundled.map, {
      app: "shop-api",
      bundle: "../../etc/passwd",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ERR_BAD_REQUEST");
  });

  it("stores a responder's map without source text, outside traces/, and audits it", async () => {
    const withSource = JSON.stringify({
      ...JSON.parse(bundled.map),
      sourcesContent: ["SECRET SOURCE"],
    });
    const res = await upload(s.tokens.acmeResponder, withSource);
    expect(res.status).toBe(201);
    const saved = (await res.json()) as {
      bundle: string;
      release: null;
      sources: number;
      replaced: boolean;
    };
    expect(saved).toMatchObject({ bundle: "index.js", release: null, sources: 1, replaced: false });
    const objects = (await t.bucket.list({ prefix: "sourcemaps/" })).objects;
    expect(objects).toHaveLength(1);
    const stored = await (await t.bucket.get(objects[0]!.key))!.text();
    expect(stored).not.toContain("SECRET SOURCE");
    const audit = await lastAudit();
    expect(audit).toMatchObject({ action: "sourcemap.uploaded", allowed: 1 });
    expect(audit.detail).toContain('"bundle":"index.js"');
    expect(audit.detail).not.toContain("mappings");
    // The sweep lists traces/ only: the map is neither indexed nor skipped as a bad trace.
    const swept = await sweep(t.db, t.bucket, { now: T0, rebuild: true });
    expect(swept.skipped).toBe(0);
    const rows = await t.db.prepare("SELECT count(*) AS n FROM executions").first<{ n: number }>();
    expect(rows?.n).toBe(1);
  });

  it("maps the error view's frames to source, the bundle position on hover", async () => {
    const page = await (
      await app.request(`/w/acme/executions/${FAILED}`, bearer(s.tokens.acmeViewer), env)
    ).text();
    expect(page).toContain('data-sourcemap="mapped"');
    expect(page).toMatch(
      /<span class="src" title="bundle: index\.js:\d+:\d+"[^>]*>src\/orders\.ts:3<\/span>/,
    );
    expect(page).not.toContain("No source map for");
  });

  it("maps frames for the replay report through the sites API", async () => {
    const res = await app.request(
      `/api/w/acme/executions/${FAILED}/sites`,
      bearer(s.tokens.acmeViewer, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          frames: [
            ["priceOf", "index.js", bundled.line, bundled.column],
            ["other", "chunk.js", bundled.line, bundled.column],
          ],
        }),
      }),
      env,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { mapped: boolean; frames: unknown[] };
    expect(body.mapped).toBe(true);
    expect(body.frames[0]).toEqual(["priceOf", "src/orders.ts", 3, expect.any(Number)]);
    // One map for the bundle serves any frame of the execution, as the release has one bundle.
    expect(body.frames[1]).not.toBeNull();
    const other = await app.request(
      `/api/w/globex/executions/${FAILED}/sites`,
      bearer(s.tokens.globexAdmin, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ frames: [["f", "index.js", 1, 1]] }),
      }),
      env,
    );
    expect(other.status).toBe(404);
  });

  it("maps the replayed build's frames with the release the responder names", async () => {
    const up = await upload(s.tokens.acmeResponder, bundled.map, {
      app: "shop-api",
      release: "v2",
      bundle: "index.js",
    });
    expect(up.status).toBe(201);
    const sites = async (release: string) =>
      (await (
        await app.request(
          `/api/w/acme/executions/${FAILED}/sites`,
          bearer(s.tokens.acmeViewer, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              frames: [["priceOf", "index.js", bundled.line, bundled.column]],
              release,
            }),
          }),
          env,
        )
      ).json()) as { release: string; mapped: boolean; frames: unknown[] };
    expect(await sites("v2")).toMatchObject({ release: "v2", mapped: true });
    expect((await sites("v2")).frames[0]).toEqual([
      "priceOf",
      "src/orders.ts",
      3,
      expect.any(Number),
    ]);
    expect(await sites("v9")).toEqual({ release: "v9", mapped: false, frames: [null] });
    const page = await (
      await app.request(`/w/acme/executions/${FAILED}`, bearer(s.tokens.acmeResponder), env)
    ).text();
    expect(page).toContain('"releases":["v2"]');
    const v2 = await t.db
      .prepare("SELECT r2_key AS key FROM source_maps WHERE release = 'v2'")
      .first<{ key: string }>();
    await t.bucket.delete(v2!.key);
    await t.db.prepare("DELETE FROM source_maps WHERE release = 'v2'").run();
  });

  it("replaces the map of the same app and bundle, keeping one object", async () => {
    const res = await upload(s.tokens.acmeAdmin, bundled.map);
    expect(((await res.json()) as { replaced: boolean }).replaced).toBe(true);
    expect((await t.bucket.list({ prefix: "sourcemaps/" })).objects).toHaveLength(1);
  });

  it("lists maps on the Source maps page, with the upload form for responders only", async () => {
    const asViewer = await (
      await app.request("/w/acme/sourcemaps", bearer(s.tokens.acmeViewer), env)
    ).text();
    expect(asViewer).toContain('id="maps"');
    expect(asViewer).toContain("index.js");
    expect(asViewer).not.toContain('id="upload"');
    const asResponder = await (
      await app.request("/w/acme/sourcemaps", bearer(s.tokens.acmeResponder), env)
    ).text();
    expect(asResponder).toContain('id="upload"');
  });

  it("checks maps without keeping their source text", () => {
    const { json, sources } = checkedMap(
      JSON.stringify({
        version: 3,
        sources: ["a.ts"],
        sourcesContent: ["x"],
        names: [],
        mappings: "AAAA",
      }),
    );
    expect(sources).toBe(1);
    expect(JSON.parse(json)).not.toHaveProperty("sourcesContent");
  });
});
