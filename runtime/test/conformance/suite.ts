/**
 * The conformance suite, with the runtime as a parameter (jose's `tap/run-*.ts` pattern): record
 * the handler set in `handlers.ts` through the runtime's `withFlux`, replay every trace, and check
 * that the verdict is `match`, the replay reached nothing live (a counting server on 127.0.0.1)
 * and the replayed outcome is the recorded one, which is the response the client got.
 *
 * Runs under vitest (workerd, Node) and `deno test` (Deno): it imports only `fluxrun/*`,
 * `node:` built-ins and nothing local, so both resolve it the same way.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { createServer } from "node:http";
import { digest, type ReplayReport } from "fluxrun/replay";
import { generateTraceKeys, readTrace, type PrivateJwk, type PublicJwk } from "fluxrun/trace";

/** The app under test, recording. */
export interface RecordingApp {
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The stored traces, once at least `n` exist (flushing the runtime's background writes). */
  traces(n: number): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

/** What a runtime provides to the suite. */
export interface RuntimeUnderTest {
  /** The runtime name the recorder writes into summaries (`workerd`, `deno`, `node`). */
  name: string;
  /** Starts the handler set wrapped with this runtime's withFlux, `secret` in its environment. */
  record(options: { publicJwk: PublicJwk; secret: string }): Promise<RecordingApp>;
  /** Replays one sealed trace in this runtime with the network cut. */
  replay(trace: Uint8Array, privateJwk: PrivateJwk): Promise<ReplayReport>;
}

/** How a test framework registers one test; tests run in registration order. */
export type DefineTest = (name: string, fn: () => Promise<void>) => void;

export interface ConformanceCase {
  name: string;
  path: string;
  init?: { method: string; headers?: Record<string, string>; body?: string };
  /** Status the client sees. */
  status: number;
  /** The recorded outcome is a thrown error of this class. */
  throws?: string;
  /** Requests the handler makes to the upstream while recording. */
  upstreamHits: number;
}

export const CASES: readonly ConformanceCase[] = [
  { name: "fetch to a local server", path: "/fetch", status: 200, upstreamHits: 1 },
  { name: "fluxHost call", path: "/host", status: 200, upstreamHits: 1 },
  { name: "fluxENV read", path: "/env", status: 200, upstreamHits: 0 },
  { name: "Date and randomness", path: "/time", status: 200, upstreamHits: 0 },
  { name: "thrown error", path: "/throw", status: 500, throws: "TypeError", upstreamHits: 0 },
  {
    name: "POST with a body",
    path: "/post",
    init: {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ order: 42, items: ["a", "b"] }),
    },
    status: 201,
    upstreamHits: 1,
  },
  { name: "network error", path: "/neterr", status: 502, upstreamHits: 0 },
];

export const CONFORMANCE_SECRET = "conformance-secret-value";

interface Upstream {
  url: string;
  hits(): number;
  close(): Promise<void>;
}

/** A live HTTP server on 127.0.0.1 that counts every request it receives. */
export async function startUpstream(): Promise<Upstream> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    let body = "";
    req.on("data", (c: Uint8Array) => (body += new TextDecoder().decode(c)));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ path: req.url, method: req.method, len: body.length }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface Recorded {
  status: number;
  body: Uint8Array;
  trace: Uint8Array;
}

function bodyView(body: Uint8Array): string | null {
  return body.length ? `${body.length} bytes ${digest(body)}` : null;
}

/**
 * Registers the suite's tests for `runtime`.
 *
 * @example
 * ```ts
 * runConformance(nodeRuntime, (name, fn) => it(name, fn));
 * ```
 */
export function runConformance(
  runtime: RuntimeUnderTest,
  test: DefineTest,
  options: { keys?: { publicJwk: PublicJwk; privateJwk: PrivateJwk } } = {},
): void {
  let upstream: Upstream | undefined;
  let app: RecordingApp | undefined;
  let keys: { publicJwk: PublicJwk; privateJwk: PrivateJwk } | undefined;
  let hitsAfterRecording = 0;
  const recorded = new Map<string, Recorded>();

  test(`${runtime.name}: records every handler`, async () => {
    upstream = await startUpstream();
    keys = options.keys ?? (await generateTraceKeys());
    app = await runtime.record({ publicJwk: keys.publicJwk, secret: CONFORMANCE_SECRET });
    const clients = new Map<string, { status: number; body: Uint8Array }>();
    for (const c of CASES) {
      const query = `?up=${encodeURIComponent(upstream.url)}`;
      const res = await app.fetch(`${c.path}${query}`, c.init);
      clients.set(c.path, { status: res.status, body: new Uint8Array(await res.arrayBuffer()) });
    }
    const traces = await app.traces(CASES.length);
    equal(traces.length, CASES.length, "one trace per execution");
    hitsAfterRecording = upstream.hits();
    equal(
      hitsAfterRecording,
      CASES.reduce((n, c) => n + c.upstreamHits, 0),
      "the upstream saw each live call once",
    );
    for (const bytes of traces) {
      const { summary } = readTrace(bytes).head;
      equal(summary.runtime, runtime.name);
      equal(summary.app, "conformance");
      const client = clients.get(summary.route);
      ok(client, `a request was sent for ${summary.route}`);
      recorded.set(summary.route, { ...client, trace: bytes });
    }
    for (const c of CASES) {
      const r = recorded.get(c.path);
      ok(r, `a trace for ${c.path}`);
      equal(r.status, c.status, `${c.path} answered ${c.status}`);
      const { summary } = readTrace(r.trace).head;
      equal(summary.outcome, c.throws ? "exception" : c.status >= 500 ? "error" : "ok");
      if (c.throws) equal(summary.errorClass, c.throws);
    }
    const env = JSON.parse(new TextDecoder().decode(recorded.get("/env")?.body)) as unknown;
    deepStrictEqual(env, { set: true, length: CONFORMANCE_SECRET.length });
    const trace = new TextDecoder("latin1").decode(recorded.get("/env")?.trace);
    ok(!trace.includes(CONFORMANCE_SECRET), "the secret is sealed, not in clear");
  });

  for (const c of CASES) {
    test(`${runtime.name}: replays ${c.name}`, async () => {
      const r = recorded.get(c.path);
      ok(r && keys && upstream, "the recording step ran");
      const report = await runtime.replay(r.trace, keys.privateJwk);
      deepStrictEqual(
        report.divergences.map((d) => `${d.code}: ${d.message}`),
        [],
        "no divergence",
      );
      equal(report.verdict, "match");
      equal(report.liveNetworkAttempts, 0);
      deepStrictEqual(report.replayed, report.recorded, "replayed outcome = recorded outcome");
      if (c.throws) {
        deepStrictEqual(report.recorded.error, { name: c.throws });
      } else {
        equal(report.recorded.status, r.status, "recorded status = what the client got");
        equal(report.recorded.body, bodyView(r.body), "recorded body = what the client got");
      }
      equal(upstream.hits(), hitsAfterRecording, "the replay made no live request");
    });
  }

  test(`${runtime.name}: replay reached nothing live; closes`, async () => {
    const hits = upstream?.hits();
    await app?.close();
    await upstream?.close();
    equal(hits, hitsAfterRecording, "zero live requests during replay");
  });
}
