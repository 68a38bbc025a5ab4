/**
 * Approvals for higher-risk actions: requesting one (`POST /api/approvals`), its state for the
 * requester's page (`GET /api/approvals/:id`), approving or denying it (`POST
 * /api/approvals/:id/approve|deny`, or the Approvals page's forms), the Approvals page with the
 * workspace's settings, the statement an agent token carries for a risky action, and the gate in
 * front of the dashboard's own risky actions (audit export, agent settings). Every request,
 * decision, refusal and use is audited with names and ids only.
 * @module
 */
import {
  ApprovalRequest,
  RECONFIRM_MINUTES,
  RISKY_ACTIONS,
  riskyFields,
  type AgentAction,
  type RiskyAction,
  type TraceAction,
} from "fluxrun/contract";
import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { atLeast } from "../auth/roles.js";
import { clearRisk, signApproval } from "../auth/approvals.js";
import type { SigningKey } from "../auth/issuer.js";
import {
  approvalPolicy,
  approvalView,
  createApproval,
  decideApproval,
  getApproval,
  isMode,
  liveApprovalsOf,
  pendingApprovals,
  recentApprovals,
  savePolicy,
  stateOf,
  type ApprovalPolicy,
} from "../db/approvals.js";
import { findExecution, type ExecutionRow } from "../db/executions.js";
import { roleIn } from "../db/users.js";
import { approvalsView } from "../views/approvals.js";
import { stateBox } from "../views/layout.js";
import type { Html } from "../views/html.js";
import { readBody, render, requirePrincipal, wsAccess } from "./_shared.js";
import { loadHead } from "./setup.js";

const WORKSPACE_RISKS: readonly RiskyAction[] = ["audit_export", "agent_settings"];

/**
 * The risky action a trace action is, or null: an unlock naming a secret field (the trace head
 * says which), a replay when the workspace marks its agent production.
 *
 * @example
 * ```ts
 * await traceRisk(c, row, "unlock", ["4"], policy); // "unlock_secret" when event 4 is an env read
 * ```
 */
export async function traceRisk(
  c: Context<AppEnv>,
  row: ExecutionRow,
  act: TraceAction,
  fields: readonly string[] | undefined,
  policy: ApprovalPolicy,
): Promise<RiskyAction | null> {
  if (act === "replay") return policy.agentProduction ? "replay_production" : null;
  if (act !== "unlock" || !fields?.length) return null;
  const { head } = await loadHead(c.env, row);
  // Without the head the dashboard cannot tell; the agent, which reads the trace, still refuses
  // a secret without an approval.
  return head && riskyFields(head, fields).length ? "unlock_secret" : null;
}

/**
 * For a token request: clears the risky action it is (if any) and returns the signed approval
 * statement the token carries, with the risk and the clearance id (for the audit).
 *
 * @example
 * ```ts
 * const apr = await approvalStatement(c, clock, { row, ws, act, fields, approval, key, aud });
 * ```
 */
export async function approvalStatement(
  c: Context<AppEnv>,
  clock: Clock,
  req: {
    row: ExecutionRow;
    ws: string;
    act: TraceAction;
    fields: string[] | undefined;
    approval: string | undefined;
    key: SigningKey;
    aud: string;
  },
): Promise<{ statement: string; risk: RiskyAction; id: string } | null> {
  const policy = await approvalPolicy(c.env.DB, req.ws);
  const risk = await traceRisk(c, req.row, req.act, req.fields, policy);
  if (!risk) return null;
  const cleared = await clearRisk(c, clock, {
    ws: req.ws,
    risk,
    act: req.act,
    trace: req.row.traceId,
    app: req.row.app,
    fields: req.fields ?? [],
    approval: req.approval,
  });
  const statement = await signApproval(
    req.key,
    cleared,
    {
      aud: req.aud,
      ws: req.ws,
      app: req.row.app,
      trace: req.row.traceId,
      act: req.act,
      risk,
      fields: req.fields,
    },
    { now: clock.now() },
  );
  return { statement, risk, id: cleared.id };
}

/**
 * Middleware in front of a dashboard action that is risky in itself (audit export: any method;
 * agent settings: writes): clears it with the `approval` query parameter when one is needed.
 *
 * @example
 * ```ts
 * workspace.use("/audit.ndjson", riskGate(clock, "audit_export"));
 * ```
 */
export function riskGate(clock: Clock, risk: RiskyAction, options: { writesOnly?: boolean } = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (options.writesOnly && ["GET", "HEAD", "OPTIONS"].includes(c.req.method)) return next();
    await clearRisk(c, clock, {
      ws: c.get("ws"),
      risk,
      act: risk === "audit_export" ? "audit" : "preflight",
      trace: "*",
      app: null,
      fields: [],
      approval: c.req.query("approval"),
    });
    await next();
  });
}

function parsed<T>(
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  value: unknown,
): T {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new DashboardError("ERR_BAD_REQUEST", "Invalid approval request", {
      fix: 'Send {"trace", "act", "fields"} for a trace action, or {"ws", "risk"} for audit_export / agent_settings',
    });
  return r.data as T;
}

/**
 * `POST /api/approvals`: a pending request for exactly one risky action. From the Approvals
 * page's form (`/w/:ws/approvals/request`), it redirects back to that page.
 */
async function requestApproval(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const p = requirePrincipal(c);
  const pageWs = c.req.param("ws");
  const raw = await readBody(c);
  const body = parsed(ApprovalRequest, pageWs === undefined ? raw : { ws: pageWs, risk: raw.risk });
  let target: {
    ws: string;
    risk: RiskyAction;
    act: AgentAction;
    trace: string;
    app: string | null;
    fields: string[];
  };
  if (body.trace) {
    const row = await findExecution(c.env.DB, body.trace);
    const role = row?.ws ? await roleIn(c.env.DB, row.ws, p.userId) : null;
    if (!row?.ws || !role)
      throw new DashboardError("ERR_NOT_FOUND", "No such trace in your workspaces");
    if (!atLeast(role, "responder"))
      throw new DashboardError(
        "ERR_FORBIDDEN",
        `Unlock and replay need the responder role; you are ${role} in this workspace`,
      );
    const act = body.act;
    if (act !== "unlock" && act !== "replay")
      throw new DashboardError("ERR_BAD_REQUEST", "Approvals cover unlock and replay of a trace");
    const risk = await traceRisk(c, row, act, body.fields, await approvalPolicy(c.env.DB, row.ws));
    if (!risk)
      throw new DashboardError(
        "ERR_BAD_REQUEST",
        "Nothing in this request needs an approval: ask for a token directly",
      );
    target = { ws: row.ws, risk, act, trace: row.traceId, app: row.app, fields: body.fields ?? [] };
  } else {
    const ws = body.ws ?? "";
    const role = ws ? await roleIn(c.env.DB, ws, p.userId) : null;
    if (!role) throw new DashboardError("ERR_NOT_FOUND", "No such workspace, or not a member");
    if (!body.risk || !WORKSPACE_RISKS.includes(body.risk))
      throw new DashboardError("ERR_BAD_REQUEST", 'Name "risk": audit_export or agent_settings');
    if (role !== "admin")
      throw new DashboardError(
        "ERR_FORBIDDEN",
        "Only admins export the audit log or change settings",
      );
    target = {
      ws,
      risk: body.risk,
      act: body.risk === "audit_export" ? "audit" : "preflight",
      trace: "*",
      app: null,
      fields: [],
    };
  }
  const a = await createApproval(
    c.env.DB,
    { id: clock.id(), ...target, requesterId: p.userId, requester: p.email },
    clock.now(),
  );
  await c.var.audit("approval.requested", {
    ws: a.ws,
    target: a.trace,
    allowed: true,
    detail: { approval: a.id, risk: a.risk, act: a.act, fields: a.fields },
  });
  if (pageWs !== undefined)
    return c.redirect(`/w/${encodeURIComponent(a.ws)}/approvals?done=requested`, 303);
  c.header("Cache-Control", "no-store");
  return c.json(approvalView(a, clock.now()), 201);
}

/** Approves or denies; the form version redirects back to the Approvals page. */
async function decide(c: Context<AppEnv>, clock: Clock, approve: boolean): Promise<Response> {
  const p = requirePrincipal(c);
  const now = clock.now();
  const a = await getApproval(c.env.DB, c.req.param("id") ?? "");
  const role = a ? await roleIn(c.env.DB, a.ws, p.userId) : null;
  const pageWs = c.req.param("ws");
  if (!a || !role || (pageWs !== undefined && pageWs !== a.ws))
    throw new DashboardError("ERR_NOT_FOUND", "No such approval request in your workspaces");
  const refuse = async (reason: string, err: DashboardError): Promise<never> => {
    await c.var.audit("approval.refused", {
      ws: a.ws,
      target: a.trace,
      allowed: false,
      reason,
      detail: {
        approval: a.id,
        risk: a.risk,
        decision: approve ? "approve" : "deny",
        code: err.code,
      },
    });
    throw err;
  };
  if (!atLeast(role, "responder"))
    return refuse(
      `role ${role}`,
      new DashboardError("ERR_APPROVAL_ROLE", `Only responders and admins decide; you are ${role}`),
    );
  if (a.requesterId === p.userId)
    return refuse(
      "own request",
      new DashboardError(
        "ERR_APPROVAL_SELF",
        "You cannot decide your own request: a second person is required",
      ),
    );
  const state = stateOf(a, now);
  if (state === "expired")
    return refuse(
      "request expired",
      new DashboardError("ERR_APPROVAL_EXPIRED", "The request lapsed before a decision", {
        fix: "The requester asks again",
      }),
    );
  if (state !== "pending" || !(await decideApproval(c.env.DB, a.id, { approve, by: p.email, now })))
    return refuse(
      "already decided",
      new DashboardError("ERR_CONFLICT", "The request was already decided"),
    );
  await c.var.audit(approve ? "approval.granted" : "approval.denied", {
    ws: a.ws,
    target: a.trace,
    allowed: true,
    detail: { approval: a.id, risk: a.risk, act: a.act, fields: a.fields, requester: a.requester },
  });
  if (pageWs !== undefined)
    return c.redirect(
      `/w/${encodeURIComponent(a.ws)}/approvals?done=${approve ? "approved" : "denied"}`,
      303,
    );
  const fresh = await getApproval(c.env.DB, a.id);
  return c.json(approvalView(fresh ?? a, now));
}

async function showApprovals(
  c: Context<AppEnv>,
  clock: Clock,
  options: { flash?: Html | null; status?: 200 | 400 } = {},
): Promise<Response> {
  const ws = c.get("ws");
  const role = c.get("role");
  const now = clock.now();
  const me = requirePrincipal(c);
  const [pending, mine, recent, policy] = await Promise.all([
    pendingApprovals(c.env.DB, ws, now),
    liveApprovalsOf(c.env.DB, ws, me.userId, now),
    recentApprovals(c.env.DB, ws),
    approvalPolicy(c.env.DB, ws),
  ]);
  const done = c.req.query("done");
  const flash =
    options.flash ??
    (done === "approved" || done === "denied"
      ? stateBox("good", `Request ${done}`, "The requester's page shows it now.", {
          id: "approval-done",
          code: done,
        })
      : done === "requested"
        ? stateBox(
            "info",
            "Approval requested",
            "Another responder or admin decides it here; reload to see the decision.",
            { id: "approval-done", code: done },
          )
        : null);
  return render(
    c,
    { title: "Approvals", ws, active: "approvals" },
    approvalsView({
      ws,
      me: me.email,
      canApprove: atLeast(role, "responder"),
      isAdmin: role === "admin",
      now,
      pending,
      mine,
      recent,
      policy,
      flash,
    }),
    { status: options.status ?? 200 },
  );
}

async function saveSettings(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const body = await readBody(c);
  const before = await approvalPolicy(c.env.DB, c.get("ws"));
  const modes = { ...before.modes };
  for (const risk of RISKY_ACTIONS) {
    const m = body[`mode_${risk}`];
    if (m !== undefined && !isMode(m))
      return showApprovals(c, clock, {
        flash: stateBox("bad", "Unknown mode", "Pick one of the listed modes."),
        status: 400,
      });
    if (m !== undefined) modes[risk] = m;
  }
  const minutes = Number(body.reconfirm_minutes ?? before.reconfirmMinutes);
  if (
    !Number.isInteger(minutes) ||
    minutes < RECONFIRM_MINUTES.min ||
    minutes > RECONFIRM_MINUTES.max
  )
    return showApprovals(c, clock, {
      flash: stateBox(
        "bad",
        "Re-confirmation window out of range",
        `Choose ${RECONFIRM_MINUTES.min} to ${RECONFIRM_MINUTES.max} minutes.`,
      ),
      status: 400,
    });
  const policy = {
    modes,
    reconfirmMinutes: minutes,
    agentProduction: body.agent_production === "true" || body.agent_production === true,
  };
  await savePolicy(c.env.DB, c.get("ws"), policy, {
    now: clock.now(),
    by: requirePrincipal(c).email,
  });
  await c.var.audit("approval.settings", {
    target: c.get("ws"),
    allowed: true,
    detail: {
      ...Object.fromEntries(RISKY_ACTIONS.map((r) => [r, `${before.modes[r]}→${modes[r]}`])),
      reconfirmMinutes: minutes,
      agentProduction: policy.agentProduction,
    },
  });
  return showApprovals(c, clock, {
    flash: stateBox("good", "Approval settings saved", "They apply to the next request.", {
      id: "approval-settings-saved",
    }),
  });
}

/**
 * The approval routes (API and pages), mounted at the root.
 *
 * @example
 * ```ts
 * app.route("/", approvalRoutes(clock));
 * ```
 */
export function approvalRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/api/approvals", (c) => requestApproval(c, clock));
  app.get("/api/approvals/:id", async (c) => {
    const p = requirePrincipal(c);
    const a = await getApproval(c.env.DB, c.req.param("id"));
    if (!a || !(await roleIn(c.env.DB, a.ws, p.userId)))
      throw new DashboardError("ERR_NOT_FOUND", "No such approval request in your workspaces");
    c.header("Cache-Control", "no-store");
    return c.json(approvalView(a, clock.now()));
  });
  app.post("/api/approvals/:id/approve", (c) => decide(c, clock, true));
  app.post("/api/approvals/:id/deny", (c) => decide(c, clock, false));

  app.get("/w/:ws/approvals", wsAccess("viewer"), (c) => showApprovals(c, clock));
  app.post("/w/:ws/approvals/settings", wsAccess("admin"), riskGate(clock, "agent_settings"), (c) =>
    saveSettings(c, clock),
  );
  app.post("/w/:ws/approvals/request", wsAccess("admin"), (c) => requestApproval(c, clock));
  app.post("/w/:ws/approvals/:id/approve", wsAccess("viewer"), (c) => decide(c, clock, true));
  app.post("/w/:ws/approvals/:id/deny", wsAccess("viewer"), (c) => decide(c, clock, false));
  return app;
}
