/**
 * The HTTP sink against the dashboard: `httpSink` (running in Node, as on Node and Deno) sends
 * real sealed traces to the real dashboard worker in workerd, through a loopback proxy that
 * fails requests on purpose. Cloudflare's network cannot exist here; the proxy stands in for it
 * failing. Batched, retried, idempotent, nothing lost, nothing stored twice, refusals reported.
 * Either side speaking another protocol fails these tests.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { Miniflare } from "miniflare";
import { withNodeBindings } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpSink, isFluxError, type SealedTrace } from "fluxrun";
import { indexedSummary, readSummaryMetadata, traceKey } from "fluxrun/contract";
import { createWorkspace, createIngestToken, registerApp } from "../../src/db/workspaces.js";
import { hexId, sealedBytes, T0, traceParts, type TraceSpec } from "../_helpers.js";
import { dashboardDb, dashboardWorker, traceBucket } from "./_parts.js";

/** What the proxy does with each request, in turn; after the plan runs out, it forwards. */
type Fault = "forward" | "refuse" | "lose-answer";

interface Proxy {
  url: string;
  /** Each request since the last plan: the fault applied and the status the sink saw. */
  log: { fault: Fault; status: number }[];
  /** Faults for the next requests, in turn (and a fresh log). */
  plan(faults: Fault[]): void;
  close(): Promise<void>;
}

const HOP = new Set(["host", "connection", "content-length", "transfer-encoding"]);

function forwardable(headers: IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(headers)) {
    if (!HOP.has(k) && typeof v === "string") out.set(k, v);
  }
  return out;
}

/** A loopback proxy in front of `target` that refuses (503) or loses answers on demand. */
async function faultyProxy(target: string): Promise<Proxy> {
  let faults: Fault[] = [];
  const log: Proxy["log"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const fault = faults.shift() ?? "forward";
      let status = 503;
      let headers = new Headers();
      let body: Uint8Array = new TextEncoder().encode("injected failure");
      if (fault !== "refuse") {
        const answer = await fetch(`${target}${req.url}`, {
          method: req.method ?? "POST",
          headers: forwardable(req.headers),
          body: Buffer.concat(chunks),
        });
        const bytes = new Uint8Array(await answer.arrayBuffer());
        if (fault === "forward") [status, headers, body] = [answer.status, answer.headers, bytes];
      }
      log.push({ fault, status });
      res.statusCode = status;
      headers.forEach((v, k) => {
        if (!HOP.has(k) && k !== "content-encoding") res.setHeader(k, v);
      });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    log,
    plan: (f) => {
      faults = [...f];
      log.length = 0;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

let mf: Miniflare;
let db: D1Database;
let bucket: R2Bucket;
let proxy: Proxy;
let token: string;

beforeAll(async () => {
  mf = new Miniflare(await withNodeBindings({ workers: [await dashboardWorker()] }));
  const dashboard = (await mf.ready).toString().replace(/\/$/, "");
  db = await dashboardDb(mf);
  bucket = await traceBucket(mf);
  await createWorkspace(db, { id: "acme", name: "Acme" }, T0);
  await registerApp(db, "acme", "shop-api", T0);
  token = await createIngestToken(db, "shop-api", T0);
  proxy = await faultyProxy(dashboard);
});
afterAll(async () => {
  await proxy?.close();
  await mf?.dispose();
});

let next = 0x3000;
async function traces(n: number, over: Partial<TraceSpec> = {}): Promise<SealedTrace[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const spec: TraceSpec = {
        id: hexId(next++),
        app: "shop-api",
        route: "/orders",
        method: "POST",
        status: 502,
        outcome: "error",
        start: T0 - 60_000 + next,
        ...over,
      };
      const { summary } = traceParts(spec).head;
      return { key: traceKey(summary), bytes: await sealedBytes(spec), summary };
    }),
  );
}

/** A sink with time frozen: its linger and backoff waits return at once. */
function sink(options: { encoding?: "cbor" | "json"; token?: string } = {}) {
  return httpSink({
    url: proxy.url,
    token: options.token ?? token,
    encoding: options.encoding ?? "cbor",
    batchSize: 5,
    retries: 3,
    sleep: async () => {},
    random: () => 0.5,
  });
}

async function indexedCount(ids: readonly string[]): Promise<number> {
  const row = await db
    .prepare(
      `SELECT count(*) AS n FROM executions WHERE trace_id IN (${ids.map(() => "?").join(",")})`,
    )
    .bind(...ids)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("httpSink → dashboard /v1/ingest", () => {
  it("delivers every trace once through refused requests and a lost answer", async () => {
    const sent = await traces(23);
    proxy.plan(["refuse", "refuse", "lose-answer"]);
    const s = sink();
    await Promise.all(sent.map((t) => s.write(t)));
    expect(proxy.log.slice(0, 4).map((r) => [r.fault, r.status])).toEqual([
      ["refuse", 503],
      ["refuse", 503],
      ["lose-answer", 503],
      ["forward", 200],
    ]);
    expect(s.stats()).toMatchObject({
      sent: 23,
      duplicates: 5,
      retries: 3,
      batches: 5,
      failed: 0,
      rejected: 0,
      dropped: {},
      queued: 0,
    });
    const ids = sent.map((t) => t.summary.traceId);
    expect(await indexedCount(ids)).toBe(23);
    for (const t of sent) {
      const obj = await bucket.head(t.key);
      expect(obj, t.key).not.toBeNull();
      expect(readSummaryMetadata(obj!.customMetadata)).toEqual(indexedSummary(t.summary));
    }
    const ws = await db
      .prepare("SELECT DISTINCT ws FROM executions WHERE trace_id = ?")
      .bind(ids[0])
      .first<{ ws: string }>();
    expect(ws?.ws).toBe("acme");
  });

  it("is idempotent across sinks: a second sink's copies are answered duplicate", async () => {
    const sent = await traces(7);
    const first = sink();
    await Promise.all(sent.map((t) => first.write(t)));
    const again = sink();
    await Promise.all(sent.map((t) => again.write(t)));
    expect(first.stats()).toMatchObject({ sent: 7, duplicates: 0 });
    expect(again.stats()).toMatchObject({ sent: 7, duplicates: 7 });
    expect(await indexedCount(sent.map((t) => t.summary.traceId))).toBe(7);
  });

  it("delivers JSON batches too", async () => {
    const sent = await traces(6);
    const s = sink({ encoding: "json" });
    await Promise.all(sent.map((t) => s.write(t)));
    expect(s.stats()).toMatchObject({ sent: 6, batches: 2, failed: 0 });
    expect(await indexedCount(sent.map((t) => t.summary.traceId))).toBe(6);
  });

  it("reports a trace the dashboard rejects, and delivers the rest of its batch", async () => {
    const [good] = await traces(1);
    const [foreign] = await traces(1, { app: "billing" });
    const s = sink();
    const results = await Promise.allSettled([s.write(good!), s.write(foreign!)]);
    expect(results[0]!.status).toBe("fulfilled");
    const err = (results[1] as PromiseRejectedResult).reason as Error;
    expect(isFluxError(err) && err.code).toBe("ERR_SINK_WRITE");
    expect(err.message).toContain("(app_mismatch)");
    expect(s.stats()).toMatchObject({ sent: 1, rejected: 1 });
    expect(await indexedCount([good!.summary.traceId, foreign!.summary.traceId])).toBe(1);
  });

  it("stores the drop counts a sink reports with its next accepted batch, once", async () => {
    const [lost, kept, later] = await traces(3);
    const s = httpSink({ url: proxy.url, token, retries: 0, lingerMs: 0, sleep: async () => {} });
    proxy.plan(["refuse"]);
    const err = await s.write(lost!).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain("status 503");
    expect(s.stats().dropped).toEqual({ unreachable: 1 });
    await s.write(kept!);
    await s.write(later!);
    const rows = await db
      .prepare("SELECT reason, count FROM sink_drops WHERE app = ?")
      .bind("shop-api")
      .all<{ reason: string; count: number }>();
    expect(rows.results).toEqual([{ reason: "unreachable", count: 1 }]);
    expect(await indexedCount([kept!.summary.traceId, later!.summary.traceId])).toBe(2);
  });

  it("gives up at once on a refused token, without retrying, and never prints it", async () => {
    const [t] = await traces(1);
    const s = sink({ token: "fxi_revoked-or-never-issued" });
    const err = await s.write(t!).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain("status 401");
    expect(err?.message).not.toContain("fxi_");
    expect(s.stats()).toMatchObject({ rejected: 1, retries: 0 });
    expect(await indexedCount([t!.summary.traceId])).toBe(0);
  });
});
