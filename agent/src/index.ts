/**
 * The customer agent: a worker in the customer's own account that holds the private replay key.
 * It unlocks named payload fields and replays traces (through the app, in replay mode, over a
 * service binding) for requests carrying a dashboard-issued, single-use token, and audits every
 * attempt. Its HTTP API (bodies, tokens, error codes) is the agent contract in `fluxrun/contract`.
 * @module
 */
import {
  ReplayRequest,
  AGENT_PRODUCTION_VAR,
  riskyFields,
  TraceRequest,
  UnlockRequest,
  type RiskyAction,
  type AgentAction,
  type AgentTokenClaims,
  type HealthResponse,
  type PreflightResponse,
  type ReplayResponse,
  type UnlockResponse,
} from "fluxrun/contract";
import { keyId } from "fluxrun/trace";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import type { JWK } from "jose";
import { preflight, replayThrough, TRACE_FORMAT_VERSION } from "./_fluxrun.js";
import { approvalFloor, checkApproval } from "./approval.js";
import { audit, exportAudit, type AuditEntry } from "./audit.js";
import {
  bearer,
  checkBinding,
  checkWorkspace,
  jtiHash,
  servedWorkspaces,
  verifyToken,
} from "./auth.js";
import { AgentError } from "./errors.js";
import { choosePolicy } from "./policy.js";
import { forwardPairing, pairingProblems, pairingTrust } from "./pairing.js";
import { findTrace, openStored, originKeys, privateKey, readStored } from "./traces.js";
import { unlockFields } from "./unlock.js";

export { JtiStore } from "./jti.js";

export interface AgentEnv {
  FLUX_PRIVATE_KEY?: string;
  FLUX_AGENT_SIGNING_KEY?: string;
  FLUX_DASHBOARD_JWKS?: string;
  FLUX_AGENT_ID?: string;
  FLUX_ALLOWED_ORIGINS?: string;
  /** The workspaces (`ws`) or workspace apps (`ws/app`) whose tokens it accepts, comma-separated. */
  FLUX_WORKSPACES?: string;
  FLUX_PUBLIC_KEY?: string;
  /** `true`: a production agent (replays through it need an approval). */
  FLUX_AGENT_PRODUCTION?: string;
  /** The lowest approval mode accepted for a risky action (default `reconfirm`). */
  FLUX_APPROVAL_MIN?: string;
  /** JSON: each app's public Ed25519 key its traces are signed with. */
  FLUX_ORIGIN_KEYS?: string;
  FLUX_TRACES?: R2Bucket;
  FLUX_AUDIT?: D1Database;
  FLUX_JTI?: DurableObjectNamespace<import("./jti.js").JtiStore>;
  APP?: Fetcher;
  /** The local connector's Node side (claim-code pairing); absent on a deployed agent. */
  FLUX_CONNECTOR?: Fetcher;
}

type Ctx = Context<{ Bindings: AgentEnv }>;

const AGENT_VERSION = "0.1.0";
/** Bytes of a request body at most (a trace id and at most 20 field paths). */
const MAX_BODY_BYTES = 16_384;

function origins(env: AgentEnv): string[] {
  return (env.FLUX_ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
}

function refuse(c: Ctx, err: AgentError): Response {
  return c.json(err.toJSON(), err.status);
}

/** The audit row of one attempt; names and ids only. */
function entry(
  c: Ctx,
  action: string,
  result: { code: string | null; claims?: AgentTokenClaims | undefined; jti?: string | null },
  request: { trace?: string | null; fields?: readonly string[] } = {},
): AuditEntry {
  return {
    at: new Date().toISOString(),
    action,
    outcome: result.code === null ? "allowed" : "denied",
    code: result.code,
    sub: result.claims?.sub ?? null,
    ws: result.claims?.ws ?? null,
    app: result.claims?.app ?? null,
    trace: request.trace ?? result.claims?.trace ?? null,
    fields: [...(request.fields ?? [])],
    origin: c.req.header("origin") ?? null,
    jti: result.jti ?? null,
  };
}

/** One action of the API: the body it takes, the trace it is bound to, what it does. */
interface Action<B, R> {
  act: AgentAction;
  readBody(c: Ctx): Promise<B>;
  trace(body: B): string;
  fields(body: B): readonly string[];
  run(c: Ctx, claims: AgentTokenClaims, body: B): Promise<R>;
  respond(c: Ctx, result: R): Response;
}

async function jsonBody<T>(
  c: Ctx,
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  hint: string,
): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new AgentError("ERR_BAD_REQUEST", "The request body must be JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new AgentError("ERR_BAD_REQUEST", hint);
  return parsed.data as T;
}

/** Spends the token: true only for its first use, across isolates. */
async function consume(env: AgentEnv, claims: AgentTokenClaims): Promise<void> {
  if (!env.FLUX_JTI)
    throw new AgentError(
      "ERR_JTI_UNAVAILABLE",
      "The agent has no FLUX_JTI binding: it cannot enforce single use",
    );
  const fresh = await env.FLUX_JTI.get(env.FLUX_JTI.idFromName(claims.jti)).consume(claims.exp);
  if (!fresh)
    throw new AgentError(
      "ERR_TOKEN_REUSED",
      "The token was already used: each token allows one action",
    );
}

/**
 * A risky action goes ahead only with a valid approval statement in the token (checked against
 * the dashboard's keys, spent once in the JTI store); its use is audited by the approval's hash.
 */
async function approved(c: Ctx, claims: AgentTokenClaims, risk: RiskyAction): Promise<void> {
  const a = await checkApproval(claims, risk, {
    jwks: c.env.FLUX_DASHBOARD_JWKS,
    audience: c.env.FLUX_AGENT_ID ?? "",
    floor: c.env.FLUX_APPROVAL_MIN,
    spend: async (id, exp) => {
      if (!c.env.FLUX_JTI)
        throw new AgentError(
          "ERR_JTI_UNAVAILABLE",
          "The agent has no FLUX_JTI binding: it cannot enforce single use",
        );
      return c.env.FLUX_JTI.get(c.env.FLUX_JTI.idFromName(`apr:${id}`)).consume(exp);
    },
  });
  await audit(
    c.env.FLUX_AUDIT,
    entry(
      c,
      `approval.used ${risk} ${a.mode}`,
      { code: null, claims, jti: jtiHash(a.jti) },
      { trace: a.trace, fields: a.fields ?? [] },
    ),
  );
}

/**
 * Runs one authorized action: verify the token, spend it, read the body, check the token is for
 * this action, trace and fields, run, and audit the attempt whatever the outcome.
 */
async function authorized<B, R>(c: Ctx, action: Action<B, R>): Promise<Response> {
  let claims: AgentTokenClaims | undefined;
  let jti: string | null = null;
  let body: B | undefined;
  const request = () =>
    body === undefined ? {} : { trace: action.trace(body), fields: action.fields(body) };
  try {
    claims = await verifyToken(bearer(c.req.header("authorization")), {
      jwks: c.env.FLUX_DASHBOARD_JWKS,
      audience: c.env.FLUX_AGENT_ID ?? "",
    });
    jti = jtiHash(claims.jti);
    await consume(c.env, claims);
    checkWorkspace(claims, c.env.FLUX_WORKSPACES);
    body = await action.readBody(c);
    checkBinding(claims, action.act, action.trace(body));
    if (claims.fields) {
      const allowed = new Set(claims.fields);
      if (!action.fields(body).every((f) => allowed.has(f)))
        throw new AgentError("ERR_TOKEN_ACTION", "The token does not allow unlocking these fields");
    }
    const result = await action.run(c, claims, body);
    await audit(c.env.FLUX_AUDIT, entry(c, action.act, { code: null, claims, jti }, request()));
    return action.respond(c, result);
  } catch (err) {
    const e =
      err instanceof AgentError
        ? err
        : new AgentError("ERR_INTERNAL", "The action failed inside the agent");
    await audit(
      c.env.FLUX_AUDIT,
      entry(c, action.act, { code: e.code, claims, jti }, request()),
    ).catch(() => {});
    return refuse(c, e);
  }
}

/** The app's trace `id`, its origin checked against `FLUX_ORIGIN_KEYS`. */
const stored = (c: Ctx, claims: AgentTokenClaims, id: string) =>
  findTrace(c.env.FLUX_TRACES, claims.app, id, originKeys(c.env.FLUX_ORIGIN_KEYS));

const json = (c: Ctx, result: object) => c.json(result, 200, { "cache-control": "no-store" });

const readTraceRequest = (c: Ctx) =>
  jsonBody<TraceRequest>(c, TraceRequest, 'The body needs {"trace": "<32 hex id>"}');

const unlock: Action<UnlockRequest, UnlockResponse> = {
  act: "unlock",
  readBody: (c) =>
    jsonBody<UnlockRequest>(
      c,
      UnlockRequest,
      'The body needs {"trace": "<id>", "fields": ["<seq>.<name>", ...]}: name 1 to 20 fields, there is no default of everything',
    ),
  trace: (b) => b.trace,
  fields: (b) => b.fields,
  async run(c, claims, body) {
    const key = privateKey(c.env.FLUX_PRIVATE_KEY);
    const trace = await stored(c, claims, body.trace);
    if (riskyFields(readStored(trace.bytes), body.fields).length)
      await approved(c, claims, "unlock_secret");
    const opened = await openStored(trace.bytes, key);
    return {
      trace: opened.head.id,
      fields: await unlockFields(opened, body.fields),
      origin: trace.origin,
    };
  },
  respond: json,
};

function signingJwk(env: AgentEnv): JWK {
  if (!env.FLUX_AGENT_SIGNING_KEY)
    throw new AgentError(
      "ERR_KEY_MISSING",
      "The agent has no FLUX_AGENT_SIGNING_KEY to sign replays with",
    );
  try {
    return JSON.parse(env.FLUX_AGENT_SIGNING_KEY) as JWK;
  } catch {
    throw new AgentError("ERR_KEY_MISSING", "FLUX_AGENT_SIGNING_KEY is not a JWK (JSON)");
  }
}

const replay: Action<ReplayRequest, ReplayResponse> = {
  act: "replay",
  readBody: (c) =>
    jsonBody<ReplayRequest>(
      c,
      ReplayRequest,
      'The body needs {"trace": "<32 hex id>"} and, optionally, "policy": "<signed policy>"',
    ),
  trace: (b) => b.trace,
  fields: () => [],
  async run(c, claims, body) {
    const key = privateKey(c.env.FLUX_PRIVATE_KEY);
    const target = c.env.APP;
    if (!target)
      throw new AgentError(
        "ERR_REPLAY_UNAVAILABLE",
        "The agent has no APP service binding to replay through",
      );
    const signingKey = signingJwk(c.env);
    const trace = await stored(c, claims, body.trace);
    if (c.env[AGENT_PRODUCTION_VAR] === "true") await approved(c, claims, "replay_production");
    const opened = await openStored(trace.bytes, key);
    const chosen = await choosePolicy(body.policy, { claims, jwks: c.env.FLUX_DASHBOARD_JWKS });
    // The policy's own row: a signed one enforced (allowed) or ignored (denied, with its code).
    if (body.policy !== undefined)
      await audit(
        c.env.FLUX_AUDIT,
        entry(c, "replay.policy", { code: chosen.ignored, claims, jti: jtiHash(claims.jti) }),
      );
    try {
      const report = await replayThrough(
        (r) => target.fetch(r),
        opened,
        { signingKey },
        chosen.policy ? { policy: chosen.policy } : {},
      );
      return { ...report, origin: trace.origin, policy: chosen.view };
    } catch (err) {
      throw new AgentError(
        "ERR_REPLAY_FAILED",
        err instanceof Error ? err.message : "The replay failed",
      );
    }
  },
  respond: json,
};

const preflightAction: Action<TraceRequest, PreflightResponse> = {
  act: "preflight",
  readBody: readTraceRequest,
  trace: (b) => b.trace,
  fields: () => [],
  run: async (c, claims, body) =>
    preflight(readStored((await stored(c, claims, body.trace)).bytes)),
  respond: json,
};

const auditExport: Action<null, string> = {
  act: "audit",
  readBody: async () => null,
  trace: () => "*",
  fields: () => [],
  async run(c) {
    if (!c.env.FLUX_AUDIT)
      throw new AgentError("ERR_BAD_REQUEST", "The agent has no FLUX_AUDIT database");
    return exportAudit(c.env.FLUX_AUDIT);
  },
  respond: (c, ndjson) =>
    c.body(ndjson, 200, { "content-type": "application/x-ndjson", "cache-control": "no-store" }),
};

async function health(env: AgentEnv): Promise<HealthResponse> {
  const problems: string[] = [];
  const result: HealthResponse = {
    ok: true,
    agentId: env.FLUX_AGENT_ID ?? null,
    versions: { agent: AGENT_VERSION, trace: TRACE_FORMAT_VERSION },
    key: { loaded: false, kid: null, matchesPublicKey: null },
    signingKey: { loaded: false },
    workspaces: servedWorkspaces(env.FLUX_WORKSPACES),
    issuer: { configured: false, kids: [] },
    bucket: { bound: !!env.FLUX_TRACES, reachable: false },
    replayBinding: { bound: !!env.APP },
    allowedOrigins: origins(env),
    approvals: {
      production: env[AGENT_PRODUCTION_VAR] === "true",
      floor: approvalFloor(env.FLUX_APPROVAL_MIN),
    },
    problems,
  };
  try {
    const key = privateKey(env.FLUX_PRIVATE_KEY);
    result.key = { loaded: true, kid: await keyId(key), matchesPublicKey: null };
    if (env.FLUX_PUBLIC_KEY) {
      const pub = JSON.parse(env.FLUX_PUBLIC_KEY) as { x?: string };
      result.key.matchesPublicKey = pub.x === key.x;
      if (pub.x !== key.x)
        problems.push(
          "FLUX_PRIVATE_KEY does not match FLUX_PUBLIC_KEY: traces sealed to the public key will not open",
        );
    }
  } catch (err) {
    result.key.error = err instanceof AgentError ? err.message : "invalid";
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
    result.signingKey.loaded =
      !!k && k.kty === "OKP" && k.crv === "Ed25519" && typeof k.d === "string";
  } catch {
    result.signingKey.error = "not JSON";
  }
  if (!result.signingKey.loaded)
    problems.push("Set FLUX_AGENT_SIGNING_KEY (private Ed25519 JWK) so replays can be signed");
  try {
    const jwks = JSON.parse(env.FLUX_DASHBOARD_JWKS ?? "null") as {
      keys?: { kid?: string }[];
    } | null;
    result.issuer = {
      configured: !!jwks?.keys?.length,
      kids: (jwks?.keys ?? []).map((k) => k.kid ?? "(no kid)"),
    };
  } catch {
    result.issuer.error = "FLUX_DASHBOARD_JWKS is not JSON";
  }
  if (!result.issuer.configured)
    problems.push("Set FLUX_DASHBOARD_JWKS to the dashboard's /.well-known/jwks.json");
  if (env.FLUX_TRACES) {
    try {
      await env.FLUX_TRACES.list({ limit: 1 });
      result.bucket.reachable = true;
    } catch {
      result.bucket.error = "listing failed";
      problems.push("The FLUX_TRACES bucket is bound but not reachable");
    }
  } else problems.push("Bind the trace bucket as FLUX_TRACES");
  if (!env.APP) problems.push("Bind the recorded app as the APP service binding to replay");
  if (!result.allowedOrigins.length)
    problems.push("Set FLUX_ALLOWED_ORIGINS to the dashboard origin(s)");
  if (!env.FLUX_AGENT_ID) problems.push("Set FLUX_AGENT_ID (the token audience)");
  if (!result.workspaces?.length)
    problems.push(
      "Set FLUX_WORKSPACES to the dashboard workspace(s) whose traces this agent serves (ws or ws/app, comma-separated)",
    );
  if (env.FLUX_CONNECTOR) result.problems = pairingProblems(problems);
  result.ok = result.problems.length === 0;
  return result;
}

const app = new Hono<{ Bindings: AgentEnv }>();

// A paired local connector: this request's keys, workspaces and origins come from its pairings.
app.use("/v1/*", pairingTrust());

// Browsers may call only from the configured dashboard origins; anything else is refused and
// audited. Requests without an Origin (scripts, the CLI) pass.
app.use("/v1/*", async (c, next) => {
  const origin = c.req.header("origin");
  if (!origin || origins(c.env).includes(origin)) return next();
  const refusal = new AgentError(
    "ERR_ORIGIN_NOT_ALLOWED",
    `Origin ${origin} is not in FLUX_ALLOWED_ORIGINS`,
  );
  await audit(
    c.env.FLUX_AUDIT,
    entry(c, c.req.path.replace("/v1/", ""), { code: refusal.code }),
  ).catch(() => {});
  return refuse(c, refusal);
});
app.use(
  "/v1/*",
  cors({
    origin: (origin, c: Ctx) => (origins(c.env).includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "OPTIONS"],
    allowHeaders: ["authorization", "content-type"],
    maxAge: 600,
  }),
);
app.use(
  "/v1/*",
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => refuse(c, new AgentError("ERR_BAD_REQUEST", "The request body is too large")),
  }),
);

app.post("/v1/unlock", (c) => authorized(c, unlock));
app.post("/v1/replay", (c) => authorized(c, replay));
app.post("/v1/preflight", (c) => authorized(c, preflightAction));
app.get("/v1/audit", (c) => authorized(c, auditExport));
app.get("/v1/pair", (c) => forwardPairing(c));
app.post("/v1/pair", (c) => forwardPairing(c));
app.get("/v1/health", async (c) =>
  c.json(await health(c.env), 200, { "cache-control": "no-store" }),
);

app.notFound((c) => refuse(c, new AgentError("ERR_BAD_REQUEST", "No such route: see /v1/health")));

export default app;
