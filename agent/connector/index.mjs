// The local connector: `fluxrun agent` runs this agent on a developer machine, bound to a
// loopback address only, replaying in Miniflare against the local checkout (the worker named by
// the wrangler config in the current directory), so the dashboard can drive a local repair loop.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair } from "jose";
import { Miniflare } from "miniflare";
import { bundleWorker, readWorkerConfig, replayBindingOptions } from "fluxrun/harness";
import { loadOriginKeys, loadPrivateKey } from "fluxrun/trace";

const AGENT_ENTRY = join(dirname(fileURLToPath(import.meta.url)), "../src/index.ts");
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** Refuses anything but a loopback host: the connector must never listen on a network. */
export function assertLoopback(host) {
  if (!LOOPBACK.has(String(host))) {
    const err = new Error(
      `The local agent binds loopback only (127.0.0.1, ::1, localhost), not ${host}`,
    );
    err.code = "ERR_CONNECTOR_HOST";
    throw err;
  }
}

async function readJsonArg(value, what) {
  if (!value) return undefined;
  const text = value.trim().startsWith("{") ? value : await readFile(value, "utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw Object.assign(new Error(`${what} is not JSON`), { code: "ERR_CONFIG" });
  }
}

/**
 * Starts the agent and the local app in one Miniflare. Resolves to `{ url, dispose }`.
 * The app's outbound network is refused; the agent reads traces from the local R2 state that
 * `wrangler dev` keeps (`persistTo`, default .wrangler/state). It serves the dashboard workspace(s)
 * `workspaces` (FLUX_WORKSPACES; default `default`, the local dashboard's default workspace).
 */
export async function startConnector(options = {}) {
  const host = options.host ?? "127.0.0.1";
  assertLoopback(host);
  const cwd = options.cwd ?? process.cwd();
  const config = await readWorkerConfig(options.config, cwd);
  const privateKey = await loadPrivateKey({
    path: options.key,
    cwd,
    env: options.env ?? process.env,
  });
  const jwks = await readJsonArg(
    options.dashboardJwks ??
      (existsSync(join(cwd, ".fluxrun/dashboard-jwks.json"))
        ? join(cwd, ".fluxrun/dashboard-jwks.json")
        : undefined),
    "The dashboard JWKS",
  );
  // The app's trace verification key (--verify-key, $FLUX_ORIGIN_KEYS or .fluxrun/): with one,
  // the local agent refuses traces the app did not sign, as a deployed agent does.
  const origin = await loadOriginKeys({
    path: options.verifyKey,
    cwd,
    env: options.env ?? process.env,
  });
  const signing = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const persist = resolve(cwd, options.persistTo ?? ".wrangler/state");
  const common = {
    compatibilityDate: config.compatibilityDate,
    compatibilityFlags: config.compatibilityFlags,
  };
  let refused = 0;
  const mf = new Miniflare({
    host,
    port: options.port ?? 8788,
    // Persistence is per instance: wrangler dev's local state, so the agent sees local traces.
    r2Persist: join(persist, "v3/r2"),
    d1Persist: join(persist, "v3/d1"),
    workers: [
      {
        name: "fluxrun-agent",
        modules: [
          { type: "ESModule", path: "agent.js", contents: await bundleWorker(AGENT_ENTRY) },
        ],
        ...common,
        bindings: {
          FLUX_PRIVATE_KEY: JSON.stringify(privateKey),
          FLUX_AGENT_SIGNING_KEY: JSON.stringify(await exportJWK(signing.privateKey)),
          FLUX_DASHBOARD_JWKS: jwks ? JSON.stringify(jwks) : "",
          FLUX_AGENT_ID: options.agentId ?? "fluxrun-local-agent",
          FLUX_ALLOWED_ORIGINS:
            options.allowedOrigins ?? "http://127.0.0.1:8789,http://localhost:8789",
          FLUX_WORKSPACES: options.workspaces ?? "default",
          FLUX_ORIGIN_KEYS: JSON.stringify(origin),
        },
        r2Buckets: { FLUX_TRACES: options.bucket ?? "fluxrun-traces" },
        d1Databases: ["FLUX_AUDIT"],
        durableObjects: { FLUX_JTI: "JtiStore" },
        serviceBindings: { APP: "app" },
      },
      {
        name: "app",
        modules: [
          {
            type: "ESModule",
            path: "app.js",
            // Built as wrangler built the recorded one, so names in traces read the same.
            contents: await bundleWorker(config.main, {
              keepNames: config.keepNames,
              minify: config.minify,
            }),
          },
        ],
        ...common,
        bindings: {
          ...config.vars,
          FLUX_AGENT_KEY: JSON.stringify(await exportJWK(signing.publicKey)),
        },
        // Every binding kind the config declares, empty: replay serves all of it from the trace.
        ...replayBindingOptions(config),
        outboundService: () => {
          refused++;
          return new Response("FluxRun local agent: live network access is blocked during replay", {
            status: 599,
          });
        },
      },
    ],
  });
  const url = await mf.ready;
  return { url: url.toString(), refused: () => refused, dispose: () => mf.dispose() };
}

/** `fluxrun agent [--host 127.0.0.1] [--port 8788] [--config wrangler.toml] [--key file] [--verify-key file] [--dashboard-jwks file] [--workspaces ws,...]` */
export async function agentCommand(argv, io) {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8788" },
      config: { type: "string" },
      key: { type: "string" },
      "verify-key": { type: "string" },
      "dashboard-jwks": { type: "string" },
      "agent-id": { type: "string" },
      "allowed-origins": { type: "string" },
      workspaces: { type: "string" },
      "persist-to": { type: "string" },
    },
  });
  try {
    assertLoopback(values.host);
  } catch (err) {
    io.err(`fluxrun: ${err.code}: ${err.message}`);
    return 2;
  }
  const connector = await startConnector({
    host: values.host,
    port: Number(values.port),
    cwd: io.cwd,
    env: io.env ?? process.env,
    ...(values.config ? { config: values.config } : {}),
    ...(values.key ? { key: values.key } : {}),
    ...(values["verify-key"] ? { verifyKey: values["verify-key"] } : {}),
    ...(values["dashboard-jwks"] ? { dashboardJwks: values["dashboard-jwks"] } : {}),
    ...(values["agent-id"] ? { agentId: values["agent-id"] } : {}),
    ...(values["allowed-origins"] ? { allowedOrigins: values["allowed-origins"] } : {}),
    ...(values.workspaces ? { workspaces: values.workspaces } : {}),
    ...(values["persist-to"] ? { persistTo: values["persist-to"] } : {}),
  });
  io.out(
    `FluxRun local agent on ${connector.url} (loopback only); replaying against ${io.cwd}. Ctrl-C stops it.`,
  );
  await new Promise((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
  await connector.dispose();
  return 0;
}
