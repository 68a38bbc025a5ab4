/**
 * The JSON API: agent token issuance (`POST /api/tokens`), regression guards, and the list /
 * execution data for scripts and the CLI. Token issuance resolves trace → app → workspace and
 * checks the caller's membership and role there, whatever the request names. Request bodies are
 * checked against the contract's schemas (agent actions, field paths, the replay report).
 * @module
 */
import {
  FieldPath,
  MAX_UNLOCK_FIELDS,
  ReplayReport,
  TRACE_ACTIONS,
  TRACE_ID,
} from "fluxrun/contract";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as z from "zod/mini";
import type { IssuedToken, SavedGuard } from "../browser.js";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { atLeast, type Role } from "../auth/roles.js";
import { issueAgentToken, signingKey } from "../auth/issuer.js";
import { membershipsOf, roleIn } from "../db/users.js";
import { appsOf, getWorkspace } from "../db/workspaces.js";
import {
  countExecutions,
  decodeCursor,
  findExecution,
  getExecution,
  listExecutions,
  type ExecutionRow,
} from "../db/executions.js";
import { overview } from "../db/rollups.js";
import { pairingForToken } from "../db/pairings.js";
import { issueOfTrace, setIssueState } from "../db/issues.js";
import { guardCommand, guardFor, guardsOf, isRepaired, saveGuard } from "../db/guards.js";
import { agentOf, checkWorkspace, requirePrincipal, wsAccess } from "./_shared.js";
import { listQuery, parseFilter } from "./pages/executions.js";
import { loadHead } from "./setup.js";
import { policyApiRoutes, signedPolicyFor } from "./policy-api.js";
import { approvalStatement } from "./approvals.js";
import { RANGES } from "../views/list.js";

const TraceId = z.string().check(z.regex(TRACE_ID));

const TokenRequest = z.object({
  trace: TraceId,
  act: z.enum(TRACE_ACTIONS),
  fields: z.optional(z.array(FieldPath).check(z.minLength(1), z.maxLength(MAX_UNLOCK_FIELDS))),
  /** The id of a second person's approval, for an action that needs one. */
  approval: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
});

const GuardRequest = z.object({ trace: TraceId, report: z.unknown() });

/** Bytes of a token request and of a guard request (a report holds digests, not payloads). */
const MAX_TOKEN_REQUEST = 16 * 1024;
const MAX_GUARD_REQUEST = 512 * 1024;

function limit(maxSize: number) {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new DashboardError("ERR_TOO_LARGE", `The request body is over ${maxSize} bytes`);
    },
  });
}

interface Schema<T> {
  safeParse(
    v: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: readonly { path: PropertyKey[]; message: string }[] } };
}

/** `value` checked against `schema`, or ERR_BAD_REQUEST naming the first problem. */
function parsed<T>(schema: Schema<T>, value: unknown, where = ""): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const i = result.error.issues[0];
  const path = [where, ...(i?.path.map(String) ?? [])].filter(Boolean).join(".");
  throw new DashboardError(
    "ERR_BAD_REQUEST",
    `Invalid request at ${path || "body"}: ${i?.message ?? "invalid"}`,
  );
}

/** The JSON body checked against `schema`. */
async function body<T>(c: Context<AppEnv>, schema: Schema<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (cause) {
    throw new DashboardError("ERR_BAD_REQUEST", "The request body is not JSON", { cause });
  }
  return parsed(schema, raw);
}

/** The execution a trace id names, its workspace, and the caller's role there, if a member. */
async function traceAccess(
  c: Context<AppEnv>,
  trace: string,
): Promise<{ row: ExecutionRow | null; ws: string | null; role: Role | null }> {
  const row = await findExecution(c.env.DB, trace);
  const ws = row?.ws ?? null;
  const role = ws ? await roleIn(c.env.DB, ws, requirePrincipal(c).userId) : null;
  return { row, ws, role };
}

/** `POST /api/tokens`: a single-use agent token for one action on one trace. */
async function issueToken(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const p = requirePrincipal(c);
  const { trace, act, fields, approval } = await body(c, TokenRequest);
  if (act === "unlock" && !fields) {
    throw new DashboardError(
      "ERR_BAD_REQUEST",
      "Unlock needs the fields to reveal: nothing is unlocked by default",
      { fix: 'Send "fields": ["7.result.body", ...]' },
    );
  }
  const { row, ws, role } = await traceAccess(c, trace);
  const deny = async (reason: string, err: DashboardError): Promise<never> => {
    if (ws) {
      await c.var.audit("token.denied", {
        ws,
        target: trace,
        allowed: false,
        reason,
        detail: { act, fields: fields ?? null },
      });
    }
    throw err;
  };
  if (!row || !ws || !role) {
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
        { fix: "Ask a workspace admin for the responder role" },
      ),
    );
  }
  const agent = agentOf(c.env, await getWorkspace(c.env.DB, ws));
  if (!agent.origin || !agent.id) {
    return deny(
      "agent not configured",
      new DashboardError(
        "ERR_AGENT_NOT_CONFIGURED",
        "This workspace has no agent endpoint and agent id",
        { fix: "An admin sets them in Admin → Agent (the agent's URL and its FLUX_AGENT_ID)" },
      ),
    );
  }
  if ((await pairingForToken(c.env.DB, ws, agent.id, clock.now())) === "revoked") {
    return deny(
      "pairing revoked",
      new DashboardError(
        "ERR_PAIRING_REVOKED",
        "The pairing of this workspace's agent was revoked",
        {
          fix: "Pair a local agent again (Pair a local agent), or an admin sets another agent",
        },
      ),
    );
  }
  const key = await signingKey(c.env).catch((err: DashboardError) =>
    deny("signing key unavailable", err),
  );
  const apr = await approvalStatement(c, clock, {
    row,
    ws,
    act,
    fields,
    approval,
    key,
    aud: agent.id,
  });
  const issued = await issueAgentToken(
    key,
    {
      aud: agent.id,
      sub: p.email,
      ws,
      app: row.app,
      trace,
      act,
      ...(fields ? { fields } : {}),
      ...(apr ? { apr: apr.statement } : {}),
    },
    { now: clock.now(), jti: clock.id() },
  );
  // A replay carries the app's approved policy, signed, for the agent to verify and enforce.
  const policy =
    act === "replay" ? await signedPolicyFor(c, { ws, app: row.app, use: "replay", clock }) : null;
  await c.var.audit("token.issued", {
    ws,
    target: trace,
    allowed: true,
    detail: {
      act,
      fields: fields ?? null,
      jti: issued.jti,
      aud: agent.id,
      app: row.app,
      exp: issued.exp,
      ...(policy ? { policyVersion: policy.version } : {}),
      ...(apr ? { risk: apr.risk, approval: apr.id } : {}),
    },
  });
  c.header("Cache-Control", "no-store");
  return c.json({
    token: issued.token,
    act,
    trace,
    jti: issued.jti,
    expiresAt: new Date(issued.exp * 1000).toISOString(),
    agent: { origin: agent.origin, id: agent.id },
    ...(policy ? { policy: policy.jws } : {}),
  } satisfies IssuedToken);
}

/** The boundaries a guard asserts: the report's, or (older reports) rebuilt from the trace. */
async function guardBoundaries(
  c: Context<AppEnv>,
  row: ExecutionRow,
  report: ReplayReport,
): Promise<string[]> {
  if (report.boundaries.length) return report.boundaries;
  const { head } = await loadHead(c.env, row);
  const skipped = new Set(report.unconsumed.map((u) => u.seq));
  return [
    ...(head?.events ?? [])
      .filter(
        (e) =>
          !["clock", "random", "console", "response", "exception"].includes(e.kind) &&
          !skipped.has(e.seq),
      )
      .map((e) => `${e.kind} ${e.op} ${e.target}`),
    ...report.divergences
      .filter((d) => d.code === "extra_call")
      .map((d) => `+${d.kind} ${d.op} ${d.target}`),
  ];
}

/** `POST /api/guards`: saves a repaired replay as the trace's regression guard. */
async function saveGuardRoute(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const p = requirePrincipal(c);
  const { trace, report: raw } = await body(c, GuardRequest);
  const { row, ws, role } = await traceAccess(c, trace);
  if (!row || !ws || !role)
    throw new DashboardError("ERR_NOT_FOUND", "No such trace in your workspaces");
  if (!atLeast(role, "responder")) {
    await c.var.audit("guard.denied", {
      ws,
      target: trace,
      allowed: false,
      reason: `role ${role}`,
    });
    throw new DashboardError(
      "ERR_FORBIDDEN",
      `Saving guards needs the responder role; you are ${role}`,
    );
  }
  const report = await parsed(ReplayReport, raw, "report");
  if (report.traceId !== trace)
    throw new DashboardError("ERR_BAD_REQUEST", "The report is for another trace");
  if (!isRepaired(report)) {
    throw new DashboardError(
      "ERR_GUARD_NOT_REPAIRED",
      `The replay still fails (${report.replayed.error ? `throws ${report.replayed.error.name}` : `status ${report.replayed.status ?? "none"}`})`,
      { fix: "Fix the code, replay again, and save once the replay ends in a non-5xx response" },
    );
  }
  const boundaries = await guardBoundaries(c, row, report);
  const id = clock.id();
  await saveGuard(
    c.env.DB,
    {
      id,
      ws,
      app: row.app,
      traceId: trace,
      route: row.route,
      method: row.method,
      status: report.replayed.status,
      bodyDigest: report.replayed.body,
      errorName: report.replayed.error?.name ?? null,
      headers: report.replayed.headers,
      boundaries,
      createdBy: p.email,
      report,
    },
    clock.now(),
  );
  const issue = await issueOfTrace(c.env.DB, ws, trace);
  if (issue && issue.state !== "resolved") {
    await setIssueState(c.env.DB, ws, issue.id, {
      state: "resolved",
      by: `guard ${id}`,
      now: clock.now(),
    });
  }
  await c.var.audit("guard.saved", {
    ws,
    target: trace,
    allowed: true,
    detail: {
      status: report.replayed.status,
      body: report.replayed.body,
      boundaries: boundaries.length,
      verdict: report.verdict,
    },
  });
  return c.json(
    {
      id,
      trace,
      command: guardCommand(trace, new URL(c.req.url).origin, ws),
      status: report.replayed.status,
      bodyDigest: report.replayed.body,
      boundaries,
    } satisfies SavedGuard,
    201,
  );
}

export function apiRoutes(clock: Clock): Hono<AppEnv> {
  const api = new Hono<AppEnv>();

  api.get("/me", async (c) => {
    const p = requirePrincipal(c);
    return c.json({
      email: p.email,
      via: p.via,
      workspaces: await membershipsOf(c.env.DB, p.userId),
    });
  });

  api.post("/tokens", limit(MAX_TOKEN_REQUEST), (c) => issueToken(c, clock));
  api.post("/guards", limit(MAX_GUARD_REQUEST), (c) => saveGuardRoute(c, clock));
  api.route("/apps", policyApiRoutes(clock));

  api.get("/w/:ws/executions", wsAccess("viewer"), async (c) => {
    const ws = c.get("ws");
    const q = listQuery(c);
    const filter = parseFilter(ws, q, clock.now());
    if (q.app && !(await appsOf(c.env.DB, ws)).some((a) => a.name === q.app)) {
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
    }
    const limit = Number(c.req.query("limit") ?? 50);
    const [page, count] = await Promise.all([
      listExecutions(c.env.DB, filter, {
        cursor: decodeCursor(c.req.query("cursor")),
        limit: Number.isFinite(limit) ? limit : 50,
      }),
      countExecutions(c.env.DB, filter),
    ]);
    return c.json({
      executions: page.rows.map(({ r2Key: _k, ws: _w, ...rest }) => rest),
      next: page.next,
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
    const span = RANGES[c.req.query("range") ?? "24h"]?.ms ?? 86_400_000;
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

  /** Convenience: `GET /api/guards/<trace>` for the CLI, resolved through the caller's workspaces. */
  api.get("/guards/:trace", async (c) => {
    requirePrincipal(c);
    const row = await findExecution(c.env.DB, c.req.param("trace"));
    if (!row?.ws)
      throw new DashboardError("ERR_NOT_FOUND", "No guard for this trace in your workspaces");
    await checkWorkspace(c, row.ws, "viewer").catch(() => {
      throw new DashboardError("ERR_NOT_FOUND", "No guard for this trace in your workspaces");
    });
    const g = await guardFor(c.env.DB, row.ws, row.traceId);
    if (!g) throw new DashboardError("ERR_NOT_FOUND", "No guard for this trace in your workspaces");
    return c.json({ ...g, command: guardCommand(g.traceId, new URL(c.req.url).origin, g.ws) });
  });

  return api;
}
