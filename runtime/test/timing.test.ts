/**
 * Replay by identity and in recorded time, through the real CLI: concurrent fetches finishing in
 * reverse, races (fetch vs fetch, fetch vs timer), a fired timeout, concurrent reads swapped in
 * code, an extra write, a followed redirect, a retry loop around a changed call. Unchanged code
 * replays as MATCH; each change gives exactly the right class, once; nothing is ever live.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bundleWorker } from "../src/harness/bundle.js";
import { main } from "../src/harness/cli.js";
import type { ReplayReport } from "../src/replay/report.js";
import { readTrace } from "../src/trace/seal.js";
import { FIXTURES, startRecorder, writeConfig, type Recorder } from "./_helpers.js";

const ENTRY = join(FIXTURES, "timing/index.ts");
const ROUTES = [
  "/reverse",
  "/race-fetch",
  "/race-timer",
  "/timeout",
  "/reads",
  "/writes",
  "/redirect",
  "/retry",
];

let server: Server;
let upstream = "";
let hits = 0;
let rec: Recorder;
let dir: string;
const recorded = new Map<string, unknown>();

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/moved") {
      res.writeHead(302, { location: "/final" }).end();
      return;
    }
    const ms = Number(url.searchParams.get("ms") ?? 0);
    setTimeout(() => {
      if (!res.writableEnded && !res.destroyed) res.end(`${url.pathname}${url.search}`);
    }, ms);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  upstream = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // The recorded bundle keeps its source map, as `wrangler deploy --outdir` leaves one.
  const recordedScript = await bundleWorker(ENTRY, { sourcemap: true });
  rec = await startRecorder("timing/index.ts", { UPSTREAM: upstream }, { script: recordedScript });
  for (const route of ROUTES) {
    const res = await rec.fetch(route);
    recorded.set(route, await res.text());
  }
  const traces = await rec.traces(ROUTES.length);
  dir = join(await writeConfig("timing/index.ts", { UPSTREAM: upstream }), "..");
  await mkdir(join(dir, "traces"), { recursive: true });
  for (const t of traces) {
    const route = readTrace(t.bytes).head.summary.route;
    await writeFile(join(dir, "traces", `${route.slice(1)}.cbor`), t.bytes);
  }
  await writeFile(join(dir, "key.jwk"), JSON.stringify(rec.keys.privateJwk));
  const inline = /sourceMappingURL=data:application\/json;base64,(\S+)\s*$/.exec(recordedScript);
  await writeFile(join(dir, "recorded.js.map"), Buffer.from(inline![1]!, "base64"));
}, 120_000);

afterAll(async () => {
  await rec?.dispose();
  server?.close();
});

/** `fluxrun replay --json` on one trace, the worker built with `variant`. */
async function replay(
  route: string,
  variant = "base",
): Promise<{ code: number; report: ReplayReport }> {
  const script = await bundleWorker(ENTRY, {
    define: { __VARIANT__: JSON.stringify(variant) },
    sourcemap: true,
  });
  const entry = join(dir, `worker-${variant}.js`);
  await writeFile(entry, script);
  const config = join(dir, `wrangler-${variant}.toml`);
  const toml = await readFile(join(dir, "wrangler.toml"), "utf8");
  await writeFile(config, toml.replace(/^main = .*$/m, `main = ${JSON.stringify(entry)}`));
  const out: string[] = [];
  const before = hits;
  const code = await main(
    [
      "replay",
      join(dir, "traces", `${route.slice(1)}.cbor`),
      "--config",
      config,
      "--key",
      join(dir, "key.jwk"),
      "--source-map",
      join(dir, "recorded.js.map"),
      "--json",
    ],
    { out: (l) => out.push(l), err: (l) => out.push(l), cwd: dir, env: {} },
  );
  expect(hits, "no live request during replay").toBe(before);
  const parsed = JSON.parse(out.join("\n")) as { traces: { report: ReplayReport }[] };
  const report = parsed.traces[0]!.report;
  expect(report.liveNetworkAttempts).toBe(0);
  return { code, report };
}

describe("recording", () => {
  it("saw the outcomes timing decides", () => {
    const reverse = JSON.parse(recorded.get("/reverse") as string) as { order: number[] };
    expect(reverse.order).toEqual([4, 3, 2, 1, 0]);
    expect(recorded.get("/race-fetch")).toBe("fast");
    expect(recorded.get("/race-timer")).toBe("timer");
    expect(recorded.get("/timeout")).toBe("TimeoutError true");
    expect(JSON.parse(recorded.get("/redirect") as string)).toMatchObject({
      status: 200,
      redirected: true,
      url: `${upstream}/final`,
    });
  });
});

describe("unchanged code replays as MATCH", () => {
  it.each(ROUTES)("%s", async (route) => {
    const { code, report } = await replay(route);
    expect(report.divergences).toEqual([]);
    expect(report.verdict).toBe("match");
    expect(code).toBe(0);
  });
});

describe("each change gives exactly the right class, once", () => {
  it("concurrent reads swapped in code: still MATCH (matched by identity, not position)", async () => {
    const { report } = await replay("/reads", "swapped");
    expect(report.divergences).toEqual([]);
  });

  it("an extra write inserted before a recorded one: one extra_call, nothing else", async () => {
    const { code, report } = await replay("/writes", "extra-write");
    expect(code).toBe(1);
    expect(report.divergences.map((d) => [d.code, d.op, d.target])).toEqual([
      ["extra_call", "put", "KV"],
    ]);
    // It names the source line that made the call (the replay bundle's frame, mapped).
    const [fn, file, line, column] = report.divergences[0]!.site!.replayed![0]!;
    const source = (await readFile(ENTRY, "utf8")).split("\n");
    expect(file).toMatch(/fixtures\/timing\/index\.ts$/);
    expect(source[line - 1]).toContain('env.KV.put("audit", "inserted")');
    expect(source[line - 1]!.slice(column - 1)).toMatch(/^(env\.KV\.)?put|^await/);
    expect(fn).toBe("fetch");
  });

  it("records where the app made each call", async () => {
    const { head } = readTrace(await readFile(join(dir, "traces", "writes.cbor")));
    const put = head.events.find((e) => e.kind === "binding" && e.op === "put");
    expect(put?.site?.[0]?.[0]).toBe("fetch");
    expect(put?.site?.[0]?.[2]).toBeGreaterThan(0);
  });

  it("a retry loop around a changed call: one changed_request that counts the retries, first", async () => {
    const { report } = await replay("/retry", "changed-retry");
    const codes = report.divergences.map((d) => d.code);
    expect(codes[0]).toBe("changed_request");
    expect(codes.filter((c) => c === "changed_request")).toHaveLength(1);
    expect(codes).not.toContain("extra_call");
    expect(report.divergences[0]).toMatchObject({ fields: ["url"], count: 3 });
    // Both call sites in source: the recorded one through the deployed bundle's map.
    const source = (await readFile(ENTRY, "utf8")).split("\n");
    for (const side of ["recorded", "replayed"] as const) {
      const [, file, line] = report.divergences[0]!.site![side]![0]!;
      expect(file, side).toMatch(/fixtures\/timing\/index\.ts$/);
      expect(source[line - 1], side).toContain("await fetch(`${up}/data?v=${v}`)");
    }
    // The key is held: the changed value itself is shown.
    expect(report.divergences[0]?.diff).toEqual([
      { path: "url", expected: `${upstream}/data?v=1`, actual: `${upstream}/data?v=2` },
    ]);
    expect(codes).toContain("changed_outcome");
    const outcome = report.divergences.find((d) => d.code === "changed_outcome");
    expect(outcome?.diff).toEqual(
      expect.arrayContaining([
        { path: "status", expected: 200, actual: 502 },
        { path: "body", expected: "ok after 1: /data?v=1", actual: "gave up" },
      ]),
    );
  });

  it("prints the differing values in the text report", async () => {
    const out: string[] = [];
    const script = await bundleWorker(ENTRY, { define: { __VARIANT__: '"changed-retry"' } });
    const entry = join(dir, "worker-text.js");
    await writeFile(entry, script);
    const config = join(dir, "wrangler-text.toml");
    const toml = await readFile(join(dir, "wrangler.toml"), "utf8");
    await writeFile(config, toml.replace(/^main = .*$/m, `main = ${JSON.stringify(entry)}`));
    const code = await main(
      [
        "replay",
        join(dir, "traces", "retry.cbor"),
        "--config",
        config,
        "--key",
        join(dir, "key.jwk"),
      ],
      { out: (l) => out.push(l), err: (l) => out.push(l), cwd: dir, env: {} },
    );
    expect(code).toBe(1);
    const text = out.join("\n");
    expect(text).toMatch(/1\. changed_request .*GET 127\.0\.0\.1:\d+\/data/);
    expect(text).toContain("made 3 times (retried)");
    expect(text).toContain(`url: "${upstream}/data?v=1" → "${upstream}/data?v=2"`);
  });
});
