/**
 * Claim-code pairing of a local connector, the dashboard's side. A signed-in responder (or admin)
 * types the code `fluxrun agent` printed on the "Pair a local agent" page; the page's script
 * carries the exchange between the connector (loopback) and these routes:
 *
 * - `POST /api/pairings`: checks the user's role and attempt limit, records a pending pairing and
 *   answers the offer (workspace, user, this dashboard's token JWKS, the connector's id and nonce)
 *   MACed with K = HKDF(code, connector nonce), which only a holder of the code can make;
 * - `POST /api/pairings/:id/confirm`: verifies the connector's confirmation MAC with K (the
 *   connector that printed the code answered), activates the pairing once, and points the
 *   workspace's agent at the connector;
 * - Admin → Agents (`/w/:ws/admin/pairings`): the list and revocation; a revoked pairing's agent
 *   gets no more tokens (ERR_PAIRING_REVOKED at `POST /api/tokens`).
 *
 * Every request, success, refusal (with its code) and revocation is audited, never the code.
 * @module
 */
import {
  CLAIM_CODE_TTL_S,
  PAIRING_USER_ATTEMPTS,
  PAIRING_USER_WINDOW_S,
  PairingConfirmRequest,
  PairingStartRequest,
  normalizeClaimCode,
  pairingKey,
  pairingMacs,
  type PairingOffer,
  type PairingOfferEnvelope,
} from "fluxrun/contract";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders, NONCE } from "hono/secure-headers";
import { calculateJwkThumbprint } from "jose";
import type { PairConfig } from "../browser.js";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError, type DashboardErrorCode } from "../errors.js";
import { publicJwks } from "../auth/issuer.js";
import { membershipsOf } from "../db/users.js";
import { getWorkspace, setAgent } from "../db/workspaces.js";
import {
  createPairing,
  getPairing,
  pairingAttemptsSince,
  pairingsOf,
  revokePairing,
  settlePairing,
} from "../db/pairings.js";
import { pairPage, pairingsView } from "../views/pairing.js";
import { pairScript } from "../views/client.js";
import { stateBox } from "../views/layout.js";
import { checkWorkspace, LOOPBACK_HOSTS, render, requirePrincipal, wsAccess } from "./_shared.js";

const MAX_REQUEST = 16 * 1024;

/** The connector's origin if it is an http(s) loopback URL (pairing never leaves loopback). */
function loopbackOrigin(input: string): string | null {
  try {
    const u = new URL(input);
    if ((u.protocol === "http:" || u.protocol === "https:") && LOOPBACK_HOSTS.includes(u.hostname))
      return u.origin;
  } catch {
    return null;
  }
  return null;
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function jsonBody<T>(
  c: Context<AppEnv>,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (cause) {
    throw new DashboardError("ERR_BAD_REQUEST", "The request body is not JSON", { cause });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new DashboardError("ERR_BAD_REQUEST", "The pairing request is malformed");
  return parsed.data;
}

/** Audits a refusal with its code, then throws it. */
async function refuse(
  c: Context<AppEnv>,
  ws: string | null,
  target: string | null,
  code: DashboardErrorCode,
  message: string,
  fix?: string,
): Promise<never> {
  await c.var.audit("pairing.refused", { ws, target, allowed: false, reason: code });
  throw new DashboardError(code, message, fix ? { fix } : {});
}

/** `POST /api/pairings`. */
async function startPairing(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const p = requirePrincipal(c);
  const req = await jsonBody(c, PairingStartRequest);
  const { role } = await checkWorkspace(c, req.ws, "responder");
  const current = await getWorkspace(c.env.DB, req.ws);
  if (role !== "admin" && current?.agentOrigin && !loopbackOrigin(current.agentOrigin))
    return refuse(
      c,
      req.ws,
      null,
      "ERR_FORBIDDEN",
      "This workspace uses a deployed agent: only an admin may replace it with a local one",
      "Ask a workspace admin to pair, or to clear Admin → Agent",
    );
  const now = clock.now();
  const attempts = await pairingAttemptsSince(
    c.env.DB,
    p.userId,
    now - PAIRING_USER_WINDOW_S * 1000,
  );
  if (attempts >= PAIRING_USER_ATTEMPTS)
    return refuse(
      c,
      req.ws,
      null,
      "ERR_PAIRING_RATE_LIMITED",
      `Too many pairing attempts: at most ${PAIRING_USER_ATTEMPTS} in ${PAIRING_USER_WINDOW_S / 60} minutes`,
      "Wait a few minutes, then start `fluxrun agent --pair` for a fresh code",
    );
  const code = normalizeClaimCode(req.code);
  if (!code)
    return refuse(
      c,
      req.ws,
      null,
      "ERR_PAIRING_CODE_FORMAT",
      "That is not a claim code: 8 letters and digits, shown as XXXX-XXXX",
    );
  const origin = loopbackOrigin(req.agent.origin);
  if (!origin)
    return refuse(
      c,
      req.ws,
      null,
      "ERR_PAIRING_AGENT",
      "The connector must be on loopback (http://127.0.0.1:<port>): pairing never reaches beyond this machine",
    );
  const jwks = await publicJwks(c.env);
  if (!jwks.keys.length)
    throw new DashboardError(
      "ERR_SIGNING_KEY_MISSING",
      "The dashboard has no signing key, so a connector could not check its tokens",
    );
  const id = clock.id();
  const dashboardNonce = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const offer: PairingOffer = {
    v: 1,
    pairing: id,
    ws: req.ws,
    sub: p.email,
    dashboard: new URL(c.req.url).origin,
    jwks: {
      keys: jwks.keys.map((k) => ({
        kty: "OKP" as const,
        crv: "Ed25519" as const,
        x: String(k.x),
        kid: k.kid,
        alg: k.alg,
        use: k.use,
      })),
    },
    agentId: req.agent.id,
    agentNonce: req.agent.nonce,
    dashboardNonce,
    exp: Math.floor(now / 1000) + CLAIM_CODE_TTL_S,
  };
  await createPairing(c.env.DB, {
    id,
    ws: req.ws,
    userId: p.userId,
    actor: p.email,
    agentOrigin: origin,
    agentId: req.agent.id,
    agentKey: JSON.stringify(req.agent.signingKey),
    agentThumbprint: await calculateJwkThumbprint(req.agent.signingKey),
    agentNonce: req.agent.nonce,
    dashboardNonce,
    createdAt: now,
    expiresAt: now + CLAIM_CODE_TTL_S * 1000,
  });
  await c.var.audit("pairing.requested", {
    ws: req.ws,
    target: id,
    allowed: true,
    detail: { agentId: req.agent.id, agentOrigin: origin },
  });
  const text = JSON.stringify(offer);
  const envelope: PairingOfferEnvelope = {
    pairing: id,
    offer: text,
    mac: await pairingMacs.offer(await pairingKey(code, req.agent.nonce), text),
  };
  c.header("Cache-Control", "no-store");
  return c.json(envelope);
}

/** `POST /api/pairings/:id/confirm`. */
async function confirmPairing(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const p = requirePrincipal(c);
  const id = c.req.param("id") ?? "";
  const req = await jsonBody(c, PairingConfirmRequest);
  const row = await getPairing(c.env.DB, id);
  if (!row || row.userId !== p.userId)
    return refuse(c, null, null, "ERR_NOT_FOUND", "No such pairing of yours");
  await checkWorkspace(c, row.ws, "responder");
  const now = clock.now();
  if (row.state !== "pending")
    return refuse(
      c,
      row.ws,
      id,
      "ERR_PAIRING_USED",
      `This pairing is already ${row.state}: a pairing is confirmed once`,
    );
  if (row.expiresAt < now)
    return refuse(
      c,
      row.ws,
      id,
      "ERR_PAIRING_EXPIRED",
      "This pairing expired (5 minutes): start `fluxrun agent --pair` for a new code",
    );
  const code = normalizeClaimCode(req.code);
  const fields = {
    pairing: id,
    agentId: row.agentId,
    thumbprint: row.agentThumbprint,
    dashboardNonce: row.dashboardNonce,
  };
  const good =
    code !== null &&
    (await pairingMacs.verifyConfirmation(await pairingKey(code, row.agentNonce), fields, req.mac));
  if (!good) {
    await settlePairing(c.env.DB, id, "failed", now);
    return refuse(
      c,
      row.ws,
      id,
      "ERR_PAIRING_CODE_WRONG",
      "The connector's confirmation does not match the claim code: not paired",
    );
  }
  if (!(await settlePairing(c.env.DB, id, "active", now)))
    return refuse(c, row.ws, id, "ERR_PAIRING_USED", "This pairing was already confirmed");
  await setAgent(c.env.DB, row.ws, { origin: row.agentOrigin, id: row.agentId });
  await c.var.audit("pairing.succeeded", {
    ws: row.ws,
    target: id,
    allowed: true,
    detail: { agentId: row.agentId, agentOrigin: row.agentOrigin, key: row.agentThumbprint },
  });
  c.header("Cache-Control", "no-store");
  return c.json({ pairing: id, state: "active", ws: row.ws, agentId: row.agentId });
}

/** Page scripts may call a connector on any loopback port (and nothing else). */
const pairPagePolicy = () =>
  secureHeaders({
    xFrameOptions: "DENY",
    referrerPolicy: "same-origin",
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: [NONCE],
      styleSrc: ["'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      connectSrc: ["'self'", "http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
    },
  });

/**
 * The pairing routes: the API, the "Pair a local agent" page (`/pair` goes to the first
 * workspace's, keeping the fragment with the code), under authentication.
 *
 * @example
 * ```ts
 * app.route("/", pairingRoutes(clock));
 * ```
 */
export function pairingRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = bodyLimit({
    maxSize: MAX_REQUEST,
    onError: () => {
      throw new DashboardError("ERR_TOO_LARGE", `The request body is over ${MAX_REQUEST} bytes`);
    },
  });
  app.post("/api/pairings", limit, (c) => startPairing(c, clock));
  app.post("/api/pairings/:id/confirm", limit, (c) => confirmPairing(c, clock));
  app.get("/pair", async (c) => {
    const p = requirePrincipal(c);
    const first = (await membershipsOf(c.env.DB, p.userId))[0];
    if (!first) throw new DashboardError("ERR_NOT_FOUND", "You are in no workspace");
    // The browser keeps the fragment (the code) across this redirect; the server never sees it.
    return c.redirect(`/w/${encodeURIComponent(first.id)}/pair`, 302);
  });
  app.get("/w/:ws/pair", wsAccess("responder"), pairPagePolicy(), async (c) => {
    const config: PairConfig = {
      ws: c.get("ws"),
      defaultAgent: "http://127.0.0.1:8788",
    };
    return render(c, { title: "Pair a local agent", ws: c.get("ws") }, pairPage(config), {
      scripts: [pairScript],
    });
  });
  return app;
}

/**
 * Admin → Agents: the workspace's pairings (user, agent id, created, last used, state) and
 * revocation. Mounted under `/w/:ws/admin` (admins only).
 *
 * @example
 * ```ts
 * workspace.route("/pairings", pairingAdmin(clock));
 * ```
 */
export function pairingAdmin(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const show = async (c: Context<AppEnv>, flash: ReturnType<typeof stateBox> | null = null) =>
    render(
      c,
      { title: "Agents", ws: c.get("ws"), active: "admin" },
      pairingsView({ ws: c.get("ws"), pairings: await pairingsOf(c.env.DB, c.get("ws")) }, flash),
    );
  app.get("/", (c) => show(c));
  app.post("/:id/revoke", async (c) => {
    const id = c.req.param("id");
    const p = requirePrincipal(c);
    const done = await revokePairing(c.env.DB, c.get("ws"), id, p.email, clock.now());
    await c.var.audit("pairing.revoked", {
      target: id,
      allowed: done,
      ...(done ? {} : { reason: "not active" }),
    });
    return show(
      c,
      done
        ? stateBox(
            "good",
            "Pairing revoked",
            "The dashboard issues no more tokens for that agent. Also run `fluxrun agent unpair` on the machine.",
            { id: "state-revoked" },
          )
        : stateBox("warn", "Nothing to revoke", "That pairing is not active.", {
            code: "ERR_NOT_FOUND",
          }),
    );
  });
  return app;
}
