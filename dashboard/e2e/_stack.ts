/**
 * The e2e stack, all on 127.0.0.1: one Miniflare running the dashboard (bundled from
 * dashboard/src, real D1, migrations applied) and a withFlux-wrapped shop fixture sharing the
 * `fluxrun-traces` R2 bucket (persisted to a temp dir); a payments upstream the fixture calls;
 * and the real agent (agent/src, bundled) in its own Miniflare reading the same bucket, with the
 * repaired fixture as its APP service binding and that app's network refused. A second agent
 * that allows another origin stands for a misconfigured CORS setting.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare, type WorkerOptions } from "miniflare";
import { chromium, type Browser } from "playwright-core";
import { exportJWK, generateKeyPair } from "jose";
import { bundleWorker } from "fluxrun/harness";
import { generateTraceKeys } from "fluxrun/trace";
import { migrate } from "../test/_helpers.js";
import { nodeD1, nodeR2, withNodeBindings, workerFetch } from "../../runtime/test/_miniflare.js";

const HERE = new URL(".", import.meta.url).pathname;

/** The browser the tests drive: Debian's chromium, or $CHROMIUM. */
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Fails at once, with the fix, when there is no chromium to drive (before any stack starts). */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No chromium at ${CHROMIUM}: run apt-get install -y chromium (or set CHROMIUM)`,
    );
  }
}

/** Headless chromium as every browser test runs it. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-dev-shm-usage",
    ],
  });
}
const ROOT = new URL("../../", import.meta.url).pathname;
export const DEV_TOKEN = "fxd_e2e-dev-admin-token-0123456789abcdefghijklmn";
export const AGENT_ID = "e2e-agent";
/** How long the page waits for the agent's health and unlock answers in these tests. */
export const AGENT_TIMEOUT_MS = 5000;

export interface Stack {
  dashboard: string;
  agent: AgentHandle;
  /** The shared trace bucket (from Node, through runtime/test/_miniflare.ts). */
  bucket: R2Bucket;
  /**
   * The dashboard's D1 (from Node, through runtime/test/_miniflare.ts): tests move stored times
   * instead of waiting.
   */
  db: D1Database;
  /** Where the bucket persists, as a connector's `persistTo` (its R2 state is under v3/r2). */
  persistTo: string;
  /** The agent's trace private key (JWK), for another agent of the same traces. */
  privateJwk: unknown;
  record(path: string, init?: RequestInit): Promise<Response>;
  waitForTraces(n: number): Promise<void>;
  dispose(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  const url = await listen(s);
  await new Promise((r) => s.close(r));
  return Number(new URL(url).port);
}
function payments(): Server {
  return createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const order = JSON.parse(body || "{}") as { card?: string };
      res.setHeader("content-type", "application/json");
      if (order.card === "4000000000000002") {
        res.statusCode = 402;
        res.end(
          JSON.stringify({ error: { code: "card_declined", decline_code: "insufficient_funds" } }),
        );
      } else {
        res.end(
          JSON.stringify({
            id: `ch_${Math.random().toString(36).slice(2, 10)}`,
            status: "succeeded",
          }),
        );
      }
    });
  });
}

export interface AgentHandle {
  /** The agent that allows the dashboard's origin. */
  url: string;
  /** An agent configured with another allowed origin (a CORS misconfiguration). */
  otherOriginUrl: string;
  /** The newest row of the agent's audit log. */
  lastAudit(): Promise<{
    action: string;
    outcome: string;
    code: string | null;
    fields: string;
  } | null>;
  /** Requests the repaired app tried to send to the network during replays. */
  liveAttempts(): number;
}

/**
 * The dashboard worker in dev mode, as the browser tests run it: D1 `DB`, R2 `FLUX_TRACES`, the
 * dev admin token, workspace `default`, and the agent at `agentOrigin`.
 */
export function devDashboard(
  script: string,
  options: { agentOrigin: string; signingKey: string; more?: Record<string, string> },
): WorkerOptions {
  return {
    name: "dashboard",
    modules: [{ type: "ESModule", path: "dashboard.js", contents: script }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: { DB: "fluxrun-dashboard" },
    r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
    bindings: {
      FLUX_DEV: "true",
      FLUX_DEV_ADMIN_TOKEN: DEV_TOKEN,
      FLUX_DEFAULT_WORKSPACE: "default",
      FLUX_AGENT_ORIGIN: options.agentOrigin,
      FLUX_AGENT_ID: AGENT_ID,
      FLUX_DASHBOARD_SIGNING_KEY: options.signingKey,
      ...options.more,
    },
  };
}

/** The real agent plus the repaired app it replays through, in one Miniflare. */
export async function startAgent(options: {
  port: number;
  allowedOrigin: string;
  jwks: string;
  privateJwk: unknown;
  r2Persist: string;
  agentScript: string;
  fixedScript: string;
  paymentsUrl: string;
  onLive: () => void;
  /** FLUX_RELEASE of the repaired app: the release its replays name. */
  appRelease?: string;
}): Promise<Miniflare> {
  const signing = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const mf = new Miniflare(
    await withNodeBindings({
      host: "127.0.0.1",
      port: options.port,
      r2Persist: options.r2Persist,
      workers: [
        {
          name: "agent",
          modules: [{ type: "ESModule", path: "agent.js", contents: options.agentScript }],
          compatibilityDate: "2026-04-20",
          compatibilityFlags: ["nodejs_compat"],
          bindings: {
            FLUX_PRIVATE_KEY: JSON.stringify(options.privateJwk),
            FLUX_AGENT_SIGNING_KEY: JSON.stringify(await exportJWK(signing.privateKey)),
            FLUX_DASHBOARD_JWKS: options.jwks,
            FLUX_AGENT_ID: AGENT_ID,
            FLUX_ALLOWED_ORIGINS: options.allowedOrigin,
            FLUX_WORKSPACES: "default",
          },
          r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
          d1Databases: ["FLUX_AUDIT"],
          durableObjects: { FLUX_JTI: "JtiStore" },
          serviceBindings: { APP: "app" },
        },
        {
          name: "app",
          modules: [{ type: "ESModule", path: "app.js", contents: options.fixedScript }],
          compatibilityDate: "2026-04-20",
          compatibilityFlags: ["nodejs_compat"],
          kvNamespaces: ["KV"],
          bindings: {
            PAYMENTS_URL: options.paymentsUrl,
            FLUX_AGENT_KEY: JSON.stringify(await exportJWK(signing.publicKey)),
            ...(options.appRelease ? { FLUX_RELEASE: options.appRelease } : {}),
          },
          outboundService: () => {
            options.onLive();
            return new Response("refused", { status: 599 });
          },
        },
      ],
    }),
  );
  await mf.ready;
  return mf;
}

export async function startStack(): Promise<Stack> {
  const upstream = payments();
  const paymentsUrl = await listen(upstream);
  const keys = await generateTraceKeys();
  const signing = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const signingJwk = JSON.stringify(await exportJWK(signing.privateKey));
  const fixture = join(HERE, "fixture/worker.ts");
  const [dashScript, appScript, fixedScript, agentScript] = await Promise.all([
    bundleWorker(join(HERE, "../src/index.ts")),
    bundleWorker(fixture),
    bundleWorker(fixture, { define: { __FIXED__: "true" } }),
    bundleWorker(join(ROOT, "agent/src/index.ts")),
  ]);
  const persistTo = await mkdtemp(join(tmpdir(), "fluxrun-e2e-r2-"));
  const r2Persist = join(persistTo, "v3/r2");
  const [agentPort, otherPort] = [await freePort(), await freePort()];
  const agentUrl = `http://127.0.0.1:${agentPort}`;
  let mf: Miniflare | null = null;
  mf = new Miniflare(
    await withNodeBindings({
      host: "127.0.0.1",
      port: 0,
      r2Persist,
      workers: [
        devDashboard(dashScript, {
          agentOrigin: agentUrl,
          signingKey: signingJwk,
          more: { FLUX_AGENT_TIMEOUT_MS: String(AGENT_TIMEOUT_MS) },
        }),
        {
          name: "app",
          modules: [{ type: "ESModule", path: "app.js", contents: appScript }],
          compatibilityDate: "2026-04-20",
          compatibilityFlags: ["nodejs_compat"],
          kvNamespaces: ["KV"],
          r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
          bindings: {
            FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
            PAYMENTS_URL: paymentsUrl,
            PAYMENTS_API_KEY: "sk_test_e2e_secret_key",
          },
        },
      ],
    }),
  );
  const dashboardUrl = (await mf.ready).toString().replace(/\/$/, "");
  const db = nodeD1(mf, "DB", "dashboard");
  await migrate(db);
  const jwks = await (await fetch(`${dashboardUrl}/.well-known/jwks.json`)).text();
  let live = 0;
  const agentOptions = {
    jwks,
    privateJwk: keys.privateJwk,
    r2Persist,
    agentScript,
    fixedScript,
    paymentsUrl,
    onLive: () => live++,
  };
  const agentMf = await startAgent({
    ...agentOptions,
    port: agentPort,
    allowedOrigin: dashboardUrl,
  });
  const otherMf = await startAgent({
    ...agentOptions,
    port: otherPort,
    allowedOrigin: "https://other.example",
  });
  const agent: AgentHandle = {
    url: agentUrl,
    otherOriginUrl: `http://127.0.0.1:${otherPort}`,
    async lastAudit() {
      const db = nodeD1(agentMf, "FLUX_AUDIT", "agent");
      return (await db
        .prepare("SELECT action, outcome, code, fields FROM audit ORDER BY id DESC LIMIT 1")
        .first()) as never;
    },
    liveAttempts: () => live,
  };

  const bucket = nodeR2(mf, "FLUX_TRACES", "dashboard");
  return {
    dashboard: dashboardUrl,
    agent,
    bucket,
    db,
    persistTo,
    privateJwk: keys.privateJwk,
    async record(path, init) {
      try {
        const res = await workerFetch(mf, "app", `http://shop.test${path}`, init);
        await res.arrayBuffer();
        return res;
      } catch {
        // The handler threw: workerd answers an HTTP client with a 500.
        return new Response(null, { status: 500 });
      }
    },
    async waitForTraces(n) {
      for (let i = 0; i < 400; i++) {
        if ((await bucket.list({ prefix: "traces/" })).objects.length >= n) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`expected ${n} traces in R2`);
    },
    async dispose() {
      await agentMf.dispose();
      await otherMf.dispose();
      await mf?.dispose();
      await new Promise((r) => upstream.close(r));
    },
  };
}
