/**
 * Sinks that lose nothing they could keep (issue 13, item 6), the red team's scenarios as tests:
 *
 * - R2 puts that hang: a real worker in workerd whose trace bucket never answers some puts (a
 *   wrapper bucket in the test worker: Cloudflare's R2 cannot hang on demand here). Each hung put
 *   times out (20 ms, injected), is retried once, and a trace still not stored is counted as
 *   dropped `timeout` in `fluxStats()` and the sink's `stats()`: nothing waits forever uncounted.
 * - An ingest outage, then recovery: `withFlux` on Node sends 300 real sealed traces through
 *   `httpSink` with a disk spool to a Node http server standing in for the dashboard's
 *   `POST /v1/ingest` (it reads batches with the contract's own decoder and each trace's clear
 *   head, as the dashboard does). During the outage it resets every connection. None is lost when
 *   the spool can hold them; when it cannot, the exact number is counted as `spool_full` and
 *   reported to the ingest endpoint with the first batch it accepts.
 *
 * No timing is asserted: timeouts fire because the puts never answer, retries sleep through an
 * injected no-op, and the tests wait for counts (polled with a bound), never for durations.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { decodeIngestRequest, type SinkDrops } from "fluxrun/contract";
import { flush, fluxStats, fsSpool, httpSink, withFlux, type HttpSink } from "fluxrun/node";
import { generateTraceKeys, readTrace, type PublicJwk } from "fluxrun/trace";
import { bundleWorker } from "../src/harness/bundle.js";
import { nodeR2, withNodeBindings } from "./_miniflare.js";
import { FIXTURES } from "./_helpers.js";

/** Polls `check` until it returns a value (bounded), so no test sleeps for a fixed time. */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

describe("r2Sink: puts that hang", () => {
  let mf: Miniflare;
  beforeAll(async () => {
    const keys = await generateTraceKeys();
    const script = await bundleWorker(join(FIXTURES, "sinks/r2-hang.ts"));
    mf = new Miniflare(
      await withNodeBindings({
        modules: [{ type: "ESModule", path: "worker.js", contents: script }],
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        bindings: { FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk), FLUX_APP: "shop" },
        r2Buckets: ["FLUX_TRACES"],
      }),
    );
    await mf.ready;
  });
  afterAll(() => mf.dispose());

  it("times out, retries and counts every hung put: 200 traces, 100 stored, 100 dropped as timeout", async () => {
    const paths = [
      ...Array.from({ length: 100 }, () => "/hang"),
      ...Array.from({ length: 50 }, () => "/flaky"),
      ...Array.from({ length: 50 }, () => "/ok"),
    ];
    for (let i = 0; i < paths.length; i += 20) {
      await Promise.all(
        paths.slice(i, i + 20).map(async (p) => {
          const res = await mf.dispatchFetch(`http://app.test${p}`);
          expect(await res.text()).toBe(p);
        }),
      );
    }
    interface Stats {
      flux: { recorded: number; stored: number; failed: number; dropped: SinkDrops };
      sink: { stored: number; retries: number; timeouts: number; dropped: SinkDrops };
    }
    const stats = await until("every trace to be stored or counted lost", async () => {
      const s = (await (await mf.dispatchFetch("http://app.test/_stats")).json()) as Stats;
      return s.flux.stored + s.flux.failed === 200 ? s : undefined;
    });
    expect(stats.flux).toMatchObject({
      recorded: 200,
      stored: 100,
      failed: 100,
      dropped: { timeout: 100 },
    });
    // /hang: 2 attempts timed out each; /flaky: the first timed out, the retry stored it.
    expect(stats.sink).toEqual({
      stored: 100,
      retries: 150,
      timeouts: 250,
      dropped: { timeout: 100 },
    });
    const bucket = nodeR2(mf, "FLUX_TRACES");
    let stored = 0;
    let cursor: string | undefined;
    do {
      const list = await bucket.list(cursor ? { cursor } : {});
      stored += list.objects.length;
      cursor = list.truncated ? list.cursor : undefined;
    } while (cursor);
    expect(stored).toBe(100);
  });
});

/** A Node http server standing in for the dashboard's ingest endpoint. */
interface Ingest {
  url: string;
  /** While down, every connection is reset (a network error), as during an outage. */
  down: boolean;
  /** Trace ids stored, each checked against its own clear head. */
  stored: Set<string>;
  /** Drop counts the sink reported, summed. */
  reported: SinkDrops;
  /** The route of each trace stored. */
  routes: string[];
  close(): Promise<void>;
}

async function ingestServer(): Promise<Ingest> {
  const state = {
    down: true,
    stored: new Set<string>(),
    reported: {} as SinkDrops,
    routes: [] as string[],
  };
  const server: Server = createServer((req, res) => {
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const batch = decodeIngestRequest(
        new Uint8Array(Buffer.concat(chunks)),
        req.headers["content-type"] ?? null,
      );
      if (!batch || req.headers.authorization !== "Bearer test-ingest-token") {
        res.statusCode = batch ? 401 : 400;
        res.end();
        return;
      }
      for (const [reason, n] of Object.entries(batch.dropped)) {
        const r = reason as keyof SinkDrops;
        state.reported[r] = (state.reported[r] ?? 0) + n;
      }
      const results = batch.entries.map((e) => {
        if (!e.ok) return { traceId: e.traceId, status: "rejected", reason: e.reason };
        const { head } = readTrace(e.item.bytes);
        const id = head.id;
        state.routes.push(head.summary.route);
        if (id !== e.item.summary.traceId) return { traceId: id, status: "rejected" };
        const fresh = !state.stored.has(id);
        state.stored.add(id);
        return { traceId: id, status: fresh ? "stored" : "duplicate" };
      });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ results }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

describe("httpSink on Workers: spooled to a Queue, drained by withFlux's queue handler", () => {
  let mf: Miniflare;
  let ingest: Ingest;
  beforeAll(async () => {
    ingest = await ingestServer();
    const keys = await generateTraceKeys();
    mf = new Miniflare({
      modules: [
        {
          type: "ESModule",
          path: "worker.js",
          contents: await bundleWorker(join(FIXTURES, "sinks/queue-spool.ts")),
        },
      ],
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["nodejs_compat"],
      bindings: { FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk), INGEST_URL: ingest.url },
      queueProducers: { FLUX_SPOOL: { queueName: "flux-spool" } },
      queueConsumers: {
        "flux-spool": { maxBatchSize: 10, maxBatchTimeout: 0, maxRetries: 100, retryDelay: 1 },
      },
    });
    await mf.ready;
  });
  afterAll(async () => {
    await mf?.dispose();
    await ingest?.close();
  });

  it("loses none of 30 traces through an outage: spooled, then delivered when ingest answers", async () => {
    for (let i = 0; i < 30; i++) {
      const res = await mf.dispatchFetch(`http://app.test/orders/${i}`);
      expect(await res.text()).toBe(`/orders/${i}`);
    }
    interface Stats {
      flux: { stored: number; failed: number };
      sink: { spooled: number; drained: number; dropped: SinkDrops };
    }
    const stats = async () =>
      (await (await mf.dispatchFetch("http://app.test/_stats")).json()) as Stats;
    const spooled = await until("every trace to be spooled", async () => {
      const s = await stats();
      return s.sink.spooled === 30 ? s : undefined;
    });
    expect(spooled.flux).toMatchObject({ stored: 30, failed: 0 });
    expect(ingest.stored.size).toBe(0);

    ingest.down = false;
    await until("the queue handler to deliver every spooled trace", async () =>
      ingest.stored.size >= 30 ? true : undefined,
    );
    expect(ingest.stored.size).toBe(30);
    // The queue handler's own executions are not recorded: only the 30 requests' traces arrive.
    expect([...ingest.routes].every((r) => r.startsWith("/orders/"))).toBe(true);
    expect((await stats()).sink.dropped).toEqual({});
  });
});

describe("httpSink: an ingest outage, then recovery", () => {
  let publicKey: PublicJwk;
  let ingest: Ingest;
  let dir: string;
  beforeAll(async () => {
    publicKey = (await generateTraceKeys()).publicJwk;
  });
  beforeEach(async () => {
    ingest = await ingestServer();
    dir = await mkdtemp(join(tmpdir(), "fluxrun-spool-"));
  });
  afterEach(async () => {
    await ingest.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** 300 recorded requests through `sink` while ingest is down; their trace ids. */
  async function outage(sink: HttpSink): Promise<void> {
    const handler = withFlux((req: Request) => new Response(new URL(req.url).pathname), {
      app: "shop",
      sink,
      publicKey,
    });
    for (let i = 0; i < 300; i++) {
      const res = await handler(new Request(`http://app.test/orders/${i}`));
      expect(res.status).toBe(200);
    }
    await flush();
  }

  function sinkWith(spool: ReturnType<typeof fsSpool> | undefined): HttpSink {
    return httpSink({
      url: ingest.url,
      token: "test-ingest-token",
      maxQueue: 100,
      batchSize: 20,
      lingerMs: 0,
      retries: 1,
      sleep: async () => {},
      ...(spool ? { spool } : {}),
    });
  }

  const spoolFiles = async () => (await readdir(dir)).filter((f) => f.endsWith(".spool"));

  it("loses none of 300 traces when the spool can hold them, and drains it on recovery", async () => {
    const before = fluxStats();
    const sink = sinkWith(fsSpool(dir, { maxTraces: 1000 }));
    await outage(sink);
    expect(ingest.stored.size).toBe(0);
    expect(await spoolFiles()).toHaveLength(300);
    expect(sink.stats()).toMatchObject({ spooled: 300, drained: 0, sent: 0, dropped: {} });
    expect(fluxStats().failed - before.failed).toBe(0);

    ingest.down = false;
    await sink.drain();
    expect(ingest.stored.size).toBe(300);
    expect(await spoolFiles()).toHaveLength(0);
    expect(sink.stats()).toMatchObject({ drained: 300, sent: 300, dropped: {} });
    expect(ingest.reported).toEqual({});
  });

  it("counts exactly what a full spool cannot hold (250 of 300 as spool_full) and reports it to ingest", async () => {
    const before = fluxStats();
    const sink = sinkWith(fsSpool(dir, { maxTraces: 50 }));
    await outage(sink);
    expect(await spoolFiles()).toHaveLength(50);
    expect(sink.stats()).toMatchObject({ spooled: 50, dropped: { spool_full: 250 } });
    expect(fluxStats().failed - before.failed).toBe(250);
    expect((fluxStats().dropped.spool_full ?? 0) - (before.dropped.spool_full ?? 0)).toBe(250);

    ingest.down = false;
    await sink.drain();
    expect(ingest.stored.size).toBe(50);
    expect(ingest.reported).toEqual({ spool_full: 250 });
    expect(await spoolFiles()).toHaveLength(0);
    // Reported once: the next batch carries no old drops.
    await sink.drain();
    expect(ingest.reported).toEqual({ spool_full: 250 });
  });

  it("without a spool, counts all 300 lost by reason (none silently) and reports them on recovery", async () => {
    const before = fluxStats();
    const sink = sinkWith(undefined);
    await outage(sink);
    const { dropped } = sink.stats();
    const total = Object.values(dropped).reduce((a, b) => a + (b ?? 0), 0);
    expect(total).toBe(300);
    expect(Object.keys(dropped).every((r) => r === "overflow" || r === "unreachable")).toBe(true);
    expect(fluxStats().failed - before.failed).toBe(300);

    ingest.down = false;
    const handler = withFlux(() => new Response("ok"), { app: "shop", sink, publicKey });
    await handler(new Request("http://app.test/after"));
    await flush();
    expect(ingest.stored.size).toBe(1);
    expect(ingest.reported).toEqual(dropped);
  });
});
