#!/usr/bin/env node
// `npm run bench`: FluxRun's overhead, trace size, seal throughput, replay throughput and bundle
// cost, each as a ratio measured side by side in this one run, in real workerd via Miniflare.
// Prints one table and writes bench/results.json. Loopback traffic only; bounded loops.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { bundleWorker, workerBuildOptions } from "fluxrun/harness";
import { generateTraceKeys, openTrace, readTrace, encodeCbor } from "fluxrun/trace";
import { replayThrough, REPLAY_SECRET_VAR } from "fluxrun/replay";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
const HERE = new URL(".", import.meta.url).pathname;
const ROOT = join(HERE, "..");
const N = Number(process.env.BENCH_N ?? 400);
const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);
const results = {
  date: new Date().toISOString(),
  machine: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`,
  rows: [],
};

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs) => pct(xs, 50);
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
function row(name, figure, target, pass, note = "") {
  results.rows.push({
    name,
    figure,
    target,
    status: pass === undefined ? "info" : pass ? "PASS" : "MISS",
    note,
  });
}

// ---------------------------------------------------------------- upstream (127.0.0.1 only)
const upstream = createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({ n: Number(req.url.split("/").pop()), path: req.url, pad: "y".repeat(120) }),
  );
});
await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
const UPSTREAM = `http://127.0.0.1:${upstream.address().port}`;

// ---------------------------------------------------------------- stub collector (127.0.0.1 only)
// Sentry and OpenTelemetry export to this loopback server, which reads each body, counts its
// bytes and answers 200 with an empty JSON object: accepted and discarded.
const collected = { bytes: 0, posts: 0 };
const collector = createServer((req, res) => {
  req.on("data", (d) => (collected.bytes += d.length));
  req.on("end", () => {
    collected.posts++;
    res.setHeader("content-type", "application/json");
    res.end("{}");
  });
});
await new Promise((r) => collector.listen(0, "127.0.0.1", r));
const COLLECTOR = `127.0.0.1:${collector.address().port}`;

// ---------------------------------------------------------------- workerd CPU and memory
function workerdPids() {
  const out = new Set();
  for (const pid of readFileSync("/proc/self/task/" + process.pid + "/children", "utf8")
    .trim()
    .split(/\s+/)
    .filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith("workerd")) out.add(pid);
    } catch {}
  }
  return out;
}
/** CPU time of every thread of `pid` in ms (schedstat: nanoseconds on CPU, not 10 ms ticks). */
function cpuMs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {}
  }
  return ns / 1e6;
}
/** Peak resident memory of the workerd process, in MiB (VmHWM). */
function peakMiB(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const keys = await generateTraceKeys();
const VARIANTS = [
  { name: "bare", label: "bare handler (no recorder)" },
  { name: "flux-null", label: "withFlux, sink that drops the sealed bytes" },
  { name: "flux-r2", label: "withFlux, local R2 sink" },
  { name: "flux-unsampled", label: "withFlux, sample 0 (request not kept), dropping sink" },
  { name: "sentry", label: "@sentry/cloudflare withSentry (tracesSampleRate 1.0)" },
  { name: "otel", label: "@microlabs/otel-cf-workers instrument" },
];
const variantEntry = (name) => join(HERE, "variants", `${name}.ts`);
/**
 * The build of one variant, as wrangler builds a worker: platform "browser" (packages' browser
 * field maps apply, which OpenTelemetry's packages rely on), the project's worker conditions,
 * node:* left to nodejs_compat, no keep-names.
 */
const variantBuild = (name, { minify }) =>
  workerBuildOptions(variantEntry(name), {
    minify,
    platform: "browser",
    nodePaths: [join(ROOT, "node_modules")],
  });

async function startVariant(name) {
  const before = workerdPids();
  const script = (await build(variantBuild(name, { minify: false }))).outputFiles[0].text;
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "w.js", contents: script }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    bindings: {
      UPSTREAM,
      FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
      [REPLAY_SECRET_VAR]: "s".repeat(64),
      SENTRY_DSN: `http://0123456789abcdef0123456789abcdef@${COLLECTOR}/1`,
      OTEL_URL: `http://${COLLECTOR}/v1/traces`,
    },
    kvNamespaces: ["KV"],
    d1Databases: ["DB"],
    r2Buckets: ["FLUX_TRACES"],
  });
  await mf.ready;
  const kv = await mf.getKVNamespace("KV");
  await kv.put("config", JSON.stringify({ theme: "dark", limits: [1, 2, 3] }));
  await kv.put("flags", "a,b,c");
  const pid = [...workerdPids()].find((p) => !before.has(p));
  return { name, mf, pid, script };
}

async function timed(mf, path) {
  const t = performance.now();
  const res = await mf.dispatchFetch(`http://bench.test${path}`);
  await res.arrayBuffer();
  return performance.now() - t;
}

async function countTraces(mf) {
  const bucket = await mf.getR2Bucket("FLUX_TRACES");
  let n = 0;
  let bytes = 0;
  let cursor;
  do {
    const page = await bucket.list({ cursor, limit: 1000 });
    n += page.objects.length;
    for (const o of page.objects) bytes += o.size;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { n, bytes };
}

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 12);
const PER_BLOCK = Math.max(1, Math.round(N / BLOCKS));
console.error(
  `bench: ${VARIANTS.length} variants, ${BLOCKS} interleaved blocks of ${PER_BLOCK} sequential requests, then 6 rounds × 50 concurrent…`,
);
const inst = {};
for (const v of VARIANTS) inst[v.name] = await startVariant(v.name);
const same = new Set();
for (const v of VARIANTS) {
  // Warm-up, and the check that every variant answers what the bare handler answers.
  const r = await inst[v.name].mf.dispatchFetch("http://bench.test/?id=same");
  const body = await r.json();
  same.add(
    JSON.stringify({
      status: r.status,
      parts: body.parts,
      a: body.a,
      b: body.b,
      row: body.row,
      score: body.score,
      filler: body.filler.length,
    }),
  );
  for (let i = 0; i < 30; i++) await timed(inst[v.name].mf, `/?id=w${i}`);
}
if (same.size !== 1) throw new Error(`bench variants answer differently: ${[...same].join(" / ")}`);
const settle = () => new Promise((r) => setTimeout(r, 300));
await settle();

const cpu = Object.fromEntries(VARIANTS.map((v) => [v.name, 0]));
// CPU per request of each variant in each block: added CPU is the median over blocks of the
// difference to bare in the same block, so a slow stretch of the machine moves both sides.
const blockCpu = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
const seq = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
const exported0 = { ...collected };
const exportedBy = Object.fromEntries(VARIANTS.map((v) => [v.name, 0]));
const fluxNull0 = await (
  await inst["flux-null"].mf.dispatchFetch("http://bench.test/__exported")
).json();
const r2Before = await countTraces(inst["flux-r2"].mf);
for (let blk = 0; blk < BLOCKS; blk++) {
  // Rotate the order each block so no variant always runs first (or right after another).
  const order = VARIANTS.map((_, i) => VARIANTS[(i + blk) % VARIANTS.length]);
  for (const v of order) {
    const b = inst[v.name];
    const c0 = { bytes: collected.bytes };
    const t0 = cpuMs(b.pid);
    for (let i = 0; i < PER_BLOCK; i++) seq[v.name].push(await timed(b.mf, `/?id=${blk}-${i}`));
    await settle(); // waitUntil work (trace writes, span export) finishes inside the block
    const used = cpuMs(b.pid) - t0;
    cpu[v.name] += used;
    blockCpu[v.name].push(used / PER_BLOCK);
    exportedBy[v.name] += collected.bytes - c0.bytes;
  }
}
const total = BLOCKS * PER_BLOCK;
const fluxNull1 = await (
  await inst["flux-null"].mf.dispatchFetch("http://bench.test/__exported")
).json();
const r2After = await countTraces(inst["flux-r2"].mf);
exportedBy["flux-null"] = fluxNull1.bytes - fluxNull0.bytes;
exportedBy["flux-r2"] = r2After.bytes - r2Before.bytes;

// 50 concurrent, rounds interleaved
const conc = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
for (let round_ = 0; round_ < 6; round_++) {
  for (const v of VARIANTS.map((_, i) => VARIANTS[(i + round_) % VARIANTS.length])) {
    const ts = await Promise.all(
      Array.from({ length: 50 }, (_, i) => timed(inst[v.name].mf, `/?id=c${round_}-${i}`)),
    );
    conc[v.name].push(...ts);
  }
  await settle();
}

// gzipped bundle bytes of each variant (minified, as wrangler deploy --minify would)
const gzOf = async (name) => {
  const out = await build(variantBuild(name, { minify: true }));
  const bytes = out.outputFiles[0].contents;
  return { raw: bytes.length, gz: gzipSync(bytes, { level: 9 }).length };
};
const sizes = {};
for (const v of VARIANTS) sizes[v.name] = await gzOf(v.name);

const perReq = (k) => cpu[k] / total;
/** Added CPU per request: median, lowest and highest over blocks of (variant - bare). */
const addedCpu = (k) => {
  const diffs = blockCpu[k].map((c, i) => c - blockCpu.bare[i]).sort((a, b) => a - b);
  return { median: median(diffs), min: diffs[0], max: diffs[diffs.length - 1] };
};
const load = loadavg();
results.load = { before: loadAtStart, after: load.map((x) => round(x, 2)) };
results.variants = VARIANTS.map((v) => {
  const k = v.name;
  return {
    variant: k,
    label: v.label,
    cpuPerRequestMs: round(perReq(k), 3),
    addedCpuMs: round(addedCpu(k).median, 3),
    addedCpuRangeMs: [round(addedCpu(k).min, 3), round(addedCpu(k).max, 3)],
    c1: {
      medianMs: round(median(seq[k]), 2),
      p95Ms: round(pct(seq[k], 95), 2),
      medianRatio: round(median(seq[k]) / median(seq.bare), 3),
      p95Ratio: round(pct(seq[k], 95) / pct(seq.bare, 95), 3),
    },
    c50: {
      medianMs: round(median(conc[k]), 2),
      p95Ms: round(pct(conc[k], 95), 2),
      medianRatio: round(median(conc[k]) / median(conc.bare), 3),
      p95Ratio: round(pct(conc[k], 95) / pct(conc.bare, 95), 3),
    },
    bundleGzBytes: sizes[k].gz,
    bundleGzAddedKiB: round((sizes[k].gz - sizes.bare.gz) / 1024, 1),
    exportedBytesPerRequest: Math.round(exportedBy[k] / total),
    peakRssMiB: round(peakMiB(inst[k].pid), 1),
  };
});
console.error(
  `overhead: ${total} sequential requests per variant, ${exported0.posts} collector posts before, ${collected.posts} after`,
);
const V = Object.fromEntries(results.variants.map((r) => [r.variant, r]));
const cheapestPeer = Math.min(V.sentry.addedCpuMs, V.otel.addedCpuMs);
row(
  "added CPU per request, withFlux (dropping sink)",
  `${V["flux-null"].addedCpuMs} ms (${V["flux-null"].cpuPerRequestMs} vs ${V.bare.cpuPerRequestMs} ms; cheapest peer +${round(cheapestPeer, 3)} ms)`,
  "<= 0.3 ms and >= 7x below the cheapest peer",
  V["flux-null"].addedCpuMs <= 0.3 && V["flux-null"].addedCpuMs * 7 <= cheapestPeer,
  "workerd schedstat (all threads) per request; median over interleaved blocks of the difference to bare in the same block",
);
row(
  "added CPU per request, unsampled path (sample 0)",
  `${V["flux-unsampled"].addedCpuMs} ms`,
  "<= 0.05 ms",
  V["flux-unsampled"].addedCpuMs <= 0.05,
);
row(
  "median latency ratio vs bare, dropping sink, c=1",
  `${V["flux-null"].c1.medianRatio} (${V["flux-null"].c1.medianMs} / ${V.bare.c1.medianMs} ms)`,
  "<= 1.05",
  V["flux-null"].c1.medianRatio <= 1.05,
);
row(
  "median latency ratio vs bare, dropping sink, c=50",
  `${V["flux-null"].c50.medianRatio} (${V["flux-null"].c50.medianMs} / ${V.bare.c50.medianMs} ms)`,
  "<= 1.10",
  V["flux-null"].c50.medianRatio <= 1.1,
);
row(
  "bundle cost: gzipped bytes withFlux adds (minified)",
  `${V["flux-null"].bundleGzAddedKiB} KiB (${sizes["flux-null"].gz} vs ${sizes.bare.gz} B gz)`,
  "<= 25 KiB",
  V["flux-null"].bundleGzAddedKiB <= 25,
);
const flux = inst["flux-r2"];

// 2. trace size
const bucket = await flux.mf.getR2Bucket("FLUX_TRACES");
const first = (await bucket.list({ limit: 1 })).objects[0];
const traceBytes = new Uint8Array(await (await bucket.get(first.key)).arrayBuffer());
const opened = await openTrace(traceBytes, keys.privateJwk);
function rawSize(v) {
  if (v === null || v === undefined) return 0;
  if (v instanceof Uint8Array) return v.length;
  if (typeof v === "string") return Buffer.byteLength(v);
  if (typeof v === "number") return 8;
  if (typeof v === "boolean") return 1;
  if (v instanceof Date) return 8;
  if (Array.isArray(v)) return v.reduce((a, x) => a + rawSize(x), 0);
  if (typeof v === "object")
    return Object.entries(v).reduce((a, [k, x]) => a + (x === undefined ? 0 : rawSize(x)), 0);
  return 0;
}
const raw = opened.payloads.reduce((a, p) => a + rawSize(p), 0);
const events = opened.head.events.length;
const allowance = 1.1 * raw + 32 * events;
function harEntry(start, req, res) {
  const headers = (h) => (h ?? []).map(([name, value]) => ({ name, value }));
  const text = (b) =>
    b instanceof Uint8Array
      ? Buffer.from(b).toString("utf8")
      : typeof b === "string"
        ? b
        : JSON.stringify(b ?? null);
  return {
    startedDateTime: new Date(start).toISOString(),
    time: 1,
    request: {
      method: req.method,
      url: req.url,
      httpVersion: "HTTP/1.1",
      cookies: [],
      headers: headers(req.headers),
      queryString: [],
      headersSize: -1,
      bodySize: req.body ? text(req.body).length : 0,
      ...(req.body
        ? { postData: { mimeType: "application/octet-stream", text: text(req.body) } }
        : {}),
    },
    response: {
      status: res.status ?? 200,
      statusText: res.statusText ?? "",
      httpVersion: "HTTP/1.1",
      cookies: [],
      headers: headers(res.headers),
      content: { size: text(res.body).length, mimeType: "application/json", text: text(res.body) },
      redirectURL: "",
      headersSize: -1,
      bodySize: text(res.body).length,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, send: 0, wait: 1, receive: 0, ssl: -1 },
  };
}
const entries = [];
const start = opened.head.summary.start;
const reqEvt = opened.payloads[0];
const resIdx = opened.head.events.findIndex((e) => e.kind === "response");
entries.push(harEntry(start, reqEvt, opened.payloads[resIdx]));
opened.head.events.forEach((e, i) => {
  const p = opened.payloads[i];
  if (e.kind === "fetch") entries.push(harEntry(start, p.request, p.result));
  else if (e.kind === "binding" || e.kind === "host") {
    // Non-HTTP exchanges as pseudo-HTTP entries with JSON bodies (HAR has no other shape).
    entries.push(
      harEntry(
        start,
        { method: e.op, url: `flux://${e.target}`, headers: [], body: JSON.stringify(p.request) },
        { status: 200, headers: [], body: JSON.stringify(p.result ?? p.error) },
      ),
    );
  }
});
const har = JSON.stringify(
  { log: { version: "1.2", creator: { name: "Polly.JS", version: "6" }, entries } },
  null,
  2,
);
const harBytes = Buffer.byteLength(har);
row(
  "trace size: stored bytes per request",
  `${traceBytes.length} B for ${raw} B of payload in ${events} events (allowance ${Math.round(allowance)} B)`,
  "<= 1.10x raw + 32 B/event",
  traceBytes.length <= allowance,
);
row(
  "trace size: stored / HAR JSON (Polly's format, 2-space JSON)",
  `${round(traceBytes.length / harBytes, 3)} (${traceBytes.length} / ${harBytes} B)`,
  "<= 0.5",
  traceBytes.length / harBytes <= 0.5,
);

// 3. seal throughput in workerd
const sealMf = new Miniflare({
  modules: [
    { type: "ESModule", path: "s.js", contents: await bundleWorker(join(HERE, "seal-worker.ts")) },
  ],
  compatibilityDate: "2026-04-20",
  compatibilityFlags: ["nodejs_compat"],
});
async function sealRate(algo, size) {
  const n = Math.max(4, Math.floor((16 * 1024 * 1024) / size));
  const once = async (k) => timed(sealMf, `/?algo=${algo}&size=${size}&n=${k}`);
  await once(2);
  const base = median([await once(0), await once(0), await once(0)]);
  const full = median([await once(n), await once(n), await once(n)]);
  return (n * size) / 1e6 / Math.max(0.001, (full - base) / 1000);
}
const seal = {};
for (const size of [1024, 65536, 1048576]) {
  seal[size] = { xchacha: await sealRate("xchacha", size), aes: await sealRate("aes", size) };
  row(
    `seal throughput ${size >= 1048576 ? "1 MB" : `${size / 1024} KB`} payloads: XChaCha20-Poly1305 vs AES-256-GCM`,
    `${round(seal[size].xchacha, 1)} vs ${round(seal[size].aes, 1)} MB/s (ratio ${round(seal[size].xchacha / seal[size].aes, 3)})`,
    "info",
    undefined,
  );
}
await sealMf.dispose();

// 4. replay throughput: the replay path vs the raw dispatchFetch floor of the same instance
const secret = "s".repeat(64);
const M = 150;
const floor = [];
for (let i = 0; i < M; i++) floor.push(await timed(flux.mf, "/ping"));
const replayTimes = [];
let lastVerdict = "";
for (let i = 0; i < M; i++) {
  const t = performance.now();
  const report = await replayThrough(
    async (r) =>
      await flux.mf.dispatchFetch(r.url, {
        method: "POST",
        headers: r.headers,
        body: new Uint8Array(await r.arrayBuffer()),
      }),
    opened,
    { secret },
  );
  replayTimes.push(performance.now() - t);
  lastVerdict = report.verdict;
}
const floorRate = 1000 / median(floor);
const replayRate = 1000 / median(replayTimes);
row(
  "replay throughput: traces/s vs dispatchFetch floor (same warm instance)",
  `${round(replayRate / floorRate, 3)} (${round(replayRate, 1)} vs ${round(floorRate, 1)} /s, verdict ${lastVerdict})`,
  ">= 0.9",
  replayRate / floorRate >= 0.9,
);

// cold `fluxrun replay` end to end
const dir = await mkdtemp(join(tmpdir(), "fluxrun-bench-"));
await writeFile(join(dir, "t.cbor"), traceBytes);
await writeFile(join(dir, "k.jwk"), JSON.stringify(keys.privateJwk));
await writeFile(
  join(dir, "wrangler.toml"),
  `name = "bench"\nmain = ${JSON.stringify(variantEntry("flux-r2"))}\ncompatibility_date = "2026-04-20"\ncompatibility_flags = ["nodejs_compat"]\n[vars]\nUPSTREAM = "${UPSTREAM}"\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "db"\ndatabase_id = "db"\n`,
);
function cold() {
  return new Promise((resolve) => {
    const t = performance.now();
    const child = spawn(
      process.execPath,
      [join(ROOT, "runtime/bin/fluxrun.js"), "replay", "t.cbor", "--key", "k.jwk"],
      { cwd: dir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ ms: performance.now() - t, code, out }));
  });
}
const colds = [];
for (let i = 0; i < 3; i++) colds.push(await cold());
const coldMed = median(colds.map((c) => c.ms));
if (colds[0].code !== 0) console.error(colds[0].out);
row(
  "cold `fluxrun replay` of one trace, end to end",
  `${round(coldMed / 1000, 2)} s (exit ${colds[0].code})`,
  "<= 0.5 s",
  coldMed <= 500 && colds[0].code === 0,
);

// 5. bundle cost
async function gzipped(withFlux) {
  const src = join(dir, `app-${withFlux}.ts`);
  const code = withFlux
    ? `import { Hono } from "hono";\nimport { withFlux } from ${JSON.stringify(join(ROOT, "runtime/dist/index.js"))};\nconst app = new Hono();\napp.get("/", (c) => c.text("hi"));\nexport default withFlux(app);\n`
    : `import { Hono } from "hono";\nconst app = new Hono();\napp.get("/", (c) => c.text("hi"));\nexport default app;\n`;
  await writeFile(src, code);
  const out = await build(
    workerBuildOptions(src, { minify: true, nodePaths: [join(ROOT, "node_modules")] }),
  );
  const bytes = out.outputFiles[0].contents;
  return { raw: bytes.length, gz: gzipSync(bytes, { level: 9 }).length };
}
const b0 = await gzipped(false);
const b1 = await gzipped(true);
const added = (b1.gz - b0.gz) / 1024;
row(
  "bundle cost: gzipped bytes withFlux adds to a small Hono app (minified)",
  `${round(added, 1)} KiB (${b1.gz} vs ${b0.gz} B gz; ${round((b1.raw - b0.raw) / 1024, 1)} KiB raw)`,
  "info",
  undefined,
);

// 6. dashboard: executions list at 1,000,000 rows (the dashboard's TypeScript, bundled for Node)
const DASHBOARD_ROWS = Number(process.env.BENCH_DASHBOARD_ROWS ?? 1_000_000);
if (DASHBOARD_ROWS > 0) {
  // Written next to the dashboard tests: miniflare resolves from there and the helpers find
  // ../migrations relative to their own URL.
  const out = join(ROOT, "dashboard/test/.bench-list.mjs");
  await build({
    entryPoints: [join(HERE, "dashboard-list.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: out,
    external: ["miniflare", "esbuild", "jose", "hono", "zod", "fluxrun", "fluxrun/*", "vitest"],
    logLevel: "silent",
  });
  const { measureDashboardList } = await import(out);
  const d = await measureDashboardList(DASHBOARD_ROWS);
  row(
    `dashboard: executions list at ${d.rows.toLocaleString("en-US")} rows, SQL time (D1 meta.duration)`,
    `p50 ${round(d.sql.p50, 2)} ms, p95 ${round(d.sql.p95, 2)} ms`,
    "p50 <= 50 ms",
    d.sql.p50 <= 50,
  );
  row(
    "dashboard: executions list, round trip from Node through the test D1 executor (dispatchFetch)",
    `p50 ${round(d.roundTrip.p50, 1)} ms, p95 ${round(d.roundTrip.p95, 1)} ms; one API request ${round(d.apiRequestMs, 1)} ms`,
    "info",
    undefined,
    "the Node-to-workerd hop is a local-dev cost, not a production one",
  );
}

for (const v of VARIANTS) await inst[v.name].mf.dispose();
upstream.close();
collector.close();

results.seal = seal;
results.samples = { sequentialPerVariant: total, blocks: BLOCKS, concurrentPerVariant: 300 };
await writeFile(join(HERE, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
const w = [
  Math.max(...results.rows.map((r) => r.name.length)),
  Math.max(...results.rows.map((r) => r.figure.length)),
];
console.log(
  `FluxRun benchmarks — ${results.machine}; load average ${results.load.before.join(" ")} at start, ${results.load.after.join(" ")} after the overhead runs\n`,
);
const cols = [
  "variant",
  "added CPU/req (block range)",
  "c=1 med/p95 ratio",
  "c=50 med/p95 ratio",
  "bundle gz added",
  "exported B/req",
  "peak RSS MiB",
];
console.log(cols.join(" | "));
for (const v of results.variants)
  console.log(
    [
      v.label,
      `${v.addedCpuMs} ms (${v.addedCpuRangeMs[0]} to ${v.addedCpuRangeMs[1]})`,
      `${v.c1.medianRatio} / ${v.c1.p95Ratio}`,
      `${v.c50.medianRatio} / ${v.c50.p95Ratio}`,
      `${v.bundleGzAddedKiB} KiB`,
      v.exportedBytesPerRequest,
      v.peakRssMiB,
    ].join(" | "),
  );
console.log("");
for (const r of results.rows)
  console.log(
    `${r.status.padEnd(5)} ${r.name.padEnd(w[0])}  ${r.figure.padEnd(w[1])}  target ${r.target}${r.note ? `  (${r.note})` : ""}`,
  );
console.log(
  `\nSeal choice: trace format v3 seals with Web Crypto AES-256-GCM under a per-isolate key (fresh 96-bit nonce per trace); v1 (XChaCha20-Poly1305) and v2 traces stay readable. See results.json for the throughput comparison.`,
);
