/**
 * Record in real workerd, then replay in Miniflare with the network cut: every boundary kind,
 * exceptions, divergence classes produced by small code changes, and concurrency.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "../src/harness/bundle.js";
import { Replayer } from "../src/harness/replay.js";
import { readTrace } from "../src/trace/seal.js";
import {
  FIXTURES,
  startRecorder,
  startUpstream,
  writeConfig,
  type Recorder,
  type Upstream,
} from "./_helpers.js";

let upstream: Upstream;
let rec: Recorder;
let config: string;
let traces: Awaited<ReturnType<Recorder["traces"]>>;

beforeAll(async () => {
  upstream = await startUpstream();
  rec = await startRecorder("basic/index.ts", {
    UPSTREAM: upstream.url,
    SECRET_TOKEN: "test-only-token-value",
  });
  const ok = await rec.fetch("/hello?q=1", { method: "POST", body: "request body text" });
  expect(ok.status).toBe(200);
  await ok.text();
  const boom = await rec.fetch("/boom");
  expect(boom.status).toBe(500);
  await boom.text();
  const neterr = await rec.fetch("/neterr");
  expect(await neterr.text()).toMatch(/^network error: \w*Error$/);
  const more = await rec.fetch("/more");
  if (more.status !== 200) throw new Error(await more.text());
  expect(await more.json()).toMatchObject({
    size: 9,
    type: "text/plain",
    text: "file body",
    svc: "200 svc got ping",
  });
  traces = await rec.traces(4);
  // Replay config: no SECRET_TOKEN here, so fluxENV must be served from the trace.
  config = await writeConfig("basic/index.ts", { UPSTREAM: upstream.url });
});

afterAll(async () => {
  await rec?.dispose();
  await upstream?.close();
});

function traceFor(route: string) {
  const t = traces.find((x) => x.meta.route === route);
  if (!t) throw new Error(`no trace for ${route}`);
  return t;
}

describe("recording", () => {
  it("stores one trace per execution with the summary as R2 metadata", () => {
    const t = traceFor("/hello");
    expect(t.key).toMatch(/^traces\/basic\/\d{4}-\d{2}-\d{2}\/\d{2}\/\d{9}-[0-9a-f]{32}\.cbor$/);
    expect(t.meta).toMatchObject({
      app: "basic",
      route: "/hello",
      method: "POST",
      status: "200",
      outcome: "ok",
    });
    expect(t.meta.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceFor("/boom").meta).toMatchObject({
      outcome: "exception",
      errorClass: "TypeError",
      status: "500",
    });
  });

  it("records every boundary in order, the waitUntil work included", () => {
    const { head } = readTrace(traceFor("/hello").bytes);
    const kinds = head.events.map((e) => `${e.kind}:${e.op}`);
    expect(kinds).toEqual([
      "request:POST",
      "random:uuid",
      "clock:now",
      "random:math",
      "env:shape",
      "env:var",
      "env:get",
      "fetch:GET",
      "binding:put",
      "binding:get",
      "binding:exec",
      "binding:run",
      "binding:first",
      "host:call",
      "console:log",
      "response:200",
      "fetch:POST",
    ]);
    expect(head.events.find((e) => e.kind === "fetch")).toMatchObject({
      status: 200,
      target: expect.stringContaining("/data"),
    });
    expect(head.events.find((e) => e.op === "put")).toMatchObject({ write: true, target: "KV" });
    expect(head.events.find((e) => e.op === "first")?.write).toBeUndefined();
    expect(head.events.find((e) => e.kind === "fetch")?.info?.masked).toEqual(["authorization"]);
  });

  it("keeps secrets, bodies and header values out of the clear part of the trace", () => {
    const bytes = traceFor("/hello").bytes;
    const text = new TextDecoder("latin1").decode(bytes);
    for (const secret of ["test-only-token-value", "request body text", "session=abc", "handled"]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe("replay", () => {
  let replayer: Replayer;
  beforeAll(async () => {
    replayer = await Replayer.start({ config });
  });
  afterAll(() => replayer?.dispose());

  it("replays a recorded execution to the same response with zero live requests", async () => {
    const before = upstream.hits();
    const report = await replayer.replay(traceFor("/hello").bytes, rec.keys.privateJwk);
    expect(report.divergences).toEqual([]);
    expect(report.verdict).toBe("match");
    expect(report.replayed).toEqual(report.recorded);
    expect(report.liveNetworkAttempts).toBe(0);
    expect(upstream.hits()).toBe(before);
  });

  it("names the release of the build that replayed it, when the build knows it", async () => {
    const { formatReport } = await import("../src/replay/report.js");
    expect(
      (await replayer.replay(traceFor("/hello").bytes, rec.keys.privateJwk)).replayedRelease,
    ).toBeUndefined();
    const released = await Replayer.start({
      config: await writeConfig("basic/index.ts", {
        UPSTREAM: upstream.url,
        FLUX_RELEASE: "v2.4.1",
      }),
    });
    try {
      const report = await released.replay(traceFor("/hello").bytes, rec.keys.privateJwk);
      expect(report.verdict).toBe("match");
      expect(report.replayedRelease).toBe("v2.4.1");
      expect(formatReport(report)).toContain("build:    release v2.4.1 replayed it");
    } finally {
      await released.dispose();
    }
  });

  it("replays a network error as the same error", async () => {
    const report = await replayer.replay(traceFor("/neterr").bytes, rec.keys.privateJwk);
    expect(report.verdict).toBe("match");
    expect(report.recorded.status).toBe(502);
  });

  it("replays R2, Queue, D1 batch and service-binding calls from the trace", async () => {
    const { head } = readTrace(traceFor("/more").bytes);
    expect(
      head.events.filter((e) => e.kind === "binding").map((e) => `${e.target}.${e.op}`),
    ).toEqual([
      "FILES.put",
      "FILES.head",
      "FILES.get",
      "FILES.list",
      "JOBS.send",
      "DB.exec",
      "DB.batch",
      "SVC.POST",
      "KV.get",
    ]);
    expect(head.events.filter((e) => e.write).map((e) => `${e.target}.${e.op}`)).toEqual([
      "FILES.put",
      "JOBS.send",
      "DB.exec",
      "DB.batch",
      "SVC.POST",
    ]);
    const report = await replayer.replay(traceFor("/more").bytes, rec.keys.privateJwk);
    expect(report.divergences).toEqual([]);
    expect(report.replayed).toEqual(report.recorded);
  });

  it("replays a thrown error as the same outcome", async () => {
    const report = await replayer.replay(traceFor("/boom").bytes, rec.keys.privateJwk);
    expect(report.verdict).toBe("match");
    expect(report.replayed.error).toEqual({ name: "TypeError" });
  });

  const cases: [string, string, Record<string, unknown>][] = [
    ["changed-url", "changed_request", { fields: ["url"], kind: "fetch" }],
    ["extra-call", "extra_call", { kind: "fetch", seq: null }],
    ["missing-call", "missing_call", { kind: "binding", op: "put" }],
    ["reordered", "reordered", { kind: "binding", op: "get" }],
    ["changed-outcome", "changed_outcome", { fields: ["status"] }],
  ];
  it.each(cases)(
    "a %s code change yields %s and touches no network",
    async (variant, code, match) => {
      const script = await bundleWorker(`${FIXTURES}basic/index.ts`, {
        define: { __VARIANT__: JSON.stringify(variant) },
      });
      const changed = await Replayer.start({ config, script });
      try {
        const before = upstream.hits();
        const report = await changed.replay(traceFor("/hello").bytes, rec.keys.privateJwk);
        expect(report.verdict).toBe("diverged");
        expect(report.divergences[0]).toMatchObject({ code, ...match });
        expect(upstream.hits()).toBe(before);
        expect(JSON.stringify(report)).not.toContain("test-only-token-value");
      } finally {
        await changed.dispose();
      }
    },
  );
});

describe("an execution the sample left out", () => {
  it("hands the app the live response, keeps nothing when it ends ok, and keeps a failure whole and replayable", async () => {
    const r = await startRecorder(
      "basic/index.ts",
      { UPSTREAM: upstream.url, SECRET_TOKEN: "x" },
      { define: { __SAMPLE__: "0" } },
    );
    try {
      const ok = await r.fetch("/fetch-then?status=200");
      expect(await ok.json()).toEqual({ path: "/then", url: `${upstream.url}/then` });
      // Known not kept once it answered 200: its waitUntil work still runs, live and uncaptured.
      const audits = upstream.paths.filter((p) => p === "POST /audit").length;
      const hello = await r.fetch("/hello", { method: "POST", body: "left out" });
      expect(await hello.json()).toMatchObject({ body: "left out" });
      for (
        let i = 0;
        i < 200 && upstream.paths.filter((p) => p === "POST /audit").length === audits;
        i++
      ) {
        await new Promise((done) => setTimeout(done, 10));
      }
      expect(upstream.paths.filter((p) => p === "POST /audit")).toHaveLength(audits + 1);
      const failed = await r.fetch("/fetch-then?status=503");
      expect(failed.status).toBe(503);
      await failed.text();
      const [only, ...others] = await r.traces(1);
      expect(others).toEqual([]);
      expect(only!.meta).toMatchObject({ route: "/fetch-then", status: "503", outcome: "error" });
      const { head } = readTrace(only!.bytes);
      const fetched = head.events.find((e) => e.kind === "fetch")!;
      // Read after the fact from the copy it held: sizes too, but no call site.
      expect(fetched.info?.resBytes).toBeGreaterThan(0);
      expect(fetched.site).toBeUndefined();
      const cfg = await writeConfig("basic/index.ts", { UPSTREAM: upstream.url });
      const replayer = await Replayer.start({ config: cfg });
      try {
        const before = upstream.hits();
        const report = await replayer.replay(only!.bytes, r.keys.privateJwk);
        expect(report.verdict).toBe("match");
        expect(upstream.hits()).toBe(before);
      } finally {
        await replayer.dispose();
      }
    } finally {
      await r.dispose();
    }
  });
});

describe("concurrency", () => {
  it("keeps 60 interleaved requests apart, in recording and in replay", async () => {
    const slow = await startUpstream(15);
    const r = await startRecorder("basic/index.ts", { UPSTREAM: slow.url, SECRET_TOKEN: "x" });
    try {
      const tags = Array.from({ length: 60 }, (_, i) => `t${i}`);
      const bodies = await Promise.all(
        tags.map(
          async (tag) =>
            (await (await r.fetch(`/slow?tag=${tag}`)).json()) as {
              tag: string;
              uuid: string;
              path: string;
            },
        ),
      );
      for (const [i, b] of bodies.entries())
        expect(b).toMatchObject({ tag: tags[i], path: `/slow?tag=${tags[i]}` });
      const stored = await r.traces(60);
      const cfg = await writeConfig("basic/index.ts", { UPSTREAM: slow.url });
      const replayer = await Replayer.start({ config: cfg });
      try {
        const before = slow.hits();
        for (const t of stored) {
          const { head } = readTrace(t.bytes);
          expect(head.events.map((e) => e.kind)).toEqual([
            "request",
            "env",
            "env",
            "fetch",
            "random",
            "response",
          ]);
          const report = await replayer.replay(t.bytes, r.keys.privateJwk);
          expect(report.verdict).toBe("match");
        }
        expect(slow.hits()).toBe(before);
      } finally {
        await replayer.dispose();
      }
      // each trace holds its own request's tag
      const uuids = new Set(bodies.map((b) => b.uuid));
      expect(uuids.size).toBe(60);
    } finally {
      await r.dispose();
      await slow.close();
    }
  });
});
