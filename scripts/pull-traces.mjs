#!/usr/bin/env node
// Copies the traces recorded by `npm start` (local R2 under .wrangler/state) into
// .fluxrun/traces/ so `fluxrun replay` can read them. Uses wrangler's own local R2 access.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { parseTraceKey, readSummaryMetadata, TRACE_ROOT } from "fluxrun/contract";

const ROOT = new URL("..", import.meta.url).pathname;
const mf = new Miniflare({
  modules: true,
  script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
  r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
  r2Persist: join(ROOT, ".wrangler/state/v3/r2"),
});
const bucket = await mf.getR2Bucket("FLUX_TRACES");
const out = join(ROOT, ".fluxrun/traces");
await mkdir(out, { recursive: true });
let cursor;
let n = 0;
do {
  const page = await bucket.list({ prefix: TRACE_ROOT, cursor, include: ["customMetadata"] });
  for (const o of page.objects) {
    const obj = await bucket.get(o.key);
    const m = readSummaryMetadata(o.customMetadata);
    const id = m?.traceId ?? parseTraceKey(o.key)?.traceId ?? o.key.split("/").pop();
    const name = m
      ? `${m.start}-${m.method}-${m.route.replace(/[^A-Za-z0-9]+/g, "_")}-${m.status}-${id}.cbor`
      : `${id}.cbor`;
    await writeFile(join(out, name), new Uint8Array(await obj.arrayBuffer()));
    n++;
  }
  cursor = page.truncated ? page.cursor : undefined;
} while (cursor);
await mf.dispose();
console.log(`${n} traces in ${out}`);
