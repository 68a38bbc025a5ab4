/**
 * httpSink: the ingest body contract, batching, retries with backoff (time frozen: `sleep` is
 * injected and only records delays), idempotency by trace id, bounded memory, and hostile options.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isFluxError } from "../errors.js";
import { decodeCbor } from "../trace/_cbor.js";
import type { TraceSummary } from "../trace/schema.js";
import { traceKey, type SealedTrace } from "./_sink.js";
import { fsSpool } from "./fs-spool.js";
import { httpSink, type HttpSinkOptions } from "./http.js";
import { drainQueueBatch } from "./queue-spool.js";

const TOKEN = "ingest-token-do-not-print";

function trace(n: number): SealedTrace {
  const summary: TraceSummary = {
    traceId: n.toString(16).padStart(32, "0"),
    app: "shop",
    route: "/orders",
    method: "POST",
    status: 201,
    outcome: "ok",
    start: Date.UTC(2026, 0, 2, 3, 4, 5, 6) + n,
    durationMs: 1.5,
    eventCounts: { request: 1, response: 1 },
    fetches: [],
    truncated: false,
    runtime: "deno",
  };
  return { key: traceKey(summary), bytes: new Uint8Array([0xa0, n & 0xff, 1, 2, 3]), summary };
}

interface Sent {
  url: string;
  headers: Headers;
  body: unknown;
}

/** A fake ingest endpoint: answers from `answers` in turn (the last one repeats). */
function endpoint(answers: (() => Response | Promise<Response>)[] = [() => new Response(null)]) {
  const sent: Sent[] = [];
  const sleeps: number[] = [];
  let i = 0;
  const options: Partial<HttpSinkOptions> = {
    async fetch(url, init) {
      const headers = new Headers(init.headers);
      const raw = init.body as Uint8Array | string;
      const body = typeof raw === "string" ? JSON.parse(raw) : decodeCbor(raw);
      sent.push({ url, headers, body });
      const answer = answers[Math.min(i++, answers.length - 1)]!;
      return answer();
    },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 1,
  };
  return { sent, sleeps, options };
}

function sink(extra: Partial<HttpSinkOptions>) {
  return httpSink({ url: "https://dash.example.com/", token: TOKEN, ...extra });
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

describe("httpSink", () => {
  it("POSTs a CBOR array of { key, bytes, summary } with the bearer token", async () => {
    const e = endpoint();
    const s = sink({ ...e.options, batchSize: 2 });
    await Promise.all([s.write(trace(1)), s.write(trace(2)), s.write(trace(3))]);
    expect(e.sent).toHaveLength(2);
    const [first] = e.sent;
    expect(first!.url).toBe("https://dash.example.com/v1/ingest");
    expect(first!.headers.get("authorization")).toBe(`Bearer ${TOKEN}`);
    expect(first!.headers.get("content-type")).toBe("application/cbor");
    expect(first!.headers.get("x-fluxrun-ingest")).toBe("1");
    expect(first!.body).toEqual([
      { key: trace(1).key, bytes: trace(1).bytes, summary: trace(1).summary },
      { key: trace(2).key, bytes: trace(2).bytes, summary: trace(2).summary },
    ]);
    expect(e.sent[1]!.body).toHaveLength(1);
    expect(s.stats()).toMatchObject({
      sent: 3,
      batches: 2,
      queued: 0,
      retries: 0,
      lastStatus: 200,
    });
  });

  it("sends JSON with base64 bytes when asked", async () => {
    const e = endpoint();
    const s = sink({ ...e.options, encoding: "json" });
    await s.write(trace(7));
    expect(e.sent[0]!.headers.get("content-type")).toBe("application/json");
    const [item] = e.sent[0]!.body as { key: string; bytes: string; summary: unknown }[];
    expect(Uint8Array.from(atob(item!.bytes), (c) => c.charCodeAt(0))).toEqual(trace(7).bytes);
    expect(item!.summary).toEqual(trace(7).summary);
  });

  it("keeps a batch under maxBatchBytes (one trace always goes)", async () => {
    const e = endpoint();
    const s = sink({ ...e.options, batchSize: 10, maxBatchBytes: 6 });
    await Promise.all([s.write(trace(1)), s.write(trace(2))]);
    expect(e.sent.map((x) => (x.body as unknown[]).length)).toEqual([1, 1]);
  });

  it("retries 5xx, 429 and network errors with exponential backoff and Retry-After", async () => {
    const e = endpoint([
      () => new Response("busy", { status: 503 }),
      () => Promise.reject(new TypeError("connection reset")),
      () => new Response(null, { status: 429, headers: { "retry-after": "7" } }),
      () => new Response(null, { status: 202 }),
    ]);
    const s = sink({ ...e.options, lingerMs: 0, backoffMs: 100, retries: 4 });
    await s.write(trace(1));
    expect(e.sleeps).toEqual([100, 200, 7000]);
    expect(e.sent).toHaveLength(4);
    expect(s.stats()).toMatchObject({ sent: 1, retries: 3, failed: 0 });
  });

  it("gives up after `retries` and rejects with ERR_SINK_WRITE, never showing the token", async () => {
    const e = endpoint([() => new Response(TOKEN, { status: 500 })]);
    const s = sink({ ...e.options, lingerMs: 0, retries: 2, backoffMs: 10, maxBackoffMs: 15 });
    const err = await rejection(s.write(trace(1)));
    expect(isFluxError(err) && err.code).toBe("ERR_SINK_WRITE");
    expect(err.message).toMatch(/after 3 attempts \(last: status 500\)/);
    expect(err.message).not.toContain(TOKEN);
    expect(e.sleeps).toEqual([10, 15]);
    expect(s.stats()).toMatchObject({ failed: 1, sent: 0, retries: 2, queued: 0 });
  });

  it("does not retry a refusal (401, 400, 413)", async () => {
    for (const status of [401, 400, 413]) {
      const e = endpoint([() => new Response(null, { status })]);
      const s = sink(e.options);
      const err = await rejection(s.write(trace(1)));
      expect(err.message).toContain(`status ${status}`);
      expect(e.sent).toHaveLength(1);
      expect(s.stats()).toMatchObject({ rejected: 1, retries: 0 });
    }
  });

  it("settles each trace from the endpoint's results", async () => {
    const e = endpoint([
      () =>
        Response.json({
          results: [
            { traceId: trace(1).summary.traceId, status: "stored" },
            { traceId: trace(2).summary.traceId, status: "duplicate" },
            { traceId: trace(3).summary.traceId, status: "rejected", reason: "schema" },
          ],
        }),
    ]);
    const s = sink(e.options);
    const results = await Promise.allSettled([1, 2, 3].map((n) => s.write(trace(n))));
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect((results[2] as PromiseRejectedResult).reason.message).toContain("(schema)");
    expect(s.stats()).toMatchObject({ sent: 2, duplicates: 1, rejected: 1 });
  });

  it("never sends a trace id again after success, nor twice while queued", async () => {
    const e = endpoint();
    const s = sink(e.options);
    await Promise.all([s.write(trace(1)), s.write(trace(1))]);
    await s.write(trace(1));
    expect(e.sent).toHaveLength(1);
    expect(e.sent[0]!.body).toHaveLength(1);
    expect(s.stats()).toMatchObject({ sent: 1, skipped: 2 });
  });

  it("re-sends the same ids when no success answer came (the dashboard dedupes)", async () => {
    const e = endpoint([() => new Response(null, { status: 502 }), () => new Response(null)]);
    const s = sink(e.options);
    await s.write(trace(1));
    expect(e.sent.map((x) => x.body)).toEqual([e.sent[0]!.body, e.sent[0]!.body]);
  });

  it("holds at most maxQueue traces: the rest are dropped and counted", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const e = endpoint([async () => (await gate, new Response(null))]);
    const s = sink({ ...e.options, maxQueue: 3, batchSize: 3 });
    const writes = [1, 2, 3, 4, 5].map((n) => s.write(trace(n)));
    const settled = Promise.allSettled(writes);
    expect(s.stats()).toMatchObject({ queued: 3, dropped: { overflow: 2 } });
    release();
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "rejected",
      "rejected",
    ]);
    expect((results[3] as PromiseRejectedResult).reason.message).toMatch(/queue is full/);
    expect(s.stats()).toMatchObject({ queued: 0, sent: 3, dropped: { overflow: 2 } });
  });

  it("waits `lingerMs` for a batch to fill, unless flushed", async () => {
    const e = endpoint();
    const s = sink({ ...e.options, lingerMs: 40, batchSize: 5 });
    const w = s.write(trace(1));
    await s.flush();
    await w;
    expect(e.sleeps).toEqual([40]);
    const s2 = sink({ ...endpoint().options, lingerMs: 40, batchSize: 5 });
    await s2.flush();
    expect(s2.stats().sent).toBe(0);
  });

  const HOSTILE: [string, Partial<HttpSinkOptions>, typeof TypeError | typeof RangeError][] = [
    ["plain http to a remote host", { url: "http://dash.example.com" }, TypeError],
    ["a relative url", { url: "/v1" }, TypeError],
    ["a url with a query", { url: "https://dash.example.com/?t=1" }, TypeError],
    ["an empty token", { token: "" }, TypeError],
    ["a token with a newline", { token: "a\nb" }, TypeError],
    ["batchSize 0", { batchSize: 0 }, RangeError],
    ["a fractional maxQueue", { maxQueue: 1.5 }, RangeError],
    ["negative retries", { retries: -1 }, RangeError],
    ["an unknown encoding", { encoding: "xml" as "json" }, TypeError],
    ["batches over the ingest body limit", { maxBatchBytes: 64 * 1024 * 1024 }, RangeError],
    ["more items per batch than the endpoint takes", { batchSize: 101 }, RangeError],
  ];
  it.each(HOSTILE)("refuses %s", (_name, bad, kind) => {
    expect(() => sink(bad)).toThrow(kind);
  });

  it("allows plain http on loopback only, and keeps a base path", () => {
    expect(() => sink({ url: "http://127.0.0.1:8788" })).not.toThrow();
    expect(() => sink({ url: "http://localhost:8788/flux/" })).not.toThrow();
  });
});

/** A fresh spool directory (a real one: fsSpool is the part under test). */
async function withDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-http-spool-"));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const down = () => Promise.reject(new TypeError("connection refused"));
const up = () => new Response(null);

describe("httpSink with a spool", () => {
  it("spools what the memory queue cannot hold and what ingest never took; drains it in order", () =>
    withDir(async (dir) => {
      let ok = false;
      const e = endpoint([() => (ok ? up() : down())]);
      const s = sink({ ...e.options, maxQueue: 2, batchSize: 2, retries: 1, spool: fsSpool(dir) });
      await Promise.all([1, 2, 3, 4, 5].map((n) => s.write(trace(n))));
      expect(s.stats()).toMatchObject({ spooled: 5, failed: 2, dropped: {}, sent: 0 });
      expect((await readdir(dir)).filter((f) => f.endsWith(".spool"))).toHaveLength(5);
      ok = true;
      e.sent.length = 0;
      await s.drain();
      const ids = e.sent.flatMap((x) =>
        (x.body as { summary: TraceSummary }[]).map((i) => i.summary.traceId),
      );
      expect(ids).toEqual([1, 2, 3, 4, 5].map((n) => trace(n).summary.traceId));
      expect(s.stats()).toMatchObject({ drained: 5, sent: 5 });
      expect(await readdir(dir)).toEqual([]);
    }));

  it("keeps a spool across restarts: a new sink drains what the last one left", () =>
    withDir(async (dir) => {
      const first = sink({ ...endpoint([down]).options, retries: 0, spool: fsSpool(dir) });
      await Promise.all([1, 2, 3].map((n) => first.write(trace(n))));
      const e = endpoint([up]);
      const second = sink({ ...e.options, spool: fsSpool(dir) });
      await second.write(trace(9));
      await second.flush();
      expect(second.stats()).toMatchObject({ sent: 4, drained: 3 });
      expect(await readdir(dir)).toEqual([]);
    }));

  it("counts what a full spool refuses, reports it with the next accepted batch, once", () =>
    withDir(async (dir) => {
      let ok = false;
      const e = endpoint([() => (ok ? up() : down())]);
      const s = sink({ ...e.options, retries: 0, spool: fsSpool(dir, { maxTraces: 1 }) });
      const results = await Promise.allSettled([1, 2, 3].map((n) => s.write(trace(n))));
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected"]);
      const err = (results[1] as PromiseRejectedResult).reason as Error & { dropReason?: string };
      expect(isFluxError(err) && err.code).toBe("ERR_SINK_WRITE");
      expect(err.dropReason).toBe("spool_full");
      expect(s.stats().dropped).toEqual({ spool_full: 2 });
      ok = true;
      e.sent.length = 0;
      await s.write(trace(4));
      await s.write(trace(5));
      expect(e.sent[0]!.body).toMatchObject({ dropped: { spool_full: 2 } });
      expect(e.sent.slice(1).every((x) => Array.isArray(x.body))).toBe(true);
      expect(s.stats()).toMatchObject({ sent: 3, drained: 1 });
    }));

  it("counts refusals as dropped `rejected`, and drops without a spool by reason", async () => {
    const refused = sink({ ...endpoint([() => new Response(null, { status: 400 })]).options });
    await refused.write(trace(1)).catch(() => {});
    expect(refused.stats().dropped).toEqual({ rejected: 1 });
    const timeouts = sink({
      ...endpoint([() => Promise.reject(new DOMException("slow", "TimeoutError"))]).options,
      retries: 1,
    });
    await timeouts.write(trace(2)).catch(() => {});
    expect(timeouts.stats().dropped).toEqual({ timeout: 1 });
  });

  it("sets aside a spool file it cannot read, and sends the rest", () =>
    withDir(async (dir) => {
      await writeFile(join(dir, "000000000000001-bad.spool"), new Uint8Array([0xff, 0x00]));
      const e = endpoint([up]);
      const s = sink({ ...e.options, spool: fsSpool(dir) });
      await s.write(trace(1));
      await s.drain();
      expect(await readdir(dir)).toEqual(["000000000000001-bad.spool.unreadable"]);
      expect(s.stats()).toMatchObject({ sent: 1 });
    }));
});

describe("drainQueueBatch", () => {
  const message = (body: unknown) => {
    const m = {
      body,
      acked: false,
      retried: false,
      ack: () => (m.acked = true),
      retry: () => (m.retried = true),
    };
    return m;
  };
  const spooled = (n: number) => ({ fluxrun: "spool/1", ...trace(n) });

  it("acknowledges what ingest took or refused, and leaves the rest to the Queue", async () => {
    const e = endpoint([
      () =>
        Response.json({
          results: [
            { traceId: trace(1).summary.traceId, status: "stored" },
            { traceId: trace(2).summary.traceId, status: "rejected", reason: "schema" },
          ],
        }),
      () => new Response(null, { status: 503 }),
    ]);
    const s = sink({ ...e.options, batchSize: 2 });
    const batch = { messages: [message(spooled(1)), message(spooled(2)), message(spooled(3))] };
    expect(await drainQueueBatch(batch, s)).toBe(true);
    expect(batch.messages.map((m) => [m.acked, m.retried])).toEqual([
      [true, false],
      [true, false],
      [false, true],
    ]);
    expect(s.stats()).toMatchObject({ drained: 1, dropped: { rejected: 1 } });
  });

  it("leaves a batch that is not FluxRun's alone to the app", async () => {
    const batch = { messages: [message(spooled(1)), message({ order: 7 })] };
    expect(await drainQueueBatch(batch, sink(endpoint().options))).toBe(false);
    expect(batch.messages.some((m) => m.acked || m.retried)).toBe(false);
  });
});
