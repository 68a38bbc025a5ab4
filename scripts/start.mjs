#!/usr/bin/env node
// `npm start`: the example worker (and, as they land, the agent and the dashboard) on wrangler
// dev with local R2/D1/KV persisted under .wrangler/state, plus the local upstream stand-in.
// First run: generates a local trace key pair under .fluxrun/ and a test-only .dev.vars.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { generateSigningKeys, generateTraceKeys } from "fluxrun/trace";
import { exportJWK, generateKeyPair } from "jose";
import { startUpstream } from "../worker/upstream/server.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const PERSIST = join(ROOT, ".wrangler/state");
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};
const demo = !process.argv.includes("--no-demo") && process.env.FLUX_DEMO !== "0";

async function ensureKeys() {
  const dir = join(ROOT, ".fluxrun");
  const priv = join(dir, "agent-private.jwk");
  const pub = join(dir, "public.jwk");
  if (!existsSync(priv)) {
    const { publicJwk, privateJwk, kid } = await generateTraceKeys();
    await mkdir(dir, { recursive: true });
    await writeFile(priv, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 });
    await writeFile(pub, `${JSON.stringify(publicJwk)}\n`);
    console.log(
      `Generated local trace key ${kid} in .fluxrun/ (git-ignored; never commit agent-private.jwk).`,
    );
  }
  await chmod(priv, 0o600);
  return JSON.parse(await readFile(pub, "utf8"));
}

/** The agent's Ed25519 replay-signing key; the app gets the public half as FLUX_AGENT_KEY. */
async function ensureAgentSigningKey() {
  const file = join(ROOT, ".fluxrun/agent-signing.jwk");
  if (!existsSync(file)) {
    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    await writeFile(file, `${JSON.stringify(await exportJWK(privateKey))}\n`, { mode: 0o600 });
  }
  const jwk = JSON.parse(await readFile(file, "utf8"));
  const { d: _d, ...pub } = jwk;
  return { jwk, pub };
}

/** agent/.dev.vars (git-ignored): the agent's secrets for wrangler dev, from .fluxrun/. */
async function writeAgentDevVars(signing) {
  const priv = await readFile(join(ROOT, ".fluxrun/agent-private.jwk"), "utf8");
  const jwks = await readFile(join(ROOT, ".fluxrun/dashboard-jwks.json"), "utf8");
  const lines = [
    "# Written by npm start from .fluxrun/. Local only; never commit.",
    `FLUX_PRIVATE_KEY='${priv.trim()}'`,
    `FLUX_AGENT_SIGNING_KEY='${JSON.stringify(signing.jwk)}'`,
    `FLUX_DASHBOARD_JWKS='${jwks.trim()}'`,
    "",
  ];
  await writeFile(join(ROOT, "agent/.dev.vars"), lines.join("\n"), { mode: 0o600 });
}

/** The example worker's trace signing key (its secret FLUX_SIGNING_KEY); verifiers get the public half. */
async function ensureTraceSigningKey() {
  const priv = join(ROOT, ".fluxrun/signing-private.jwk");
  const pub = join(ROOT, ".fluxrun/signing-public.jwk");
  if (!existsSync(priv)) {
    const { signingJwk, verifyJwk } = await generateSigningKeys();
    await writeFile(priv, `${JSON.stringify(signingJwk)}\n`, { mode: 0o600 });
    await writeFile(pub, `${JSON.stringify(verifyJwk)}\n`);
  }
  return {
    signingJson: (await readFile(priv, "utf8")).trim(),
    verifyJwk: JSON.parse(await readFile(pub, "utf8")),
  };
}

async function ensureDevVars(traceSigning) {
  const file = join(ROOT, ".dev.vars");
  if (!existsSync(file)) {
    await writeFile(
      file,
      `# Local, test-only secrets for wrangler dev (git-ignored).\nPAYMENTS_API_KEY="test-only-${randomBytes(12).toString("hex")}"\n`,
      { mode: 0o600 },
    );
    console.log("Wrote a test-only .dev.vars (PAYMENTS_API_KEY).");
  }
  const text = await readFile(file, "utf8");
  if (!/^FLUX_SIGNING_KEY=/m.test(text)) {
    const sep = text.endsWith("\n") ? "" : "\n";
    await writeFile(file, `${text}${sep}FLUX_SIGNING_KEY='${traceSigning.signingJson}'\n`, {
      mode: 0o600,
    });
    console.log("Added the trace signing key (FLUX_SIGNING_KEY) to .dev.vars.");
  }
}

function run(args, { name, wait = true } = {}) {
  const child = spawn(WRANGLER, args, {
    cwd: ROOT,
    env,
    stdio: wait ? "inherit" : ["ignore", "pipe", "pipe"],
  });
  if (!wait) {
    const prefix = (chunk) =>
      chunk
        .toString()
        .split("\n")
        .filter((l) => l.trim())
        .map((l) => `[${name}] ${l}`)
        .join("\n");
    child.stdout.on("data", (d) => console.log(prefix(d)));
    child.stderr.on("data", (d) => console.error(prefix(d)));
    return child;
  }
  return new Promise((resolve, reject) =>
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`wrangler ${args.join(" ")} exited ${code}`)),
    ),
  );
}

async function waitFor(url, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${url} did not come up within ${timeoutMs / 1000}s`);
}

/**
 * Waits until something accepts connections on a loopback port, without sending a request: the
 * shop API records every request it serves, and a readiness probe must not become a trace (the
 * dashboard's "no traces yet" state is the first thing a new user should see).
 */
async function waitForPort(port, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const open = await new Promise((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`127.0.0.1:${port} did not come up within ${timeoutMs / 1000}s`);
}

const publicJwk = await ensureKeys();
const traceSigning = await ensureTraceSigningKey();
await ensureDevVars(traceSigning);
/** Each app's trace verification key, as the agent and the dashboard take it. */
const originKeys = JSON.stringify({ "shop-api": traceSigning.verifyJwk });
const signing = await ensureAgentSigningKey();
// The dashboard's setup writes its signing key, JWKS, dev token and D1 schema.
await new Promise((resolve, reject) => {
  const setup = spawn(
    process.execPath,
    [join(ROOT, "dashboard/scripts/dev.mjs"), "--setup-only", "--persist-to", PERSIST],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  setup.stdout.on("data", (d) => (out += d));
  setup.on("exit", (code) =>
    code === 0 ? resolve(out) : reject(new Error("dashboard setup failed")),
  );
});
await writeAgentDevVars(signing);
const login = `http://127.0.0.1:8789/dev/login?token=${(await readFile(join(ROOT, ".fluxrun/dashboard-dev-token"), "utf8")).trim()}`;
const upstream = await startUpstream({ port: Number(process.env.UPSTREAM_PORT ?? 8790) });
console.log(`Upstream stand-in on ${upstream.url}`);
await run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", PERSIST], { name: "d1" });

/** The workers `npm start` runs; each is its own wrangler dev on a fixed loopback port. */
const WORKERS = [
  {
    name: "example",
    config: "wrangler.toml",
    port: 8787,
    vars: {
      FLUX_PUBLIC_KEY: JSON.stringify(publicJwk),
      FLUX_AGENT_KEY: JSON.stringify(signing.pub),
    },
  },
  {
    name: "agent",
    config: "agent/wrangler.toml",
    port: 8788,
    vars: { FLUX_PUBLIC_KEY: JSON.stringify(publicJwk), FLUX_ORIGIN_KEYS: originKeys },
  },
  {
    name: "dashboard",
    config: "dashboard/wrangler.toml",
    port: 8789,
    vars: { FLUX_ORIGIN_KEYS: originKeys },
  },
];

const children = [];
for (const w of WORKERS) {
  const args = [
    "dev",
    "-c",
    w.config,
    "--ip",
    "127.0.0.1",
    "--port",
    String(w.port),
    "--persist-to",
    PERSIST,
    "--inspector-port",
    "0",
    "--log-level",
    "warn",
  ];
  for (const [k, v] of Object.entries(w.vars ?? {})) args.push("--var", `${k}:${v}`);
  const child = run(args, { name: w.name, wait: false });
  // One worker failing (a busy port, a bad config) takes the others down instead of orphaning them.
  child.on("exit", (code) => {
    if (stopping) return;
    console.error(`[${w.name}] wrangler dev exited (${code}); stopping everything.`);
    stop(1);
  });
  children.push(child);
}
let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill("SIGINT");
  upstream.close().finally(() => process.exit(code));
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));

try {
  await waitForPort(8787);
  await waitFor("http://127.0.0.1:8788/v1/health");
  await waitFor("http://127.0.0.1:8789/healthz");
} catch (err) {
  console.error(`${err.message}; stopping everything.`);
  stop(1);
  await new Promise(() => {}); // stop() exits the process
}
console.log(`
FluxRun running locally:
  shop API   http://127.0.0.1:8787   (every request is recorded into local R2, bucket fluxrun-traces)
  agent      http://127.0.0.1:8788   (holds .fluxrun/agent-private.jwk; GET /v1/health)
  dashboard  http://127.0.0.1:8789   sign in as the seeded dev admin:
             ${login}

Send traffic:
  curl http://127.0.0.1:8787/products/p-1
  curl -X POST http://127.0.0.1:8787/orders -H 'content-type: application/json' \\
       -d '{"items":[{"productId":"p-1","qty":2}],"coupon":"WELCOME10"}'
  curl -X POST http://127.0.0.1:8787/orders -H 'content-type: application/json' \\
       -d '{"items":[{"productId":"p-404","qty":1}]}'      # the bug: 500
  node scripts/traffic.mjs                                 # a burst of demo traffic

Replay the recorded traces:
  npx fluxrun pull                       (local R2 → .fluxrun/traces/<app>/<day>/<hour>/)
  npx fluxrun replay .fluxrun/traces     (key: .fluxrun/agent-private.jwk)

The agent above trusts this dashboard's key directly (dev). To pair a local connector instead
(README, "Pairing the local agent"), in another terminal:
  npx fluxrun agent --pair --port 8790 --persist-to .wrangler/state
then enter its claim code at http://127.0.0.1:8789/pair (or open the link it prints).
Ctrl-C stops everything.`);
if (demo) {
  const { sendTraffic } = await import("./traffic.mjs");
  const n = await sendTraffic("http://127.0.0.1:8787");
  console.log(`Sent ${n} demo requests.`);
}
