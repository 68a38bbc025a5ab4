/**
 * Claim-code pairing, the agent worker's side. Only the local connector binds FLUX_CONNECTOR (its
 * Node process, which holds the claim code and `.fluxrun/pairing.json`); a deployed agent keeps
 * its configured FLUX_DASHBOARD_JWKS and FLUX_WORKSPACES and none of this runs.
 *
 * - `GET /v1/pair` and `POST /v1/pair` are forwarded to the connector, and audited here.
 * - Every other `/v1/*` request runs with the trust the pairings give, read fresh each request
 *   (so `fluxrun agent unpair` takes effect at once): the token's workspace must have a live
 *   pairing, and only that pairing's dashboard keys verify it; the paired dashboards' origins are
 *   allowed for CORS.
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { decodeJwt } from "jose";
import { audit } from "./audit.js";
import { AgentError } from "./errors.js";

/** The bindings pairing reads; the agent's env has them. */
export interface PairingEnv {
  FLUX_CONNECTOR?: Fetcher;
  FLUX_DASHBOARD_JWKS?: string;
  FLUX_WORKSPACES?: string;
  FLUX_ALLOWED_ORIGINS?: string;
  FLUX_AUDIT?: D1Database;
}

type Ctx = Context<{ Bindings: PairingEnv }>;

/** The parts of the connector's answer the audit keeps. */
interface PairingAnswer {
  error?: { code?: string };
  pairing?: string;
}

interface TrustedPairing {
  id: string;
  ws: string;
  dashboard: string;
  jwks: { keys: unknown[] };
  revoked: boolean;
}

async function readTrust(connector: Fetcher): Promise<TrustedPairing[]> {
  const res = await connector.fetch("http://connector/trust");
  const body = (await res.json().catch(() => null)) as { pairings?: TrustedPairing[] } | null;
  if (!res.ok || !Array.isArray(body?.pairings))
    throw new AgentError("ERR_PAIRING_UNAVAILABLE", "The connector's pairings could not be read");
  return body.pairings;
}

/** The workspace a bearer token names, read without verifying (only to pick its keys). */
function claimedWorkspace(header: string | undefined): string | null {
  const m = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/.exec(header ?? "");
  if (!m) return null;
  try {
    const ws = decodeJwt(m[1]!).ws;
    return typeof ws === "string" ? ws : null;
  } catch {
    return null;
  }
}

async function refuse(c: Ctx, err: AgentError, ws: string | null): Promise<Response> {
  await audit(c.env.FLUX_AUDIT, {
    at: new Date().toISOString(),
    action: c.req.path.replace("/v1/", ""),
    outcome: "denied",
    code: err.code,
    sub: null,
    ws,
    app: null,
    trace: null,
    fields: [],
    origin: c.req.header("origin") ?? null,
    jti: null,
  }).catch(() => {});
  return c.json(err.toJSON(), err.status);
}

/**
 * Middleware (first on `/v1/*`): with a FLUX_CONNECTOR binding, sets this request's
 * FLUX_DASHBOARD_JWKS, FLUX_WORKSPACES and FLUX_ALLOWED_ORIGINS from the live pairings, and refuses
 * a token whose workspace's pairing was revoked (ERR_PAIRING_REVOKED) or any token while the
 * connector is paired with nothing (ERR_NOT_PAIRED).
 *
 * @example
 * ```ts
 * app.use("/v1/*", pairingTrust());
 * ```
 */
export function pairingTrust(): MiddlewareHandler<{ Bindings: PairingEnv }> {
  return async (c, next) => {
    const connector = c.env.FLUX_CONNECTOR;
    if (!connector) return next();
    let pairings: TrustedPairing[];
    try {
      pairings = await readTrust(connector);
    } catch (err) {
      return refuse(c, err as AgentError, null);
    }
    const live = pairings.filter((p) => !p.revoked);
    const configured = (c.env.FLUX_ALLOWED_ORIGINS ?? "").split(",").filter(Boolean);
    let keys = live.flatMap((p) => p.jwks.keys);
    let workspaces = live.map((p) => p.ws);
    const header = c.req.header("authorization");
    if (header && c.req.path !== "/v1/pair") {
      const ws = claimedWorkspace(header);
      const own = ws === null ? undefined : live.find((p) => p.ws === ws);
      if (own) {
        keys = own.jwks.keys;
        workspaces = [own.ws];
      } else if (ws !== null && pairings.some((p) => p.ws === ws && p.revoked)) {
        return refuse(
          c,
          new AgentError(
            "ERR_PAIRING_REVOKED",
            "The pairing of this token's workspace was revoked: pair the agent again",
          ),
          ws,
        );
      } else if (!live.length) {
        return refuse(
          c,
          new AgentError(
            "ERR_NOT_PAIRED",
            "This agent is not paired with a dashboard workspace: start `fluxrun agent --pair`",
          ),
          ws,
        );
      }
    }
    c.env = {
      ...c.env,
      FLUX_DASHBOARD_JWKS: keys.length ? JSON.stringify({ keys }) : "",
      FLUX_WORKSPACES: [...new Set(workspaces)].join(","),
      FLUX_ALLOWED_ORIGINS: [...new Set([...configured, ...live.map((p) => p.dashboard)])].join(
        ",",
      ),
    };
    return next();
  };
}

/**
 * `GET /v1/pair` (the connector's id, signing key and claim-code nonce) and `POST /v1/pair` (the
 * dashboard's offer): forwarded to the connector, each attempt audited with its outcome.
 *
 * @example
 * ```ts
 * app.post("/v1/pair", (c) => forwardPairing(c));
 * ```
 */
export async function forwardPairing(c: Ctx): Promise<Response> {
  const connector = c.env.FLUX_CONNECTOR;
  if (!connector)
    return refuse(
      c,
      new AgentError(
        "ERR_PAIRING_UNAVAILABLE",
        "This agent is configured, not paired: only `fluxrun agent` pairs by claim code",
      ),
      null,
    );
  const post = c.req.method === "POST";
  const res = await connector.fetch(`http://connector/${post ? "pair" : "hello"}`, {
    method: c.req.method,
    headers: { "content-type": "application/json" },
    ...(post ? { body: await c.req.text() } : {}),
  });
  const text = await res.text();
  let body: PairingAnswer | null;
  try {
    body = JSON.parse(text) as PairingAnswer | null;
  } catch {
    body = null;
  }
  await audit(c.env.FLUX_AUDIT, {
    at: new Date().toISOString(),
    action: post ? "pair" : "pair.hello",
    outcome: res.ok ? "allowed" : "denied",
    code: typeof body?.error?.code === "string" ? body.error.code : null,
    sub: null,
    ws: null,
    app: null,
    trace: null,
    fields: [],
    origin: c.req.header("origin") ?? null,
    jti: typeof body?.pairing === "string" ? body.pairing : null,
  }).catch(() => {});
  return new Response(text, {
    status: res.status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

/**
 * A pairing connector's health problems: while it is paired with nothing, "pair it" replaces the
 * advice to set FLUX_DASHBOARD_JWKS and FLUX_WORKSPACES (pairing sets both).
 *
 * @example
 * ```ts
 * pairingProblems(["Set FLUX_DASHBOARD_JWKS to …", "Set FLUX_WORKSPACES to …"]); // ["Not paired: …"]
 * ```
 */
export function pairingProblems(problems: readonly string[]): string[] {
  const rest = problems.filter(
    (p) => !p.startsWith("Set FLUX_DASHBOARD_JWKS") && !p.startsWith("Set FLUX_WORKSPACES"),
  );
  if (rest.length === problems.length) return [...problems];
  return [
    ...rest,
    "Not paired with a dashboard workspace: run `fluxrun agent --pair` and enter its claim code under Pair a local agent",
  ];
}
