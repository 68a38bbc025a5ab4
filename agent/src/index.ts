/**
 * The customer agent: a worker in the customer's own account that holds the private replay key.
 * It unlocks named payload fields and replays traces (through the app, in replay mode, over a
 * service binding) for requests carrying a dashboard-issued, single-use token, and audits every
 * attempt.
 * @module
 */
import { Hono, type Context } from "hono";
import { keyId } from "fluxrun/trace";
import { preflight, replayThrough, TRACE_FORMAT_VERSION } from "./_fluxrun.js";
import { audit, exportAudit } from "./audit.js";
import { bearer, checkBinding, jtiHash, verifyToken } from "./auth.js";
import type {
  AgentAction,
  AgentTokenClaims,
  HealthResponse,
  TraceRequest,
  UnlockRequest,
} from "./contract.js";
import { AgentError } from "./errors.js";
import { fetchTrace, openStored, privateKey, readStored } from "./traces.js";
import { unlockFields } from "./unlock.js";

export { JtiStore } from "./jti.js";

export interface AgentEnv {
  FLUX_PRIVATE_KEY?: string;
  FLUX_AGENT_SIGNING_KEY?: string;
  FLUX_DASHBOARD_JWKS?: string;
  FLUX_AGENT_ID?: string;
  FLUX_ALLOWED_ORIGINS?: string;
  FLUX_PUBLIC_KEY?: string;
  FLUX_TRACES?: R2Bucket;
  FLUX_AUDIT?: D1Database;
  FLUX_JTI?: DurableObjectNamespace<import("./jti.js").JtiStore>;
  APP?: Fetcher;
}

const AGENT_VERSION = "0.1.0";

type Ctx = Context<{ Bindings: AgentEnv }>;

function origins(env: AgentEnv): string[] {
  return (env.FLUX_ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    "access-control-allow-origin": origin,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": "authorization, content-type",
    "access-control-max-age": "600",
    vary: "origin",
  };
}

function refuse(c: Ctx, err: AgentError): Response {
  return c.json({ error: { code: err.code, message: err.message } }, err.status);
}

async function readJson<T>(c: Ctx): Promise<T> {
  const text = await c.req.text();
  if (text.length > 16_384)
    throw new AgentError("ERR_BAD_REQUEST", 400, "The request body is too large");
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new AgentError("ERR_BAD_REQUEST", 400, "The request body must be JSON");
  }
}

/**
 * Runs one authorized action: verify the token, spend it, check it is for this action and
 * trace, run, and audit the attempt whatever the outcome.
 */
async function authorized<T>(
  c: Ctx,
  act: AgentAction,
  traceOf: (body: unknown) => string,
  fieldsOf: (body: unknown) => string[],
  run: (claims: AgentTokenClaims, body: unknown) => Promise<T>,
): Promise<Response> {
  const env = c.env;
  let claims: AgentTokenClaims | undefined;
  let body: unknown;
  let jti: string | null = null;
  const origin = c.req.header("origin") ?? null;
  try {
    const token = bearer(c.req.header("authorization"));
    claims = await verifyToken(token, {
      jwks: env.FLUX_DASHBOARD_JWKS,
      audience: env.FLUX_AGENT_ID ?? "",
    });
    jti = await jtiHash(claims.jti);
    if (!env.FLUX_JTI)
      throw new AgentError(
        "ERR_TOKEN_REUSED",
        503,
        "The agent has no FLUX_JTI binding: it cannot enforce single use",
      );
    const fresh = await env.FLUX_JTI.get(env.FLUX_JTI.idFromName(claims.jti)).consume(claims.exp);
    if (!fresh)
      throw new AgentError(
        "ERR_TOKEN_REUSED",
        401,
        "The token was already used: each token allows one action",
      );
    body = act === "audit" ? {} : await readJson(c);
    checkBinding(claims, act, act === "audit" ? "*" : traceOf(body));
    if (act === "unlock" && Array.isArray(claims.fields)) {
      const allowed = new Set(claims.fields);
      if (!fieldsOf(body).every((f) => allowed.has(f))) {
        throw new AgentError(
          "ERR_TOKEN_ACTION",
          403,
          "The token does not allow unlocking these fields",
        );
      }
    }
    const result = await run(claims, body);
    await audit(env.FLUX_AUDIT, entry(act, "allowed", null));
    return act === "audit"
      ? c.body(result as string, 200, {
          "content-type": "application/x-ndjson",
          "cache-control": "no-store",
        })
      : c.json(result as object, 200, { "cache-control": "no-store" });
  } catch (err) {
    const e =
      err instanceof AgentError
        ? err
        : new AgentError("ERR_REPLAY_FAILED", 500, "The action failed inside the agent");
    await audit(env.FLUX_AUDIT, entry(act, "denied", e.code)).catch(() => {});
    return refuse(c, e);
  }

  function entry(action: string, outcome: "allowed" | "denied", code: string | null) {
    let fields: string[] = [];
    let trace: string | null = claims?.trace ?? null;
    try {
      fields = body === undefined ? [] : fieldsOf(body);
      if (body !== undefined && act !== "audit") trace = traceOf(body);
    } catch {
      // a malformed body still gets audited, without fields
    }
    return {
      at: new Date().toISOString(),
      action,
      outcome,
      code,
      sub: claims?.sub ?? null,
      ws: claims?.ws ?? null,
      app: claims?.app ?? null,
      trace,
      fields,
      origin,
      jti,
    };
  }
}

const traceOf = (body: unknown): string => {
  const t = (body as Partial<TraceRequest> | null)?.trace;
  if (typeof t !== "string")
    throw new AgentError("ERR_BAD_REQUEST", 400, 'The body needs {"trace": "<id>"}');
  return t;
};
const fieldsOf = (body: unknown): string[] => {
  const f = (body as Partial<UnlockRequest> | null)?.fields;
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === "string") : [];
};

const app = new Hono<{ Bindings: AgentEnv }>();

// CORS: only the configured dashboard origins; anything else is refused and audited.
app.use("/v1/*", async (c, next) => {
  const origin = c.req.header("origin");
  if (!origin) return next();
  if (!origins(c.env).includes(origin)) {
    await audit(c.env.FLUX_AUDIT, {
      at: new Date().toISOString(),
      action: c.req.path.replace("/v1/", ""),
      outcome: "denied",
      code: "ERR_ORIGIN_NOT_ALLOWED",
      sub: null,
      ws: null,
      app: null,
      trace: null,
      fields: [],
      origin,
      jti: null,
    }).catch(() => {});
    return refuse(
      c,
      new AgentError(
        "ERR_ORIGIN_NOT_ALLOWED",
        403,
        `Origin ${origin} is not in FLUX_ALLOWED_ORIGINS`,
      ),
    );
  }
  if (c.req.method === "OPTIONS") return c.body(null, 204, corsHeaders(origin));
  await next();
  for (const [k, v] of Object.entries(corsHeaders(origin))) c.res.headers.set(k, v);
});

app.post("/v1/unlock", (c) =>
  authorized(c, "unlock", traceOf, fieldsOf, async (claims, body) => {
    const key = privateKey(c.env.FLUX_PRIVATE_KEY);
    const opened = await openStored(
      await fetchTrace(c.env.FLUX_TRACES, claims.app, traceOf(body)),
      key,
    );
    return { trace: opened.head.id, fields: await unlockFields(opened, fieldsOf(body)) };
  }),
);

app.post("/v1/replay", (c) =>
  authorized(
    c,
    "replay",
    traceOf,
    () => [],
    async (claims, body) => {
      const key = privateKey(c.env.FLUX_PRIVATE_KEY);
      if (!c.env.APP)
        throw new AgentError(
          "ERR_REPLAY_UNAVAILABLE",
          503,
          "The agent has no APP service binding to replay through",
        );
      if (!c.env.FLUX_AGENT_SIGNING_KEY)
        throw new AgentError(
          "ERR_KEY_MISSING",
          503,
          "The agent has no FLUX_AGENT_SIGNING_KEY to sign replays with",
        );
      const opened = await openStored(
        await fetchTrace(c.env.FLUX_TRACES, claims.app, traceOf(body)),
        key,
      );
      const appBinding = c.env.APP;
      try {
        return await replayThrough((r) => appBinding.fetch(r), opened, {
          signingKey: JSON.parse(c.env.FLUX_AGENT_SIGNING_KEY) as never,
        });
      } catch (err) {
        throw new AgentError(
          "ERR_REPLAY_FAILED",
          502,
          err instanceof Error ? err.message : "The replay failed",
        );
      }
    },
  ),
);

app.post("/v1/preflight", (c) =>
  authorized(
    c,
    "preflight",
    traceOf,
    () => [],
    async (claims, body) =>
      preflight(readStored(await fetchTrace(c.env.FLUX_TRACES, claims.app, traceOf(body)))),
  ),
);

app.get("/v1/audit", (c) =>
  authorized(
    c,
    "audit",
    () => "*",
    () => [],
    async () => {
      if (!c.env.FLUX_AUDIT)
        throw new AgentError("ERR_BAD_REQUEST", 400, "The agent has no FLUX_AUDIT database");
      return exportAudit(c.env.FLUX_AUDIT);
    },
  ),
);

app.get("/v1/health", async (c) => {
  const env = c.env;
  const problems: string[] = [];
  const health: HealthResponse = {
    ok: true,
    agentId: env.FLUX_AGENT_ID ?? null,
    versions: { agent: AGENT_VERSION, trace: TRACE_FORMAT_VERSION },
    key: { loaded: false, kid: null, matchesPublicKey: null },
    signingKey: { loaded: false },
    issuer: { configured: false, kids: [] },
    bucket: { bound: !!env.FLUX_TRACES, reachable: false },
    replayBinding: { bound: !!env.APP },
    allowedOrigins: origins(env),
    problems,
  };
  try {
    const key = privateKey(env.FLUX_PRIVATE_KEY);
    health.key = { loaded: true, kid: await keyId(key), matchesPublicKey: null };
    if (env.FLUX_PUBLIC_KEY) {
      const pub = JSON.parse(env.FLUX_PUBLIC_KEY) as { x?: string };
      health.key.matchesPublicKey = pub.x === key.x;
      if (pub.x !== key.x)
        problems.push(
          "FLUX_PRIVATE_KEY does not match FLUX_PUBLIC_KEY: traces sealed to the public key will not open",
        );
    }
  } catch (err) {
    health.key.error = err instanceof AgentError ? err.message : "invalid";
    problems.push(
      "Set the private key: wrangler secret put FLUX_PRIVATE_KEY (the JWK from fluxrun keygen)",
    );
  }
  try {
    const k = JSON.parse(env.FLUX_AGENT_SIGNING_KEY ?? "null") as {
      kty?: string;
      crv?: string;
      d?: string;
    } | null;
    health.signingKey.loaded =
      !!k && k.kty === "OKP" && k.crv === "Ed25519" && typeof k.d === "string";
  } catch {
    health.signingKey.error = "not JSON";
  }
  if (!health.signingKey.loaded)
    problems.push("Set FLUX_AGENT_SIGNING_KEY (private Ed25519 JWK) so replays can be signed");
  try {
    const jwks = JSON.parse(env.FLUX_DASHBOARD_JWKS ?? "null") as {
      keys?: { kid?: string }[];
    } | null;
    health.issuer = {
      configured: !!jwks?.keys?.length,
      kids: (jwks?.keys ?? []).map((k) => k.kid ?? "(no kid)"),
    };
  } catch {
    health.issuer.error = "FLUX_DASHBOARD_JWKS is not JSON";
  }
  if (!health.issuer.configured)
    problems.push("Set FLUX_DASHBOARD_JWKS to the dashboard's /.well-known/jwks.json");
  if (env.FLUX_TRACES) {
    try {
      await env.FLUX_TRACES.list({ limit: 1 });
      health.bucket.reachable = true;
    } catch {
      health.bucket.error = "listing failed";
      problems.push("The FLUX_TRACES bucket is bound but not reachable");
    }
  } else problems.push("Bind the trace bucket as FLUX_TRACES");
  if (!env.APP) problems.push("Bind the recorded app as the APP service binding to replay");
  if (!health.allowedOrigins.length)
    problems.push("Set FLUX_ALLOWED_ORIGINS to the dashboard origin(s)");
  if (!env.FLUX_AGENT_ID) problems.push("Set FLUX_AGENT_ID (the token audience)");
  health.ok = problems.length === 0;
  return c.json(health, 200, { "cache-control": "no-store" });
});

app.notFound((c) =>
  refuse(c, new AgentError("ERR_BAD_REQUEST", 400, "No such route: see /v1/health")),
);

export default app;
