/**
 * The JSON API: agent token issuance (`POST /api/tokens`), regression guards, and the list /
 * execution data for scripts and the CLI. Token issuance resolves trace → app → workspace and
 * checks the caller's membership and role there, whatever the request names.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { atLeast } from "../auth/roles.js";
import { AGENT_ACTIONS, issueAgentToken, signingKey } from "../auth/issuer.js";
import { membershipsOf, roleIn } from "../db/users.js";
import { appsOf, getWorkspace } from "../db/workspaces.js";
import { audit } from "../db/audit.js";
import {
  countExecutions,
  decodeCursor,
  findExecution,
  getExecution,
  listExecutions,
} from "../db/executions.js";
import { overview } from "../db/rollups.js";
import {
  guardCommand,
  guardFor,
  guardsOf,
  isRepaired,
  ReplayReportSchema,
  saveGuard,
} from "../db/guards.js";
import { agentOf, checkWorkspace, requirePrincipal, wsAccess } from "./_shared.js";
import { listQuery, parseFilter } from "./pages.js";
import { loadHead } from "./setup.js";
import { RANGES } from "../views/list.js";

/** A field path: `<seq>` or `<seq>.<path>` (`7.result.body`, `0.headers`). */
const FieldPath = z.string().regex(/^\d{1,6}(\.[A-Za-z0-9_-]{1,64}){0,8}$/);

const TokenRequest = z.object({
  trace: z.string().regex(/^[0-9a-f]{32}$/),
  act: z.enum(AGENT_ACTIONS),
  fields: z.array(FieldPath).min(1).max(200).optional(),
});

const GuardRequest = z.object({
  trace: z.string().regex(/^[0-9a-f]{32}$/),
  report: z.unknown(),
});

async function json(
  c: { req: { json(): Promise<unknown>; header(n: string): string | undefined } },
  max: number,
): Promise<unknown> {
  const len = Number(c.req.header("content-length") ?? 0);
  if (len > max) throw new DashboardError("ERR_TOO_LARGE", `The request body is over ${max} bytes`);
  try {
    return await c.req.json();
  } catch (cause) {
    throw new DashboardError("ERR_BAD_REQUEST", "The request body is not JSON", { cause });
  }
}

function badRequest(err: z.ZodError): DashboardError {
  const i = err.issues[0];
  return new DashboardError(
    "ERR_BAD_REQUEST",
    `Invalid request at ${i?.path.join(".") || "body"}: ${i?.message ?? "invalid"}`,
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

  api.post("/tokens", async (c) => {
    const p = requirePrincipal(c);
    const parsed = TokenRequest.safeParse(await json(c, 16_384));
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
    const deny = async (reason: string, err: DashboardError) => {
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
            fix: "An admin sets them in Admin → Agent (the agent's URL and its FLUX_AGENT_ID)",
          },
        ),
      );
    }
    let key;
    try {
      key = await signingKey(c.env);
    } catch (err) {
      return deny("signing key unavailable", err as DashboardError);
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
      expiresAt: new Date(issued.exp * 1000).toISOString(),
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
