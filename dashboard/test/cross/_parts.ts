/**
 * The real parts for cross-part tests, each in real workerd (Miniflare): the dashboard worker
 * bundled from dashboard/src (D1 migrated), the agent bundled from agent/src, and a withFlux
 * recorder; they share the `fluxrun-traces` bucket when they run in one Miniflare.
 */
import type { Miniflare, WorkerOptions } from "miniflare";
import { exportJWK } from "jose";
import { bundleWorker } from "fluxrun/harness";
import { nodeD1, nodeR2 } from "../../../runtime/test/_miniflare.js";
import { migrate } from "../_helpers.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const COMMON = { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] };
export const TRACE_BUCKET = "fluxrun-traces";

/** The dashboard worker, bound as the real one is (D1 `DB`, R2 `FLUX_TRACES`). */
export async function dashboardWorker(
  bindings: Record<string, string> = {},
): Promise<WorkerOptions> {
  return {
    name: "dashboard",
    modules: [
      {
        type: "ESModule",
        path: "dashboard.js",
        contents: await bundleWorker(`${ROOT}dashboard/src/index.ts`),
      },
    ],
    ...COMMON,
    d1Databases: { DB: "fluxrun-dashboard" },
    r2Buckets: { FLUX_TRACES: TRACE_BUCKET },
    bindings,
  };
}

/** A dashboard's dev bindings: the dev admin token, workspace `default`, and the agent it names. */
export function devDashboardBindings(options: {
  devToken: string;
  agentId: string;
  signingKey: string;
}): Record<string, string> {
  return {
    FLUX_DEV: "true",
    FLUX_DEV_ADMIN_TOKEN: options.devToken,
    FLUX_DEFAULT_WORKSPACE: "default",
    FLUX_AGENT_ORIGIN: "http://agent.test",
    FLUX_AGENT_ID: options.agentId,
    FLUX_DASHBOARD_SIGNING_KEY: options.signingKey,
  };
}

/**
 * An agent's bindings: the trace key pair, its replay-signing key, and the dashboard it trusts
 * (its JWKS as JSON text, its origin) for `workspaces`.
 */
export async function agentBindings(options: {
  keys: { privateJwk: unknown; publicJwk: unknown };
  replaySigning: CryptoKeyPair;
  jwks: string;
  agentId: string;
  dashboard: string;
  workspaces: string;
}): Promise<Record<string, string>> {
  return {
    FLUX_PRIVATE_KEY: JSON.stringify(options.keys.privateJwk),
    FLUX_PUBLIC_KEY: JSON.stringify(options.keys.publicJwk),
    FLUX_AGENT_SIGNING_KEY: JSON.stringify(await exportJWK(options.replaySigning.privateKey)),
    FLUX_DASHBOARD_JWKS: options.jwks,
    FLUX_AGENT_ID: options.agentId,
    FLUX_ALLOWED_ORIGINS: options.dashboard,
    FLUX_WORKSPACES: options.workspaces,
  };
}

/** The agent worker, bound as agent/wrangler.toml binds it (APP: the worker named `app`). */
export async function agentWorker(bindings: Record<string, string>): Promise<WorkerOptions> {
  return {
    name: "agent",
    modules: [
      {
        type: "ESModule",
        path: "agent.js",
        contents: await bundleWorker(`${ROOT}agent/src/index.ts`),
      },
    ],
    ...COMMON,
    bindings,
    r2Buckets: { FLUX_TRACES: TRACE_BUCKET },
    d1Databases: ["FLUX_AUDIT"],
    durableObjects: { FLUX_JTI: "JtiStore" },
    serviceBindings: { APP: "app" },
  };
}

/** A withFlux recorder (test/cross/fixture/recorder.ts) named `name`, recording for `app`. */
export async function recorderWorker(
  name: string,
  bindings: Record<string, string>,
): Promise<WorkerOptions> {
  return {
    name,
    modules: [
      {
        type: "ESModule",
        path: `${name}.js`,
        contents: await bundleWorker(new URL("./fixture/recorder.ts", import.meta.url).pathname),
      },
    ],
    ...COMMON,
    bindings,
    kvNamespaces: ["KV"],
    r2Buckets: { FLUX_TRACES: TRACE_BUCKET },
    outboundService: () => new Response("no network in cross-part tests", { status: 599 }),
  };
}

/**
 * The dashboard's D1, with its migrations applied, reached from Node through the executor of
 * runtime/test/_miniflare.ts (make `mf` with its `withNodeBindings`).
 */
export async function dashboardDb(mf: Miniflare): Promise<D1Database> {
  const db = nodeD1(mf, "DB", "dashboard");
  await migrate(db);
  return db;
}

/** The shared trace bucket, as `worker` sees it (make `mf` with `withNodeBindings`). */
export async function traceBucket(mf: Miniflare, worker = "dashboard"): Promise<R2Bucket> {
  return nodeR2(mf, "FLUX_TRACES", worker);
}
