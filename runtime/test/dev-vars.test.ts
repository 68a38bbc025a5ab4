/**
 * Secrets that exist only in `.dev.vars` (as `wrangler secret put` values exist only in
 * production) are recorded: an app recorded under real `wrangler dev` replays as MATCH with a
 * replay config that holds no secret at all.
 */
import { nodeR2, withNodeBindings } from "./_miniflare.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { Replayer } from "../src/harness/replay.js";
import { generateTraceKeys } from "../src/trace/keys.js";
import type { ReplayReport } from "../src/replay/report.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

// A basic-auth app, written as such apps are: the secret comes from the env.
const APP = `import { withFlux } from "fluxrun";
export default withFlux({
  async fetch(request, env) {
    if (request.headers.get("authorization") !== \`Bearer \${env.API_SECRET}\`) {
      return new Response("unauthorized", { status: 401 });
    }
    return new Response("created", { status: 201 });
  },
}, { app: "basic-auth" });
`;

let dir: string;
let wrangler: ChildProcess | undefined;
let reports: ReplayReport[] = [];
const statuses: number[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilUp(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (wrangler?.exitCode !== null) throw new Error("wrangler dev exited");
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${url} did not come up`);
}

beforeAll(async () => {
  // Inside the repository (git-ignored), so the app resolves the workspace's fluxrun.
  await mkdir(join(ROOT, "runtime/test/.tmp-apps"), { recursive: true });
  dir = await mkdtemp(join(ROOT, "runtime/test/.tmp-apps/dev-vars-"));
  const keys = await generateTraceKeys();
  await writeFile(join(dir, "index.js"), APP);
  await writeFile(
    join(dir, "wrangler.toml"),
    `name = "basic-auth"
main = "index.js"
compatibility_date = "2026-04-20"
compatibility_flags = ["nodejs_compat"]

[vars]
FLUX_PUBLIC_KEY = '${JSON.stringify(keys.publicJwk)}'

[[r2_buckets]]
binding = "FLUX_TRACES"
bucket_name = "fluxrun-traces"
`,
  );
  await writeFile(join(dir, ".dev.vars"), `API_SECRET="test-only-dev-vars-secret"\n`);
  const port = await freePort();
  wrangler = spawn(
    WRANGLER,
    ["dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", join(dir, "state")],
    {
      cwd: dir,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
      stdio: "ignore",
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitUntilUp(base);
  for (const auth of [
    "Bearer test-only-dev-vars-secret",
    "Bearer wrong",
    "Bearer test-only-dev-vars-secret",
  ]) {
    const res = await fetch(`${base}/items`, { method: "POST", headers: { authorization: auth } });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  // Read the recorded traces from wrangler's local R2 state.
  const mf = new Miniflare(
    await withNodeBindings({
      modules: true,
      script: "export default { fetch() { return new Response(null, { status: 404 }); } };",
      r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
      r2Persist: join(dir, "state/v3/r2"),
    }),
  );
  let traces: Uint8Array[] = [];
  try {
    const bucket = nodeR2(mf, "FLUX_TRACES");
    // The readiness probe (GET /, 401) is recorded too: four executions.
    for (let i = 0; i < 400; i++) {
      const list = await bucket.list({ prefix: "traces/" });
      traces = await Promise.all(
        list.objects.map(
          async (o) => new Uint8Array(await (await bucket.get(o.key))!.arrayBuffer()),
        ),
      );
      if (traces.length >= 4) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await mf.dispose();
  }
  expect(traces.length).toBe(4);
  // The replay config: the same wrangler.toml; .dev.vars is not read by replay.
  const replayer = await Replayer.start({ config: join(dir, "wrangler.toml") });
  try {
    for (const bytes of traces) reports.push(await replayer.replay(bytes, keys.privateJwk));
  } finally {
    await replayer.dispose();
  }
}, 180_000);

afterAll(async () => {
  wrangler?.kill("SIGTERM");
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("records a secret that only .dev.vars holds and replays every trace as MATCH without it", () => {
  expect(statuses).toEqual([201, 401, 201]);
  expect(reports.map((r) => r.recorded.status).sort()).toEqual([201, 201, 401, 401]);
  for (const r of reports) {
    expect(r.divergences).toEqual([]);
    expect(r.verdict).toBe("match");
  }
});
