/**
 * A workspace's issues (failing executions grouped by fingerprint), the landing view for
 * failures, and the form that sets an issue's state (responders).
 * @module
 */
import { TRACE_ROOT } from "fluxrun/contract";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { DashboardError } from "../../errors.js";
import { atLeast } from "../../auth/roles.js";
import { hasExecutions } from "../../db/executions.js";
import {
  getIssue,
  ISSUE_STATES,
  issueCounts,
  issuesOf,
  issueTrends,
  setIssueState,
  type IssueState,
} from "../../db/issues.js";
import { h } from "../../views/html.js";
import { issuesView } from "../../views/issues.js";
import { listScript } from "../../views/client.js";
import { bindingMissing, noTracesYet } from "../../views/setup.js";
import { readBody, render, requirePrincipal, wsAccess } from "../_shared.js";
import { devSweep } from "./executions.js";
import { mapTopFrames } from "../../sourcemaps/mapper.js";

function isState(v: unknown): v is IssueState {
  return typeof v === "string" && (ISSUE_STATES as readonly string[]).includes(v);
}

async function showIssues(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const ws = c.get("ws");
  const db = c.env.DB;
  const now = clock.now();
  await devSweep(c.env, now);
  const asked = c.req.query("state");
  const state = asked === "all" ? "all" : isState(asked) ? asked : "open";
  const [issues, counts] = await Promise.all([
    issuesOf(db, ws, state === "all" ? {} : { states: [state] }),
    issueCounts(db, ws),
  ]);
  const trends = await issueTrends(
    db,
    ws,
    issues.map((i) => i.id),
    { now },
  );
  const frames = await mapTopFrames(db, c.env.FLUX_TRACES, ws, issues);
  let top = h``;
  if (!c.env.FLUX_TRACES) top = bindingMissing();
  else if (!issues.length && !(await hasExecutions(db, ws))) {
    const bucketHas =
      (await c.env.FLUX_TRACES.list({ prefix: TRACE_ROOT, limit: 1 })).objects.length > 0;
    top = noTracesYet(ws, bucketHas);
  }
  return render(
    c,
    { title: "Issues", ws, active: "issues" },
    issuesView({
      ws,
      issues,
      trends,
      counts,
      state,
      canAct: atLeast(c.get("role"), "responder"),
      now,
      top,
      frames,
    }),
    { scripts: [listScript] },
  );
}

async function changeState(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const p = requirePrincipal(c);
  const ws = c.get("ws");
  const id = Number(c.req.param("id"));
  const body = await readBody(c);
  if (!isState(body.state)) {
    throw new DashboardError("ERR_BAD_REQUEST", "Unknown issue state", {
      fix: `Use one of ${ISSUE_STATES.join(", ")}`,
    });
  }
  const issue = Number.isSafeInteger(id) ? await getIssue(c.env.DB, ws, id) : null;
  if (!issue) throw new DashboardError("ERR_NOT_FOUND", "No such issue in this workspace");
  await setIssueState(c.env.DB, ws, id, { state: body.state, by: p.email, now: clock.now() });
  await c.var.audit("issue.state", {
    target: String(id),
    allowed: true,
    detail: { from: issue.state, to: body.state },
  });
  return c.redirect(
    `/w/${encodeURIComponent(ws)}/issues${body.state === "open" ? "" : `?state=${body.state}`}`,
    303,
  );
}

export function issueRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/w/:ws/issues", wsAccess("viewer"), (c) => showIssues(c, clock));
  app.post("/w/:ws/issues/:id/state", wsAccess("responder"), (c) => changeState(c, clock));
  return app;
}
