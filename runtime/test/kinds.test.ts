/**
 * Every binding kind and every handler kind, recorded in real workerd and replayed by the
 * harness: each operation of each kind's table appears in its trace, and every trace replays as
 * MATCH on unchanged code with zero live requests.
 */
import { nodeR2, withNodeBindings } from "./_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { Miniflare } from "miniflare";
import { bundleWorker } from "../src/harness/bundle.js";
import { Replayer } from "../src/harness/replay.js";
import { bindingNotes } from "../src/harness/config.js";
import { preflight } from "../src/replay/preflight.js";
import { readTrace } from "../src/trace/seal.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import type { TraceHead } from "../src/trace/schema.js";
import type { ReplayReport } from "../src/replay/report.js";
import { FIXTURES, startUpstream, type Keys, type Upstream } from "./_helpers.js";

const OTHER = `export default { async fetch(req) { return new Response("other got " + await req.text()); } };`;
const EMAIL = [
  "From: sender@example.com",
  "To: inbox@example.com",
  "Subject: hello",
  "Message-ID: <1@example.com>",
  "",
  "a normal message",
  "",
].join("\r\n");

let upstream: Upstream;
let keys: Keys;
let mf: Miniflare;
let script: string;
let traces: { head: TraceHead; bytes: Uint8Array }[] = [];
let replayer: Replayer;
const responses = new Map<string, unknown>();

async function storedTraces(n: number): Promise<{ head: TraceHead; bytes: Uint8Array }[]> {
  const bucket = nodeR2(mf, "FLUX_TRACES", "kinds");
  for (let i = 0; i < 400; i++) {
    const list = await bucket.list();
    if (list.objects.length >= n) {
      return Promise.all(
        list.objects.map(async (o) => {
          const bytes = new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer());
          return { head: readTrace(bytes).head, bytes };
        }),
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Expected ${n} traces`);
}

beforeAll(async () => {
  upstream = await startUpstream();
  keys = await generateTraceKeys();
  script = await bundleWorker(join(FIXTURES, "kinds/index.ts"));
  mf = new Miniflare(
    await withNodeBindings({
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["nodejs_compat"],
      unsafeTriggerHandlers: true,
      workers: [
        {
          name: "kinds",
          modules: [{ type: "ESModule", path: "worker.js", contents: script }],
          compatibilityDate: "2026-04-20",
          compatibilityFlags: ["nodejs_compat"],
          bindings: {
            FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
            API_TOKEN: "test-only-secret-token",
            UPSTREAM: upstream.url,
            SETTINGS: { region: "eu", retries: 3 },
          },
          kvNamespaces: ["KV"],
          r2Buckets: ["FILES", "FLUX_TRACES"],
          d1Databases: ["DB"],
          queueProducers: { JOBS: { queueName: "jobs" } },
          serviceBindings: { OTHER: "other", GREETER: { name: "kinds", entrypoint: "Greeter" } },
          durableObjects: { COUNTER: { className: "Counter", useSQLite: true } },
        },
        { name: "other", modules: true, script: OTHER },
      ],
    }),
  );
  await mf.ready;
  for (const path of ["/kv", "/r2", "/d1", "/queue", "/service", "/do", "/cache", "/env"]) {
    const res = await mf.dispatchFetch(`http://app.test${path}`, {
      cf: { country: "PT" },
    } as never);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text}`);
    responses.set(path, JSON.parse(text));
  }
  const worker = await mf.getWorker("kinds");
  await worker.scheduled({ cron: "*/5 * * * *", scheduledTime: new Date(1_700_000_000_000) });
  const queued = await worker.queue("jobs", [
    { id: "m1", timestamp: new Date(1_700_000_000_000), body: { job: "x" }, attempts: 1 },
    {
      id: "m2",
      timestamp: new Date(1_700_000_000_000),
      body: { job: "y", retry: true },
      attempts: 2,
    },
  ]);
  expect(queued.retryMessages.map((m) => m.msgId)).toEqual(["m2"]);
  const mail = await mf.dispatchFetch(
    "http://app.test/cdn-cgi/handler/email?from=sender@example.com&to=inbox@example.com",
    { method: "POST", body: EMAIL },
  );
  expect(mail.status).toBeLessThan(300);
  await mail.text();
  // 8 fetches, the Greeter's RPC, the Counter's 2 fetches, add and alarm, cron, queue, email.
  traces = await storedTraces(16);
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-kinds-"));
  const config = join(dir, "wrangler.toml");
  await writeFile(
    config,
    `name = "kinds"
main = ${JSON.stringify(join(FIXTURES, "kinds/index.ts"))}
compatibility_date = "2026-04-20"
compatibility_flags = ["nodejs_compat"]

[[kv_namespaces]]
binding = "KV"
id = "kv"

[[r2_buckets]]
binding = "FILES"
bucket_name = "files"

[[d1_databases]]
binding = "DB"
database_name = "db"
database_id = "db"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[services]]
binding = "OTHER"
service = "other"

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
`,
  );
  // The replay config holds no secret, no JSON var, no trace bucket, no service, no DO.
  replayer = await Replayer.start({ config, script });
}, 120_000);

afterAll(async () => {
  await replayer?.dispose();
  await mf?.dispose();
  await upstream?.close();
});

function traceOf(predicate: (h: TraceHead) => boolean): { head: TraceHead; bytes: Uint8Array } {
  const found = traces.filter((t) => predicate(t.head));
  if (found.length !== 1) throw new Error(`expected one trace, found ${found.length}`);
  return found[0]!;
}

const ops = (head: TraceHead) => new Set(head.events.map((e) => `${e.kind} ${e.op} ${e.target}`));

const CASES: {
  name: string;
  trace: (h: TraceHead) => boolean;
  expected: string[];
}[] = [
  {
    name: "KV: get (text, json, arrayBuffer, stream, many), getWithMetadata, list, put, delete",
    trace: (h) => h.summary.route === "/kv",
    expected: [
      "binding put KV",
      "binding get KV",
      "binding getWithMetadata KV",
      "binding list KV",
      "binding delete KV",
    ],
  },
  {
    name: "R2: head, get (range, conditional), list, put, delete, multipart",
    trace: (h) => h.summary.route === "/r2",
    expected: [
      "binding put FILES",
      "binding head FILES",
      "binding get FILES",
      "binding list FILES",
      "binding createMultipartUpload FILES",
      "binding uploadPart FILES",
      "binding complete FILES",
      "binding abort FILES",
      "binding delete FILES",
    ],
  },
  {
    name: "D1: exec, run, batch, first, all, raw, withSession, getBookmark",
    trace: (h) => h.summary.route === "/d1",
    expected: [
      "binding exec DB",
      "binding run DB",
      "binding batch DB",
      "binding first DB",
      "binding all DB",
      "binding raw DB",
      "binding getBookmark DB",
    ],
  },
  {
    name: "Queue: send, sendBatch",
    trace: (h) => h.summary.route === "/queue",
    expected: ["binding send JOBS", "binding sendBatch JOBS"],
  },
  {
    name: "service bindings: fetch and JS RPC",
    trace: (h) => h.summary.route === "/service",
    expected: ["binding POST OTHER", "binding greet GREETER"],
  },
  {
    name: "Durable Object stubs: ids, fetch, RPC",
    trace: (h) => h.summary.route === "/do",
    expected: [
      "binding idFromName COUNTER",
      "binding newUniqueId COUNTER",
      "binding add COUNTER/",
      "binding GET COUNTER/",
    ],
  },
  {
    name: "Cache API: match, put, delete",
    trace: (h) => h.summary.route === "/cache",
    expected: [
      "cache match default",
      "cache put default",
      "cache delete default",
      "cache match named",
    ],
  },
  {
    name: "env: secrets, JSON vars and request.cf",
    trace: (h) => h.summary.route === "/env",
    expected: ["env var API_TOKEN", "env var SETTINGS", "env shape env"],
  },
  {
    name: "a Durable Object's fetch: storage get (one, many) and put",
    trace: (h) => h.summary.entry === "CounterObject" && h.summary.route === "/unique",
    expected: ["storage get storage", "storage put storage"],
  },
  {
    name: "a Durable Object's RPC method: SQL, list, setAlarm",
    trace: (h) => h.summary.entry === "CounterObject" && h.summary.handler === "rpc",
    expected: [
      "request rpc add",
      "storage exec storage",
      "storage list storage",
      "storage setAlarm storage",
    ],
  },
  {
    name: "a Durable Object's alarm",
    trace: (h) => h.summary.handler === "alarm",
    expected: ["request alarm alarm", "storage get storage", "storage put storage"],
  },
  {
    name: "an entrypoint's RPC method",
    trace: (h) => h.summary.entry === "Greeter",
    expected: ["request rpc greet", "binding get KV"],
  },
  {
    name: "a cron run",
    trace: (h) => h.summary.handler === "scheduled",
    expected: ["request scheduled */5 * * * *", "fetch GET 127.0.0.1", "binding put KV"],
  },
  {
    name: "a queue batch with one retry",
    trace: (h) => h.summary.handler === "queue",
    expected: ["request queue jobs", "incoming ack m1", "incoming retry m2", "binding put KV"],
  },
  {
    name: "an email",
    trace: (h) => h.summary.handler === "email",
    expected: ["request email email", "binding put KV"],
  },
];

describe("recording every kind", () => {
  it("answers the app as the bindings did", () => {
    expect(responses.get("/kv")).toMatchObject({
      text: "hi",
      json: { a: 1 },
      buf: [1, 2, 3],
      streamed: "streamed value",
      meta: { value: { a: 1 }, metadata: { v: 2 } },
      many: [
        ["greeting", "hi"],
        ["nothing", null],
      ],
      keys: ["bytes"],
    });
    expect(responses.get("/r2")).toMatchObject({
      head: 11,
      owner: "ada",
      body: "hello world",
      type: "text/plain",
      range: "world",
      conditionalHasBody: false,
      listed: ["a.txt"],
      multipart: { key: "big.bin", size: 3, uploadId: "string" },
      ctor: "R2ObjectBody",
    });
    expect(responses.get("/d1")).toMatchObject({
      n: 2,
      first: { name: "ada" },
      col: "ada",
      names: ["ada", "bob"],
      raw: [
        [1, "ada"],
        [2, "bob"],
      ],
      withNames: [["name"], ["ada"], ["bob"]],
      inSession: 2,
    });
    expect(responses.get("/service")).toEqual({ other: "200 other got ping", greeting: "hi, ada" });
    expect(responses.get("/do")).toMatchObject({
      first: { n: 1, many: [["n", 1]], path: "/hit" },
      total: 5,
      idLength: 64,
      sameId: true,
    });
    expect(responses.get("/cache")).toEqual({
      miss: true,
      hit: "cached body",
      namedMiss: true,
      deleted: true,
    });
    expect(responses.get("/env")).toEqual({
      token: "test-only-secret-token".length,
      region: "eu",
      country: "PT",
      keys: [
        "API_TOKEN",
        "COUNTER",
        "DB",
        "FILES",
        "GREETER",
        "JOBS",
        "KV",
        "OTHER",
        "SETTINGS",
        "UPSTREAM",
      ],
      hasTraces: false,
    });
  });

  it("lets preflight say what each binding's kind does in replay", () => {
    const report = preflight(traceOf((h) => h.summary.route === "/d1").head, {
      code: [],
      notes: bindingNotes(replayer.config),
    });
    expect(report.readiness).toBe("ready");
    const db = report.boundaries.find((b) => b.target === "DB");
    expect(db?.note).toMatch(/D1 statements.*served from the trace/);
  });

  it.each(CASES)("$name: every operation is in the trace", ({ trace, expected }) => {
    const recorded = [...ops(traceOf(trace).head)];
    for (const op of expected) {
      expect(
        recorded.some((r) => r.startsWith(op)),
        `${op} in ${recorded.join("; ")}`,
      ).toBe(true);
    }
  });
});

describe("replaying every kind", () => {
  let reports: Map<string, ReplayReport>;

  beforeAll(async () => {
    reports = new Map();
    const before = upstream.hits();
    for (const t of traces) reports.set(t.head.id, await replayer.replay(t.bytes, keys.privateJwk));
    expect(upstream.hits()).toBe(before);
  }, 120_000);

  it.each(CASES)("$name: MATCH, nothing live", ({ trace }) => {
    const report = reports.get(traceOf(trace).head.id)!;
    expect(report.divergences).toEqual([]);
    expect(report.verdict).toBe("match");
    expect(report.liveNetworkAttempts).toBe(0);
  });

  it("replays every stored trace as MATCH", () => {
    const diverged = [...reports.values()].filter((r) => r.verdict !== "match");
    expect(
      diverged.map(
        (r) => `${r.method} ${r.route}: ${r.divergences.map((d) => d.message).join("; ")}`,
      ),
    ).toEqual([]);
  });
});
