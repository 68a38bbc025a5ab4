/**
 * The fetch-function adapter (fluxrun/node; fluxrun/deno shares it): trace writes never delay or
 * break the response, flush() waits for them, httpSink delivers to a live ingest server, and the
 * node:http listener keeps requests and responses intact.
 */
import { createServer, type IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  flush,
  fluxStats,
  httpSink,
  toNodeListener,
  withFlux,
  type FluxFetchFunction,
} from "fluxrun/node";
import { decodeCbor, generateTraceKeys, readTrace, type PublicJwk } from "fluxrun/trace";
import type { SealedTrace, TraceSink } from "fluxrun";

let publicKey: PublicJwk;
beforeAll(async () => {
  publicKey = (await generateTraceKeys()).publicJwk;
});

const hello = (req: Request) => Response.json({ path: new URL(req.url).pathname });

async function listen(handler: Parameters<typeof createServer>[1]) {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe("withFlux (fetch function)", () => {
  it("answers before the trace is written; flush() waits for the write", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const written: SealedTrace[] = [];
    const sink: TraceSink = {
      name: "slow",
      async write(t) {
        await gate;
        written.push(t);
      },
    };
    const fetchFn = withFlux(hello, { app: "slow", sink, publicKey });
    const res = await fetchFn(new Request("http://app.test/a"));
    expect(await res.json()).toEqual({ path: "/a" });
    let flushed = false;
    const done = flush().then(() => (flushed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toBe(false);
    expect(written).toHaveLength(0);
    release();
    await done;
    expect(written).toHaveLength(1);
    expect(readTrace(written[0]!.bytes).head.summary).toMatchObject({ app: "slow", route: "/a" });
  });

  it("a failing sink never affects the response; the failure is counted and reported", async () => {
    const errors: string[] = [];
    const before = fluxStats().failed;
    const sink: TraceSink = {
      name: "broken",
      write: () => Promise.reject(new Error("disk full")),
    };
    const fetchFn = withFlux(hello, { sink, publicKey, onError: (e) => errors.push(e.code) });
    const res = await fetchFn(new Request("http://app.test/b"));
    expect(res.status).toBe(200);
    await flush();
    expect(errors).toEqual(["ERR_SINK_WRITE"]);
    expect(fluxStats().failed).toBe(before + 1);
  });

  it("rethrows the handler's error after recording it", async () => {
    const written: SealedTrace[] = [];
    const sink: TraceSink = { name: "mem", write: async (t) => void written.push(t) };
    const fetchFn = withFlux(
      () => {
        throw new RangeError("nope");
      },
      { sink, publicKey },
    );
    await expect(fetchFn(new Request("http://app.test/c"))).rejects.toThrow(RangeError);
    await flush();
    expect(readTrace(written[0]!.bytes).head.summary).toMatchObject({
      outcome: "exception",
      errorClass: "RangeError",
      runtime: "node",
    });
  });

  it("refuses a missing sink or handler with a TypeError", () => {
    expect(() => withFlux(hello, {} as never)).toThrow(TypeError);
    expect(() => withFlux({} as never, { sink: { name: "x", write: async () => {} } })).toThrow(
      TypeError,
    );
    expect(() => toNodeListener(null as never)).toThrow(TypeError);
  });
});

describe("httpSink with a live ingest server", () => {
  const received: { auth: string | undefined; body: unknown }[] = [];
  let ingest: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    ingest = await listen((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({
          auth: req.headers.authorization,
          body: decodeCbor(new Uint8Array(Buffer.concat(chunks))),
        });
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ results: [] }));
      });
    });
  });
  afterAll(() => ingest.close());

  it("delivers sealed traces the dashboard can index", async () => {
    const sink = httpSink({ url: ingest.url, token: "t0ken", lingerMs: 0 });
    const fetchFn = withFlux(hello, { app: "ingest", sink, publicKey });
    await (await fetchFn(new Request("http://app.test/d"))).text();
    await flush();
    expect(sink.stats()).toMatchObject({ sent: 1, failed: 0, dropped: {} });
    const [item] = received[0]!.body as { key: string; bytes: Uint8Array; summary: unknown }[];
    expect(received[0]!.auth).toBe("Bearer t0ken");
    const { head } = readTrace(item!.bytes);
    expect(item!.summary).toEqual(head.summary);
    expect(item!.key).toContain(`-${head.id}.cbor`);
  });

  it("a dashboard that is down never affects the response", async () => {
    const sink = httpSink({
      url: "http://127.0.0.1:9",
      token: "t",
      retries: 1,
      backoffMs: 0,
      lingerMs: 0,
    });
    const fetchFn = withFlux(hello, { sink, publicKey, onError: () => {} });
    const res = await fetchFn(new Request("http://app.test/e"));
    expect(res.status).toBe(200);
    await flush();
    expect(sink.stats()).toMatchObject({ failed: 1, sent: 0 });
  });
});

describe("toNodeListener", () => {
  let server: Awaited<ReturnType<typeof listen>>;
  let fetchFn: FluxFetchFunction;
  beforeAll(async () => {
    fetchFn = withFlux(
      async (req) => {
        const body = req.method === "POST" ? await req.text() : "";
        const res = new Response(`${req.method} ${new URL(req.url).pathname} ${body}`, {
          status: 207,
          statusText: "Multi",
        });
        res.headers.append("set-cookie", "a=1");
        res.headers.append("set-cookie", "b=2");
        res.headers.set("x-seen", req.headers.get("x-in") ?? "");
        return res;
      },
      { sink: { name: "none", write: async () => {} }, publicKey },
    );
    server = await listen(toNodeListener(fetchFn));
  });
  afterAll(() => server.close());

  it("passes method, path, headers and a streamed body; keeps status and every set-cookie", async () => {
    const res = await fetch(`${server.url}/p?q=1`, {
      method: "POST",
      headers: { "x-in": "v" },
      body: "x".repeat(100_000),
    });
    expect(res.status).toBe(207);
    expect(res.statusText).toBe("Multi");
    const cookies = (res.headers as unknown as { getSetCookie(): string[] }).getSetCookie();
    expect(cookies).toEqual(["a=1", "b=2"]);
    expect(res.headers.get("x-seen")).toBe("v");
    expect(await res.text()).toBe(`POST /p ${"x".repeat(100_000)}`);
  });

  it("sends no body for HEAD", async () => {
    const res = await fetch(`${server.url}/h`, { method: "HEAD" });
    expect(res.status).toBe(207);
    expect(await res.text()).toBe("");
  });
});
