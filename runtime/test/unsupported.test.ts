/**
 * Nothing unsupported is silent: key generation, an incoming WebSocket upgrade and a binding kind
 * FluxRun does not serve are recorded as `unsupported`, make preflight not ready, and are refused
 * in replay (the report says `unsupported`, never MATCH).
 */
import { nodeR2, withNodeBindings } from "./_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../src/harness/bundle.js";
import { Replayer } from "../src/harness/replay.js";
import { preflight } from "../src/replay/preflight.js";
import { readTrace } from "../src/trace/seal.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import { sameError } from "../src/internal/values.js";
import { FIXTURES, type Keys } from "./_helpers.js";

let keys: Keys;
let mf: Miniflare;
let replayer: Replayer;
const traces = new Map<string, Uint8Array>();

beforeAll(async () => {
  keys = await generateTraceKeys();
  const script = await bundleWorker(join(FIXTURES, "unsupported/index.ts"));
  mf = new Miniflare(
    await withNodeBindings({
      modules: [{ type: "ESModule", path: "worker.js", contents: script }],
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["nodejs_compat"],
      bindings: { FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk) },
      r2Buckets: ["FLUX_TRACES"],
      ratelimits: { LIMITER: { simple: { limit: 10, period: 60 } } },
    }),
  );
  for (const path of ["/keygen", "/limit", "/plain"]) {
    const res = await mf.dispatchFetch(`http://app.test${path}`);
    expect(res.status).toBe(200);
    await res.text();
  }
  const ws = await mf.dispatchFetch("http://app.test/ws", { headers: { upgrade: "websocket" } });
  expect(ws.status).toBe(101);
  ws.webSocket?.accept();
  ws.webSocket?.close();
  const bucket = nodeR2(mf, "FLUX_TRACES");
  for (let i = 0; i < 400 && traces.size < 4; i++) {
    for (const o of (await bucket.list()).objects) {
      const bytes = new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer());
      traces.set(readTrace(bytes).head.summary.route, bytes);
    }
    if (traces.size < 4) await new Promise((r) => setTimeout(r, 25));
  }
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-unsupported-"));
  const config = join(dir, "wrangler.toml");
  await writeFile(
    config,
    `name = "unsupported"\nmain = ${JSON.stringify(join(FIXTURES, "unsupported/index.ts"))}\ncompatibility_date = "2026-04-20"\ncompatibility_flags = ["nodejs_compat"]\n`,
  );
  replayer = await Replayer.start({ config, script });
}, 120_000);

afterAll(async () => {
  await replayer?.dispose();
  await mf?.dispose();
});

const CASES = [
  { route: "/keygen", op: "generateKey", why: /key generation/ },
  { route: "/ws", op: "websocket", why: /WebSocket/ },
  { route: "/limit", op: "limit", why: /a binding kind FluxRun does not record/ },
];

describe("unsupported use", () => {
  it.each(CASES)(
    "$route: recorded as unsupported and a preflight blocker",
    ({ route, op, why }) => {
      const { head } = readTrace(traces.get(route)!);
      const unsupported = head.events.filter((e) => e.kind === "unsupported").map((e) => e.op);
      expect(new Set(unsupported)).toEqual(new Set([op]));
      const report = preflight(head, { code: [] });
      expect(report.readiness).toBe("not_ready");
      expect(report.blockers.map((b) => b.reason).join(" ")).toMatch(why);
    },
  );

  it.each(CASES)("$route: refused in replay, reported as unsupported", async ({ route }) => {
    const report = await replayer.replay(traces.get(route)!, keys.privateJwk);
    expect(report.verdict).toBe("diverged");
    expect(report.divergences[0]?.code).toBe("unsupported");
    expect(report.liveNetworkAttempts).toBe(0);
  });

  it("replays a plain route of the same worker as MATCH", async () => {
    const report = await replayer.replay(traces.get("/plain")!, keys.privateJwk);
    expect(report.verdict).toBe("match");
    expect(preflight(readTrace(traces.get("/plain")!).head, { code: [] }).readiness).toBe("ready");
  });
});

describe("errors across bundles", () => {
  it("compares messages with bundler-renamed identifiers as equal, and nothing else", () => {
    const recorded = { name: "TypeError", message: "env2.DB01.prepare is not a function" };
    expect(
      sameError(recorded, { name: "TypeError", message: "env.DB01.prepare is not a function" }),
    ).toBe(true);
    expect(
      sameError(recorded, { name: "TypeError", message: "env.DB.prepare is not a function" }),
    ).toBe(false);
    expect(sameError(recorded, { name: "RangeError", message: recorded.message })).toBe(false);
    expect(
      sameError(recorded, { name: "TypeError", message: "env2.CACHE.get is not a function" }),
    ).toBe(false);
  });
});
