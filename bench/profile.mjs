#!/usr/bin/env node
// Sampling CPU profile of one bench variant inside workerd (the DevTools protocol through
// Miniflare's inspectorPort): `node bench/profile.mjs [variant] [requests]`, after npm run build.
// Prints the top self-time functions; set PROFILE_OUT to also write the .cpuprofile.
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { workerBuildOptions } from "fluxrun/harness";
import { generateTraceKeys } from "fluxrun/trace";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
const HERE = new URL(".", import.meta.url).pathname;
const variant = process.argv[2] ?? "flux-null";
const N = Number(process.argv[3] ?? 600);
const PORT = Number(process.env.PROFILE_PORT ?? 9339);

const upstream = createServer((req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(
    JSON.stringify({ n: Number(req.url.split("/").pop()), path: req.url, pad: "y".repeat(120) }),
  );
});
await new Promise((r) => upstream.listen(0, "127.0.0.1", r));
const keys = await generateTraceKeys();
const out = await build(
  workerBuildOptions(join(HERE, "variants", `${variant}.ts`), {
    platform: "browser",
    keepNames: process.env.KEEP_NAMES === "1",
    nodePaths: [join(HERE, "..", "node_modules")],
  }),
);
const mf = new Miniflare({
  modules: [{ type: "ESModule", path: "w.js", contents: out.outputFiles[0].text }],
  compatibilityDate: "2026-04-20",
  compatibilityFlags: ["nodejs_compat"],
  inspectorPort: PORT,
  bindings: {
    UPSTREAM: `http://127.0.0.1:${upstream.address().port}`,
    FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
  },
  kvNamespaces: ["KV"],
  d1Databases: ["DB"],
  r2Buckets: ["FLUX_TRACES"],
});
await mf.ready;
const hit = async (i) => (await mf.dispatchFetch(`http://b.test/?id=${i}`)).arrayBuffer();
for (let i = 0; i < 100; i++) await hit(i);
const list = await (await fetch(`http://127.0.0.1:${PORT}/json`)).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
await new Promise((r) => ws.once("open", r));
let id = 0;
const pending = new Map();
ws.on("message", (m) => {
  const msg = JSON.parse(m);
  if (pending.has(msg.id)) {
    pending.get(msg.id)(msg.result);
    pending.delete(msg.id);
  }
});
const send = (method, params = {}) =>
  new Promise((r) => {
    const i = ++id;
    pending.set(i, r);
    ws.send(JSON.stringify({ id: i, method, params }));
  });
await send("Profiler.enable");
await send("Profiler.setSamplingInterval", { interval: 50 });
await send("Profiler.start");
for (let i = 0; i < N; i++) await hit(i);
await new Promise((r) => setTimeout(r, 500));
const { profile } = await send("Profiler.stop");
if (process.env.PROFILE_OUT) await writeFile(process.env.PROFILE_OUT, JSON.stringify(profile));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const self = new Map();
let total = 0;
let idle = 0;
for (const [nid, c] of counts) {
  const f = byId.get(nid).callFrame;
  if (f.functionName === "(idle)") {
    idle += c;
    continue;
  }
  const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + c);
  total += c;
}
// Self time by bundled module: esbuild marks each module's start with a `// path` comment.
const starts = [];
out.outputFiles[0].text.split("\n").forEach((line, i) => {
  const m = /^\/\/ (\S+\.(?:js|ts|mjs))$/.exec(line);
  if (m)
    starts.push([
      i,
      m[1].replace(/^.*node_modules\//, "").replace(/^.*runtime\/dist\//, "fluxrun/"),
    ]);
});
const moduleOf = (line) => {
  let name = "(prelude)";
  for (const [at, n] of starts) if (at <= line) name = n;
  return name;
};
const byModule = new Map();
for (const [nid, c] of counts) {
  const f = byId.get(nid).callFrame;
  if (f.functionName === "(idle)") continue;
  const key = f.url.endsWith("w.js")
    ? moduleOf(f.lineNumber)
    : `(native) ${f.functionName || f.url}`;
  byModule.set(key, (byModule.get(key) ?? 0) + c);
}
console.log(
  `${variant}: ${N} requests, ${total} busy samples (${idle} idle) of ${profile.samples.length}`,
);
console.log("self time by module:");
for (const [k, v] of [...byModule]
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(process.env.TOP ?? 30)))
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
console.log("top self time by function:");
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.TOP ?? 30)))
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
ws.close();
await mf.dispose();
upstream.close();
