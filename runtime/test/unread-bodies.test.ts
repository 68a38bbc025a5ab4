/**
 * `unreadBodies`: a response body the app never read is kept whole ("keep"), as size and digest
 * ("digest") or not at all ("skip"), decided once the execution ends; replay serves such a body as
 * one that fails when read. Recorded in real workerd against a live upstream on 127.0.0.1, replayed
 * in Miniflare with the network cut.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "../src/harness/bundle.js";
import { Replayer } from "../src/harness/replay.js";
import { openTrace } from "../src/trace/seal.js";
import type { HttpResponseData, TraceEvent } from "../src/trace/schema.js";
import { FIXTURES, startRecorder, writeConfig, type Recorder } from "./_helpers.js";

const FIXTURE = "unread/index.ts";
const DATA = JSON.stringify({ item: "widget", price: 42 });
const HOOK = JSON.stringify({ accepted: true, id: "evt_1" });
const CHUNKS = ["first chunk;", "second chunk"];

let server: Server;
let upstream = "";
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on("end", () => {
      if (req.url === "/data") {
        res.setHeader("content-type", "application/json");
        res.end(DATA);
      } else if (req.url === "/hook") {
        res.statusCode = 202;
        res.setHeader("content-type", "application/json");
        res.end(HOOK);
      } else {
        // No content-length: chunked, of unknown length.
        res.write(CHUNKS[0]);
        res.end(CHUNKS[1]);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  upstream = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

type Mode = "keep" | "digest" | "skip";

/** Records `paths` under `mode`; gives each trace opened, by route. */
async function record(mode: Mode, paths: string[], define: Record<string, string> = {}) {
  const rec: Recorder = await startRecorder(
    FIXTURE,
    { UPSTREAM: upstream },
    { define: { __UNREAD__: JSON.stringify(mode), ...define } },
  );
  try {
    const answers: Record<string, { status: number; text: string }> = {};
    for (const p of paths) {
      const res = await rec.fetch(p);
      answers[p] = { status: res.status, text: await res.text() };
    }
    const stored = await rec.traces(paths.length);
    const opened = await Promise.all(
      stored.map(async (t) => ({
        route: t.meta.route!,
        bytes: t.bytes,
        ...(await openTrace(t.bytes, rec.keys.privateJwk)),
      })),
    );
    return {
      answers,
      keys: rec.keys,
      trace: (route: string) => opened.find((t) => t.route === route)!,
    };
  } finally {
    await rec.dispose();
  }
}

/** The recorded response of the fetch to `path` (and its event). */
function fetched(
  trace: { head: { events: TraceEvent[] }; payloads: unknown[] },
  path: string,
): { event: TraceEvent; result: HttpResponseData } {
  const event = trace.head.events.find((e) => e.kind === "fetch" && e.target.endsWith(path))!;
  expect(event, `a fetch of ${path}`).toBeDefined();
  return { event, result: (trace.payloads[event.seq] as { result: HttpResponseData }).result };
}

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const bytesOf = (s: string) => new TextEncoder().encode(s);

describe("unreadBodies", () => {
  it("keeps every body by default, read or not", async () => {
    const { answers, trace } = await record("keep", ["/mixed"]);
    expect(JSON.parse(answers["/mixed"]!.text)).toMatchObject({ hook: 202, log: true });
    const t = trace("/mixed");
    expect(fetched(t, "/hook").result.body).toEqual(bytesOf(HOOK));
    expect(fetched(t, "/data").result.body).toEqual(bytesOf(DATA));
  });

  it('"digest" keeps size and SHA-256 of the bodies the app never read, and the read ones whole', async () => {
    const { answers, trace } = await record("digest", ["/mixed", "/proxy", "/pipe"]);
    // Wrapping changes nothing the app sees.
    expect(JSON.parse(answers["/mixed"]!.text)).toEqual({
      data: JSON.parse(DATA),
      hook: 202,
      hookText: null,
      chunked: CHUNKS.join(""),
      log: true,
    });
    expect(answers["/proxy"]!.text).toBe(DATA);
    expect(answers["/pipe"]!.text).toBe(CHUNKS.join(""));

    const t = trace("/mixed");
    const hook = fetched(t, "/hook");
    expect(hook.result.body).toEqual({ unread: true, size: HOOK.length, sha256: sha256(HOOK) });
    expect(hook.event.info).toMatchObject({ unread: 1, resBytes: HOOK.length });
    expect(hook.result.status).toBe(202);
    expect(hook.result.headers).toContainEqual(["content-type", "application/json"]);
    expect(fetched(t, "/data").result.body).toEqual(bytesOf(DATA));
    // Of unknown length: read as it came, kept whole when read, a digest when not.
    const log = t.head.events.filter((e) => e.kind === "fetch" && e.target.endsWith("/chunked"));
    const bodies = log.map((e) => (t.payloads[e.seq] as { result: HttpResponseData }).result.body);
    expect(bodies).toContainEqual(bytesOf(CHUNKS.join("")));
    expect(bodies).toContainEqual({
      unread: true,
      size: CHUNKS.join("").length,
      sha256: sha256(CHUNKS.join("")),
    });
    // A body handed on to the client (returned, or piped into the response) counts as read.
    expect(fetched(trace("/proxy"), "/data").result.body).toEqual(bytesOf(DATA));
    expect(fetched(trace("/pipe"), "/chunked").result.body).toEqual(bytesOf(CHUNKS.join("")));
  });

  it('"skip" reads nothing of an unread body; replay serves it, and a replay that reads it fails that read and reports unread_body', async () => {
    const { trace, keys } = await record("skip", ["/mixed"]);
    const t = trace("/mixed");
    expect(fetched(t, "/hook").result.body).toEqual({ unread: true, size: HOOK.length });
    expect(fetched(t, "/data").result.body).toEqual(bytesOf(DATA));

    const config = await writeConfig(FIXTURE, { UPSTREAM: upstream });
    const define = { __UNREAD__: JSON.stringify("skip") };
    const same = await Replayer.start({
      config,
      script: await bundleWorker(`${FIXTURES}${FIXTURE}`, { define }),
    });
    const before = hits;
    try {
      const report = await same.replay(t.bytes, keys.privateJwk);
      expect(report.divergences).toEqual([]);
      expect(report.verdict).toBe("match");
      expect(report.replayed).toEqual(report.recorded);
    } finally {
      await same.dispose();
    }
    const changed = await Replayer.start({
      config,
      script: await bundleWorker(`${FIXTURES}${FIXTURE}`, {
        define: { ...define, __VARIANT__: JSON.stringify("reads-unread") },
      }),
    });
    try {
      const report = await changed.replay(t.bytes, keys.privateJwk);
      expect(report.verdict).toBe("diverged");
      expect(report.divergences).toContainEqual(
        expect.objectContaining({ code: "unread_body", kind: "fetch", op: "POST" }),
      );
      expect(report.replayed.error).toMatchObject({ name: "FluxError" });
    } finally {
      await changed.dispose();
    }
    expect(hits, "replay made no live request").toBe(before);
  });

  it("an execution the sample left out decides the same way when it fails", async () => {
    const { trace } = await record("digest", ["/fail"], { __SAMPLE__: "0" });
    const hook = fetched(trace("/fail"), "/hook");
    expect(hook.result.body).toEqual({ unread: true, size: HOOK.length, sha256: sha256(HOOK) });
  });

  it("refuses an unknown mode", async () => {
    const { withFlux } = await import("../src/adapter/workers.js");
    expect(() =>
      withFlux({ fetch: () => new Response() }, { unreadBodies: "none" as never }),
    ).toThrow(/unreadBodies/);
  });
});
