/**
 * Wrapping changes nothing: the same worker built with and without withFlux, run in workerd,
 * sees the same handler (prototype methods kept), the same env (names, enumeration, descriptors)
 * and the same bindings (constructor names, instanceof, every method, errors), except that
 * FluxRun's own bindings are invisible to the wrapped app.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../src/harness/bundle.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import { FIXTURES } from "./_helpers.js";

type Seen = Record<string, unknown> & {
  env: Record<string, unknown>;
  bindings: Record<string, unknown>;
};

async function start(wrap: boolean): Promise<Miniflare> {
  const keys = await generateTraceKeys();
  const script = await bundleWorker(join(FIXTURES, "transparent/index.ts"), {
    define: { __WRAP__: String(wrap) },
  });
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "worker.js", contents: script }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    bindings: { GREETING: "hello", FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk) },
    kvNamespaces: ["KV"],
    r2Buckets: ["FILES", "FLUX_TRACES"],
    d1Databases: ["DB"],
    queueProducers: { JOBS: { queueName: "jobs" } },
    serviceBindings: { SVC: async () => new Response("svc") },
  });
  await mf.ready;
  return mf;
}

let plain: Miniflare;
let wrapped: Miniflare;
let bare: Seen;
let flux: Seen;

async function inspect(mf: Miniflare): Promise<Seen> {
  const res = await mf.dispatchFetch("http://app.test/inspect");
  if (res.status !== 200) throw new Error(await res.text());
  return (await res.json()) as Seen;
}

beforeAll(async () => {
  [plain, wrapped] = await Promise.all([start(false), start(true)]);
  [bare, flux] = await Promise.all([inspect(plain), inspect(wrapped)]);
});

afterAll(async () => {
  await Promise.all([plain?.dispose(), wrapped?.dispose()]);
});

const without = (list: unknown) => (list as string[]).filter((n) => !n.startsWith("FLUX_"));

describe("a wrapped worker sees what the unwrapped one sees", () => {
  it("keeps the handler's prototype methods and class", () => {
    expect(flux.handler).toEqual(bare.handler);
    expect(flux.handlerScheduled).toBe("function");
  });

  it("runs a scheduled handler that lives on the prototype", async () => {
    const worker = await wrapped.getWorker();
    await worker.scheduled({ cron: "* * * * *" });
    const res = await wrapped.dispatchFetch("http://app.test/ran");
    expect(await res.json()).toEqual({ ran: "yes" });
  });

  it("keeps every binding's class, instanceof, members and methods", () => {
    const names = without(Object.keys(bare.bindings));
    expect(Object.keys(flux.bindings)).toEqual(names);
    for (const name of names) expect(flux.bindings[name], name).toEqual(bare.bindings[name]);
    expect(flux.statement).toEqual(bare.statement);
    expect(flux.session).toEqual(bare.session);
    expect(flux.multipart).toBe("function");
    expect(flux.error).toEqual(bare.error);
  });

  it("shows the same env, without FluxRun's own names", () => {
    expect(bare.env.hasTraces).toBe(true);
    expect(flux.env).toEqual({
      keys: without(bare.env.keys),
      own: without(bare.env.own),
      spread: without(bare.env.spread),
      hasTraces: false,
      traces: "undefined",
      publicKey: "undefined",
      descriptor: "hello",
    });
  });
});
