#!/usr/bin/env node
// `npm run bench`: FluxRun's overhead, trace size, seal throughput, replay throughput and bundle
// cost, each as a ratio measured side by side in this one run, in real workerd via Miniflare.
// Prints one table and writes bench/results.json. Loopback traffic only; bounded loops.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { cpus, tmpdir } from "node:os";
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
const results = {
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

// ---------------------------------------------------------------- workerd CPU accounting
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
const TICK_MS = 10; // USER_HZ = 100 on Linux
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

const keys = await generateTraceKeys();
async function startBench(wrapped, nullSink = false) {
  const before = workerdPids();
  const script = await bundleWorker(join(HERE, "worker.ts"), {
    define: { __WRAPPED__: String(wrapped), __NULL_SINK__: String(nullSink) },
  });
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: "w.js", contents: script }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    bindings: {
      UPSTREAM,
      FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
      [REPLAY_SECRET_VAR]: "s".repeat(64),
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
  return { mf, pid, script };
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
  let cursor;
  do {
    const page = await bucket.list({ cursor, limit: 1000 });
    n += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return n;
}

console.error(`bench: ${N} sequential requests per variant, then 10 × 50 concurrent…`);
const plain = await startBench(false);
const flux = await startBench(true);
const nullSink = await startBench(true, true);
for (let i = 0; i < 50; i++) {
  await timed(plain.mf, `/?id=w${i}`);
  await timed(flux.mf, `/?id=w${i}`);
  await timed(nullSink.mf, `/?id=w${i}`);
}
while ((await countTraces(flux.mf)) < 50) await new Promise((r) => setTimeout(r, 20));

// 1. record overhead, sequential and warm, alternating to share any drift
const cpu0 = { plain: cpuMs(plain.pid), flux: cpuMs(flux.pid), nullSink: cpuMs(nullSink.pid) };
const lat = { plain: [], flux: [] };
for (let i = 0; i < N; i++) {
  lat.plain.push(await timed(plain.mf, `/?id=${i}`));
  lat.flux.push(await timed(flux.mf, `/?id=${i}`));
  await timed(nullSink.mf, `/?id=${i}`);
}
while ((await countTraces(flux.mf)) < 50 + N) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 500));
const cpu1 = { plain: cpuMs(plain.pid), flux: cpuMs(flux.pid), nullSink: cpuMs(nullSink.pid) };
const medRatio = median(lat.flux) / median(lat.plain);
const p95Ratio = pct(lat.flux, 95) / pct(lat.plain, 95);
const perReq = (k) => (cpu1[k] - cpu0[k]) / N;
const addedCpu = perReq("nullSink") - perReq("plain");
const addedCpuR2 = perReq("flux") - perReq("plain");
row(
  "record overhead: median latency, wrapped / unwrapped",
  `${round(medRatio, 3)} (${round(median(lat.flux))} / ${round(median(lat.plain))} ms)`,
  "<= 1.10",
  medRatio <= 1.1,
);
row(
  "record overhead: p95 latency, wrapped / unwrapped",
  `${round(p95Ratio, 3)} (${round(pct(lat.flux, 95))} / ${round(pct(lat.plain, 95))} ms)`,
  "info",
  undefined,
);
row(
  "record overhead: added CPU per request (FluxRun's own)",
  `${round(addedCpu, 3)} ms (${round(perReq("nullSink"), 3)} vs ${round(perReq("plain"), 3)} ms)`,
  "<= 0.3 ms",
  addedCpu <= 0.3,
  "workerd utime+stime per request over the run, wrapped with a sink that drops the sealed trace",
);
row(
  "record overhead: added CPU incl. the local R2 simulator's write",
  `${round(addedCpuR2, 3)} ms`,
  "info",
  undefined,
  "in production the R2 put runs outside the worker",
);

// 50 concurrent
const conc = { plain: [], flux: [] };
for (let round_ = 0; round_ < 10; round_++) {
  for (const [name, b] of [
    ["plain", plain],
    ["flux", flux],
  ]) {
    const ts = await Promise.all(
      Array.from({ length: 50 }, (_, i) => timed(b.mf, `/?id=c${round_}-${i}`)),
    );
    conc[name].push(...ts);
  }
}
const cMed = median(conc.flux) / median(conc.plain);
row(
  "record overhead at 50 concurrent: median latency ratio",
  `${round(cMed, 3)} (${round(median(conc.flux))} / ${round(median(conc.plain))} ms)`,
  "<= 1.10",
  cMed <= 1.1,
);
row(
  "record overhead at 50 concurrent: p95 latency ratio",
  `${round(pct(conc.flux, 95) / pct(conc.plain, 95), 3)}`,
  "info",
  undefined,
);

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
const allowance = 1.15 * raw + 48 * events;
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
  "<= 1.15x raw + 48 B/event",
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
  ">= 0.5",
  replayRate / floorRate >= 0.5,
);

// cold `fluxrun replay` end to end
const dir = await mkdtemp(join(tmpdir(), "fluxrun-bench-"));
await writeFile(join(dir, "t.cbor"), traceBytes);
await writeFile(join(dir, "k.jwk"), JSON.stringify(keys.privateJwk));
await writeFile(
  join(dir, "wrangler.toml"),
  `name = "bench"\nmain = ${JSON.stringify(join(HERE, "worker.ts"))}\ncompatibility_date = "2026-04-20"\ncompatibility_flags = ["nodejs_compat"]\ndefine = {}\n[vars]\nUPSTREAM = "${UPSTREAM}"\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n[[d1_databases]]\nbinding = "DB"\ndatabase_name = "db"\ndatabase_id = "db"\n`,
);
// The CLI bundles the config's entry; the bench worker needs __WRAPPED__, so point at a wrapper.
await writeFile(join(dir, "entry.mjs"), `globalThis.__WRAPPED__ = true;\n`);
const wrapperSrc = join(dir, "bench-entry.ts");
await writeFile(
  wrapperSrc,
  readFileSync(join(HERE, "worker.ts"), "utf8")
    .replace("declare const __WRAPPED__: boolean;", "const __WRAPPED__ = true;")
    .replace("declare const __NULL_SINK__: boolean;", "const __NULL_SINK__ = false;")
    .replaceAll('from "fluxrun"', `from ${JSON.stringify(join(ROOT, "runtime/dist/index.js"))}`),
);
await writeFile(
  join(dir, "wrangler.toml"),
  readFileSync(join(dir, "wrangler.toml"), "utf8")
    .replace(/^main = .*$/m, `main = ${JSON.stringify(wrapperSrc)}`)
    .replace("define = {}\n", ""),
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
  "<= 1.5 s",
  coldMed <= 1500 && colds[0].code === 0,
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
  "bundle cost: gzipped bytes withFlux adds (minified)",
  `${round(added, 1)} KiB (${b1.gz} vs ${b0.gz} B gz; ${round((b1.raw - b0.raw) / 1024, 1)} KiB raw)`,
  "<= 40 KiB",
  added <= 40,
);

// 6. dashboard: executions list at 1,000,000 rows (the dashboard's TypeScript, bundled for Node)
{
  // Written next to the dashboard tests: miniflare resolves from there and the helpers find
  // ../migrations relative to their own URL.
  const out = join(ROOT, "dashboard/test/.bench-list.mjs");
  await build({
    entryPoints: [join(HERE, "dashboard-list.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: out,
    external: ["miniflare", "jose", "hono", "zod", "fluxrun", "fluxrun/*", "vitest"],
    logLevel: "silent",
  });
  const { measureDashboardList } = await import(out);
  const d = await measureDashboardList(Number(process.env.BENCH_DASHBOARD_ROWS ?? 1_000_000));
  row(
    `dashboard: executions list at ${d.rows.toLocaleString("en-US")} rows, SQL time (D1 meta.duration)`,
    `p50 ${round(d.sql.p50, 2)} ms, p95 ${round(d.sql.p95, 2)} ms`,
    "p50 <= 50 ms",
    d.sql.p50 <= 50,
  );
  row(
    "dashboard: executions list, round trip from Node through Miniflare's D1 proxy",
    `p50 ${round(d.roundTrip.p50, 1)} ms, p95 ${round(d.roundTrip.p95, 1)} ms; one API request ${round(d.apiRequestMs, 1)} ms`,
    "info",
    undefined,
    "the proxy hop is a local-dev cost, not a production one",
  );
}

await plain.mf.dispose();
await flux.mf.dispose();
await nullSink.mf.dispose();
upstream.close();

results.seal = seal;
results.samples = { sequential: N, concurrent: 500 };
await writeFile(join(HERE, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
const w = [
  Math.max(...results.rows.map((r) => r.name.length)),
  Math.max(...results.rows.map((r) => r.figure.length)),
];
console.log(`FluxRun benchmarks — ${results.machine}\n`);
for (const r of results.rows)
  console.log(
    `${r.status.padEnd(5)} ${r.name.padEnd(w[0])}  ${r.figure.padEnd(w[1])}  target ${r.target}${r.note ? `  (${r.note})` : ""}`,
  );
console.log(
  `\nSeal choice: XChaCha20-Poly1305 keeps 192-bit random nonces (no counter state across isolates) and is what the trace format uses; see results.json for the AES-GCM comparison.`,
);
