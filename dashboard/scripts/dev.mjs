#!/usr/bin/env node
/**
 * Local dev for the dashboard (what `npm start` runs for it):
 *  0. the page scripts bundled from dashboard/client/ (scripts/build-client.mjs);
 *  1. a dashboard signing key in .fluxrun/dashboard-signing.jwk (Ed25519, 0600) and its public
 *     JWKS in .fluxrun/dashboard-jwks.json (give that to the agent as FLUX_DASHBOARD_JWKS);
 *  2. a dev admin token in .fluxrun/dashboard-dev-token (0600);
 *  3. dashboard/.dev.vars with FLUX_DEV, the token and the key (git-ignored);
 *  4. D1 migrations applied to the local database;
 *  5. `wrangler dev` on 127.0.0.1 (unless --setup-only), after printing the login link.
 *
 * Usage: node dashboard/scripts/dev.mjs [--setup-only] [--port 8789] [--persist-to .wrangler/state]
 *        node dashboard/scripts/dev.mjs --print-key     # a fresh Ed25519 private JWK, for production
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, calculateJwkThumbprint } from "jose";

const DASH = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(DASH, "..");
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i === -1 ? fallback : args[i + 1];
};
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
};

async function newKey() {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = await exportJWK(privateKey);
  jwk.kid = await calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x });
  return jwk;
}

if (args.includes("--print-key")) {
  process.stdout.write(`${JSON.stringify(await newKey())}\n`);
  process.exit(0);
}

// The page scripts wrangler dev serves are bundled from dashboard/client/ (also part of `npm run build`).
await import("./build-client.mjs");

const port = Number(opt("--port", process.env.FLUX_DASHBOARD_PORT ?? "8789"));
const persist = resolve(ROOT, opt("--persist-to", ".wrangler/state"));
const secrets = join(ROOT, ".fluxrun");
mkdirSync(secrets, { recursive: true, mode: 0o700 });

const keyFile = join(secrets, "dashboard-signing.jwk");
if (!existsSync(keyFile)) writeFileSync(keyFile, JSON.stringify(await newKey()), { mode: 0o600 });
const jwk = JSON.parse(readFileSync(keyFile, "utf8"));
const { d: _d, ...pub } = jwk;
writeFileSync(
  join(secrets, "dashboard-jwks.json"),
  JSON.stringify({ keys: [{ ...pub, alg: "EdDSA", use: "sig" }] }),
);

const tokenFile = join(secrets, "dashboard-dev-token");
if (!existsSync(tokenFile))
  writeFileSync(tokenFile, `fxd_${randomBytes(32).toString("base64url")}`, { mode: 0o600 });
const token = readFileSync(tokenFile, "utf8").trim();

writeFileSync(
  join(DASH, ".dev.vars"),
  [
    "# Written by dashboard/scripts/dev.mjs for wrangler dev. Local only; never commit.",
    'FLUX_DEV="true"',
    `FLUX_DEV_ADMIN_TOKEN="${token}"`,
    `FLUX_DASHBOARD_SIGNING_KEY='${JSON.stringify(jwk)}'`,
    "",
  ].join("\n"),
  { mode: 0o600 },
);

const wrangler = join(ROOT, "node_modules/.bin/wrangler");
const config = join(DASH, "wrangler.toml");
const migrated = spawnSync(
  wrangler,
  [
    "d1",
    "migrations",
    "apply",
    "fluxrun-dashboard",
    "--local",
    "-c",
    config,
    "--persist-to",
    persist,
  ],
  { env, encoding: "utf8" },
);
if (migrated.status !== 0) {
  process.stderr.write(
    `fluxrun dashboard: applying D1 migrations failed\n${migrated.stderr || migrated.stdout}\n`,
  );
  process.exit(1);
}

const url = `http://127.0.0.1:${port}`;
process.stdout.write(
  [
    "",
    `  FluxRun dashboard   ${url}`,
    `  Sign in (dev admin) ${url}/dev/login?token=${token}`,
    `  Agent JWKS          .fluxrun/dashboard-jwks.json (FLUX_DASHBOARD_JWKS for the agent)`,
    "",
  ].join("\n") + "\n",
);

if (!args.includes("--setup-only")) {
  const child = spawn(
    wrangler,
    [
      "dev",
      "-c",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persist,
      "--inspector-port",
      "0",
    ],
    { env, stdio: "inherit" },
  );
  const stop = () => child.kill("SIGTERM");
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  child.on("exit", (code) => process.exit(code ?? 0));
}
