// The local connector: `fluxrun agent` runs this agent on a developer machine, bound to a
// loopback address only, replaying in Miniflare against the local checkout (the worker named by
// the wrangler config in the current directory), so the dashboard can drive a local repair loop.
// Without a pre-configured dashboard JWKS it trusts only what it was paired with by claim code
// (./pairing.mjs): each pairing's workspace, and that workspace's dashboard keys.
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, importJWK } from "jose";
import { Miniflare } from "miniflare";
import { bundleWorker, readWorkerConfig, replayBindingOptions } from "fluxrun/harness";
import { loadOriginKeys, loadPrivateKey } from "fluxrun/trace";
import { PairingHost, readPairings, revokePairing, writePairings } from "./pairing.mjs";

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
  const jwksFile = options.dashboardJwks ?? (options.pair ? undefined : legacyJwksFile(cwd));
  const jwks = await readJsonArg(jwksFile, "The dashboard JWKS");
  // Without a pre-configured dashboard JWKS the connector trusts only what it was paired with.
  const pairingMode = !jwks;
  // The app's trace verification key (--verify-key, $FLUX_ORIGIN_KEYS or .fluxrun/): with one,
  // the local agent refuses traces the app did not sign, as a deployed agent does.
  const origin = await loadOriginKeys({
    path: options.verifyKey,
    cwd,
    env: options.env ?? process.env,
  });
  const signing = pairingMode
    ? await persistentSigningKey(cwd)
    : await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const signingPublicJwk = await exportJWK(signing.publicKey);
  let pairing = null;
  let agentId = options.agentId ?? "fluxrun-local-agent";
  if (pairingMode) {
    const state = await readPairings(cwd);
    agentId = options.agentId ?? state.agentId ?? `local-${randomHex(6)}`;
    if (state.agentId !== agentId) await writePairings(cwd, { ...state, agentId });
    pairing = new PairingHost({
      cwd,
      agentId,
      signingPublicJwk: { kty: "OKP", crv: "Ed25519", x: signingPublicJwk.x },
      ...(options.now ? { now: options.now } : {}),
      ...(options.onPaired ? { onPaired: options.onPaired } : {}),
    });
  }
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
          FLUX_AGENT_ID: agentId,
          FLUX_ALLOWED_ORIGINS: options.allowedOrigins ?? DEFAULT_ORIGINS,
          // Paired: the workspaces and keys come from the pairings (FLUX_CONNECTOR), per request.
          FLUX_WORKSPACES: pairingMode ? "" : (options.workspaces ?? "default"),
          FLUX_ORIGIN_KEYS: JSON.stringify(origin),
        },
        r2Buckets: { FLUX_TRACES: options.bucket ?? "fluxrun-traces" },
        d1Databases: ["FLUX_AUDIT"],
        durableObjects: { FLUX_JTI: "JtiStore" },
        serviceBindings: {
          APP: "app",
          ...(pairing ? { FLUX_CONNECTOR: (request) => pairing.fetch(request) } : {}),
        },
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
          FLUX_AGENT_KEY: JSON.stringify(signingPublicJwk),
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
  return {
    url: url.toString(),
    agentId,
    /** The pairing side (null with a pre-configured dashboard JWKS): `newCode()` shows a claim code. */
    pairing,
    refused: () => refused,
    dispose: () => mf.dispose(),
  };
}

const DEFAULT_ORIGINS = "http://127.0.0.1:8789,http://localhost:8789";

function withOrigin(list, url) {
  let origin;
  try {
    origin = new URL(url).origin;
  } catch {
    return list;
  }
  return list.split(",").includes(origin) ? list : `${list},${origin}`;
}

function legacyJwksFile(cwd) {
  const file = join(cwd, ".fluxrun/dashboard-jwks.json");
  return existsSync(file) ? file : undefined;
}

function randomHex(bytes) {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
}

/**
 * The connector's replay-signing key, kept in .fluxrun/agent-signing.jwk (0600) so the public key
 * the dashboard learned at pairing stays the connector's key across restarts.
 */
async function persistentSigningKey(cwd) {
  const file = join(cwd, ".fluxrun/agent-signing.jwk");
  if (existsSync(file)) {
    const jwk = JSON.parse(await readFile(file, "utf8"));
    const { d: _d, ...pub } = jwk;
    return {
      privateKey: await importJWK(jwk, "EdDSA", { extractable: true }),
      publicKey: await importJWK(pub, "EdDSA", { extractable: true }),
    };
  }
  const pair = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  await mkdir(join(cwd, ".fluxrun"), { recursive: true });
  await writeFile(file, JSON.stringify(await exportJWK(pair.privateKey)), { mode: 0o600 });
  await chmod(file, 0o600);
  return pair;
}

/** Prints a claim code and its QR code (the dashboard's pair page with the code in the fragment). */
async function printClaimCode(io, code, options) {
  const link = `${options.dashboard.replace(/\/$/, "")}/pair#code=${code.display}&agent=${encodeURIComponent(options.agentUrl.replace(/\/$/, ""))}`;
  const minutes = Math.round((code.expiresAt * 1000 - Date.now()) / 60000);
  io.out(
    [
      "",
      `Pair this agent: in the dashboard open "Pair a local agent" and enter the claim code`,
      "",
      `    ${code.display}`,
      "",
      `(valid ${minutes} minutes, once), or scan / open: ${link}`,
    ].join("\n"),
  );
  try {
    const { default: qr } = await import("qrcode-terminal");
    await new Promise((resolveQr) =>
      qr.generate(link, { small: true }, (text) => {
        io.out(text);
        resolveQr();
      }),
    );
  } catch {
    // Without the QR renderer the code and link above are enough.
  }
}

/** `fluxrun agent pairings`: the pairings in .fluxrun/pairing.json. */
async function listPairingsCommand(io) {
  const state = await readPairings(io.cwd);
  if (!state.pairings.length) {
    io.out("No pairings. Start `fluxrun agent --pair` and enter its claim code in the dashboard.");
    return 0;
  }
  io.out(`Agent id ${state.agentId ?? "(none)"}`);
  for (const p of state.pairings) {
    io.out(
      `${p.id}  workspace ${p.ws}  by ${p.sub}  at ${p.dashboard}  paired ${new Date(p.createdAt).toISOString()}${p.revokedAt ? `  REVOKED ${new Date(p.revokedAt).toISOString()}` : "  active"}`,
    );
  }
  return 0;
}

/** `fluxrun agent unpair <id>`: revokes a pairing; its tokens are refused from then on. */
async function unpairCommand(argv, io) {
  const id = argv[0];
  if (!id) {
    io.err("fluxrun: ERR_USAGE: fluxrun agent unpair <pairing id> (see fluxrun agent pairings)");
    return 2;
  }
  const revoked = await revokePairing(io.cwd, id);
  if (!revoked) {
    io.err(
      "fluxrun: ERR_PAIRING_NOT_FOUND: no single pairing has that id (fluxrun agent pairings)",
    );
    return 1;
  }
  io.out(
    `Revoked pairing ${revoked.id} (workspace ${revoked.ws}): this agent refuses its tokens (ERR_PAIRING_REVOKED).`,
  );
  return 0;
}

/**
 * `fluxrun agent [--pair] [--dashboard url] [--host 127.0.0.1] [--port 8788] [--config wrangler.toml] [--key file] [--verify-key file] [--dashboard-jwks file] [--workspaces ws,...]`,
 * `fluxrun agent pairings`, `fluxrun agent unpair <id>`.
 */
export async function agentCommand(argv, io) {
  if (argv[0] === "pairings") return listPairingsCommand(io);
  if (argv[0] === "unpair") return unpairCommand(argv.slice(1), io);
  const { values } = parseArgs({
    args: argv,
    options: {
      pair: { type: "boolean", default: false },
      dashboard: { type: "string", default: "http://127.0.0.1:8789" },
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
    // The dashboard the claim code's link opens may call this agent (CORS) to pair.
    allowedOrigins: values["allowed-origins"] ?? withOrigin(DEFAULT_ORIGINS, values.dashboard),
    ...(values.workspaces ? { workspaces: values.workspaces } : {}),
    ...(values["persist-to"] ? { persistTo: values["persist-to"] } : {}),
    ...(values.pair ? { pair: true } : {}),
    onPaired: (offer) =>
      io.out(`Paired with workspace ${offer.ws} of ${offer.dashboard} (by ${offer.sub}).`),
  });
  io.out(
    `FluxRun local agent ${connector.agentId} on ${connector.url} (loopback only); replaying against ${io.cwd}. Ctrl-C stops it.`,
  );
  if (connector.pairing) {
    const state = await readPairings(io.cwd);
    const live = state.pairings.filter((p) => !p.revokedAt);
    if (values.pair || !live.length) {
      await printClaimCode(io, await connector.pairing.newCode(), {
        dashboard: values.dashboard,
        agentUrl: connector.url,
      });
    } else {
      io.out(
        `Paired with ${live.map((p) => p.ws).join(", ")} (fluxrun agent pairings; --pair pairs another).`,
      );
    }
  }
  await new Promise((resolveStop) => {
    process.once("SIGINT", resolveStop);
    process.once("SIGTERM", resolveStop);
  });
  await connector.dispose();
  return 0;
}
