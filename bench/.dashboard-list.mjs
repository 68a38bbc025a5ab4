// dashboard/src/app.ts
import { Hono as Hono6 } from "hono";

// dashboard/src/deps.ts
var systemClock = {
  now: () => Date.now(),
  id: () => crypto.randomUUID(),
};

// dashboard/src/errors.ts
var DASHBOARD_ERROR_CODES = {
  ERR_AUTH_REQUIRED: 401,
  ERR_AUTH_INVALID: 401,
  ERR_FORBIDDEN: 403,
  ERR_CSRF: 403,
  ERR_NOT_FOUND: 404,
  ERR_BAD_REQUEST: 400,
  ERR_CONFLICT: 409,
  ERR_TOO_LARGE: 413,
  ERR_AGENT_NOT_CONFIGURED: 409,
  ERR_SIGNING_KEY_MISSING: 503,
  ERR_SIGNING_KEY_INVALID: 503,
  ERR_BINDING_MISSING: 503,
  ERR_ACCESS_CONFIG: 503,
  ERR_INGEST_TOKEN: 401,
  ERR_GUARD_NOT_REPAIRED: 409,
  ERR_TRACE_UNREADABLE: 422,
  ERR_DB_NOT_MIGRATED: 503,
  ERR_INTERNAL: 500,
};
var DashboardError = class extends Error {
  name = "DashboardError";
  code;
  fix;
  constructor(code, message, options = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.fix = options.fix;
  }
  get status() {
    return DASHBOARD_ERROR_CODES[this.code];
  }
  toJSON() {
    return {
      error: { code: this.code, message: this.message, ...(this.fix ? { fix: this.fix } : {}) },
    };
  }
};

// dashboard/src/auth/principal.ts
import { getCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";

// dashboard/src/auth/secrets.ts
var API_TOKEN_PREFIX = "fxd_";
var INGEST_TOKEN_PREFIX = "fxi_";
function base64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function newToken(prefix, options = {}) {
  const random = options.random ?? ((b) => crypto.getRandomValues(b));
  return prefix + base64url(random(new Uint8Array(32)));
}
async function hashToken(token) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
function tokenLabel(token) {
  return token.slice(0, 8);
}

// dashboard/src/auth/roles.ts
var ROLES = ["viewer", "responder", "admin"];
var RANK = { viewer: 1, responder: 2, admin: 3 };
function atLeast(role, needed) {
  return RANK[role] >= RANK[needed];
}
function isRole(value) {
  return typeof value === "string" && ROLES.includes(value);
}

// dashboard/src/db/users.ts
async function userByToken(db, token, now) {
  if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 128) return null;
  const hash = await hashToken(token);
  const row = await db
    .prepare(
      `SELECT u.id, u.email, t.last_used_at AS used FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)`,
    )
    .bind(hash, now)
    .first();
  if (!row) return null;
  if (row.used === null || row.used < now - 36e5) {
    await db.prepare("UPDATE api_tokens SET last_used_at = ? WHERE hash = ?").bind(now, hash).run();
  }
  return { id: row.id, email: row.email };
}
async function ensureUser(db, email, deps) {
  await db
    .prepare("INSERT OR IGNORE INTO users (id, email, created_at) VALUES (?, ?, ?)")
    .bind(deps.id(), email, deps.now)
    .run();
  const row = await db.prepare("SELECT id, email FROM users WHERE email = ?").bind(email).first();
  if (!row) throw new Error("Could not create the user");
  return row;
}
async function membershipsOf(db, userId) {
  const { results } = await db
    .prepare(
      `SELECT w.id, w.name, m.role FROM members m JOIN workspaces w ON w.id = m.ws
       WHERE m.user_id = ? ORDER BY w.name`,
    )
    .bind(userId)
    .all();
  return results.filter((r) => isRole(r.role));
}
async function roleIn(db, ws, userId) {
  const row = await db
    .prepare("SELECT role FROM members WHERE ws = ? AND user_id = ?")
    .bind(ws, userId)
    .first();
  return row && isRole(row.role) ? row.role : null;
}
async function membersOf(db, ws) {
  const { results } = await db
    .prepare(
      `SELECT u.id AS userId, u.email, m.role, m.created_at AS since FROM members m
       JOIN users u ON u.id = m.user_id WHERE m.ws = ? ORDER BY u.email`,
    )
    .bind(ws)
    .all();
  return results;
}
async function setMember(db, ws, userId, role, now) {
  const before = await roleIn(db, ws, userId);
  await db
    .prepare(
      `INSERT INTO members (ws, user_id, role, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (ws, user_id) DO UPDATE SET role = excluded.role`,
    )
    .bind(ws, userId, role, now)
    .run();
  return before;
}
async function removeMember(db, ws, userId) {
  const r = await db
    .prepare("DELETE FROM members WHERE ws = ? AND user_id = ?")
    .bind(ws, userId)
    .run();
  return r.meta.changes > 0;
}
async function countAdmins(db, ws) {
  const row = await db
    .prepare("SELECT count(*) AS n FROM members WHERE ws = ? AND role = 'admin'")
    .bind(ws)
    .first();
  return row?.n ?? 0;
}
async function userById(db, id) {
  return db.prepare("SELECT id, email FROM users WHERE id = ?").bind(id).first();
}
async function createApiToken(db, userId, options) {
  const token = options.token ?? newToken(API_TOKEN_PREFIX);
  await db
    .prepare(
      `INSERT OR IGNORE INTO api_tokens (hash, prefix, user_id, name, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      await hashToken(token),
      tokenLabel(token),
      userId,
      options.name,
      options.now,
      options.expiresAt ?? null,
    )
    .run();
  return token;
}
async function tokensOf(db, userId) {
  const { results } = await db
    .prepare(
      `SELECT prefix, name, created_at AS createdAt, last_used_at AS lastUsedAt, revoked_at AS revokedAt
       FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC`,
    )
    .bind(userId)
    .all();
  return results;
}
async function revokeTokens(db, userId, options) {
  const r = options.prefix
    ? await db
        .prepare(
          "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND prefix = ? AND revoked_at IS NULL",
        )
        .bind(options.now, userId, options.prefix)
        .run()
    : await db
        .prepare("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(options.now, userId)
        .run();
  return r.meta.changes;
}

// dashboard/src/auth/access.ts
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from "jose";
var remote = /* @__PURE__ */ new Map();
function keySet(env) {
  if (env.ACCESS_JWKS) {
    try {
      return createLocalJWKSet(JSON.parse(env.ACCESS_JWKS));
    } catch (cause) {
      throw new DashboardError("ERR_ACCESS_CONFIG", "ACCESS_JWKS is not a JWKS document", {
        fix: "Set ACCESS_JWKS to the JSON of https://<team>.cloudflareaccess.com/cdn-cgi/access/certs, or unset it to fetch it",
        cause,
      });
    }
  }
  const domain = env.ACCESS_TEAM_DOMAIN;
  let set = remote.get(domain);
  if (!set) {
    set = createRemoteJWKSet(new URL(`https://${domain}/cdn-cgi/access/certs`));
    remote.set(domain, set);
  }
  return set;
}
function accessConfigured(env) {
  return Boolean(env.ACCESS_TEAM_DOMAIN || env.ACCESS_JWKS);
}
async function verifyAccessJwt(token, env) {
  if (!accessConfigured(env)) return null;
  if (!env.ACCESS_AUD || !env.ACCESS_TEAM_DOMAIN) {
    throw new DashboardError(
      "ERR_ACCESS_CONFIG",
      "Cloudflare Access is half configured: ACCESS_TEAM_DOMAIN and ACCESS_AUD are both needed",
      {
        fix: "Set ACCESS_TEAM_DOMAIN (<team>.cloudflareaccess.com) and ACCESS_AUD (the application's AUD tag)",
      },
    );
  }
  if (token.length > 8192) return null;
  try {
    const { payload } = await jwtVerify(token, keySet(env), {
      issuer: `https://${env.ACCESS_TEAM_DOMAIN}`,
      audience: env.ACCESS_AUD,
      algorithms: ["RS256"],
      clockTolerance: 30,
    });
    return typeof payload.email === "string" && payload.email ? payload.email : null;
  } catch (err) {
    if (err instanceof DashboardError) throw err;
    return null;
  }
}

// dashboard/src/auth/principal.ts
var SESSION_COOKIE = "flux_session";
function authenticate(deps) {
  return createMiddleware(async (c, next) => {
    const db = c.env.DB;
    const now = deps.now();
    let principal = null;
    const auth = c.req.header("authorization");
    if (auth) {
      const m = /^Bearer\s+(\S+)$/i.exec(auth);
      const user = m ? await userByToken(db, m[1], now) : null;
      if (!user) {
        throw new DashboardError(
          "ERR_AUTH_INVALID",
          "The API token is unknown, expired or revoked",
          {
            fix: "Create a new token on your account page, or sign in again",
          },
        );
      }
      principal = { userId: user.id, email: user.email, via: "token" };
    } else {
      const accessJwt = c.req.header("cf-access-jwt-assertion") ?? getCookie(c, "CF_Authorization");
      if (accessJwt) {
        const email = await verifyAccessJwt(accessJwt, c.env);
        if (email) {
          const user = await ensureUser(db, email, { now, id: deps.id });
          principal = { userId: user.id, email: user.email, via: "access" };
        }
      }
      const session = principal ? void 0 : getCookie(c, SESSION_COOKIE);
      if (session) {
        const user = await userByToken(db, session, now);
        if (user) principal = { userId: user.id, email: user.email, via: "cookie" };
      }
    }
    if (
      principal &&
      principal.via !== "token" &&
      !["GET", "HEAD", "OPTIONS"].includes(c.req.method)
    ) {
      const origin = c.req.header("origin");
      if (origin !== new URL(c.req.url).origin) {
        throw new DashboardError("ERR_CSRF", "Refused a write from another origin", {
          fix: "Use the dashboard's own pages, or an API token in the Authorization header",
        });
      }
    }
    c.set("principal", principal);
    await next();
  });
}

// dashboard/src/db/workspaces.ts
async function getWorkspace(db, id) {
  return db
    .prepare(
      "SELECT id, name, agent_origin AS agentOrigin, agent_id AS agentId FROM workspaces WHERE id = ?",
    )
    .bind(id)
    .first();
}
async function createWorkspace(db, ws, now) {
  await db
    .prepare(
      "INSERT OR IGNORE INTO workspaces (id, name, agent_origin, agent_id, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(ws.id, ws.name, ws.agentOrigin ?? null, ws.agentId ?? null, now)
    .run();
}
async function setAgent(db, ws, agent) {
  await db
    .prepare("UPDATE workspaces SET agent_origin = ?, agent_id = ? WHERE id = ?")
    .bind(agent.origin, agent.id, ws)
    .run();
}
async function appsOf(db, ws) {
  const { results } = await db
    .prepare("SELECT name, ws, created_at AS createdAt FROM apps WHERE ws = ? ORDER BY name")
    .bind(ws)
    .all();
  return results;
}
async function appWorkspace(db, app) {
  const row = await db.prepare("SELECT ws FROM apps WHERE name = ?").bind(app).first();
  return row?.ws ?? null;
}
async function registerApp(db, ws, app, now) {
  const owner = await appWorkspace(db, app);
  if (owner === ws) return "exists";
  if (owner) return "taken";
  await db.batch([
    db.prepare("INSERT INTO apps (name, ws, created_at) VALUES (?, ?, ?)").bind(app, ws, now),
    db.prepare("UPDATE executions SET ws = ? WHERE app = ? AND ws IS NULL").bind(ws, app),
  ]);
  return "created";
}
async function createIngestToken(db, app, now) {
  const token = newToken(INGEST_TOKEN_PREFIX);
  await db
    .prepare("INSERT INTO ingest_tokens (hash, prefix, app, created_at) VALUES (?, ?, ?, ?)")
    .bind(await hashToken(token), tokenLabel(token), app, now)
    .run();
  return token;
}
async function appByIngestToken(db, token) {
  if (!token.startsWith(INGEST_TOKEN_PREFIX) || token.length > 128) return null;
  const row = await db
    .prepare("SELECT app FROM ingest_tokens WHERE hash = ? AND revoked_at IS NULL")
    .bind(await hashToken(token))
    .first();
  return row?.app ?? null;
}
async function ingestTokensOf(db, ws) {
  const { results } = await db
    .prepare(
      `SELECT t.prefix, t.app, t.created_at AS createdAt FROM ingest_tokens t JOIN apps a ON a.name = t.app
       WHERE a.ws = ? AND t.revoked_at IS NULL ORDER BY t.created_at DESC`,
    )
    .bind(ws)
    .all();
  return results;
}

// dashboard/src/seed.ts
var done = /* @__PURE__ */ new Set();
var DEV_ADMIN_EMAIL = "admin@localhost";
async function ensureSeed(env, clock) {
  const dev = env.FLUX_DEV === "true" && env.FLUX_DEV_ADMIN_TOKEN ? env.FLUX_DEV_ADMIN_TOKEN : null;
  const bootstrap = env.FLUX_BOOTSTRAP_ADMIN ?? null;
  if (!dev && !bootstrap) return;
  const ws = env.FLUX_DEFAULT_WORKSPACE || "default";
  const key = `${ws}\0${dev ?? ""}\0${bootstrap ?? ""}`;
  if (done.has(key)) return;
  const db = env.DB;
  const now = clock.now();
  await createWorkspace(db, { id: ws, name: ws === "default" ? "Default workspace" : ws }, now);
  if (dev) {
    const user = await ensureUser(db, DEV_ADMIN_EMAIL, { now, id: () => clock.id() });
    await setMember(db, ws, user.id, "admin", now);
    await createApiToken(db, user.id, { name: "local dev (npm start)", now, token: dev });
  }
  if (bootstrap && (await countAdmins(db, ws)) === 0) {
    const user = await ensureUser(db, bootstrap.toLowerCase(), { now, id: () => clock.id() });
    await setMember(db, ws, user.id, "admin", now);
  }
  done.add(key);
}

// dashboard/src/routes/public.ts
import { Hono as Hono2 } from "hono";

// dashboard/src/auth/issuer.ts
import { calculateJwkThumbprint, importJWK, SignJWT } from "jose";
var TOKEN_ISSUER = "fluxrun-dashboard";
var AGENT_ACTIONS = ["unlock", "replay", "preflight"];
var TOKEN_TTL_S = 60;
var cache = /* @__PURE__ */ new Map();
var KEYGEN_FIX =
  "Generate one with `node dashboard/scripts/dev-setup.mjs --print-key` (or jose's generateKeyPair('EdDSA')) and run `wrangler secret put FLUX_DASHBOARD_SIGNING_KEY -c dashboard/wrangler.toml`";
async function parse(raw3) {
  let jwk;
  try {
    jwk = JSON.parse(raw3);
  } catch (cause) {
    throw new DashboardError("ERR_SIGNING_KEY_INVALID", "FLUX_DASHBOARD_SIGNING_KEY is not JSON", {
      fix: KEYGEN_FIX,
      cause,
    });
  }
  if (jwk.kty === "OKP" && jwk.crv === "X25519") {
    throw new DashboardError(
      "ERR_SIGNING_KEY_INVALID",
      "FLUX_DASHBOARD_SIGNING_KEY holds an X25519 key: that is a trace key and belongs to the agent only, never to the dashboard",
      { fix: `Remove it from the dashboard at once. ${KEYGEN_FIX}` },
    );
  }
  if (
    jwk.kty !== "OKP" ||
    jwk.crv !== "Ed25519" ||
    typeof jwk.x !== "string" ||
    typeof jwk.d !== "string"
  ) {
    throw new DashboardError(
      "ERR_SIGNING_KEY_INVALID",
      "FLUX_DASHBOARD_SIGNING_KEY is not an Ed25519 private JWK (kty OKP, crv Ed25519, with d)",
      { fix: KEYGEN_FIX },
    );
  }
  const publicPart = { kty: "OKP", crv: "Ed25519", x: jwk.x };
  const kid =
    typeof jwk.kid === "string" && jwk.kid ? jwk.kid : await calculateJwkThumbprint(publicPart);
  const key = await importJWK({ ...publicPart, d: jwk.d }, "EdDSA");
  return { kid, key, publicJwk: { ...publicPart, kid, alg: "EdDSA", use: "sig" } };
}
function signingKey(env) {
  const raw3 = env.FLUX_DASHBOARD_SIGNING_KEY;
  if (!raw3) {
    return Promise.reject(
      new DashboardError(
        "ERR_SIGNING_KEY_MISSING",
        "The dashboard has no signing key (secret FLUX_DASHBOARD_SIGNING_KEY), so it cannot issue agent tokens",
        { fix: KEYGEN_FIX },
      ),
    );
  }
  let p = cache.get(raw3);
  if (!p) {
    p = parse(raw3);
    p.catch(() => cache.delete(raw3));
    cache.set(raw3, p);
  }
  return p;
}
async function publicJwks(env) {
  try {
    return { keys: [(await signingKey(env)).publicJwk] };
  } catch {
    return { keys: [] };
  }
}
async function issueAgentToken(key, claims, options) {
  const ttl = Math.min(options.ttlSeconds ?? TOKEN_TTL_S, TOKEN_TTL_S);
  const iat = Math.floor(options.now / 1e3);
  const exp = iat + ttl;
  const { aud, sub, ...rest } = claims;
  const token = await new SignJWT({ ...rest })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(aud)
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(options.jti)
    .sign(key.key);
  return { token, iat, exp, jti: options.jti };
}

// dashboard/src/routes/pages.ts
import { Hono } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { TRACE_VERSION as TRACE_VERSION2 } from "fluxrun/trace";

// dashboard/src/db/executions.ts
import { z } from "zod";
var OUTCOMES = ["ok", "error", "exception"];
var intString = z
  .string()
  .regex(/^-?\d{1,16}$/)
  .transform(Number);
var SummaryMetadata = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  app: z.string().min(1).max(128),
  route: z.string().max(1024),
  method: z.string().min(1).max(32),
  status: intString,
  outcome: z.enum(OUTCOMES),
  start: intString,
  durationMs: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number),
  events: intString,
  hosts: z.string().max(2048).optional(),
  errorClass: z.string().max(256).optional(),
  truncated: z.string().optional(),
  runtime: z.string().max(64).optional(),
  version: z.string().max(16).optional(),
});
function rowFromMetadata(meta, r2Key) {
  const parsed = SummaryMetadata.safeParse(meta ?? {});
  if (!parsed.success) return null;
  const m = parsed.data;
  return {
    traceId: m.traceId,
    app: m.app,
    ws: null,
    route: m.route,
    method: m.method,
    status: m.status,
    statusClass: Math.floor(m.status / 100),
    outcome: m.outcome,
    start: m.start,
    durationMs: m.durationMs,
    events: m.events,
    hosts: m.hosts ?? "",
    errorClass: m.errorClass ?? null,
    truncated: m.truncated === "1" || m.truncated === "true",
    runtime: m.runtime ?? "",
    version: m.version ?? "",
    r2Key,
  };
}
function rowFromSummary(s, r2Key, version) {
  return {
    traceId: s.traceId,
    app: s.app,
    ws: null,
    route: s.route.slice(0, 1024),
    method: s.method,
    status: s.status,
    statusClass: Math.floor(s.status / 100),
    outcome: s.outcome,
    start: s.start,
    durationMs: s.durationMs,
    events: Object.values(s.eventCounts).reduce((a, b) => a + b, 0),
    hosts: [...new Set(s.fetches.map((f) => f.host))].join(",").slice(0, 2048),
    errorClass: s.errorClass ?? null,
    truncated: s.truncated,
    runtime: s.runtime,
    version,
    r2Key,
  };
}
function insertStatement(db, r, options) {
  return db
    .prepare(
      `INSERT OR IGNORE INTO executions (trace_id, app, ws, route, method, status, status_class, outcome,
         start, duration_ms, events, hosts, error_class, truncated, runtime, version, r2_key, indexed_at, batch)
       VALUES (?1, ?2, (SELECT ws FROM apps WHERE name = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)`,
    )
    .bind(
      r.traceId,
      r.app,
      r.route,
      r.method,
      r.status,
      r.statusClass,
      r.outcome,
      r.start,
      r.durationMs,
      r.events,
      r.hosts,
      r.errorClass,
      r.truncated ? 1 : 0,
      r.runtime,
      r.version,
      r.r2Key,
      options.now,
      options.batch,
    );
}
var COLUMNS = `trace_id AS traceId, app, ws, route, method, status, status_class AS statusClass,
  outcome, start, duration_ms AS durationMs, events, hosts, error_class AS errorClass, truncated,
  runtime, version, r2_key AS r2Key`;
var fromRaw = (r) => ({ ...r, truncated: r.truncated === 1 });
function encodeCursor(c) {
  return `${c.start.toString(36)}.${c.traceId}`;
}
function decodeCursor(s) {
  const m = /^(-?[0-9a-z]{1,12})\.([0-9a-f]{32})$/.exec(s ?? "");
  if (!m) return null;
  const start = parseInt(m[1], 36);
  return Number.isSafeInteger(start) ? { start, traceId: m[2] } : null;
}
function where(f) {
  const parts = ["ws = ?"];
  const args = [f.ws];
  if (f.app) (parts.push("app = ?"), args.push(f.app));
  if (f.route) (parts.push("route = ?"), args.push(f.route));
  if (f.statusClass) (parts.push("status_class = ?"), args.push(f.statusClass));
  if (f.outcome) (parts.push("outcome = ?"), args.push(f.outcome));
  if (f.errorClass) (parts.push("error_class = ?"), args.push(f.errorClass));
  if (f.from !== void 0) (parts.push("start >= ?"), args.push(f.from));
  if (f.to !== void 0) (parts.push("start < ?"), args.push(f.to));
  return { sql: parts.join(" AND "), args };
}
async function listExecutions(db, filter, options = {}) {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
  const w = where(filter);
  let sql = `SELECT ${COLUMNS} FROM executions WHERE ${w.sql}`;
  const args = [...w.args];
  if (options.cursor) {
    sql += " AND (start, trace_id) < (?, ?)";
    args.push(options.cursor.start, options.cursor.traceId);
  }
  sql += " ORDER BY start DESC, trace_id DESC LIMIT ?";
  args.push(limit + 1);
  const { results } = await db
    .prepare(sql)
    .bind(...args)
    .all();
  const rows = results.slice(0, limit).map(fromRaw);
  const last = rows[rows.length - 1];
  return {
    rows,
    next:
      results.length > limit && last
        ? encodeCursor({ start: last.start, traceId: last.traceId })
        : null,
  };
}
async function countExecutions(db, filter, cap = 1e4) {
  const w = where(filter);
  const row = await db
    .prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM executions WHERE ${w.sql} LIMIT ?)`)
    .bind(...w.args, cap + 1)
    .first();
  const n = row?.n ?? 0;
  return { count: Math.min(n, cap), capped: n > cap };
}
async function getExecution(db, ws, traceId) {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return null;
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM executions WHERE trace_id = ? AND ws = ?`)
    .bind(traceId, ws)
    .first();
  return row ? fromRaw(row) : null;
}
async function findExecution(db, traceId) {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return null;
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM executions WHERE trace_id = ?`)
    .bind(traceId)
    .first();
  return row ? fromRaw(row) : null;
}
async function errorClassesOf(db, ws, options) {
  const { results } = await db
    .prepare(
      `SELECT error_class AS errorClass, count(*) AS n FROM executions
       WHERE ws = ? ${options.app ? "AND app = ?" : ""} AND error_class IS NOT NULL AND start >= ?
       GROUP BY error_class ORDER BY n DESC LIMIT 20`,
    )
    .bind(...(options.app ? [ws, options.app, options.from] : [ws, options.from]))
    .all();
  return results;
}
async function hasExecutions(db, ws) {
  const row = await db
    .prepare("SELECT 1 AS x FROM executions WHERE ws = ? LIMIT 1")
    .bind(ws)
    .first();
  return row !== null;
}

// dashboard/src/db/rollups.ts
var BUCKET_MS = 5 * 6e4;
var DURATION_BINS = [
  1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1e3, 1500, 2e3, 3e3, 5e3,
  1e4, 3e4, 6e4,
];
var BIN_CASE = `CASE ${DURATION_BINS.map((b, i) => `WHEN duration_ms <= ${b} THEN ${i}`).join(" ")} ELSE ${DURATION_BINS.length} END`;
function rollupStatements(db, batch, traceIds) {
  if (!traceIds.length) return [];
  const ids = traceIds.map(() => "?").join(",");
  const from = `FROM executions WHERE trace_id IN (${ids}) AND batch = ?`;
  return [
    db
      .prepare(
        `INSERT INTO rollups (app, route, bucket, requests, ok, error, exception, s2xx, s3xx, s4xx, s5xx)
         SELECT app, route, (start / ${BUCKET_MS}) * ${BUCKET_MS} AS b, count(*),
           sum(outcome = 'ok'), sum(outcome = 'error'), sum(outcome = 'exception'),
           sum(status_class = 2), sum(status_class = 3), sum(status_class = 4), sum(status_class = 5)
         ${from} GROUP BY app, route, b
         ON CONFLICT (app, bucket, route) DO UPDATE SET requests = requests + excluded.requests,
           ok = ok + excluded.ok, error = error + excluded.error, exception = exception + excluded.exception,
           s2xx = s2xx + excluded.s2xx, s3xx = s3xx + excluded.s3xx, s4xx = s4xx + excluded.s4xx,
           s5xx = s5xx + excluded.s5xx`,
      )
      .bind(...traceIds, batch),
    db
      .prepare(
        `INSERT INTO rollup_durations (app, route, bucket, bin, n)
         SELECT app, route, (start / ${BUCKET_MS}) * ${BUCKET_MS} AS b, ${BIN_CASE} AS k, count(*)
         ${from} GROUP BY app, route, b, k
         ON CONFLICT (app, bucket, route, bin) DO UPDATE SET n = n + excluded.n`,
      )
      .bind(...traceIds, batch),
  ];
}
function quantile(bins, q) {
  const total = bins.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const target = q * total;
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    const n = bins[i] ?? 0;
    if (n && seen + n >= target) {
      const lo = i === 0 ? 0 : DURATION_BINS[i - 1];
      const hi = DURATION_BINS[i] ?? lo * 2;
      return lo + ((hi - lo) * (target - seen)) / n;
    }
    seen += n;
  }
  return DURATION_BINS[DURATION_BINS.length - 1];
}
async function overview(db, apps, options) {
  const span = Math.max(options.to - options.from, BUCKET_MS);
  const step = Math.max(
    BUCKET_MS,
    Math.ceil(span / (options.points ?? 48) / BUCKET_MS) * BUCKET_MS,
  );
  const from = Math.floor(options.from / step) * step;
  const emptyTotals = {
    requests: 0,
    ok: 0,
    error: 0,
    exception: 0,
    s2xx: 0,
    s3xx: 0,
    s4xx: 0,
    s5xx: 0,
  };
  if (!apps.length)
    return { step, points: [], totals: { ...emptyTotals, p50: null, p95: null }, routes: [] };
  const inApps = `app IN (${apps.map(() => "?").join(",")})`;
  const routeSql = options.route ? " AND route = ?" : "";
  const args = [...apps, from, options.to, ...(options.route ? [options.route] : [])];
  const [series, hist, routes, routeHist] = await db.batch([
    db
      .prepare(
        `SELECT CAST((bucket - ?) / ? AS INTEGER) AS i, sum(requests) AS requests, sum(error) + sum(exception) AS errors,
           sum(ok) AS ok, sum(error) AS error, sum(exception) AS exception,
           sum(s2xx) AS s2xx, sum(s3xx) AS s3xx, sum(s4xx) AS s4xx, sum(s5xx) AS s5xx
         FROM rollups WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY i ORDER BY i`,
      )
      .bind(from, step, ...args),
    db
      .prepare(
        `SELECT CAST((bucket - ?) / ? AS INTEGER) AS i, bin, sum(n) AS n FROM rollup_durations
         WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY i, bin`,
      )
      .bind(from, step, ...args),
    db
      .prepare(
        `SELECT route, sum(requests) AS requests, sum(error) + sum(exception) AS errors FROM rollups
         WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY route ORDER BY requests DESC LIMIT 20`,
      )
      .bind(...args),
    db
      .prepare(
        `SELECT route, bin, sum(n) AS n FROM rollup_durations
         WHERE ${inApps} AND bucket >= ? AND bucket < ?${routeSql} GROUP BY route, bin`,
      )
      .bind(...args),
  ]);
  const n = Math.ceil((options.to - from) / step);
  const binsAt = Array.from({ length: n }, () => new Array(DURATION_BINS.length + 1).fill(0));
  const allBins = new Array(DURATION_BINS.length + 1).fill(0);
  for (const r of hist.results) {
    const row = binsAt[Number(r.i)];
    if (row) row[Number(r.bin)] += Number(r.n);
    allBins[Number(r.bin)] += Number(r.n);
  }
  const totals = { ...emptyTotals };
  const byIndex = /* @__PURE__ */ new Map();
  for (const r of series.results) {
    byIndex.set(Number(r.i), r);
    for (const k of Object.keys(totals)) totals[k] += Number(r[k] ?? 0);
  }
  const points = binsAt.map((bins, i) => {
    const r = byIndex.get(i);
    return {
      t: from + i * step,
      requests: Number(r?.requests ?? 0),
      errors: Number(r?.errors ?? 0),
      p50: quantile(bins, 0.5),
      p95: quantile(bins, 0.95),
    };
  });
  const perRoute = /* @__PURE__ */ new Map();
  for (const r of routeHist.results) {
    let bins = perRoute.get(String(r.route));
    if (!bins) {
      bins = new Array(DURATION_BINS.length + 1).fill(0);
      perRoute.set(String(r.route), bins);
    }
    bins[Number(r.bin)] += Number(r.n);
  }
  return {
    step,
    points,
    totals: { ...totals, p50: quantile(allBins, 0.5), p95: quantile(allBins, 0.95) },
    routes: routes.results.map((r) => ({
      route: String(r.route),
      requests: Number(r.requests),
      errors: Number(r.errors),
      p95: quantile(perRoute.get(String(r.route)) ?? [], 0.95),
    })),
  };
}
async function routesOf(db, apps, options) {
  if (!apps.length) return [];
  const { results } = await db
    .prepare(
      `SELECT route, sum(requests) AS n FROM rollups WHERE app IN (${apps.map(() => "?").join(",")})
       AND bucket >= ? AND bucket < ? GROUP BY route ORDER BY n DESC LIMIT 200`,
    )
    .bind(...apps, Math.floor(options.from / BUCKET_MS) * BUCKET_MS, options.to)
    .all();
  return results.map((r) => r.route);
}
async function facets(db, apps, options) {
  const zero = { ok: 0, error: 0, exception: 0, s2xx: 0, s3xx: 0, s4xx: 0, s5xx: 0 };
  if (!apps.length) return zero;
  const row = await db
    .prepare(
      `SELECT sum(ok) AS ok, sum(error) AS error, sum(exception) AS exception, sum(s2xx) AS s2xx,
         sum(s3xx) AS s3xx, sum(s4xx) AS s4xx, sum(s5xx) AS s5xx FROM rollups
       WHERE app IN (${apps.map(() => "?").join(",")}) AND bucket >= ? AND bucket < ?${options.route ? " AND route = ?" : ""}`,
    )
    .bind(
      ...apps,
      Math.floor(options.from / BUCKET_MS) * BUCKET_MS,
      options.to,
      ...(options.route ? [options.route] : []),
    )
    .first();
  const out = { ...zero };
  for (const k of Object.keys(zero)) out[k] = Number(row?.[k] ?? 0);
  return out;
}

// dashboard/src/db/guards.ts
import { z as z2 } from "zod";
var Outcome = z2.object({
  status: z2.number().int().nullable(),
  headers: z2.array(z2.string().max(256)).max(200),
  body: z2.string().max(256).nullable(),
  error: z2.object({ name: z2.string().max(256) }).nullable(),
});
var ReplayReportSchema = z2.object({
  traceId: z2.string().regex(/^[0-9a-f]{32}$/),
  app: z2.string().max(128),
  route: z2.string().max(1024),
  method: z2.string().max(32),
  recordedAt: z2.string().max(64),
  verdict: z2.enum(["match", "diverged"]),
  recorded: Outcome,
  replayed: Outcome,
  divergences: z2
    .array(
      z2.object({
        code: z2.string().max(64),
        seq: z2.number().int().nullable(),
        kind: z2.string().max(64),
        op: z2.string().max(256),
        target: z2.string().max(2048),
        message: z2.string().max(2048),
        fields: z2.array(z2.string().max(64)).max(50).optional(),
        expected: z2.unknown().optional(),
        actual: z2.unknown().optional(),
        closest: z2
          .object({ seq: z2.number().int(), op: z2.string(), target: z2.string() })
          .nullable()
          .optional(),
      }),
    )
    .max(500),
  unconsumed: z2
    .array(
      z2.object({
        seq: z2.number().int(),
        kind: z2.string(),
        op: z2.string(),
        target: z2.string(),
      }),
    )
    .max(5e3),
  served: z2.number().int().nonnegative(),
  liveNetworkAttempts: z2.number().int().nonnegative(),
  /** The effects served, in replay order (`kind op target`); absent from older agents. */
  boundaries: z2.array(z2.string().max(2400)).max(5e3).optional(),
  liveAllowed: z2
    .array(z2.object({ op: z2.string(), target: z2.string() }))
    .max(500)
    .optional(),
});
function isRepaired(report) {
  const r = report.replayed;
  return !r.error && r.status !== null && r.status < 500;
}
async function saveGuard(db, guard, now) {
  await db
    .prepare(
      `INSERT INTO guards (id, ws, app, trace_id, route, method, status, body_digest, error_name, headers, boundaries, report, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (ws, trace_id) DO UPDATE SET status = excluded.status, body_digest = excluded.body_digest,
         error_name = excluded.error_name, headers = excluded.headers, boundaries = excluded.boundaries,
         report = excluded.report, created_by = excluded.created_by, created_at = excluded.created_at`,
    )
    .bind(
      guard.id,
      guard.ws,
      guard.app,
      guard.traceId,
      guard.route,
      guard.method,
      guard.status,
      guard.bodyDigest,
      guard.errorName,
      JSON.stringify(guard.headers),
      JSON.stringify(guard.boundaries),
      JSON.stringify(guard.report),
      guard.createdBy,
      now,
    )
    .run();
}
var COLS = `id, ws, app, trace_id AS traceId, route, method, status, body_digest AS bodyDigest,
  error_name AS errorName, headers, boundaries, created_by AS createdBy, created_at AS createdAt`;
var fromRaw2 = (r) => ({
  ...r,
  headers: JSON.parse(r.headers),
  boundaries: JSON.parse(r.boundaries),
});
async function guardsOf(db, ws) {
  const { results } = await db
    .prepare(`SELECT ${COLS} FROM guards WHERE ws = ? ORDER BY created_at DESC LIMIT 500`)
    .bind(ws)
    .all();
  return results.map(fromRaw2);
}
async function guardFor(db, ws, traceId) {
  const row = await db
    .prepare(`SELECT ${COLS}, report FROM guards WHERE ws = ? AND trace_id = ?`)
    .bind(ws, traceId)
    .first();
  return row ? { ...fromRaw2(row), report: JSON.parse(row.report) } : null;
}
function guardCommand(traceId, origin = "<dashboard>", ws = "<workspace>") {
  return [
    `curl -sf -H "Authorization: Bearer $FLUX_DASHBOARD_TOKEN" ${origin}/w/${ws}/executions/${traceId}/trace.cbor -o ${traceId}.cbor`,
    `npx fluxrun guard ${traceId}.cbor --out test/guards`,
  ].join("\n");
}

// dashboard/src/db/audit.ts
async function audit(db, entry, now) {
  await db
    .prepare(
      "INSERT INTO audit (ws, at, actor, action, target, allowed, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(
      entry.ws,
      now,
      entry.actor,
      entry.action,
      entry.target ?? null,
      entry.allowed ? 1 : 0,
      entry.reason ?? null,
      entry.detail ? JSON.stringify(entry.detail) : null,
    )
    .run();
}
async function auditOf(db, ws, options = {}) {
  const limit = Math.min(options.limit ?? 100, 1e3);
  const { results } = await db
    .prepare(
      `SELECT id, ws, at, actor, action, target, allowed, reason, detail FROM audit
       WHERE ws = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    )
    .bind(ws, options.before ?? Number.MAX_SAFE_INTEGER, limit)
    .all();
  return results.map((r) => ({
    ...r,
    allowed: r.allowed === 1,
    detail: r.detail ? JSON.parse(r.detail) : {},
  }));
}

// dashboard/src/indexer/sweep.ts
import { readTrace } from "fluxrun/trace";

// dashboard/src/indexer/store.ts
var CHUNK = 50;
async function storeRows(db, rows, options) {
  const id = options.id ?? (() => crypto.randomUUID());
  let inserted = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const batch = id();
    const statements2 = [];
    if (options.defaultWorkspace) {
      for (const app of new Set(chunk.map((r) => r.app))) {
        statements2.push(
          db
            .prepare(
              "INSERT OR IGNORE INTO apps (name, ws, created_at) SELECT ?, id, ? FROM workspaces WHERE id = ?",
            )
            .bind(app, options.now, options.defaultWorkspace),
        );
      }
    }
    const first = statements2.length;
    for (const r of chunk) statements2.push(insertStatement(db, r, { now: options.now, batch }));
    statements2.push(
      ...rollupStatements(
        db,
        batch,
        chunk.map((r) => r.traceId),
      ),
    );
    const results = await db.batch(statements2);
    for (let j = first; j < first + chunk.length; j++) inserted += results[j]?.meta.changes ?? 0;
  }
  return inserted;
}

// dashboard/src/indexer/sweep.ts
var TRACE_ROOT = "traces/";
var DEFAULT_LOOKBACK_MS = 5 * 6e4;
var PAGE = 1e3;
async function appPrefixes(bucket) {
  const out = [];
  let cursor;
  do {
    const page2 = await bucket.list({
      prefix: TRACE_ROOT,
      delimiter: "/",
      limit: PAGE,
      ...(cursor ? { cursor } : {}),
    });
    out.push(...page2.delimitedPrefixes);
    cursor = page2.truncated ? page2.cursor : void 0;
  } while (cursor);
  return out;
}
function prefixOf(app) {
  return `${TRACE_ROOT}${app.replace(/[^A-Za-z0-9._-]/g, "_")}/`;
}
var KEY_TIME = /^(\d{4}-\d{2}-\d{2})\/(\d{2})\/(\d{2})(\d{2})(\d{2})(\d{3})-/;
function pad(n, w = 2) {
  return String(n).padStart(w, "0");
}
function lookbackKey(prefix, key, lookbackMs) {
  const m = KEY_TIME.exec(key.slice(prefix.length));
  if (!m) return key;
  const t = Date.parse(`${m[1]}T${m[2]}:${m[4]}:${m[5]}.${m[6]}Z`) - lookbackMs;
  if (!Number.isFinite(t)) return key;
  const d = new Date(t);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const hh = pad(d.getUTCHours());
  return `${prefix}${day}/${hh}/${hh}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(d.getUTCMilliseconds(), 3)}`;
}
async function rowFor(bucket, obj, budget) {
  const row = rowFromMetadata(obj.customMetadata, obj.key);
  if (row) return row;
  if (!obj.key.endsWith(".cbor")) return "not a trace (.cbor) object";
  if (budget.reads <= 0) return "no summary metadata; read budget spent (next run retries)";
  budget.reads--;
  const body = await bucket.get(obj.key);
  if (!body) return "object deleted while indexing";
  try {
    const { head } = readTrace(new Uint8Array(await body.arrayBuffer()));
    return rowFromSummary(head.summary, obj.key, String(head.version));
  } catch (err) {
    const code = err.code;
    return `unreadable trace: ${typeof code === "string" ? code : "ERR_TRACE_CORRUPT"}`;
  }
}
async function sweep(db, bucket, options) {
  const prefixes = options.prefixes ?? (await appPrefixes(bucket));
  const maxPages = options.maxPages ?? 20;
  const lookback = options.lookbackMs ?? DEFAULT_LOOKBACK_MS;
  const budget = { reads: options.maxReads ?? 50 };
  const result = {
    prefixes: prefixes.length,
    listed: 0,
    inserted: 0,
    skipped: 0,
    done: true,
  };
  for (const prefix of prefixes) {
    if (options.rebuild) {
      await db
        .prepare(
          `INSERT INTO ingest_cursor (prefix, rebuild_key) VALUES (?, '')
           ON CONFLICT (prefix) DO UPDATE SET rebuild_key = ''`,
        )
        .bind(prefix)
        .run();
    }
    const cur = await db
      .prepare("SELECT last_key, rebuild_key FROM ingest_cursor WHERE prefix = ?")
      .bind(prefix)
      .first();
    const rebuilding = cur?.rebuild_key !== null && cur?.rebuild_key !== void 0;
    let after = rebuilding
      ? cur.rebuild_key || void 0
      : cur?.last_key
        ? lookbackKey(prefix, cur.last_key, lookback)
        : void 0;
    let lastKey = cur?.last_key ?? null;
    let lookbackPages = rebuilding || !cur?.last_key ? 0 : Math.floor(maxPages / 4);
    if (!rebuilding && cur?.last_key && lookbackPages === 0) after = cur.last_key;
    let pages = 0;
    let finished = false;
    let stats = { indexed: 0, skipped: 0 };
    let error = null;
    try {
      while (pages < maxPages) {
        const listOptions = {
          prefix,
          limit: options.pageSize ?? PAGE,
          include: ["customMetadata"],
          ...(after ? { startAfter: after } : {}),
        };
        const page2 = await bucket.list(listOptions);
        pages++;
        result.listed += page2.objects.length;
        const rows = [];
        const skips = [];
        for (const obj of page2.objects) {
          const r = await rowFor(bucket, obj, budget);
          if (typeof r === "string") skips.push([obj.key, r]);
          else rows.push(r);
        }
        const inserted = await storeRows(db, rows, {
          now: options.now,
          defaultWorkspace: options.defaultWorkspace,
        });
        if (skips.length) {
          await db.batch(
            skips.map(([key, reason]) =>
              db
                .prepare(
                  "INSERT OR REPLACE INTO ingest_skips (r2_key, reason, at) VALUES (?, ?, ?)",
                )
                .bind(key, reason, options.now),
            ),
          );
        }
        result.inserted += inserted;
        result.skipped += skips.length;
        stats = { indexed: stats.indexed + inserted, skipped: stats.skipped + skips.length };
        const last = page2.objects[page2.objects.length - 1]?.key;
        if (last) {
          after = last;
          if (!lastKey || last > lastKey) lastKey = last;
          if (lookbackPages > 0 && cur?.last_key && last <= cur.last_key && --lookbackPages === 0) {
            after = cur.last_key;
          }
        }
        if (!page2.truncated || !last) {
          finished = true;
          break;
        }
      }
    } catch (err) {
      error = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : "sweep failed";
    }
    if (!finished) result.done = false;
    await db
      .prepare(
        `INSERT INTO ingest_cursor (prefix, last_key, rebuild_key, swept_at, indexed, skipped, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (prefix) DO UPDATE SET last_key = ?2, rebuild_key = ?3, swept_at = ?4,
           indexed = indexed + ?5, skipped = skipped + ?6, last_error = ?7`,
      )
      .bind(
        prefix,
        lastKey,
        rebuilding && !finished ? (after ?? "") : null,
        options.now,
        stats.indexed,
        stats.skipped,
        error,
      )
      .run();
  }
  return result;
}
async function cursorStatus(db, prefixes) {
  const filter = prefixes ? `WHERE prefix IN (${prefixes.map(() => "?").join(",") || "''"})` : "";
  const { results } = await db
    .prepare(
      `SELECT prefix, last_key AS lastKey, rebuild_key IS NOT NULL AS rebuilding, swept_at AS sweptAt,
         indexed, skipped, last_error AS lastError FROM ingest_cursor ${filter} ORDER BY prefix`,
    )
    .bind(...(prefixes ?? []))
    .all();
  return results.map((r) => ({ ...r, rebuilding: r.rebuilding === 1 }));
}

// dashboard/src/views/html.ts
var Html = class {
  value;
  constructor(value) {
    this.value = value;
  }
  toString() {
    return this.value;
  }
};
var ESC = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (ch) => ESC[ch]);
}
function render(v) {
  if (v === null || v === void 0 || v === false) return "";
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  return escapeHtml(String(v));
}
function h(strings, ...values) {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "");
  return new Html(out);
}
function raw(s) {
  return new Html(s);
}
function jsonScript(value) {
  return new Html(
    JSON.stringify(value)
      .replace(/</g, "\\u003c")
      .replace(/\u2028|\u2029/g, ""),
  );
}

// dashboard/src/views/layout.ts
var CSS = `
:root{--bg:#f6f7f9;--panel:#fff;--ink:#1b1f24;--muted:#5d6773;--line:#e3e6ea;--accent:#3d5afe;--accent-soft:#eef1ff;
--ok:#1a7f37;--ok-soft:#e6f4ea;--warn:#9a6700;--warn-soft:#fff5d6;--bad:#c62828;--bad-soft:#fdecec;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}html,body{margin:0;padding:0}[hidden]{display:none!important}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:18px;padding:0 24px;height:52px;background:#151a23;color:#e9edf3}
header.top a{color:#c8d0dc}header.top a.on{color:#fff;font-weight:600}
.brand{font-weight:700;letter-spacing:.2px;color:#fff!important;display:flex;gap:8px;align-items:center}
.brand i{display:inline-block;width:18px;height:18px;border-radius:5px;background:linear-gradient(135deg,#5c7cfa,#22b8cf)}
header nav{display:flex;gap:16px}header .sp{flex:1}
header select{background:#232a36;color:#e9edf3;border:1px solid #364050;border-radius:6px;padding:4px 8px}
header .who{color:#9aa5b4;font-size:13px}
header form{margin:0}header button.link{background:none;border:0;color:#c8d0dc;cursor:pointer;font:inherit;padding:0}
main{max-width:1280px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:0 0 10px}h3{font-size:13px;margin:0 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.4px}
.sub{color:var(--muted);margin:0 0 16px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:16px;margin-bottom:16px}
.grid{display:grid;gap:16px}.g2{grid-template-columns:1fr 1fr}.g3{grid-template-columns:repeat(3,1fr)}.g4{grid-template-columns:repeat(4,1fr)}
@media (max-width:900px){.g2,.g3,.g4{grid-template-columns:1fr}}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;background:#fafbfc}
tr.row{cursor:pointer}tr.row:hover td{background:#f7f9ff}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.mono,code{font-family:var(--mono);font-size:12.5px}
code.cmd{display:block;background:#151a23;color:#e9edf3;padding:10px 12px;border-radius:8px;overflow-x:auto;white-space:pre}
.badge{display:inline-block;padding:1px 7px;border-radius:999px;font-size:12px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.st-2{background:var(--ok-soft);color:var(--ok)}.st-3{background:#eef2f6;color:#41505f}.st-4{background:var(--warn-soft);color:var(--warn)}.st-5{background:var(--bad-soft);color:var(--bad)}.st-none{background:#eef2f6;color:var(--muted)}
.oc-ok{color:var(--ok)}.oc-error{color:var(--warn)}.oc-exception{color:var(--bad);font-weight:600}
.k{display:inline-block;min-width:70px;padding:1px 6px;border-radius:4px;font-size:11.5px;font-weight:600;text-align:center;background:#eef2f6;color:#41505f}
.k-request,.k-response{background:#e7ecff;color:#3346c9}.k-fetch{background:#e3f6f9;color:#0b7285}.k-binding{background:#f3e8ff;color:#7b2cbf}
.k-host{background:#fff0e0;color:#b35c00}.k-exception{background:var(--bad-soft);color:var(--bad)}.k-unsupported{background:var(--warn-soft);color:var(--warn)}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end}
label.f{display:flex;flex-direction:column;gap:3px;font-size:12px;color:var(--muted)}
input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #cfd5dc;border-radius:6px;background:#fff;color:var(--ink)}
button,.btn{font:inherit;font-weight:600;padding:7px 14px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;display:inline-block}
button.sec,.btn.sec{background:#fff;color:var(--accent)}button:disabled{opacity:.5;cursor:default}
button.danger{background:#fff;color:var(--bad);border-color:#e6b3b3}
.counts{display:flex;gap:18px;align-items:baseline;flex-wrap:wrap;margin:14px 0 10px;color:var(--muted)}
.counts b{color:var(--ink)}
.pager{display:flex;gap:12px;justify-content:flex-end;margin-top:12px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}.kv dt{color:var(--muted)}.kv dd{margin:0}
.state{border-radius:10px;padding:14px 16px;margin-bottom:16px;border:1px solid}
.state h2{margin:0 0 4px}.state p{margin:4px 0}
.state.info{background:var(--accent-soft);border-color:#cbd4ff}.state.warn{background:var(--warn-soft);border-color:#f0d98c}
.state.bad{background:var(--bad-soft);border-color:#f2b8b8}.state.good{background:var(--ok-soft);border-color:#a9dcb5}
.sealed{color:var(--muted);font-style:italic}
.wf{position:relative;height:16px;background:#f1f3f6;border-radius:3px;min-width:240px}
.wf span{position:absolute;top:3px;height:10px;border-radius:2px;background:#7c8ea3;min-width:2px}
.wf span.fetch{background:#15aabf}.wf span.binding{background:#9c36b5}.wf span.host{background:#f08c00}.wf span.request,.wf span.response{background:#4c6ef5}.wf span.err{background:var(--bad)}
.muted{color:var(--muted)}.small{font-size:12px}.right{text-align:right}.nowrap{white-space:nowrap}
.tag{display:inline-block;padding:0 6px;border-radius:4px;background:#eef2f6;color:#41505f;font-size:11.5px;margin:0 3px 2px 0}
.tag.w{background:var(--warn-soft);color:var(--warn)}
.fields{columns:2;column-gap:24px}.fields label{display:block;break-inside:avoid;padding:2px 0}
pre.val{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px;margin:4px 0 10px;max-height:320px;overflow:auto;font-family:var(--mono);font-size:12.5px}
.actions{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
svg text{font:11px system-ui,sans-serif;fill:#5d6773}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.stat b{display:block;font-size:22px}.stat span{color:var(--muted);font-size:12px}
details summary{cursor:pointer;color:var(--muted)}
`;
function nav(shell) {
  if (!shell.ws) return h``;
  const item = (key, href, label) =>
    h`<a href="${href}" class="${shell.active === key ? "on" : ""}">${label}</a>`;
  const base = `/w/${encodeURIComponent(shell.ws)}`;
  return h`<nav>
    ${item("executions", `${base}/executions`, "Executions")}
    ${item("overview", `${base}/overview`, "Overview")}
    ${item("guards", `${base}/guards`, "Guards")}
    ${item("diagnostics", `${base}/diagnostics`, "Diagnostics")}
    ${shell.role === "admin" ? item("admin", `${base}/admin`, "Admin") : null}
  </nav>`;
}
function switcher(shell) {
  const list = shell.workspaces ?? [];
  if (!shell.ws || list.length < 2) return h``;
  return h`<select id="ws-switch" aria-label="Workspace">
    ${list.map((w) => h`<option value="${w.id}" ${w.id === shell.ws ? raw("selected") : null}>${w.name}</option>`)}
  </select>`;
}
function page(shell, body, scripts = []) {
  const wsName = shell.workspaces?.find((w) => w.id === shell.ws)?.name;
  return h`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${shell.title} · FluxRun</title><style>${raw(CSS)}</style></head>
<body>
<header class="top">
  <a class="brand" href="/"><i></i>FluxRun</a>
  ${shell.ws && (shell.workspaces?.length ?? 0) < 2 ? h`<span class="who">${wsName ?? shell.ws}</span>` : null}
  ${switcher(shell)}
  ${nav(shell)}
  <span class="sp"></span>
  ${
    shell.email
      ? h`<span class="who">${shell.email}${shell.role ? h` · ${shell.role}` : null}</span>
    <a href="/account" class="${shell.active === "account" ? "on" : ""}">Account</a>
    <form method="post" action="/logout"><button class="link" type="submit">Sign out</button></form>`
      : null
  }
</header>
<main>${body}</main>
<script nonce="${shell.nonce}">
document.getElementById("ws-switch")?.addEventListener("change", (e) => { location.href = "/w/" + encodeURIComponent(e.target.value) + "/executions"; });
</script>
${scripts.map((s) => h`<script nonce="${shell.nonce}">${s}</script>`)}
</body></html>`.value;
}
function stateBox(kind, title, body, options = {}) {
  return h`<div class="state ${kind}" ${options.id ? h`id="${options.id}"` : null} ${options.code ? h`data-code="${options.code}"` : null}>
    <h2>${title}</h2>${typeof body === "string" ? h`<p>${body}</p>` : body}
  </div>`;
}

// dashboard/src/views/format.ts
function pad2(n, w = 2) {
  return String(n).padStart(w, "0");
}
function formatTime(ms, options = {}) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "\u2014";
  const base = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return options.millis === false ? base : `${base}.${pad2(d.getUTCMilliseconds(), 3)}`;
}
function formatMs(ms) {
  if (ms === null || ms === void 0 || !Number.isFinite(ms)) return "\u2014";
  if (ms < 1) return `${Math.round(ms * 1e3)} \xB5s`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1e3) return `${Math.round(ms)} ms`;
  return `${(ms / 1e3).toFixed(ms < 1e4 ? 2 : 1)} s`;
}
function formatCount(n) {
  return n.toLocaleString("en-US");
}
function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
function statusClass(status) {
  if (!status) return "st-none";
  if (status >= 500) return "st-5";
  if (status >= 400) return "st-4";
  if (status >= 300) return "st-3";
  return "st-2";
}
function ago(ms, now) {
  const s = Math.round((now - ms) / 1e3);
  if (s < 0) return "in the future";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// dashboard/src/views/list.ts
var RANGES = {
  "1h": { label: "Last hour", ms: 36e5 },
  "24h": { label: "Last 24 hours", ms: 864e5 },
  "7d": { label: "Last 7 days", ms: 7 * 864e5 },
  "30d": { label: "Last 30 days", ms: 30 * 864e5 },
  all: { label: "All time", ms: null },
  custom: { label: "Custom\u2026", ms: null },
};
function qs(q, extra = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...q, ...extra })) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
}
function select(name, label, value, options) {
  return h`<label class="f">${label}<select name="${name}">
    ${options.map(([v, l]) => h`<option value="${v}" ${v === (value ?? "") ? raw("selected") : null}>${l}</option>`)}
  </select></label>`;
}
function listView(data) {
  const q = data.query;
  const base = `/w/${encodeURIComponent(data.ws)}`;
  const filters = h`<form class="filters panel" method="get" action="${base}/executions" id="filters">
    ${select("app", "App", q.app, [["", "All apps"], ...data.apps.map((a) => [a, a])])}
    <label class="f">Route<input name="route" list="routes" value="${q.route ?? ""}" placeholder="any route" size="18"></label>
    <datalist id="routes">${data.routes.map((r) => h`<option value="${r}">`)}</datalist>
    ${select("status", "Status", q.status, [
      ["", "Any"],
      ["2xx", "2xx"],
      ["3xx", "3xx"],
      ["4xx", "4xx"],
      ["5xx", "5xx"],
    ])}
    ${select("outcome", "Outcome", q.outcome, [
      ["", "Any"],
      ["ok", "ok"],
      ["error", "error"],
      ["exception", "exception"],
    ])}
    <label class="f">Error class<input name="error" list="errors" value="${q.error ?? ""}" placeholder="e.g. TypeError" size="14"></label>
    <datalist id="errors">${data.errorClasses.map((e) => h`<option value="${e}">`)}</datalist>
    ${select(
      "range",
      "Time",
      q.range ?? "all",
      Object.entries(RANGES).map(([k, v]) => [k, v.label]),
    )}
    <label class="f custom-range" ${q.range === "custom" ? null : raw("hidden")}>From (UTC)<input type="datetime-local" name="from" value="${q.from ?? ""}" step="1"></label>
    <label class="f custom-range" ${q.range === "custom" ? null : raw("hidden")}>To (UTC)<input type="datetime-local" name="to" value="${q.to ?? ""}" step="1"></label>
    <button type="submit">Apply</button>
    <a class="btn sec" href="${base}/executions">Reset</a>
  </form>`;
  const f = data.facets;
  const counts = h`<div class="counts" id="counts">
    <span><b data-count="${data.count.count}">${formatCount(data.count.count)}${data.count.capped ? "+" : ""}</b> matching</span>
    ${
      f
        ? h`<span>in range: <b>${formatCount(f.ok)}</b> ok · <b class="oc-error">${formatCount(f.error)}</b> error · <b class="oc-exception">${formatCount(f.exception)}</b> exception</span>
      <span><b>${formatCount(f.s2xx)}</b> 2xx · <b>${formatCount(f.s4xx)}</b> 4xx · <b>${formatCount(f.s5xx)}</b> 5xx</span>`
        : null
    }
  </div>`;
  const table = h`<div class="panel" style="padding:0"><table id="executions">
    <thead><tr><th>Time (UTC)</th><th>App</th><th>Request</th><th>Status</th><th>Outcome</th><th class="num">Duration</th><th class="num">Events</th><th>Hosts</th><th>Error</th></tr></thead>
    <tbody>
    ${data.rows.map(
      (
        r,
      ) => h`<tr class="row" data-trace="${r.traceId}" data-href="${base}/executions/${r.traceId}">
        <td class="nowrap mono"><a href="${base}/executions/${r.traceId}">${formatTime(r.start)}</a></td>
        <td>${r.app}</td>
        <td><span class="mono">${r.method}</span> ${r.route}</td>
        <td><span class="badge ${statusClass(r.status)}">${r.status}</span></td>
        <td class="oc-${r.outcome}">${r.outcome}</td>
        <td class="num">${formatMs(r.durationMs)}</td>
        <td class="num">${r.events}</td>
        <td class="small">${r.hosts
          .split(",")
          .filter(Boolean)
          .map((x) => h`<span class="tag">${x}</span>`)}</td>
        <td>${r.errorClass ? h`<span class="mono oc-exception">${r.errorClass}</span>` : null}${r.truncated ? h` <span class="tag w">truncated</span>` : null}</td>
      </tr>`,
    )}
    </tbody></table></div>`;
  const pager = h`<div class="pager">
    ${data.isFirstPage ? null : h`<a class="btn sec" href="${base}/executions${qs(q)}">⟵ Newest</a>`}
    ${data.next ? h`<a class="btn sec" id="older" href="${base}/executions${qs(q, { cursor: data.next })}">Older ⟶</a>` : null}
  </div>`;
  return h`${filters}${counts}${data.rows.length ? h`${table}${pager}` : h`<div class="panel muted" id="no-match">No executions match these filters.</div>`}`;
}
var LIST_SCRIPT = raw(`
document.querySelectorAll("tr.row").forEach(function (tr) {
  tr.addEventListener("click", function (e) { if (e.target.closest("a")) return; location.href = tr.dataset.href; });
});
var f = document.getElementById("filters");
var rangeSel = f && f.querySelector("[name=range]");
if (rangeSel) rangeSel.addEventListener("change", function () {
  f.querySelectorAll(".custom-range").forEach(function (n) { n.hidden = rangeSel.value !== "custom"; });
});
if (f) f.addEventListener("submit", function () {
  f.querySelectorAll("input,select").forEach(function (n) { if (!n.value) n.disabled = true; });
  var r = f.querySelector("[name=range]");
  if ((f.querySelector("[name=from]").value || f.querySelector("[name=to]").value) && r) r.value = "custom";
});
`);

// dashboard/src/views/execution.ts
var HTTP_KINDS = /* @__PURE__ */ new Set(["fetch"]);
function fieldsOf(e) {
  const at = (path, label) => ({
    path: path ? `${e.seq}.${path}` : String(e.seq),
    label,
    seq: e.seq,
  });
  const where2 = `#${e.seq} ${e.kind} ${e.op} ${e.target}`;
  switch (e.kind) {
    case "request":
      return [
        at("headers", "Request headers"),
        at("body", "Request body"),
        at("url", "Request URL (query)"),
      ];
    case "response":
      return [at("headers", "Response headers"), at("body", "Response body")];
    case "exception":
      return [at("message", "Error message"), at("stack", "Stack trace")];
    case "console":
      return [at("", `Console ${e.op} (${where2})`)];
    case "env":
      return [at("", `Env value ${e.target}`)];
    case "host":
    case "binding":
    case "fetch": {
      if (HTTP_KINDS.has(e.kind) || e.op === "fetch") {
        const out = [at("request.headers", `${where2}: request headers`)];
        if (e.info?.reqBytes) out.push(at("request.body", `${where2}: request body`));
        if (e.error) out.push(at("error", `${where2}: error`));
        else
          out.push(
            at("result.headers", `${where2}: response headers`),
            at("result.body", `${where2}: response body`),
          );
        return out;
      }
      return [
        at("request", `${where2}: arguments`),
        e.error ? at("error", `${where2}: error`) : at("result", `${where2}: result`),
      ];
    }
    default:
      return [];
  }
}
function sealed(path) {
  return h`<span class="sealed" data-sealed="${path}">sealed — unlock to view</span>`;
}
function kindBadge(kind) {
  return h`<span class="k k-${kind}">${kind}</span>`;
}
function waterfall(head, showReads) {
  const events = head.events.filter((e) => showReads || !["clock", "random"].includes(e.kind));
  const total = Math.max(
    head.summary.durationMs * 1e3,
    ...head.events.map((e) => e.at + (e.dur ?? 0)),
    1,
  );
  const hidden = head.events.length - events.length;
  return h`<table id="waterfall">
    <thead><tr><th class="num">#</th><th>Kind</th><th>Op</th><th>Target</th><th class="num">Start</th><th class="num">Duration</th><th>Status</th><th style="width:32%">Timeline</th></tr></thead>
    <tbody>${events.map((e) => {
      const left = (e.at / total) * 100;
      const width = Math.max(((e.dur ?? 0) / total) * 100, 0.4);
      return h`<tr data-seq="${e.seq}" data-kind="${e.kind}">
        <td class="num mono">${e.seq}</td><td>${kindBadge(e.kind)}</td><td class="mono">${e.op}</td>
        <td class="mono small">${e.target}${e.write ? h` <span class="tag w" title="write-class effect: never repeated live in replay">write</span>` : null}${e.truncated ? h` <span class="tag w">truncated</span>` : null}${Array.isArray(e.info?.masked) ? h` <span class="tag" title="masked headers">masked: ${e.info.masked.join(", ")}</span>` : null}</td>
        <td class="num small nowrap">${formatMs(e.at / 1e3)}</td>
        <td class="num small nowrap">${e.dur === void 0 ? "" : formatMs(e.dur / 1e3)}</td>
        <td>${e.status !== void 0 ? h`<span class="badge ${statusClass(e.status)}">${e.status}</span>` : null}${e.error ? h` <span class="mono oc-exception">${e.error}</span>` : null}</td>
        <td><div class="wf"><span class="${e.kind}${e.error || e.kind === "exception" ? " err" : ""}" style="left:${left.toFixed(2)}%;width:${Math.min(width, 100 - left).toFixed(2)}%"></span></div></td>
      </tr>`;
    })}</tbody></table>
    ${hidden ? h`<p class="small muted">${hidden} clock and random reads hidden. <a href="?reads=1#timeline">Show them</a></p>` : null}`;
}
function network(head) {
  const calls = head.events.filter(
    (e) => e.kind === "fetch" || (e.kind === "binding" && e.op === "fetch"),
  );
  if (!calls.length) return h`<p class="muted">No outbound HTTP calls.</p>`;
  return h`<table id="network"><thead><tr><th class="num">#</th><th>Method</th><th>Host / path</th><th>Status</th><th class="num">Duration</th><th class="num">Sent</th><th class="num">Received</th><th>Notes</th></tr></thead>
  <tbody>${calls.map(
    (
      e,
    ) => h`<tr><td class="num mono">${e.seq}</td><td class="mono">${e.op}</td><td class="mono small">${e.target}</td>
      <td>${e.status !== void 0 ? h`<span class="badge ${statusClass(e.status)}">${e.status}</span>` : e.error ? h`<span class="mono oc-exception">${e.error}</span>` : "\u2014"}</td>
      <td class="num nowrap">${e.dur === void 0 ? "\u2014" : formatMs(e.dur / 1e3)}</td>
      <td class="num nowrap">${typeof e.info?.reqBytes === "number" ? formatBytes(e.info.reqBytes) : "\u2014"}</td>
      <td class="num nowrap">${typeof e.info?.resBytes === "number" ? formatBytes(e.info.resBytes) : "\u2014"}</td>
      <td>${e.write ? h`<span class="tag w">write</span>` : null}${Array.isArray(e.info?.masked) ? h`<span class="tag">masked: ${e.info.masked.join(", ")}</span>` : null}</td></tr>`,
  )}</tbody></table>`;
}
function executionView(d) {
  const r = d.row;
  const head = d.head;
  const exception = head?.events.find((e) => e.kind === "exception");
  const consoleEvents = head?.events.filter((e) => e.kind === "console") ?? [];
  const envEvents = head?.events.filter((e) => e.kind === "env") ?? [];
  const fields = head ? head.events.flatMap(fieldsOf) : [];
  const summary = h`<div class="panel">
    <div style="display:flex;gap:14px;align-items:center;flex-wrap:wrap">
      <h1 style="margin:0"><span class="mono">${r.method}</span> ${r.route}</h1>
      <span class="badge ${statusClass(r.status)}" id="status">${r.status}</span>
      <span class="oc-${r.outcome}" id="outcome">${r.outcome}</span>
      ${r.errorClass ? h`<span class="mono oc-exception">${r.errorClass}</span>` : null}
      ${r.truncated ? h`<span class="tag w">truncated trace</span>` : null}
    </div>
    <dl class="kv" style="margin-top:12px">
      <dt>App</dt><dd>${r.app}</dd>
      <dt>Started</dt><dd class="mono">${formatTime(r.start)} UTC</dd>
      <dt>Duration</dt><dd>${formatMs(r.durationMs)}</dd>
      <dt>Events</dt><dd>${r.events}${head ? h` · ${Object.entries(head.summary.eventCounts).map(([k, n]) => h`<span class="tag">${k} ${n}</span>`)}` : null}</dd>
      <dt>Trace</dt><dd class="mono small">${r.traceId} · format v${r.version || "?"} · ${r.runtime || "?"}${head ? h` · sealed to key ${head.recipient.kid.slice(0, 16)}…` : null}</dd>
      ${head && (head.stats.droppedEvents || head.stats.truncatedPayloads) ? h`<dt>Budget</dt><dd class="oc-error">${head.stats.droppedEvents} events dropped · ${head.stats.truncatedPayloads} payloads cut by the size budget</dd>` : null}
    </dl>
  </div>`;
  const act = d.canAct
    ? h`<div class="panel" id="act">
      <h2>Unlock and replay through your agent</h2>
      <p class="small muted">The browser calls the agent at <code>${d.agent.origin ?? "(not configured)"}</code> with a single-use token the dashboard issues for exactly this action and trace (60 s). The dashboard never sees the payloads.</p>
      ${
        fields.length
          ? h`<details ${raw("open")}><summary>Choose payloads to unlock (${fields.length})</summary>
        <p class="small"><a href="#" data-check="all">all</a> · <a href="#" data-check="none">none</a></p>
        <div class="fields">${fields.map((f) => h`<label><input type="checkbox" name="field" value="${f.path}"> <code>${f.path}</code> <span class="small muted">${f.label}</span></label>`)}</div>
      </details>`
          : null
      }
      <div class="actions" style="margin-top:12px">
        <button id="unlock-btn" type="button">Unlock selected</button>
        <button id="replay-btn" type="button" class="sec">Replay with recorded IO</button>
        <a class="small" href="/w/${d.ws}/executions/${r.traceId}/trace.cbor">Download sealed trace</a>
        ${d.guard ? h`<span class="small muted">A regression guard exists for this trace (${formatTime(d.guard.createdAt, { millis: false })}).</span>` : null}
      </div>
      <div id="agent-state" style="margin-top:12px"></div>
      <div id="report" hidden></div>
      <div id="guard" hidden class="panel" style="margin-top:12px">
        <h2>Save as regression guard</h2><p id="guard-note" class="small"></p>
        <button id="guard-btn" type="button">Save as regression guard</button>
        <div id="guard-done" style="margin-top:10px"></div>
      </div>
      <div id="unlocked" class="panel" hidden style="margin-top:12px"></div>
    </div>`
    : stateBox(
        "info",
        `Payloads stay sealed for your role (${d.role})`,
        "Viewers see summaries, timelines and network evidence. Unlock and replay need the responder role: ask a workspace admin.",
        { id: "viewer-note" },
      );
  const body = head
    ? h`${summary}
    ${
      exception || r.outcome !== "ok"
        ? h`<div class="panel" id="error"><h2>Error</h2>
      ${
        exception
          ? h`<p><span class="mono oc-exception">${exception.error ?? r.errorClass ?? "Error"}</span> thrown at ${formatMs(exception.at / 1e3)} (event #${exception.seq}).</p>
        <dl class="kv"><dt>Message</dt><dd>${sealed(`${exception.seq}.message`)}</dd><dt>Stack</dt><dd>${sealed(`${exception.seq}.stack`)}</dd></dl>`
          : h`<p>The handler answered <span class="badge ${statusClass(r.status)}">${r.status}</span>${r.errorClass ? h` with error class <span class="mono">${r.errorClass}</span>` : null}.</p>`
      }
    </div>`
        : null
    }
    ${act}
    <div class="panel" id="timeline"><h2>Timeline of boundaries</h2>${waterfall(head, d.showReads)}</div>
    <div class="grid g2">
      <div class="panel"><h2>Network evidence</h2>${network(head)}
        ${head.summary.fetches.length ? h`<p class="small muted">Hosts: ${[...new Set(head.summary.fetches.map((f) => f.host))].map((x) => h`<span class="tag">${x}</span>`)}</p>` : null}</div>
      <div class="panel" id="console"><h2>Console</h2>
        ${consoleEvents.length ? h`<table><tbody>${consoleEvents.map((e) => h`<tr><td class="num mono">#${e.seq}</td><td class="mono">${e.op}</td><td class="small nowrap">${formatMs(e.at / 1e3)}</td><td>${sealed(String(e.seq))}</td></tr>`)}</tbody></table>` : h`<p class="muted">No console output.</p>`}
        ${envEvents.length ? h`<h3 style="margin-top:14px">Secrets and env read</h3><p>${envEvents.map((e) => h`<span class="tag">${e.target}</span>`)} <span class="sealed">values sealed</span></p>` : null}
      </div>
    </div>`
    : h`${summary}${d.headProblem ?? ""}`;
  return {
    body,
    config: {
      trace: r.traceId,
      ws: d.ws,
      app: r.app,
      agentOrigin: d.agent.origin,
      agentId: d.agent.id,
    },
  };
}
function configScript(config) {
  return h`<script type="application/json" id="flux-config">${jsonScript(config)}</script>`;
}

// dashboard/src/views/overview.ts
var W = 960;
var H = 180;
var PAD = { l: 64, r: 12, t: 10, b: 24 };
function formatStep(ms) {
  if (ms < 36e5) return `${Math.round(ms / 6e4)} min`;
  if (ms < 864e5) return `${+(ms / 36e5).toFixed(1)} h`;
  return `${+(ms / 864e5).toFixed(1)} d`;
}
function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
function axis(max, fmt) {
  const ticks = [0, 0.5, 1];
  return h`${ticks.map((t) => {
    const y = PAD.t + (H - PAD.t - PAD.b) * (1 - t);
    return h`<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y}" y2="${y}" stroke="#e3e6ea"/><text x="${PAD.l - 6}" y="${y + 4}" text-anchor="end">${t === 0 ? "0" : fmt(max * t)}</text>`;
  })}`;
}
function timeLabels(o) {
  const n = o.points.length;
  if (!n) return h``;
  const iw = (W - PAD.l - PAD.r) / n;
  const picks = [0, Math.floor(n / 2), n - 1];
  return h`${picks.map((i) => {
    const p = o.points[i];
    const x = PAD.l + iw * i + iw / 2;
    return h`<text x="${x}" y="${H - 6}" text-anchor="middle">${formatTime(p.t, { millis: false }).slice(5, 16)}</text>`;
  })}`;
}
function requestsChart(o) {
  const max = niceMax(Math.max(...o.points.map((p) => p.requests), 0));
  const iw = (W - PAD.l - PAD.r) / Math.max(o.points.length, 1);
  const ih = H - PAD.t - PAD.b;
  return h`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Requests and errors over time" id="chart-requests">
    ${axis(max, (v) => formatCount(Math.round(v)))}
    ${o.points.map((p, i) => {
      const x = PAD.l + iw * i + 1;
      const hr = (p.requests / max) * ih;
      const he = (p.errors / max) * ih;
      return h`<g><title>${formatTime(p.t, { millis: false })}: ${p.requests} requests, ${p.errors} errors</title>
        <rect x="${x}" y="${PAD.t + ih - hr}" width="${Math.max(iw - 2, 1)}" height="${hr}" fill="#91a7ff"/>
        <rect x="${x}" y="${PAD.t + ih - he}" width="${Math.max(iw - 2, 1)}" height="${he}" fill="#e03131"/></g>`;
    })}
    ${timeLabels(o)}
  </svg>`;
}
function durationChart(o) {
  const max = niceMax(Math.max(...o.points.map((p) => p.p95 ?? 0), 0));
  const iw = (W - PAD.l - PAD.r) / Math.max(o.points.length, 1);
  const ih = H - PAD.t - PAD.b;
  const line = (key) => {
    const pts = o.points
      .map((p, i) =>
        p[key] === null
          ? null
          : `${(PAD.l + iw * i + iw / 2).toFixed(1)},${(PAD.t + ih - ((p[key] ?? 0) / max) * ih).toFixed(1)}`,
      )
      .filter((s) => s !== null);
    return pts.join(" ");
  };
  return h`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="p50 and p95 duration over time" id="chart-duration">
    ${axis(max, (v) => formatMs(v))}
    <polyline points="${line("p95")}" fill="none" stroke="#f08c00" stroke-width="2"/>
    <polyline points="${line("p50")}" fill="none" stroke="#4c6ef5" stroke-width="2"/>
    ${o.points.map((p, i) =>
      p.p95 === null || p.p50 === null
        ? null
        : h`<g><title>${formatTime(p.t, { millis: false })}: p50 ${formatMs(p.p50)}, p95 ${formatMs(p.p95)}</title>
          <circle cx="${PAD.l + iw * i + iw / 2}" cy="${PAD.t + ih - (p.p95 / max) * ih}" r="2.5" fill="#f08c00"/>
          <circle cx="${PAD.l + iw * i + iw / 2}" cy="${PAD.t + ih - (p.p50 / max) * ih}" r="2.5" fill="#4c6ef5"/></g>`,
    )}
    ${timeLabels(o)}
  </svg>`;
}
function overviewView(d) {
  const base = `/w/${encodeURIComponent(d.ws)}`;
  const t = d.data.totals;
  const errRate = t.requests ? ((t.error + t.exception) / t.requests) * 100 : 0;
  const listLink = (extra) => {
    const p = new URLSearchParams({ ...(d.app ? { app: d.app } : {}), range: d.range, ...extra });
    return `${base}/executions?${p.toString()}`;
  };
  return h`<form class="filters panel" method="get" action="${base}/overview">
      <label class="f">App<select name="app"><option value="">All apps</option>${d.apps.map((a) => h`<option value="${a}" ${a === d.app ? raw("selected") : null}>${a}</option>`)}</select></label>
      <label class="f">Route<select name="route"><option value="">All routes</option>${d.routes.map((r) => h`<option value="${r}" ${r === d.route ? raw("selected") : null}>${r}</option>`)}</select></label>
      <label class="f">Time<select name="range">${Object.entries(RANGES)
        .filter(([k]) => k !== "custom" && k !== "all")
        .map(
          ([k, v]) =>
            h`<option value="${k}" ${k === d.range ? raw("selected") : null}>${v.label}</option>`,
        )}</select></label>
      <button type="submit">Show</button>
    </form>
    <div class="grid g4" id="totals">
      <div class="panel stat"><b>${formatCount(t.requests)}</b><span>requests</span></div>
      <div class="panel stat"><b class="${errRate > 0 ? "oc-exception" : ""}">${formatCount(t.error + t.exception)}</b><span>errors (${errRate.toFixed(errRate && errRate < 1 ? 2 : 1)}%) · <a href="${listLink({ outcome: "exception" })}">exceptions</a> · <a href="${listLink({ status: "5xx" })}">5xx</a></span></div>
      <div class="panel stat"><b>${formatMs(t.p50)}</b><span>p50 duration</span></div>
      <div class="panel stat"><b>${formatMs(t.p95)}</b><span>p95 duration</span></div>
    </div>
    <div class="panel"><div style="display:flex;justify-content:space-between"><h2>Requests and errors</h2>
      <div class="legend"><span><i style="background:#91a7ff"></i>requests</span><span><i style="background:#e03131"></i>errors</span><span>per ${formatStep(d.data.step)}</span></div></div>
      ${requestsChart(d.data)}</div>
    <div class="panel"><div style="display:flex;justify-content:space-between"><h2>Duration</h2>
      <div class="legend"><span><i style="background:#4c6ef5"></i>p50</span><span><i style="background:#f08c00"></i>p95</span></div></div>
      ${durationChart(d.data)}</div>
    <div class="panel" style="padding:0"><table id="routes-table"><thead><tr><th>Route</th><th class="num">Requests</th><th class="num">Errors</th><th class="num">p95</th></tr></thead>
      <tbody>${d.data.routes.map(
        (
          r,
        ) => h`<tr><td><a href="${listLink({ route: r.route })}">${r.route}</a></td><td class="num">${formatCount(r.requests)}</td>
          <td class="num ${r.errors ? "oc-exception" : ""}">${r.errors ? h`<a href="${listLink({ route: r.route, outcome: "exception" })}">${formatCount(r.errors)}</a>` : "0"}</td><td class="num">${formatMs(r.p95)}</td></tr>`,
      )}</tbody></table></div>`;
}

// dashboard/src/views/client.ts
var COMMON = String.raw`
var cfg = JSON.parse(document.getElementById("flux-config").textContent);
function el(tag, attrs, kids) {
  var n = document.createElement(tag);
  if (attrs) for (var k in attrs) { if (k === "text") n.textContent = attrs[k]; else if (k === "cls") n.className = attrs[k]; else n.setAttribute(k, attrs[k]); }
  (kids || []).forEach(function (c) { if (c != null) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return n;
}
function FluxState(kind, code, title, detail, fix) { this.kind = kind; this.code = code; this.title = title; this.detail = detail; this.fix = fix; }
function showState(box, s) {
  box.replaceChildren(el("div", { cls: "state " + s.kind, "data-code": s.code }, [
    el("h2", { text: s.title }),
    s.detail ? el("p", { text: s.detail }) : null,
    s.fix ? el("p", {}, [el("b", { text: "Fix: " }), s.fix]) : null,
    el("p", { cls: "small muted", text: "code " + s.code })
  ]));
}
var ORIGIN = location.origin;
var JWKS = ORIGIN + "/.well-known/jwks.json";
function fromDashboard(status, body) {
  var e = (body && body.error) || {};
  var code = e.code || "HTTP_" + status;
  var fix = e.fix || "";
  switch (code) {
    case "ERR_FORBIDDEN": return new FluxState("warn", code, "Your role cannot do this", e.message, fix || "Ask a workspace admin for the responder role.");
    case "ERR_AGENT_NOT_CONFIGURED": return new FluxState("warn", code, "No agent configured for this workspace", e.message, fix);
    case "ERR_SIGNING_KEY_MISSING": return new FluxState("bad", code, "The dashboard cannot sign agent tokens", e.message, fix);
    case "ERR_SIGNING_KEY_INVALID": return new FluxState("bad", code, "The dashboard's signing key is unusable", e.message, fix);
    case "ERR_AUTH_REQUIRED": case "ERR_AUTH_INVALID": return new FluxState("warn", code, "Your session ended", e.message, "Sign in again, then retry.");
    case "ERR_GUARD_NOT_REPAIRED": return new FluxState("warn", code, "This replay is not a repaired one", e.message, fix);
    case "ERR_NOT_FOUND": return new FluxState("bad", code, "Trace not found in this workspace", e.message, fix);
    default: return new FluxState("bad", code, "The dashboard refused the request", e.message || ("HTTP " + status), fix);
  }
}
function fromAgent(status, body, origin) {
  var e = (body && body.error) || {};
  var code = e.code || ("HTTP_" + status);
  var msg = e.message || "";
  var C = code.toUpperCase();
  if (/ORIGIN/.test(C)) return new FluxState("bad", code, "The agent refuses this dashboard's origin", msg, "Add " + ORIGIN + " to the agent's FLUX_ALLOWED_ORIGINS (comma-separated) and restart or redeploy it.");
  if (/EXPIRED/.test(C)) return new FluxState("warn", code, "The token expired before the agent checked it", msg, "Tokens live 60 seconds. Check that the clocks of the dashboard and the agent agree, then try again.");
  if (/REUSED|REPLAY(ED)?_TOKEN|ALREADY_USED|JTI/.test(C)) return new FluxState("warn", code, "The agent refused a token that was already used", msg, "Every token is single use. Click again: the dashboard issues a fresh one.");
  if (/AUD/.test(C)) return new FluxState("bad", code, "The token was issued for another agent", msg, "Admin → Agent: set the agent id to this agent's FLUX_AGENT_ID (the dashboard used " + (cfg.agentId || "none") + ").");
  if (/ISSUER_NOT_CONFIGURED|JWKS|PUBLIC_KEY|NO_ISSUER/.test(C)) return new FluxState("bad", code, "The agent has no dashboard public key", msg, "Set the agent's FLUX_DASHBOARD_JWKS to the JSON at " + JWKS + ".");
  if (/SIGNATURE|KID|ALG|ISSUER|MALFORMED|TOKEN_INVALID|TOKEN_TOO_LARGE/.test(C)) return new FluxState("bad", code, "The agent refused the dashboard's token", msg, "Make the agent trust this dashboard: FLUX_DASHBOARD_JWKS must hold the keys at " + JWKS + ".");
  if (/ACTION|TRACE_MISMATCH|WRONG_TRACE|CLAIM/.test(C)) return new FluxState("bad", code, "The token does not cover this action", msg, "Reload the page and retry; if it persists the dashboard and agent disagree on the token contract (check both versions).");
  if (/TOKEN/.test(C)) return new FluxState("bad", code, "The agent refused the token", msg, "Reload the page and retry.");
  if (/KEY_MISSING|NO_KEY|PRIVATE_KEY/.test(C)) return new FluxState("bad", code, "The agent has no private key", msg, "Run wrangler secret put FLUX_PRIVATE_KEY with the JWK from npx fluxrun keygen (or start fluxrun agent with --key).");
  if (/TRACE_KEY|KEY_MISMATCH/.test(C)) return new FluxState("bad", code, "The trace is sealed to a key the agent does not hold", msg, "Give the agent the private key whose public half the recorded worker has in FLUX_PUBLIC_KEY.");
  if (/NOT_FOUND/.test(C)) return new FluxState("bad", code, "The agent cannot find this trace", msg, "Bind the agent's FLUX_TRACES to the bucket the worker writes (fluxrun-traces).");
  if (/VERSION/.test(C)) return new FluxState("bad", code, "Version mismatch between the trace and the agent", msg, "Upgrade the agent to a fluxrun release that reads this trace's format version, then retry.");
  if (/TRACE_(CORRUPT|TRUNCATED|TAMPERED|SCHEMA)/.test(C)) return new FluxState("bad", code, "The agent could not open this trace", msg, "The stored object is damaged or was changed after sealing; it cannot be unlocked or replayed.");
  if (/REPLAY|BUNDLE|ENVELOPE/.test(C)) return new FluxState("bad", code, "Replay failed", msg, /BUNDLE/.test(C) ? "Fix the build error in your worker and replay again." : "See the message; the agent never falls back to live calls.");
  if (status === 429) return new FluxState("warn", code, "The agent is rate limiting", msg, "Wait a moment and retry.");
  return new FluxState("bad", code, "The agent answered " + status, msg || "No error body.", "Open Diagnostics → Check agent for its health report.");
}
function networkState(origin) {
  return fetch(origin + "/v1/health", { mode: "no-cors", credentials: "omit", cache: "no-store" }).then(function () {
    return new FluxState("bad", "CORS", "The agent refuses this dashboard's origin (CORS)", "The agent at " + origin + " answered, but not to " + ORIGIN + ".", "Add " + ORIGIN + " to the agent's FLUX_ALLOWED_ORIGINS and restart or redeploy it.");
  }, function () {
    return new FluxState("bad", "UNREACHABLE", "The agent is unreachable", "Nothing answered at " + origin + ".", "Start it (npx fluxrun agent binds 127.0.0.1:8788) or fix the agent endpoint in Admin → Agent.");
  });
}
function issue(act, fields) {
  return fetch("/api/tokens", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
    body: JSON.stringify(fields ? { trace: cfg.trace, act: act, fields: fields } : { trace: cfg.trace, act: act }) })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromDashboard(res.status, b); return b; }); },
          function () { throw new FluxState("bad", "DASHBOARD_UNREACHABLE", "The dashboard did not answer", "", "Check your connection and reload."); });
}
function callAgent(origin, path, token, payload) {
  return fetch(origin + path, { method: "POST", mode: "cors", credentials: "omit", cache: "no-store",
    headers: { authorization: "Bearer " + token, "content-type": "application/json" }, body: JSON.stringify(payload) })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromAgent(res.status, b, origin); return b; }); },
          function () { return networkState(origin).then(function (s) { throw s; }); });
}
function asState(err) {
  return err instanceof FluxState ? err : new FluxState("bad", "CLIENT_ERROR", "Something failed in the page", String(err && err.message || err), "Reload and retry.");
}
`;
var EXECUTION = String.raw`
var out = document.getElementById("agent-state");
function busy(btn, on) { btn.disabled = on; btn.dataset.label = btn.dataset.label || btn.textContent; btn.textContent = on ? "Working…" : btn.dataset.label; }
function decodeB64(s) { var bin = atob(s); var u = new Uint8Array(bin.length); for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i); return u; }
function show(f) {
  if (f.missing) return "(not in this trace)";
  if (f.truncated && f.value == null) return "(cut by the size budget: not recorded)";
  if (f.value == null) return "(empty)";
  if (f.encoding === "json") return JSON.stringify(f.value, null, 2);
  if (f.encoding === "base64") {
    var bytes = decodeB64(String(f.value));
    try { var t = new TextDecoder("utf-8", { fatal: true }).decode(bytes); try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { return t; } }
    catch (e) { return bytes.length + " bytes (binary) " + Array.prototype.slice.call(bytes, 0, 64).map(function (b) { return ("0" + b.toString(16)).slice(-2); }).join(" ") + (bytes.length > 64 ? " …" : ""); }
  }
  var s = String(f.value);
  try { return JSON.stringify(JSON.parse(s), null, 2); } catch (e) { return s; }
}
function renderUnlocked(res) {
  var box = document.getElementById("unlocked");
  box.replaceChildren(el("h2", { text: "Unlocked payloads" }), el("p", { cls: "small muted", text: "Shown in this page only: not stored by the dashboard. Reloading hides them." }));
  (res.fields || []).forEach(function (f) {
    box.appendChild(el("div", { "data-path": f.path }, [
      el("div", {}, [el("code", { text: f.path }), f.masked ? el("span", { cls: "tag w", text: "masked field" }) : null, f.truncated ? el("span", { cls: "tag w", text: "truncated" }) : null]),
      el("pre", { cls: "val", text: show(f) })
    ]));
    document.querySelectorAll('[data-sealed="' + CSS.escape(f.path) + '"]').forEach(function (n) { n.classList.remove("sealed"); n.replaceChildren(el("pre", { cls: "val", text: show(f) })); });
  });
  box.hidden = false;
}
function outcomeLine(o) { if (!o) return "—"; if (o.error) return "threw " + o.error.name; if (o.status == null) return "no response"; return o.status + (o.body ? " · " + o.body : ""); }
function compact(v) { if (v === undefined) return ""; try { return JSON.stringify(v); } catch (e) { return String(v); } }
function repaired(r) { return r && r.replayed && !r.replayed.error && r.replayed.status != null && r.replayed.status < 500; }
function renderReport(r) {
  var box = document.getElementById("report");
  var match = r.verdict === "match";
  var rows = (r.divergences || []).map(function (d, i) {
    return el("tr", { "data-code": d.code }, [
      el("td", { cls: "num", text: String(i + 1) }), el("td", {}, [el("span", { cls: "badge st-" + (d.code === "changed_outcome" ? "5" : "4"), text: d.code })]),
      el("td", { cls: "mono", text: d.seq == null ? "—" : "#" + d.seq }), el("td", { cls: "mono", text: d.kind + " " + d.op + " " + d.target }),
      el("td", {}, [d.message, d.fields && d.fields.length ? el("div", { cls: "small muted", text: "fields: " + d.fields.join(", ") }) : null,
        d.expected !== undefined ? el("div", { cls: "small mono", text: "expected: " + compact(d.expected) }) : null,
        d.actual !== undefined ? el("div", { cls: "small mono", text: "actual: " + compact(d.actual) }) : null,
        d.closest ? el("div", { cls: "small muted", text: "closest recorded: #" + d.closest.seq + " " + d.closest.op + " " + d.closest.target }) : null])
    ]);
  });
  box.replaceChildren(
    el("div", { cls: "state " + (match ? "good" : "bad"), id: "verdict", "data-verdict": r.verdict }, [
      el("h2", { text: match ? "MATCH: the replay behaved like the recording" : "DIVERGED: " + r.divergences.length + " difference" + (r.divergences.length === 1 ? "" : "s") }),
      el("p", { text: "recorded: " + outcomeLine(r.recorded) + "   ·   replayed: " + outcomeLine(r.replayed) }),
      el("p", { cls: "small muted", text: r.served + " recorded events served · " + r.liveNetworkAttempts + " live network attempts (blocked)" })
    ]),
    rows.length ? el("table", {}, [el("thead", {}, [el("tr", {}, ["#", "code", "event", "call", "detail"].map(function (t) { return el("th", { text: t }); }))]), el("tbody", {}, rows)]) : el("span"),
    r.unconsumed && r.unconsumed.length ? el("p", { cls: "small muted", text: "Recorded but not consumed: " + r.unconsumed.map(function (u) { return "#" + u.seq + " " + u.kind + " " + u.op + " " + u.target; }).join("; ") }) : el("span")
  );
  box.hidden = false;
  var g = document.getElementById("guard");
  if (repaired(r)) {
    g.hidden = false;
    document.getElementById("guard-note").textContent = "The replay ends in " + outcomeLine(r.replayed) + ". Save it to keep this path from regressing.";
    g.dataset.report = JSON.stringify(r);
  } else {
    g.hidden = true;
  }
}
var unlockBtn = document.getElementById("unlock-btn");
if (unlockBtn) unlockBtn.addEventListener("click", function () {
  var fields = Array.prototype.map.call(document.querySelectorAll("input[name=field]:checked"), function (n) { return n.value; });
  if (!fields.length) { showState(out, new FluxState("info", "NO_FIELDS", "Choose what to unlock", "Tick the payloads you need; nothing is unlocked by default.", "")); return; }
  busy(unlockBtn, true); out.replaceChildren();
  issue("unlock", fields).then(function (t) { return callAgent(t.agent.origin, "/v1/unlock", t.token, { trace: cfg.trace, fields: fields }); })
    .then(renderUnlocked).catch(function (e) { showState(out, asState(e)); }).finally(function () { busy(unlockBtn, false); });
});
var replayBtn = document.getElementById("replay-btn");
if (replayBtn) replayBtn.addEventListener("click", function () {
  busy(replayBtn, true); out.replaceChildren();
  issue("replay").then(function (t) { return callAgent(t.agent.origin, "/v1/replay", t.token, { trace: cfg.trace }); })
    .then(renderReport).catch(function (e) { showState(out, asState(e)); }).finally(function () { busy(replayBtn, false); });
});
var guardBtn = document.getElementById("guard-btn");
if (guardBtn) guardBtn.addEventListener("click", function () {
  var g = document.getElementById("guard");
  busy(guardBtn, true);
  fetch("/api/guards", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ trace: cfg.trace, report: JSON.parse(g.dataset.report) }) })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromDashboard(res.status, b); return b; }); })
    .then(function (b) {
      document.getElementById("guard-done").replaceChildren(
        el("div", { cls: "state good", id: "guard-saved" }, [el("h2", { text: "Regression guard saved" }),
          el("p", { text: "Run it locally next to your wrangler.toml:" }), el("code", { cls: "cmd", text: b.command })]));
      guardBtn.hidden = true;
    }).catch(function (e) { showState(document.getElementById("guard-done"), asState(e)); }).finally(function () { busy(guardBtn, false); });
});
document.querySelectorAll("[data-check]").forEach(function (n) { n.addEventListener("click", function (ev) { ev.preventDefault();
  var on = n.dataset.check === "all";
  document.querySelectorAll("input[name=field]").forEach(function (c) { c.checked = on; });
}); });
`;
var DIAGNOSTICS = String.raw`
var box = document.getElementById("agent-health");
function row(ok, label, detail) { return el("tr", {}, [el("td", {}, [el("span", { cls: "badge " + (ok === true ? "st-2" : ok === false ? "st-5" : "st-none"), text: ok === true ? "ok" : ok === false ? "fix" : "info" })]), el("td", { text: label }), el("td", { cls: "small", text: detail }) ]); }
function pick(o, names) { for (var i = 0; i < names.length; i++) { var v = names[i].split(".").reduce(function (a, k) { return a && typeof a === "object" ? a[k] : undefined; }, o); if (v !== undefined) return v; } return undefined; }
function check() {
  if (!cfg.agentOrigin) { showState(box, new FluxState("warn", "ERR_AGENT_NOT_CONFIGURED", "No agent configured for this workspace", "", cfg.isAdmin ? "Set the agent endpoint and id below." : "Ask a workspace admin to set the agent endpoint.")); return; }
  box.replaceChildren(el("p", { cls: "muted", text: "Checking " + cfg.agentOrigin + " …" }));
  fetch(cfg.agentOrigin + "/v1/health", { mode: "cors", credentials: "omit", cache: "no-store" })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromAgent(res.status, b, cfg.agentOrigin); return b; }); },
          function () { return networkState(cfg.agentOrigin).then(function (s) { throw s; }); })
    .then(function (h) {
      var rows = [];
      var agentId = pick(h, ["agentId", "agent.id", "config.agentId", "audience"]);
      if (agentId !== undefined) rows.push(row(agentId === cfg.agentId, "Agent id", "agent: " + agentId + " · dashboard issues tokens for: " + (cfg.agentId || "none") + (agentId === cfg.agentId ? "" : " → set the same id in Admin → Agent")));
      var keyLoaded = pick(h, ["key.loaded", "privateKey.loaded", "keyLoaded", "key.ok"]);
      if (keyLoaded !== undefined) rows.push(row(!!keyLoaded, "Private key", keyLoaded ? "loaded" + (pick(h, ["key.kid", "privateKey.kid", "kid"]) ? " · kid " + pick(h, ["key.kid", "privateKey.kid", "kid"]) : "") : "missing → wrangler secret put FLUX_PRIVATE_KEY"));
      var matches = pick(h, ["key.matchesPublicKey", "key.matches", "privateKey.matches"]);
      if (matches !== undefined) rows.push(row(!!matches, "Key matches the public key", matches ? "yes" : "the private key does not match the recorded workers' FLUX_PUBLIC_KEY"));
      var bucket = pick(h, ["bucket.reachable", "traces.reachable", "bucket.ok", "bucketReachable"]);
      if (bucket !== undefined) rows.push(row(!!bucket, "Trace bucket", bucket ? "reachable" : "unreachable → bind FLUX_TRACES to fluxrun-traces"));
      var kids = pick(h, ["issuer.kids", "tokens.kids", "dashboard.kids", "jwks.kids"]);
      var issuer = pick(h, ["issuer.configured", "tokens.issuerConfigured", "issuerConfigured", "dashboard.configured", "jwks.configured"]);
      if (issuer !== undefined || kids !== undefined) {
        var trusts = Array.isArray(kids) ? kids.indexOf(cfg.kid) !== -1 : !!issuer;
        rows.push(row(trusts, "Dashboard public key", trusts ? "trusted" + (cfg.kid ? " (kid " + cfg.kid + ")" : "") : "missing → set FLUX_DASHBOARD_JWKS to the JSON at " + JWKS));
      }
      var origins = pick(h, ["allowedOrigins", "cors.allowedOrigins", "origins"]);
      if (Array.isArray(origins)) rows.push(row(origins.indexOf(ORIGIN) !== -1, "Allowed origins", origins.join(", ") + (origins.indexOf(ORIGIN) !== -1 ? "" : " → add " + ORIGIN)));
      var ver = pick(h, ["versions.trace", "version.trace", "traceVersion", "versions.traceFormat"]);
      if (ver !== undefined) rows.push(row(String(ver).split(",").indexOf(String(cfg.traceVersion)) !== -1 || Number(ver) === cfg.traceVersion, "Trace format", "agent reads v" + ver + " · dashboard indexes v" + cfg.traceVersion));
      var v = pick(h, ["versions.fluxrun", "version", "versions.agent"]);
      if (v !== undefined) rows.push(row(null, "Agent version", typeof v === "object" ? JSON.stringify(v) : String(v)));
      box.replaceChildren(el("div", { cls: "state good", "data-code": "AGENT_OK" }, [el("h2", { text: "The agent answers from " + cfg.agentOrigin })]),
        el("table", {}, [el("tbody", {}, rows.length ? rows : [row(null, "Health report", JSON.stringify(h))])]));
    }).catch(function (e) { showState(box, asState(e)); });
}
var b = document.getElementById("check-agent"); if (b) b.addEventListener("click", check);
if (cfg.autoCheck) check();
`;
function executionScript() {
  return raw(COMMON + EXECUTION);
}
function diagnosticsScript() {
  return raw(COMMON + DIAGNOSTICS);
}

// dashboard/src/routes/_shared.ts
import { createMiddleware as createMiddleware2 } from "hono/factory";
function requirePrincipal(c) {
  const p = c.get("principal");
  if (!p) {
    throw new DashboardError("ERR_AUTH_REQUIRED", "Sign in to continue", {
      fix: "Sign in with Cloudflare Access or an API token",
    });
  }
  return p;
}
async function checkWorkspace(c, ws, min) {
  const principal = requirePrincipal(c);
  const role = await roleIn(c.env.DB, ws, principal.userId);
  if (!role) {
    throw new DashboardError("ERR_NOT_FOUND", "No such workspace, or you are not a member of it", {
      fix: "Pick one of your workspaces, or ask its admin to add you",
    });
  }
  if (!atLeast(role, min)) {
    throw new DashboardError(
      "ERR_FORBIDDEN",
      `This needs the ${min} role; you are ${role} in this workspace`,
      {
        fix: `Ask a workspace admin for the ${min} role`,
      },
    );
  }
  return { principal, role };
}
function wsAccess(min) {
  return createMiddleware2(async (c, next) => {
    const ws = c.req.param("ws") ?? "";
    const { role } = await checkWorkspace(c, ws, min);
    c.set("ws", ws);
    c.set("role", role);
    await next();
  });
}
function agentOf(env, ws) {
  return {
    origin: ws?.agentOrigin || env.FLUX_AGENT_ORIGIN || null,
    id: ws?.agentId || env.FLUX_AGENT_ID || null,
  };
}
function originOf(url) {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
async function render2(c, shell, body, options = {}) {
  const principal = c.get("principal");
  const workspaces = principal ? await membershipsOf(c.env.DB, principal.userId) : [];
  const ws = shell.ws ?? null;
  const role = ws ? (workspaces.find((w) => w.id === ws)?.role ?? null) : null;
  const nonce2 = c.get("nonce");
  const connect = ["'self'", ...(options.connect ?? []).map(originOf).filter((o) => !!o)];
  c.header(
    "Content-Security-Policy",
    `default-src 'none'; script-src 'nonce-${nonce2}'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src ${connect.join(" ")}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  );
  return c.html(
    page(
      { ...shell, nonce: nonce2, email: principal?.email ?? null, workspaces, ws, role },
      body,
      options.scripts ?? [],
    ),
    options.status ?? 200,
  );
}
async function currentWorkspace(c) {
  const ws = await getWorkspace(c.env.DB, c.get("ws"));
  if (!ws) throw new DashboardError("ERR_NOT_FOUND", "No such workspace");
  return ws;
}
async function readBody(c) {
  const type = c.req.header("content-type") ?? "";
  try {
    if (type.includes("application/json")) return (await c.req.json()) ?? {};
    if (type.includes("form")) {
      const out = {};
      (await c.req.formData()).forEach((value, key) => {
        out[key] = value;
      });
      return out;
    }
  } catch (cause) {
    throw new DashboardError("ERR_BAD_REQUEST", "The request body could not be read", { cause });
  }
  return {};
}
function wantsJson(c) {
  const path = new URL(c.req.url).pathname;
  if (path.startsWith("/api/") || path.startsWith("/v1/")) return true;
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

// dashboard/src/routes/setup.ts
import { readTrace as readTrace2, TRACE_VERSION } from "fluxrun/trace";
var BINDING_FIX = h`<p>Add the trace bucket to <code>dashboard/wrangler.toml</code> and redeploy:</p>
<code class="cmd">[[r2_buckets]]
binding = "FLUX_TRACES"
bucket_name = "fluxrun-traces"</code>`;
function bindingMissing() {
  return stateBox(
    "bad",
    "The trace bucket is not bound (FLUX_TRACES)",
    h`<p>The dashboard cannot list or read traces without its R2 binding.</p>${BINDING_FIX}`,
    { id: "state-binding-missing", code: "ERR_BINDING_MISSING" },
  );
}
function noTracesYet(ws, hasBucketObjects) {
  return stateBox(
    "info",
    "No traces yet",
    h`<p>${hasBucketObjects ? "The bucket holds traces, but none belong to an app of this workspace yet." : "Nothing has been recorded into the trace bucket yet."}</p>
    <ol>
      <li>Wrap the worker: <code>export default withFlux(app, { app: "my-app" })</code> with <code>FLUX_PUBLIC_KEY</code> set and the <code>FLUX_TRACES</code> bucket bound.</li>
      <li>Send it some traffic (<code>npm start</code> runs the example worker and its demo traffic locally).</li>
      <li>${hasBucketObjects ? h`Register the app in <a href="/w/${ws}/admin">Admin → Apps</a>, then` : null} index: the sweep runs every minute, or an admin can click <b>Reindex from R2</b> in <a href="/w/${ws}/admin">Admin</a>.</li>
    </ol>`,
    { id: "state-no-traces", code: "NO_TRACES" },
  );
}
async function loadHead(env, row) {
  if (!env.FLUX_TRACES) return { head: null, problem: bindingMissing() };
  const obj = await env.FLUX_TRACES.get(row.r2Key);
  if (!obj) {
    return {
      head: null,
      problem: stateBox(
        "warn",
        "The trace object is no longer in R2",
        h`<p>The index still lists <code>${row.r2Key}</code>, but the bucket does not hold it (expired by a lifecycle rule, or deleted). Its summary above is all that remains.</p>`,
        { id: "state-trace-gone", code: "TRACE_GONE" },
      ),
    };
  }
  try {
    const { head } = readTrace2(new Uint8Array(await obj.arrayBuffer()));
    if (head.id !== row.traceId) {
      return {
        head: null,
        problem: stateBox(
          "bad",
          "The stored object is another trace",
          `The object at ${row.r2Key} holds trace ${head.id}. An admin can rebuild the index from R2.`,
          {
            code: "TRACE_MISMATCH",
          },
        ),
      };
    }
    return { head, problem: null };
  } catch (err) {
    const code = typeof err.code === "string" ? err.code : "ERR_TRACE_CORRUPT";
    if (code === "ERR_TRACE_VERSION") {
      return {
        head: null,
        problem: stateBox(
          "bad",
          "Version mismatch: this dashboard cannot read the trace's format",
          h`<p>${err.message}. This dashboard reads trace format v${TRACE_VERSION}.</p><p><b>Fix:</b> upgrade the dashboard's <code>fluxrun</code> dependency to the release the recording worker uses, and redeploy.</p>`,
          { id: "state-version-mismatch", code },
        ),
      };
    }
    return {
      head: null,
      problem: stateBox(
        "bad",
        "The trace cannot be read",
        h`<p>${err.message} (<code>${code}</code>). The object is damaged or not a FluxRun trace; it cannot be unlocked or replayed.</p>`,
        { id: "state-trace-unreadable", code },
      ),
    };
  }
}
async function setupChecks(env, agent) {
  const checks = [];
  if (!env.FLUX_TRACES) {
    checks.push({
      id: "binding",
      ok: false,
      label: "Trace bucket (FLUX_TRACES)",
      detail: BINDING_FIX,
    });
  } else {
    const one = await env.FLUX_TRACES.list({ prefix: "traces/", limit: 1 });
    checks.push({
      id: "binding",
      ok: true,
      label: "Trace bucket (FLUX_TRACES)",
      detail: one.objects.length
        ? "bound; holds traces"
        : "bound; empty so far (no traces recorded yet)",
    });
  }
  let kid = null;
  try {
    kid = (await signingKey(env)).kid;
    checks.push({
      id: "signing-key",
      ok: true,
      label: "Token signing key",
      detail: h`Ed25519 key <code>${kid}</code>; the agent must trust <a href="/.well-known/jwks.json">/.well-known/jwks.json</a> (FLUX_DASHBOARD_JWKS).`,
    });
  } catch (err) {
    const e = err;
    checks.push({
      id: "signing-key",
      ok: false,
      label: "Token signing key",
      detail: h`${e.message}. <b>Fix:</b> ${e.fix ?? ""}`,
    });
  }
  checks.push({
    id: "agent",
    ok: Boolean(agent.origin && agent.id),
    label: "Agent endpoint",
    detail:
      agent.origin && agent.id
        ? h`<code>${agent.origin}</code> · agent id <code>${agent.id}</code>`
        : h`Not configured. <b>Fix:</b> an admin sets the agent endpoint (e.g. <code>http://127.0.0.1:8788</code> for <code>npx fluxrun agent</code>) and the agent's FLUX_AGENT_ID in Admin → Agent.`,
  });
  return { checks, kid };
}

// dashboard/src/routes/pages.ts
function parseTime(v) {
  if (!v) return void 0;
  const t = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isFinite(t) ? t : void 0;
}
function parseFilter(ws, q, now) {
  const status = /^([2-5])xx$/.exec(q.status ?? "");
  const range = q.range && RANGES[q.range] ? q.range : "all";
  const span = RANGES[range]?.ms ?? null;
  return {
    ws,
    app: q.app || void 0,
    route: q.route || void 0,
    statusClass: status ? Number(status[1]) : void 0,
    outcome: OUTCOMES.includes(q.outcome ?? "") ? q.outcome : void 0,
    errorClass: q.error || void 0,
    from: range === "custom" ? parseTime(q.from) : span ? now - span : void 0,
    to: range === "custom" ? parseTime(q.to) : void 0,
  };
}
var lastDevSweep = 0;
async function devSweep(env, now) {
  if (env.FLUX_DEV !== "true" || !env.FLUX_TRACES || now - lastDevSweep < 2e3) return;
  lastDevSweep = now;
  await sweep(env.DB, env.FLUX_TRACES, {
    now,
    defaultWorkspace: env.FLUX_DEFAULT_WORKSPACE,
    maxPages: 5,
  });
}
function listQuery(c) {
  const q = {};
  for (const k of ["app", "route", "status", "outcome", "error", "range", "from", "to"]) {
    const v = c.req.query(k);
    if (v) q[k] = v.slice(0, 1024);
  }
  return q;
}
function pageRoutes(clock) {
  const app = new Hono();
  app.get("/", async (c) => {
    const p = c.get("principal");
    if (!p) return c.redirect("/login");
    const ws = await membershipsOf(c.env.DB, p.userId);
    if (ws.length) return c.redirect(`/w/${encodeURIComponent(ws[0].id)}/executions`);
    return render2(
      c,
      { title: "No workspace" },
      stateBox(
        "info",
        "You are not a member of any workspace yet",
        h`<p>Signed in as <b>${p.email}</b>. Ask a workspace admin to add this email with a role (viewer, responder or admin).</p>`,
        {
          id: "state-no-workspace",
        },
      ),
    );
  });
  app.get("/login", async (c) => {
    const access = accessConfigured(c.env);
    return render2(
      c,
      { title: "Sign in" },
      h`<div class="panel" style="max-width:560px;margin:40px auto">
        <h1>Sign in to FluxRun</h1>
        ${access ? h`<p>This dashboard is behind Cloudflare Access: open it through your team's Access login and you are signed in.</p>` : null}
        <form method="post" action="/login" class="grid" style="gap:10px">
          <label class="f">API token<input name="token" type="password" autocomplete="off" placeholder="fxd_…" required></label>
          <button type="submit">Sign in with token</button>
        </form>
        ${c.env.FLUX_DEV === "true" ? h`<p class="small muted">Local dev: <code>npm start</code> prints a login link for the seeded admin.</p>` : null}
      </div>`,
    );
  });
  app.post("/login", async (c) => {
    const body = await readBody(c);
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const user = token ? await userByToken(c.env.DB, token, clock.now()) : null;
    if (!user) {
      return render2(
        c,
        { title: "Sign in" },
        h`<div style="max-width:560px;margin:40px auto">${stateBox("bad", "That token is unknown, expired or revoked", "Create a new one on your account page (or ask an admin), then sign in again.", { code: "ERR_AUTH_INVALID" })}<a href="/login">Back</a></div>`,
        { status: 401 },
      );
    }
    setSession(c, token);
    return c.redirect("/", 303);
  });
  app.post("/logout", (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/login", 303);
  });
  const accountPage = async (c, created = null) => {
    const p = requirePrincipal(c);
    const tokens = await tokensOf(c.env.DB, p.userId);
    return render2(
      c,
      { title: "Account", active: "account" },
      h`<h1>Account</h1><p class="sub">${p.email} · signed in with ${p.via === "access" ? "Cloudflare Access" : "an API token"}</p>
      ${created ? stateBox("good", "New API token", h`<p>Copy it now; it is not shown again.</p><code class="cmd" id="new-token">${created}</code>`) : null}
      <div class="panel"><h2>API tokens</h2>
        <table><thead><tr><th>Token</th><th>Name</th><th>Created</th><th>Last used</th><th></th></tr></thead><tbody>
        ${tokens.map(
          (
            t,
          ) => h`<tr><td class="mono">${t.prefix}…</td><td>${t.name}</td><td>${formatTime(t.createdAt, { millis: false })}</td>
            <td>${t.lastUsedAt ? ago(t.lastUsedAt, clock.now()) : "never"}</td>
            <td>${t.revokedAt ? h`<span class="muted">revoked</span>` : h`<form method="post" action="/account/tokens/revoke"><input type="hidden" name="prefix" value="${t.prefix}"><button class="danger" type="submit">Revoke</button></form>`}</td></tr>`,
        )}</tbody></table>
        <form method="post" action="/account/tokens" class="filters" style="margin-top:12px">
          <label class="f">Name<input name="name" required maxlength="64" placeholder="laptop CLI"></label><button type="submit">Create token</button>
        </form>
      </div>`,
    );
  };
  app.get("/account", (c) => accountPage(c));
  app.post("/account/tokens", async (c) => {
    const p = requirePrincipal(c);
    const body = await readBody(c);
    const name =
      typeof body.name === "string" && body.name.trim() ? body.name.trim().slice(0, 64) : "token";
    const now = clock.now();
    const token = await createApiToken(c.env.DB, p.userId, { name, now });
    await audit(
      c.env.DB,
      {
        ws: null,
        actor: p.email,
        action: "api_token.created",
        target: p.email,
        allowed: true,
        detail: { name, prefix: token.slice(0, 8) },
      },
      now,
    );
    c.header("Cache-Control", "no-store");
    return accountPage(c, token);
  });
  app.post("/account/tokens/revoke", async (c) => {
    const p = requirePrincipal(c);
    const body = await readBody(c);
    const prefix = typeof body.prefix === "string" ? body.prefix : "";
    const now = clock.now();
    await revokeTokens(c.env.DB, p.userId, { prefix, now });
    await audit(
      c.env.DB,
      {
        ws: null,
        actor: p.email,
        action: "api_token.revoked",
        target: p.email,
        allowed: true,
        detail: { prefix },
      },
      now,
    );
    return c.redirect("/account", 303);
  });
  app.get("/w/:ws", wsAccess("viewer"), (c) =>
    c.redirect(`/w/${encodeURIComponent(c.get("ws"))}/executions`),
  );
  app.get("/w/:ws/executions", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const db = c.env.DB;
    const now = clock.now();
    const q = listQuery(c);
    await devSweep(c.env, now);
    const apps = (await appsOf(db, ws)).map((a) => a.name);
    if (q.app && !apps.includes(q.app)) {
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace", {
        fix: "Pick one of the workspace's apps",
      });
    }
    const filter = parseFilter(ws, q, now);
    const cursorParam = c.req.query("cursor");
    const cursor = decodeCursor(cursorParam);
    const [page2, count] = await Promise.all([
      listExecutions(db, filter, { cursor }),
      countExecutions(db, filter),
    ]);
    const scope = q.app ? [q.app] : apps;
    const from = filter.from ?? 0;
    const to = filter.to ?? now + 6e4;
    const [routes, facetsData, errorClasses] = await Promise.all([
      routesOf(db, scope, { from: Math.max(from, now - 30 * 864e5), to }),
      facets(db, scope, { from, to, route: filter.route ?? null }),
      q.app ? errorClassesOf(db, ws, { app: q.app, from: now - 7 * 864e5 }) : Promise.resolve([]),
    ]);
    let top = h``;
    if (!page2.rows.length && !cursor && !(await hasExecutions(db, ws))) {
      let bucketHas = null;
      if (c.env.FLUX_TRACES)
        bucketHas =
          (await c.env.FLUX_TRACES.list({ prefix: "traces/", limit: 1 })).objects.length > 0;
      top = c.env.FLUX_TRACES ? noTracesYet(ws, bucketHas) : bindingMissing();
    } else if (!c.env.FLUX_TRACES) {
      top = bindingMissing();
    }
    return render2(
      c,
      { title: "Executions", ws, active: "executions" },
      h`<h1>Executions</h1><p class="sub">Newest first. Summaries only: payloads stay sealed until a responder unlocks them through the agent.</p>
      ${top}
      ${listView({
        ws,
        query: q,
        apps,
        routes,
        errorClasses: errorClasses.map((e) => e.errorClass),
        rows: page2.rows,
        next: page2.next,
        isFirstPage: !cursor,
        count,
        facets: facetsData,
      })}`,
      { scripts: [LIST_SCRIPT] },
    );
  });
  app.get("/w/:ws/executions/:trace", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const role = c.get("role");
    const row = await getExecution(c.env.DB, ws, c.req.param("trace"));
    if (!row) {
      throw new DashboardError("ERR_NOT_FOUND", "No such execution in this workspace", {
        fix: "Open it from the executions list; traces of other workspaces are not shown",
      });
    }
    const workspace = await currentWorkspace(c);
    const agent = agentOf(c.env, workspace);
    const { head, problem } = await loadHead(c.env, row);
    const guard = await guardFor(c.env.DB, ws, row.traceId);
    const canAct = atLeast(role, "responder");
    const view = executionView({
      ws,
      row,
      head,
      headProblem: problem,
      canAct,
      role,
      agent,
      guard: guard
        ? {
            command: guardCommand(row.traceId, new URL(c.req.url).origin, ws),
            createdAt: guard.createdAt,
          }
        : null,
      showReads: c.req.query("reads") === "1",
    });
    const noAgent =
      canAct && (!agent.origin || !agent.id)
        ? stateBox(
            "warn",
            "No agent configured for this workspace",
            h`<p>Unlock and replay go through your agent.${role === "admin" ? h` Set its endpoint and id in <a href="/w/${ws}/admin">Admin → Agent</a>.` : " Ask a workspace admin to set it."}</p>`,
            { id: "state-no-agent", code: "ERR_AGENT_NOT_CONFIGURED" },
          )
        : null;
    return render2(
      c,
      { title: `${row.method} ${row.route}`, ws, active: "executions" },
      h`<p class="small"><a href="/w/${ws}/executions?app=${encodeURIComponent(row.app)}">⟵ ${row.app} executions</a></p>${noAgent}${view.body}${configScript(view.config)}`,
      { scripts: canAct && head ? [executionScript()] : [], connect: [agent.origin] },
    );
  });
  app.get("/w/:ws/executions/:trace/trace.cbor", wsAccess("responder"), async (c) => {
    const row = await getExecution(c.env.DB, c.get("ws"), c.req.param("trace"));
    if (!row) throw new DashboardError("ERR_NOT_FOUND", "No such execution in this workspace");
    if (!c.env.FLUX_TRACES)
      throw new DashboardError(
        "ERR_BINDING_MISSING",
        "The trace bucket is not bound (FLUX_TRACES)",
      );
    const obj = await c.env.FLUX_TRACES.get(row.r2Key);
    if (!obj) throw new DashboardError("ERR_NOT_FOUND", "The trace object is no longer in R2");
    return new Response(obj.body, {
      headers: {
        "content-type": "application/cbor",
        "content-disposition": `attachment; filename="${row.traceId}.cbor"`,
        "cache-control": "no-store",
      },
    });
  });
  app.get("/w/:ws/overview", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const db = c.env.DB;
    const now = clock.now();
    const apps = (await appsOf(db, ws)).map((a) => a.name);
    const appQ = c.req.query("app") || void 0;
    if (appQ && !apps.includes(appQ))
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
    const range = ["1h", "24h", "7d", "30d"].includes(c.req.query("range") ?? "")
      ? c.req.query("range")
      : "24h";
    const span = RANGES[range].ms;
    const scope = appQ ? [appQ] : apps;
    const routes = await routesOf(db, scope, { from: now - span, to: now + 6e4 });
    const routeQ = c.req.query("route") || void 0;
    const data = await overview(db, scope, {
      from: now - span,
      to: now,
      route: routeQ && routes.includes(routeQ) ? routeQ : null,
    });
    return render2(
      c,
      { title: "Overview", ws, active: "overview" },
      h`<h1>Overview${appQ ? h` · ${appQ}` : null}</h1><p class="sub">Requests, errors and duration percentiles (UTC), from the index rollups.</p>
      ${!apps.length ? noTracesYet(ws, null) : null}
      ${overviewView({ ws, apps, app: appQ, route: routeQ, range, routes, data })}`,
    );
  });
  app.get("/w/:ws/guards", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const guards = await guardsOf(c.env.DB, ws);
    return render2(
      c,
      { title: "Regression guards", ws, active: "guards" },
      h`<h1>Regression guards</h1><p class="sub">Repaired replays saved as the expected outcome. Write one as a local test with the command shown; CI replays it against your code.</p>
      ${
        guards.length
          ? h`<div class="panel" style="padding:0"><table id="guards"><thead><tr><th>Saved</th><th>Request</th><th>Expected</th><th>Boundaries</th><th>Command</th></tr></thead><tbody>
        ${guards.map(
          (
            g,
          ) => h`<tr><td class="nowrap">${formatTime(g.createdAt, { millis: false })}<div class="small muted">${g.createdBy}</div></td>
            <td><a href="/w/${ws}/executions/${g.traceId}"><span class="mono">${g.method}</span> ${g.route}</a><div class="small muted">${g.app}</div></td>
            <td>${g.errorName ? h`throws ${g.errorName}` : h`<span class="badge">${g.status}</span> <span class="mono small">${g.bodyDigest ?? ""}</span>`}</td>
            <td class="num">${g.boundaries.length}</td><td><code class="cmd small">${guardCommand(g.traceId, new URL(c.req.url).origin, g.ws)}</code></td></tr>`,
        )}</tbody></table></div>`
          : stateBox(
              "info",
              "No guards yet",
              "Open a failing execution, replay it after your fix, and click \u201CSave as regression guard\u201D.",
            )
      }`,
    );
  });
  app.get("/w/:ws/diagnostics", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const db = c.env.DB;
    const workspace = await currentWorkspace(c);
    const agent = agentOf(c.env, workspace);
    const { checks, kid } = await setupChecks(c.env, agent);
    const apps = await appsOf(db, ws);
    const cursors = await cursorStatus(
      db,
      apps.map((a) => prefixOf(a.name)),
    );
    const { results: skips } = await db
      .prepare("SELECT r2_key AS key, reason, at FROM ingest_skips ORDER BY at DESC LIMIT 20")
      .all();
    const mySkips = skips.filter((s) => apps.some((a) => s.key.startsWith(prefixOf(a.name))));
    const isAdmin = c.get("role") === "admin";
    return render2(
      c,
      { title: "Diagnostics", ws, active: "diagnostics" },
      h`<h1>Diagnostics</h1><p class="sub">What this workspace needs to show traces and to unlock and replay them.</p>
      <div class="panel"><h2>Dashboard</h2><table id="checks"><tbody>
        ${checks.map((k) => h`<tr data-check-id="${k.id}"><td style="width:60px"><span class="badge ${k.ok ? "st-2" : k.ok === false ? "st-5" : "st-none"}">${k.ok ? "ok" : "fix"}</span></td><td style="width:220px">${k.label}</td><td class="small">${k.detail}</td></tr>`)}
        <tr><td><span class="badge ${apps.length ? "st-2" : "st-5"}">${apps.length ? "ok" : "fix"}</span></td><td>Apps</td><td class="small">${apps.length ? apps.map((a) => h`<span class="tag">${a.name}</span>`) : "No apps in this workspace yet: record some traffic, then reindex (apps join the default workspace) or register the app in Admin \u2192 Apps."}</td></tr>
      </tbody></table></div>
      <div class="panel"><h2>Agent (checked from your browser)</h2>
        <p class="small muted">Calls <code>${agent.origin ?? "(none)"}/v1/health</code> directly, as Unlock and Replay do.</p>
        <button id="check-agent" type="button" class="sec">Check agent</button><div id="agent-health" style="margin-top:12px"></div></div>
      <div class="panel"><h2>Index</h2>
        ${
          cursors.length
            ? h`<table id="cursors"><thead><tr><th>Prefix</th><th>Last key</th><th>Swept</th><th class="num">Indexed</th><th class="num">Skipped</th><th>Status</th></tr></thead><tbody>
          ${cursors.map(
            (
              k,
            ) => h`<tr><td class="mono small">${k.prefix}</td><td class="mono small">${k.lastKey ?? "\u2014"}</td><td>${k.sweptAt ? ago(k.sweptAt, clock.now()) : "never"}</td><td class="num">${formatCount(k.indexed)}</td><td class="num">${formatCount(k.skipped)}</td>
            <td>${k.lastError ? h`<span class="oc-exception">${k.lastError}</span>` : k.rebuilding ? "rebuilding" : "ok"}</td></tr>`,
          )}</tbody></table>`
            : h`<p class="muted">Not swept yet. The cron sweep runs every minute; admins can reindex from R2 in Admin.</p>`
        }
        ${mySkips.length ? h`<h3 style="margin-top:12px">Objects not indexed</h3><table><tbody>${mySkips.map((s) => h`<tr><td class="mono small">${s.key}</td><td class="small">${s.reason}</td></tr>`)}</tbody></table>` : null}
      </div>
      ${configScript({ agentOrigin: agent.origin, agentId: agent.id, kid, traceVersion: TRACE_VERSION2, isAdmin, autoCheck: Boolean(agent.origin) })}`,
      { scripts: [diagnosticsScript()], connect: [agent.origin] },
    );
  });
  return app;
}
function setSession(c, token) {
  setCookie(c, SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: 7 * 86400,
  });
}

// dashboard/src/routes/public.ts
function publicRoutes(clock) {
  const app = new Hono2();
  app.get("/.well-known/jwks.json", async (c) => {
    c.header("Cache-Control", "public, max-age=300");
    c.header("Access-Control-Allow-Origin", "*");
    return c.json(await publicJwks(c.env));
  });
  app.get("/healthz", async (c) => {
    const db = await c.env.DB.prepare("SELECT count(*) AS n FROM workspaces")
      .first()
      .then(
        () => "ok",
        () => "migrations not applied",
      );
    const jwks = await publicJwks(c.env);
    return c.json({
      ok: db === "ok",
      db,
      traces: c.env.FLUX_TRACES ? "bound" : "FLUX_TRACES binding missing",
      signingKey: jwks.keys[0]?.kid ?? "missing",
    });
  });
  app.get("/dev/login", async (c) => {
    if (c.env.FLUX_DEV !== "true") throw new DashboardError("ERR_NOT_FOUND", "Not found");
    const token = c.req.query("token") ?? "";
    const user = await userByToken(c.env.DB, token, clock.now());
    if (!user)
      throw new DashboardError("ERR_AUTH_INVALID", "Unknown dev token", {
        fix: "Use the link `npm start` printed",
      });
    setSession(c, token);
    return c.redirect("/", 302);
  });
  return app;
}

// dashboard/src/routes/ingest.ts
import { Hono as Hono3 } from "hono";
import { readTrace as readTrace3, summaryMetadata, traceKey } from "fluxrun/trace";
var MAX_INGEST_BYTES = 5 * 1024 * 1024;
function ingestRoutes(clock) {
  const app = new Hono3();
  app.post("/v1/ingest", async (c) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    const tokenApp = m ? await appByIngestToken(c.env.DB, m[1]) : null;
    if (!tokenApp) {
      throw new DashboardError(
        "ERR_INGEST_TOKEN",
        "The ingest token is missing, unknown or revoked",
        {
          fix: "Create one in Admin \u2192 Apps \u2192 New ingest token and configure the HTTP sink with it",
        },
      );
    }
    const len = Number(c.req.header("content-length") ?? 0);
    if (len > MAX_INGEST_BYTES)
      throw new DashboardError("ERR_TOO_LARGE", `A trace is at most ${MAX_INGEST_BYTES} bytes`);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length > MAX_INGEST_BYTES)
      throw new DashboardError("ERR_TOO_LARGE", `A trace is at most ${MAX_INGEST_BYTES} bytes`);
    let head;
    try {
      head = readTrace3(bytes).head;
    } catch (err) {
      const code = err.code;
      throw new DashboardError(
        "ERR_TRACE_UNREADABLE",
        `The body is not a readable FluxRun trace (${typeof code === "string" ? code : "ERR_TRACE_CORRUPT"})`,
        { cause: err },
      );
    }
    const now = clock.now();
    if (head.summary.app !== tokenApp) {
      await audit(
        c.env.DB,
        {
          ws: await appWorkspace(c.env.DB, tokenApp),
          actor: `ingest:${tokenApp}`,
          action: "ingest.denied",
          target: head.id,
          allowed: false,
          reason: `trace is for app ${head.summary.app}`,
        },
        now,
      );
      throw new DashboardError(
        "ERR_FORBIDDEN",
        `This ingest token is for app ${tokenApp}, not ${head.summary.app}`,
      );
    }
    if (!c.env.FLUX_TRACES) {
      throw new DashboardError(
        "ERR_BINDING_MISSING",
        "The trace bucket is not bound (FLUX_TRACES): ingested traces could not be unlocked or replayed",
        {
          fix: 'Add [[r2_buckets]] binding = "FLUX_TRACES" to dashboard/wrangler.toml',
        },
      );
    }
    const key = traceKey(head.summary);
    if (!(await c.env.FLUX_TRACES.head(key))) {
      await c.env.FLUX_TRACES.put(key, bytes, {
        httpMetadata: { contentType: "application/cbor" },
        customMetadata: summaryMetadata(head.summary),
      });
    }
    const inserted = await storeRows(
      c.env.DB,
      [rowFromSummary(head.summary, key, String(head.version))],
      {
        now,
        defaultWorkspace: c.env.FLUX_DEFAULT_WORKSPACE,
      },
    );
    return c.json({ traceId: head.id, key, indexed: inserted === 1 }, 202);
  });
  return app;
}

// dashboard/src/routes/admin.ts
import { Hono as Hono4 } from "hono";
var APP_NAME = /^[A-Za-z0-9._-]{1,128}$/;
var EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
function str(v, max = 512) {
  return typeof v === "string" ? v.trim().slice(0, max) : "";
}
async function adminPage(c, clock, flash = null, status = 200) {
  const ws = c.get("ws");
  const db = c.env.DB;
  const workspace = await currentWorkspace(c);
  const agent = agentOf(c.env, workspace);
  const [members, apps, ingest, jwks, log] = await Promise.all([
    membersOf(db, ws),
    appsOf(db, ws),
    ingestTokensOf(db, ws),
    publicJwks(c.env),
    auditOf(db, ws, { limit: 30 }),
  ]);
  const cursors = await cursorStatus(
    db,
    apps.map((a) => prefixOf(a.name)),
  );
  const base = `/w/${encodeURIComponent(ws)}/admin`;
  const body = h`<h1>Admin · ${workspace.name}</h1><p class="sub">Agent, members, apps, keys and the index of this workspace.</p>
  ${flash}
  <div class="grid g2">
    <div class="panel" id="agent-settings"><h2>Agent</h2>
      <p class="small muted">The browser calls this agent for Unlock and Replay. Tokens are issued for its id (FLUX_AGENT_ID).</p>
      <form method="post" action="${base}/agent" class="grid" style="gap:8px">
        <label class="f">Agent endpoint<input name="origin" value="${workspace.agentOrigin ?? ""}" placeholder="${c.env.FLUX_AGENT_ORIGIN ?? "https://agent.example.com"}"></label>
        <label class="f">Agent id<input name="id" value="${workspace.agentId ?? ""}" placeholder="${c.env.FLUX_AGENT_ID ?? "acme-prod-agent"}"></label>
        <div><button type="submit">Save agent</button> <span class="small muted">In use: ${agent.origin ?? "none"} · ${agent.id ?? "none"}</span></div>
      </form></div>
    <div class="panel" id="keys"><h2>Keys</h2>
      ${
        jwks.keys.length
          ? h`<p class="small">Tokens are signed with Ed25519 key <code>${jwks.keys[0].kid}</code>. Give the agent the public half:</p>
        <code class="cmd">FLUX_DASHBOARD_JWKS='${JSON.stringify(jwks)}'</code>
        <p class="small muted">Also served at <a href="/.well-known/jwks.json">/.well-known/jwks.json</a>. The trace private key never comes here: it stays with the agent.</p>`
          : stateBox(
              "bad",
              "No signing key",
              h`<p>Set the secret <code>FLUX_DASHBOARD_SIGNING_KEY</code> (Ed25519 private JWK): <code>wrangler secret put FLUX_DASHBOARD_SIGNING_KEY -c dashboard/wrangler.toml</code>.</p>`,
              { code: "ERR_SIGNING_KEY_MISSING" },
            )
      }
    </div>
  </div>
  <div class="panel" id="members"><h2>Members</h2>
    <table><thead><tr><th>Email</th><th>Role</th><th>Since</th><th></th></tr></thead><tbody>
    ${members.map(
      (m) => h`<tr data-member="${m.email}"><td>${m.email}</td><td>
        <form method="post" action="${base}/members/${m.userId}/role" class="actions">
          <select name="role">${ROLES.map((r) => h`<option value="${r}" ${r === m.role ? raw("selected") : null}>${r}</option>`)}</select>
          <button type="submit" class="sec">Change</button></form></td>
        <td>${formatTime(m.since, { millis: false })}</td>
        <td><form method="post" action="${base}/members/${m.userId}/remove"><button class="danger" type="submit">Remove</button></form></td></tr>`,
    )}</tbody></table>
    <form method="post" action="${base}/members" class="filters" style="margin-top:12px">
      <label class="f">Email<input name="email" type="email" required placeholder="oncall@example.com"></label>
      <label class="f">Role<select name="role">${ROLES.map((r) => h`<option value="${r}">${r}</option>`)}</select></label>
      <button type="submit">Add member</button>
    </form>
    <p class="small muted">viewer: summaries only · responder: unlock and replay through the agent, save guards · admin: this page.${accessConfigured(c.env) ? " Members sign in with Cloudflare Access." : " New users get a one-time API token to sign in."}</p>
  </div>
  <div class="grid g2">
    <div class="panel" id="apps"><h2>Apps</h2>
      <table><thead><tr><th>App</th><th>Indexed</th><th>Last sweep</th><th></th></tr></thead><tbody>
      ${apps.map((a) => {
        const k = cursors.find((x) => x.prefix === prefixOf(a.name));
        return h`<tr><td class="mono">${a.name}</td><td class="num">${formatCount(k?.indexed ?? 0)}</td><td class="small">${k?.sweptAt ? formatTime(k.sweptAt, { millis: false }) : "never"}${k?.lastError ? h` <span class="oc-exception">${k.lastError}</span>` : null}</td>
          <td><form method="post" action="${base}/apps/${encodeURIComponent(a.name)}/ingest-token"><button class="sec" type="submit">New ingest token</button></form></td></tr>`;
      })}</tbody></table>
      ${ingest.length ? h`<p class="small muted">Live ingest tokens: ${ingest.map((t) => h`<span class="tag">${t.app} ${t.prefix}…</span>`)}</p>` : null}
      <form method="post" action="${base}/apps" class="filters" style="margin-top:12px">
        <label class="f">App name (as in withFlux)<input name="name" required pattern="[A-Za-z0-9._-]+" placeholder="shop-api"></label><button type="submit">Register app</button>
      </form></div>
    <div class="panel" id="index"><h2>Index</h2>
      <p class="small">The cron sweep indexes new traces from R2 every minute. Reindex walks this workspace's app prefixes from the start and adds anything missing (idempotent by trace id).</p>
      ${c.env.FLUX_TRACES ? null : bindingMissing()}
      <form method="post" action="/admin/reindex"><input type="hidden" name="ws" value="${ws}"><button type="submit" id="reindex">Reindex from R2</button></form>
    </div>
  </div>
  <div class="panel" id="audit"><div style="display:flex;justify-content:space-between"><h2>Audit log</h2><a href="${base}/audit.ndjson">Export NDJSON</a></div>
    <table><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Result</th><th>Detail</th></tr></thead><tbody>
    ${log.map(
      (
        e,
      ) => h`<tr><td class="nowrap small">${formatTime(e.at)}</td><td>${e.actor}</td><td class="mono">${e.action}</td><td class="mono small">${e.target ?? ""}</td>
        <td>${e.allowed ? h`<span class="badge st-2">allowed</span>` : h`<span class="badge st-5">denied</span> <span class="small">${e.reason ?? ""}</span>`}</td>
        <td class="mono small">${Object.keys(e.detail).length ? JSON.stringify(e.detail) : ""}</td></tr>`,
    )}</tbody></table></div>`;
  return render2(c, { title: "Admin", ws, active: "admin" }, body, { status });
}
function sweepSummary(r) {
  return `Listed ${r.listed} objects in ${r.prefixes} prefixes: ${r.inserted} newly indexed, ${r.skipped} skipped${r.done ? "" : "; more remain, the cron sweep continues"}.`;
}
function adminRoutes(clock) {
  const admin = new Hono4();
  const w = new Hono4();
  w.use("*", wsAccess("admin"));
  w.get("/", (c) => adminPage(c, clock));
  w.post("/agent", async (c) => {
    const body = await readBody(c);
    const origin = str(body.origin);
    const id = str(body.id, 256);
    if (origin) {
      let u;
      try {
        u = new URL(origin);
      } catch {
        return adminPage(
          c,
          clock,
          stateBox(
            "bad",
            "Not a URL",
            `\u201C${origin}\u201D is not an absolute URL such as https://agent.example.com.`,
          ),
          400,
        );
      }
      if (u.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(u.hostname)) {
        return adminPage(
          c,
          clock,
          stateBox(
            "bad",
            "The agent endpoint must use https",
            "Only a local connector on 127.0.0.1 may use plain http.",
          ),
          400,
        );
      }
    }
    const ws = c.get("ws");
    const before = await currentWorkspace(c);
    const normalized = origin ? new URL(origin).origin : null;
    await setAgent(c.env.DB, ws, { origin: normalized, id: id || null });
    await audit(
      c.env.DB,
      {
        ws,
        actor: c.get("principal").email,
        action: "agent.changed",
        target: ws,
        allowed: true,
        detail: {
          from: `${before.agentOrigin ?? ""} ${before.agentId ?? ""}`.trim(),
          to: `${normalized ?? ""} ${id}`.trim(),
        },
      },
      clock.now(),
    );
    return adminPage(
      c,
      clock,
      stateBox(
        "good",
        "Agent saved",
        `Browsers now call ${normalized ?? "the default agent"} with tokens for ${id || "the default agent id"}.`,
      ),
    );
  });
  w.post("/members", async (c) => {
    const body = await readBody(c);
    const email = str(body.email, 320).toLowerCase();
    const role = str(body.role);
    if (!EMAIL.test(email) || !isRole(role)) {
      return adminPage(
        c,
        clock,
        stateBox(
          "bad",
          "Check the email and role",
          "Use a valid email and one of viewer, responder, admin.",
        ),
        400,
      );
    }
    const ws = c.get("ws");
    const db = c.env.DB;
    const now = clock.now();
    const existed = await db.prepare("SELECT id FROM users WHERE email = ?").bind(email).first();
    const user = await ensureUser(db, email, { now, id: () => clock.id() });
    const before = await setMember(db, ws, user.id, role, now);
    const actor = c.get("principal").email;
    await audit(
      db,
      {
        ws,
        actor,
        action: before ? "role.changed" : "member.added",
        target: email,
        allowed: true,
        detail: { from: before, to: role },
      },
      now,
    );
    let flash = stateBox(
      "good",
      before ? "Role changed" : "Member added",
      `${email} is now ${role}.`,
    );
    if (!existed && !accessConfigured(c.env)) {
      const token = await createApiToken(db, user.id, { name: "initial (created by admin)", now });
      await audit(
        db,
        {
          ws,
          actor,
          action: "api_token.created",
          target: email,
          allowed: true,
          detail: { prefix: token.slice(0, 8), by: "admin" },
        },
        now,
      );
      flash = stateBox(
        "good",
        "Member added",
        h`<p>${email} is now ${role}. Send them this one-time API token over a private channel; it is not shown again:</p><code class="cmd" id="new-token">${token}</code>`,
      );
    }
    return adminPage(c, clock, flash);
  });
  w.post("/members/:user/role", async (c) => {
    const body = await readBody(c);
    const role = str(body.role);
    const ws = c.get("ws");
    const db = c.env.DB;
    const target = await userById(db, c.req.param("user"));
    const current = target ? await roleIn(db, ws, target.id) : null;
    if (!target || !current)
      throw new DashboardError("ERR_NOT_FOUND", "No such member in this workspace");
    if (!isRole(role))
      return adminPage(
        c,
        clock,
        stateBox("bad", "Unknown role", "Use viewer, responder or admin."),
        400,
      );
    const actor = c.get("principal").email;
    if (current === "admin" && role !== "admin" && (await countAdmins(db, ws)) <= 1) {
      await audit(
        db,
        {
          ws,
          actor,
          action: "role.changed",
          target: target.email,
          allowed: false,
          reason: "last admin",
          detail: { from: current, to: role },
        },
        clock.now(),
      );
      return adminPage(
        c,
        clock,
        stateBox("bad", "A workspace keeps at least one admin", "Make someone else admin first."),
        409,
      );
    }
    await setMember(db, ws, target.id, role, clock.now());
    await audit(
      db,
      {
        ws,
        actor,
        action: "role.changed",
        target: target.email,
        allowed: true,
        detail: { from: current, to: role },
      },
      clock.now(),
    );
    return adminPage(
      c,
      clock,
      stateBox("good", "Role changed", `${target.email}: ${current} \u2192 ${role}.`),
    );
  });
  w.post("/members/:user/remove", async (c) => {
    const ws = c.get("ws");
    const db = c.env.DB;
    const target = await userById(db, c.req.param("user"));
    const current = target ? await roleIn(db, ws, target.id) : null;
    if (!target || !current)
      throw new DashboardError("ERR_NOT_FOUND", "No such member in this workspace");
    const actor = c.get("principal").email;
    if (current === "admin" && (await countAdmins(db, ws)) <= 1) {
      return adminPage(
        c,
        clock,
        stateBox("bad", "A workspace keeps at least one admin", "Make someone else admin first."),
        409,
      );
    }
    await removeMember(db, ws, target.id);
    await audit(
      db,
      {
        ws,
        actor,
        action: "member.removed",
        target: target.email,
        allowed: true,
        detail: { role: current },
      },
      clock.now(),
    );
    return adminPage(
      c,
      clock,
      stateBox("good", "Member removed", `${target.email} no longer has access to this workspace.`),
    );
  });
  w.post("/apps", async (c) => {
    const body = await readBody(c);
    const name = str(body.name, 128);
    if (!APP_NAME.test(name))
      return adminPage(
        c,
        clock,
        stateBox(
          "bad",
          "Invalid app name",
          "Use letters, digits, dot, dash and underscore, as in withFlux({ app }).",
        ),
        400,
      );
    const ws = c.get("ws");
    const result = await registerApp(c.env.DB, ws, name, clock.now());
    const actor = c.get("principal").email;
    await audit(
      c.env.DB,
      {
        ws,
        actor,
        action: "app.registered",
        target: name,
        allowed: result !== "taken",
        ...(result === "taken" ? { reason: "app belongs to another workspace" } : {}),
      },
      clock.now(),
    );
    if (result === "taken")
      return adminPage(
        c,
        clock,
        stateBox(
          "bad",
          "That app belongs to another workspace",
          "App names are unique across the dashboard. Pick another name in withFlux({ app }).",
        ),
        409,
      );
    return adminPage(
      c,
      clock,
      stateBox(
        "good",
        result === "created" ? "App registered" : "Already registered",
        `${name} belongs to this workspace. Reindex to pick up its earlier traces.`,
      ),
    );
  });
  w.post("/apps/:app/ingest-token", async (c) => {
    const ws = c.get("ws");
    const app = c.req.param("app");
    if (!(await appsOf(c.env.DB, ws)).some((a) => a.name === app))
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
    const token = await createIngestToken(c.env.DB, app, clock.now());
    await audit(
      c.env.DB,
      {
        ws,
        actor: c.get("principal").email,
        action: "ingest_token.created",
        target: app,
        allowed: true,
        detail: { prefix: token.slice(0, 8) },
      },
      clock.now(),
    );
    return adminPage(
      c,
      clock,
      stateBox(
        "good",
        `Ingest token for ${app}`,
        h`<p>For the HTTP sink (<code>POST ${new URL(c.req.url).origin}/v1/ingest</code>). Shown once:</p><code class="cmd" id="new-token">${token}</code>`,
      ),
    );
  });
  w.get("/audit.ndjson", async (c) => {
    const rows = await auditOf(c.env.DB, c.get("ws"), { limit: 1e3 });
    const lines = rows.map((r) =>
      JSON.stringify({
        at: new Date(r.at).toISOString(),
        actor: r.actor,
        action: r.action,
        target: r.target,
        allowed: r.allowed,
        reason: r.reason,
        ...r.detail,
      }),
    );
    c.header("Content-Type", "application/x-ndjson; charset=utf-8");
    c.header("Content-Disposition", `attachment; filename="fluxrun-audit-${c.get("ws")}.ndjson"`);
    return c.body(lines.join("\n") + (lines.length ? "\n" : ""));
  });
  admin.route("/w/:ws/admin", w);
  admin.post("/admin/reindex", async (c) => {
    const body = await readBody(c);
    const ws = str(body.ws || c.req.query("ws"), 128);
    const { principal } = await checkWorkspace(c, ws, "admin");
    c.set("ws", ws);
    c.set("role", "admin");
    const now = clock.now();
    if (!c.env.FLUX_TRACES) {
      await audit(
        c.env.DB,
        {
          ws,
          actor: principal.email,
          action: "reindex",
          target: ws,
          allowed: false,
          reason: "FLUX_TRACES binding missing",
        },
        now,
      );
      throw new DashboardError(
        "ERR_BINDING_MISSING",
        "The trace bucket is not bound (FLUX_TRACES)",
        {
          fix: 'Add [[r2_buckets]] binding = "FLUX_TRACES", bucket_name = "fluxrun-traces" to dashboard/wrangler.toml',
        },
      );
    }
    const apps = (await appsOf(c.env.DB, ws)).map((a) => prefixOf(a.name));
    const prefixes =
      c.env.FLUX_DEFAULT_WORKSPACE === ws
        ? [.../* @__PURE__ */ new Set([...apps, ...(await appPrefixes(c.env.FLUX_TRACES))])]
        : apps;
    const result = await sweep(c.env.DB, c.env.FLUX_TRACES, {
      now,
      prefixes,
      rebuild: true,
      defaultWorkspace: c.env.FLUX_DEFAULT_WORKSPACE,
    });
    await audit(
      c.env.DB,
      {
        ws,
        actor: principal.email,
        action: "reindex",
        target: ws,
        allowed: true,
        detail: {
          prefixes: prefixes.length,
          listed: result.listed,
          inserted: result.inserted,
          skipped: result.skipped,
          done: result.done,
        },
      },
      now,
    );
    if (wantsJson(c)) return c.json(result);
    return adminPage(c, clock, stateBox("good", "Reindexed from R2", sweepSummary(result)));
  });
  return admin;
}

// dashboard/src/routes/api.ts
import { Hono as Hono5 } from "hono";
import { z as z3 } from "zod";
var FieldPath = z3.string().regex(/^\d{1,6}(\.[A-Za-z0-9_-]{1,64}){0,8}$/);
var TokenRequest = z3.object({
  trace: z3.string().regex(/^[0-9a-f]{32}$/),
  act: z3.enum(AGENT_ACTIONS),
  fields: z3.array(FieldPath).min(1).max(200).optional(),
});
var GuardRequest = z3.object({
  trace: z3.string().regex(/^[0-9a-f]{32}$/),
  report: z3.unknown(),
});
async function json(c, max) {
  const len = Number(c.req.header("content-length") ?? 0);
  if (len > max) throw new DashboardError("ERR_TOO_LARGE", `The request body is over ${max} bytes`);
  try {
    return await c.req.json();
  } catch (cause) {
    throw new DashboardError("ERR_BAD_REQUEST", "The request body is not JSON", { cause });
  }
}
function badRequest(err) {
  const i = err.issues[0];
  return new DashboardError(
    "ERR_BAD_REQUEST",
    `Invalid request at ${i?.path.join(".") || "body"}: ${i?.message ?? "invalid"}`,
  );
}
function apiRoutes(clock) {
  const api = new Hono5();
  api.get("/me", async (c) => {
    const p = requirePrincipal(c);
    return c.json({
      email: p.email,
      via: p.via,
      workspaces: await membershipsOf(c.env.DB, p.userId),
    });
  });
  api.post("/tokens", async (c) => {
    const p = requirePrincipal(c);
    const parsed = TokenRequest.safeParse(await json(c, 16384));
    if (!parsed.success) throw badRequest(parsed.error);
    const { trace, act, fields } = parsed.data;
    if (act === "unlock" && !fields) {
      throw new DashboardError(
        "ERR_BAD_REQUEST",
        "Unlock needs the fields to reveal: nothing is unlocked by default",
        {
          fix: 'Send "fields": ["7.result.body", ...]',
        },
      );
    }
    const db = c.env.DB;
    const now = clock.now();
    const row = await findExecution(db, trace);
    const role = row?.ws ? await roleIn(db, row.ws, p.userId) : null;
    const deny = async (reason, err) => {
      if (row?.ws) {
        await audit(
          db,
          {
            ws: row.ws,
            actor: p.email,
            action: "token.denied",
            target: trace,
            allowed: false,
            reason,
            detail: { act, fields: fields ?? null },
          },
          now,
        );
      }
      throw err;
    };
    if (!row || !row.ws || !role) {
      return deny(
        "not a member of the trace's workspace",
        new DashboardError("ERR_NOT_FOUND", "No such trace in your workspaces"),
      );
    }
    if (!atLeast(role, "responder")) {
      return deny(
        `role ${role}`,
        new DashboardError(
          "ERR_FORBIDDEN",
          `Unlock and replay need the responder role; you are ${role} in this workspace`,
          {
            fix: "Ask a workspace admin for the responder role",
          },
        ),
      );
    }
    const agent = agentOf(c.env, await getWorkspace(db, row.ws));
    if (!agent.origin || !agent.id) {
      return deny(
        "agent not configured",
        new DashboardError(
          "ERR_AGENT_NOT_CONFIGURED",
          "This workspace has no agent endpoint and agent id",
          {
            fix: "An admin sets them in Admin \u2192 Agent (the agent's URL and its FLUX_AGENT_ID)",
          },
        ),
      );
    }
    let key;
    try {
      key = await signingKey(c.env);
    } catch (err) {
      return deny("signing key unavailable", err);
    }
    const issued = await issueAgentToken(
      key,
      {
        aud: agent.id,
        sub: p.email,
        ws: row.ws,
        app: row.app,
        trace,
        act,
        ...(fields ? { fields } : {}),
      },
      { now, jti: clock.id() },
    );
    await audit(
      db,
      {
        ws: row.ws,
        actor: p.email,
        action: "token.issued",
        target: trace,
        allowed: true,
        detail: {
          act,
          fields: fields ?? null,
          jti: issued.jti,
          aud: agent.id,
          app: row.app,
          exp: issued.exp,
        },
      },
      now,
    );
    c.header("Cache-Control", "no-store");
    return c.json({
      token: issued.token,
      act,
      trace,
      jti: issued.jti,
      expiresAt: new Date(issued.exp * 1e3).toISOString(),
      agent,
    });
  });
  api.post("/guards", async (c) => {
    const p = requirePrincipal(c);
    const parsed = GuardRequest.safeParse(await json(c, 512 * 1024));
    if (!parsed.success) throw badRequest(parsed.error);
    const { trace } = parsed.data;
    const db = c.env.DB;
    const now = clock.now();
    const row = await findExecution(db, trace);
    const role = row?.ws ? await roleIn(db, row.ws, p.userId) : null;
    if (!row || !row.ws || !role)
      throw new DashboardError("ERR_NOT_FOUND", "No such trace in your workspaces");
    if (!atLeast(role, "responder")) {
      await audit(
        db,
        {
          ws: row.ws,
          actor: p.email,
          action: "guard.denied",
          target: trace,
          allowed: false,
          reason: `role ${role}`,
        },
        now,
      );
      throw new DashboardError(
        "ERR_FORBIDDEN",
        `Saving guards needs the responder role; you are ${role}`,
      );
    }
    const report = ReplayReportSchema.safeParse(parsed.data.report);
    if (!report.success) throw badRequest(report.error);
    const r = report.data;
    if (r.traceId !== trace)
      throw new DashboardError("ERR_BAD_REQUEST", "The report is for another trace");
    if (!isRepaired(r)) {
      throw new DashboardError(
        "ERR_GUARD_NOT_REPAIRED",
        `The replay still fails (${r.replayed.error ? `throws ${r.replayed.error.name}` : `status ${r.replayed.status ?? "none"}`})`,
        { fix: "Fix the code, replay again, and save once the replay ends in a non-5xx response" },
      );
    }
    const { head } = await loadHead(c.env, row);
    const skipped = new Set(r.unconsumed.map((u) => u.seq));
    const boundaries = r.boundaries ?? [
      ...(head?.events ?? [])
        .filter(
          (e) =>
            !["clock", "random", "console", "response", "exception"].includes(e.kind) &&
            !skipped.has(e.seq),
        )
        .map((e) => `${e.kind} ${e.op} ${e.target}`),
      ...r.divergences
        .filter((d) => d.code === "extra_call")
        .map((d) => `+${d.kind} ${d.op} ${d.target}`),
    ];
    const id = clock.id();
    await saveGuard(
      db,
      {
        id,
        ws: row.ws,
        app: row.app,
        traceId: trace,
        route: row.route,
        method: row.method,
        status: r.replayed.status,
        bodyDigest: r.replayed.body,
        errorName: r.replayed.error?.name ?? null,
        headers: r.replayed.headers,
        boundaries,
        createdBy: p.email,
        report: r,
      },
      now,
    );
    await audit(
      db,
      {
        ws: row.ws,
        actor: p.email,
        action: "guard.saved",
        target: trace,
        allowed: true,
        detail: {
          status: r.replayed.status,
          body: r.replayed.body,
          boundaries: boundaries.length,
          verdict: r.verdict,
        },
      },
      now,
    );
    return c.json(
      {
        id,
        trace,
        command: guardCommand(trace, new URL(c.req.url).origin, row.ws),
        status: r.replayed.status,
        bodyDigest: r.replayed.body,
        boundaries,
      },
      201,
    );
  });
  api.get("/w/:ws/executions", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const q = listQuery(c);
    const filter = parseFilter(ws, q, clock.now());
    if (q.app && !(await appsOf(c.env.DB, ws)).some((a) => a.name === q.app)) {
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
    }
    const limit = Number(c.req.query("limit") ?? 50);
    const [page2, count] = await Promise.all([
      listExecutions(c.env.DB, filter, {
        cursor: decodeCursor(c.req.query("cursor")),
        limit: Number.isFinite(limit) ? limit : 50,
      }),
      countExecutions(c.env.DB, filter),
    ]);
    return c.json({
      executions: page2.rows.map(({ r2Key: _k, ws: _w, ...rest }) => rest),
      next: page2.next,
      count,
    });
  });
  api.get("/w/:ws/executions/:trace", wsAccess("viewer"), async (c) => {
    const row = await getExecution(c.env.DB, c.get("ws"), c.req.param("trace"));
    if (!row) throw new DashboardError("ERR_NOT_FOUND", "No such execution in this workspace");
    const { head } = await loadHead(c.env, row);
    const { r2Key: _k, ws: _w, ...summary } = row;
    return c.json({ execution: summary, events: head?.events ?? null, stats: head?.stats ?? null });
  });
  api.get("/w/:ws/overview", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const apps = (await appsOf(c.env.DB, ws)).map((a) => a.name);
    const app = c.req.query("app");
    if (app && !apps.includes(app))
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
    const span = RANGES[c.req.query("range") ?? "24h"]?.ms ?? 864e5;
    const now = clock.now();
    return c.json(await overview(c.env.DB, app ? [app] : apps, { from: now - span, to: now }));
  });
  api.get("/w/:ws/guards", wsAccess("viewer"), async (c) =>
    c.json({ guards: await guardsOf(c.env.DB, c.get("ws")) }),
  );
  api.get("/w/:ws/guards/:trace", wsAccess("viewer"), async (c) => {
    const g = await guardFor(c.env.DB, c.get("ws"), c.req.param("trace"));
    if (!g) throw new DashboardError("ERR_NOT_FOUND", "No guard for this trace in this workspace");
    return c.json({ ...g, command: guardCommand(g.traceId, new URL(c.req.url).origin, g.ws) });
  });
  api.get("/guards/:trace", async (c) => {
    const p = requirePrincipal(c);
    const row = await findExecution(c.env.DB, c.req.param("trace"));
    if (!row?.ws)
      throw new DashboardError("ERR_NOT_FOUND", "No guard for this trace in your workspaces");
    await checkWorkspace(c, row.ws, "viewer").catch(() => {
      throw new DashboardError("ERR_NOT_FOUND", "No guard for this trace in your workspaces");
    });
    const g = await guardFor(c.env.DB, row.ws, row.traceId);
    if (!g) throw new DashboardError("ERR_NOT_FOUND", "No guard for this trace in your workspaces");
    void p;
    return c.json({ ...g, command: guardCommand(g.traceId, new URL(c.req.url).origin, g.ws) });
  });
  return api;
}

// dashboard/src/app.ts
function asDashboardError(err) {
  if (err instanceof DashboardError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/no such table/i.test(message)) {
    return new DashboardError("ERR_DB_NOT_MIGRATED", "The dashboard database has no schema yet", {
      fix: "Run `npx wrangler d1 migrations apply fluxrun-dashboard -c dashboard/wrangler.toml` (add --local for wrangler dev)",
    });
  }
  console.error(`fluxrun-dashboard: unhandled ${err instanceof Error ? err.name : "error"}`);
  return new DashboardError("ERR_INTERNAL", "The dashboard failed while handling this request", {
    fix: "Retry; if it persists, check the worker logs (wrangler tail)",
  });
}
async function onError(err, c) {
  const e = asDashboardError(err);
  if (wantsJson(c)) return c.json(e.toJSON(), e.status);
  if (e.code === "ERR_AUTH_REQUIRED" && c.req.method === "GET") {
    return c.redirect(`/login`, 302);
  }
  if (!c.get("nonce")) c.set("nonce", "none");
  const ws = c.get("ws") ?? null;
  return render2(
    c,
    { title: "Problem", ws: e.code === "ERR_NOT_FOUND" ? null : ws },
    h`${stateBox(e.status >= 500 ? "bad" : "warn", e.message, h`${e.fix ? h`<p><b>Fix:</b> ${e.fix}</p>` : null}<p class="small muted">code ${e.code}</p>`, { id: "state-error", code: e.code })}
    <p><a href="/">⟵ Back to your workspaces</a></p>`,
    { status: e.status === 500 ? 503 : e.status },
  ).catch(() => c.text(`${e.code}: ${e.message}`, e.status));
}
function nonce() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b)).replace(/[+/=]/g, "");
}
function createApp(options = {}) {
  const clock = options.clock ?? systemClock;
  const app = new Hono6();
  app.onError(onError);
  app.notFound((c) => onError(new DashboardError("ERR_NOT_FOUND", "No such page"), c));
  app.use("*", async (c, next) => {
    c.set("nonce", nonce());
    c.set("principal", null);
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "same-origin");
    c.header("X-Frame-Options", "DENY");
  });
  app.use("*", async (c, next) => {
    await ensureSeed(c.env, clock);
    await next();
  });
  app.route("/", publicRoutes(clock));
  app.route("/", ingestRoutes(clock));
  app.use("*", authenticate(clock));
  app.route("/", pageRoutes(clock));
  app.route("/", adminRoutes(clock));
  app.route("/api", apiRoutes(clock));
  return app;
}

// dashboard/test/_helpers.ts
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { exportJWK, generateKeyPair } from "jose";
import {
  generateTraceKeys,
  sealTrace,
  summaryMetadata as summaryMetadata2,
  traceKey as traceKey2,
} from "fluxrun/trace";
var MIGRATIONS = new URL("../migrations/", import.meta.url).pathname;
var T0 = Date.UTC(2026, 3, 20, 12, 0, 0);
function statements(sql) {
  return sql
    .split("\n")
    .map((l) => l.replace(/--.*$/, ""))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}
async function migrate(db) {
  for (const file of readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    const sql = readFileSync(join(MIGRATIONS, file), "utf8");
    await db.batch(statements(sql).map((s) => db.prepare(s)));
  }
}
async function startStorage() {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch() { return new Response('storage only') } }",
    compatibilityDate: "2026-04-20",
    d1Databases: { DB: "fluxrun-dashboard" },
    r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
  });
  await mf.ready;
  const db = await mf.getD1Database("DB");
  const bucket = await mf.getR2Bucket("FLUX_TRACES");
  await migrate(db);
  return { mf, db, bucket, dispose: () => mf.dispose() };
}
var counter = 0;
function frozenClock(now = T0) {
  let t = now;
  return {
    now: () => t,
    id: () =>
      `id-${(++counter).toString().padStart(6, "0")}-${Math.random().toString(16).slice(2, 10)}`,
    set(v) {
      t = v;
    },
  };
}
async function seed(db, clock) {
  const now = clock.now();
  await createWorkspace(db, { id: "acme", name: "Acme" }, now);
  await createWorkspace(
    db,
    {
      id: "globex",
      name: "Globex",
      agentOrigin: "https://agent.globex.example",
      agentId: "globex-agent",
    },
    now,
  );
  await registerApp(db, "acme", "shop-api", now);
  await registerApp(db, "globex", "billing", now);
  const emails = {
    acmeAdmin: "admin@acme.test",
    acmeResponder: "oncall@acme.test",
    acmeViewer: "viewer@acme.test",
    globexAdmin: "admin@globex.test",
    loner: "nobody@else.test",
  };
  const roles = {
    acmeAdmin: ["acme", "admin"],
    acmeResponder: ["acme", "responder"],
    acmeViewer: ["acme", "viewer"],
    globexAdmin: ["globex", "admin"],
    loner: null,
  };
  const tokens = {};
  for (const [k, email] of Object.entries(emails)) {
    const user = await ensureUser(db, email, { now, id: () => clock.id() });
    const r = roles[k];
    if (r) await setMember(db, r[0], user.id, r[1], now);
    tokens[k] = await createApiToken(db, user.id, { name: "test", now });
  }
  return { tokens, emails };
}
function makeEnv(t, extra = {}) {
  return {
    DB: t.db,
    FLUX_TRACES: t.bucket,
    FLUX_AGENT_ORIGIN: "http://127.0.0.1:8788",
    FLUX_AGENT_ID: "test-agent",
    ...extra,
  };
}
function bearer(token, init = {}) {
  return {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...init.headers,
    },
  };
}

// bench/dashboard-list.ts
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
async function measureDashboardList(rows = 1e6) {
  const t = await startStorage();
  try {
    const clock = frozenClock();
    const s = await seed(t.db, clock);
    const chunk = 25e4;
    for (let from = 0; from < rows; from += chunk) {
      await t.db
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
           INSERT INTO executions (trace_id, app, ws, route, method, status, status_class, outcome, start,
             duration_ms, events, hosts, error_class, truncated, runtime, version, r2_key, indexed_at)
           SELECT printf('%032x', i), CASE i % 3 WHEN 0 THEN 'shop-api' WHEN 1 THEN 'shop-web' ELSE 'billing' END,
             CASE i % 3 WHEN 2 THEN 'globex' ELSE 'acme' END, '/route/' || (i % 8), 'GET',
             CASE WHEN i % 50 = 0 THEN 500 WHEN i % 20 = 0 THEN 404 ELSE 200 END,
             CASE WHEN i % 50 = 0 THEN 5 WHEN i % 20 = 0 THEN 4 ELSE 2 END,
             CASE WHEN i % 50 = 0 THEN 'exception' ELSE 'ok' END,
             CAST(? AS INTEGER) - i * 250, (i % 97) + 0.5, 12, 'api.example.com',
             CASE WHEN i % 50 = 0 THEN (CASE WHEN i % 100 = 0 THEN 'TypeError' ELSE 'RangeError' END) END,
             0, 'workerd', '1', 'traces/x/' || i, ?
           FROM n`,
        )
        .bind(from, Math.min(rows, from + chunk), T0, T0)
        .run();
    }
    await t.db.prepare("ANALYZE").run();
    const shapes = [
      [{ ws: "acme", app: "shop-api" }, false],
      [{ ws: "acme" }, false],
      [{ ws: "acme", app: "shop-api", outcome: "exception" }, false],
      [{ ws: "acme", app: "shop-api", statusClass: 5 }, false],
      [{ ws: "acme", app: "shop-api", errorClass: "TypeError" }, false],
      [{ ws: "acme", app: "shop-api", route: "/route/3" }, false],
      [{ ws: "acme", app: "shop-api", from: T0 - 36e5 }, false],
      [{ ws: "acme", app: "shop-api" }, true],
      [{ ws: "acme", app: "shop-api", outcome: "exception" }, true],
    ];
    const sql = [];
    const round = [];
    const timedDb = {
      prepare: (q) => {
        const wrap = (st) => ({
          bind: (...a) => wrap(st.bind(...a)),
          all: async () => {
            const r = await st.all();
            sql.push(r.meta.duration);
            return r;
          },
        });
        return wrap(t.db.prepare(q));
      },
    };
    for (let run = 0; run < 10; run++) {
      for (const [filter, deep] of shapes) {
        const cursor = deep
          ? { start: T0 - Math.floor(rows * 0.6) * 250, traceId: "f".repeat(32) }
          : null;
        const t0 = performance.now();
        await listExecutions(timedDb, filter, { cursor });
        round.push(performance.now() - t0);
      }
    }
    const app = createApp({ clock });
    const r0 = performance.now();
    const res = await app.request(
      "/api/w/acme/executions?app=shop-api&outcome=exception",
      bearer(s.tokens.acmeViewer),
      makeEnv(t),
    );
    await res.text();
    return {
      rows,
      sql: { p50: pct(sql, 50), p95: pct(sql, 95) },
      roundTrip: { p50: pct(round, 50), p95: pct(round, 95) },
      apiRequestMs: performance.now() - r0,
    };
  } finally {
    await t.dispose();
  }
}
export { measureDashboardList };
