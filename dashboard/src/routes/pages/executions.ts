/**
 * The executions of a workspace: the filtered list (keyset pages), one execution (summary,
 * timeline, sealed evidence, and Unlock / Replay through the agent for responders), and its
 * sealed trace file for `fluxrun replay` / `fluxrun guard`. An execution is looked up by (trace
 * id, workspace), so ids from other workspaces read as not found.
 * @module
 */
import { TRACE_CONTENT_TYPE, TRACE_ROOT } from "fluxrun/contract";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { DashboardError } from "../../errors.js";
import { atLeast } from "../../auth/roles.js";
import { appsOf } from "../../db/workspaces.js";
import {
  countExecutions,
  decodeCursor,
  errorClassesOf,
  getExecution,
  hasExecutions,
  listExecutions,
  OUTCOMES,
  type ListFilter,
  type Outcome,
} from "../../db/executions.js";
import { facets, routesOf } from "../../db/rollups.js";
import { guardCommand, guardFor } from "../../db/guards.js";
import { sweep } from "../../indexer/sweep.js";
import { registeredKeys } from "../../indexer/origin.js";
import { h } from "../../views/html.js";
import { stateBox } from "../../views/layout.js";
import { listView, RANGES, type ListQuery } from "../../views/list.js";
import { configScript, executionView, releaseOf } from "../../views/execution.js";
import { mapSites, siteMapper } from "../../sourcemaps/mapper.js";
import { releasesWithMaps } from "../../sourcemaps/store.js";
import { executionScript, listScript } from "../../views/client.js";
import { bindingMissing, noTracesYet } from "../../views/setup.js";
import { agentTimeouts, render, wsAccess } from "../_shared.js";
import { agentPage } from "../_security.js";
import { loadHead } from "../setup.js";

function parseTime(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const t = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
  return Number.isFinite(t) ? t : undefined;
}

/** Query string → validated filter (unknown values are dropped, never passed to SQL unchecked). */
export function parseFilter(ws: string, q: ListQuery, now: number): ListFilter {
  const status = /^([2-5])xx$/.exec(q.status ?? "");
  const range = q.range && RANGES[q.range] ? q.range : "all";
  const span = RANGES[range]?.ms ?? null;
  return {
    ws,
    app: q.app || undefined,
    route: q.route || undefined,
    statusClass: status ? Number(status[1]) : undefined,
    outcome: (OUTCOMES as readonly string[]).includes(q.outcome ?? "")
      ? (q.outcome as Outcome)
      : undefined,
    errorClass: q.error || undefined,
    q: q.q?.trim() || undefined,
    from: range === "custom" ? parseTime(q.from) : span ? now - span : undefined,
    to: range === "custom" ? parseTime(q.to) : undefined,
  };
}

export function listQuery(c: { req: { query(k: string): string | undefined } }): ListQuery {
  const q: ListQuery = {};
  for (const k of [
    "q",
    "live",
    "app",
    "route",
    "status",
    "outcome",
    "error",
    "range",
    "from",
    "to",
  ] as const) {
    const v = c.req.query(k);
    if (v) q[k] = v.slice(0, 1024);
  }
  return q;
}

let lastDevSweep = 0;

/**
 * Local dev only (FLUX_DEV): `wrangler dev` does not fire cron triggers, so the list sweeps R2
 * itself, at most every 2 seconds, before it renders.
 */
export async function devSweep(env: AppEnv["Bindings"], now: number): Promise<void> {
  if (env.FLUX_DEV !== "true" || !env.FLUX_TRACES || now - lastDevSweep < 2000) return;
  lastDevSweep = now;
  await sweep(env.DB, env.FLUX_TRACES, {
    now,
    defaultWorkspace: env.FLUX_DEFAULT_WORKSPACE,
    originKeys: registeredKeys(env.FLUX_ORIGIN_KEYS),
    maxPages: 5,
  });
}

async function showList(c: Context<AppEnv>, clock: Clock): Promise<Response> {
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
  const cursor = decodeCursor(c.req.query("cursor"));
  const scope = q.app ? [q.app] : apps;
  const from = filter.from ?? 0;
  const to = filter.to ?? now + 60_000;
  const [page, count, routes, facetsData, errorClasses] = await Promise.all([
    listExecutions(db, filter, { cursor }),
    countExecutions(db, filter),
    routesOf(db, scope, { from: Math.max(from, now - 30 * 86_400_000), to }),
    facets(db, scope, { from, to, route: filter.route ?? null }),
    q.app ? errorClassesOf(db, ws, { app: q.app, from: now - 7 * 86_400_000 }) : [],
  ]);
  const bucket = c.env.FLUX_TRACES;
  let top = h``;
  if (!bucket) top = bindingMissing();
  else if (!page.rows.length && !cursor && !(await hasExecutions(db, ws))) {
    const bucketHas = (await bucket.list({ prefix: TRACE_ROOT, limit: 1 })).objects.length > 0;
    top = noTracesYet(ws, bucketHas);
  }
  return render(
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
        rows: page.rows,
        next: page.next,
        isFirstPage: !cursor,
        count,
        facets: facetsData,
      })}`,
    { scripts: [listScript] },
  );
}

async function showExecution(c: Context<AppEnv>): Promise<Response> {
  const ws = c.get("ws");
  const role = c.get("role");
  const row = await getExecution(c.env.DB, ws, c.req.param("trace") ?? "");
  if (!row) {
    throw new DashboardError("ERR_NOT_FOUND", "No such execution in this workspace", {
      fix: "Open it from the executions list; traces of other workspaces are not shown",
    });
  }
  const agent = c.get("agent") ?? { origin: null, id: null };
  const { head, problem } = await loadHead(c.env, row);
  const guard = await guardFor(c.env.DB, ws, row.traceId);
  const canAct = atLeast(role, "responder");
  const sites = await mapSites(
    await siteMapper(c.env.DB, c.env.FLUX_TRACES, {
      ws,
      app: row.app,
      release: releaseOf(row, head),
    }),
    head?.events ?? [],
    canAct ? await releasesWithMaps(c.env.DB, ws, row.app) : [],
  );
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
    timeouts: agentTimeouts(c.env),
    sites,
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
  return render(
    c,
    { title: `${row.method} ${row.route}`, ws, active: "executions" },
    h`<p class="small"><a href="/w/${ws}/executions?app=${encodeURIComponent(row.app)}">⟵ ${row.app} executions</a></p>${noAgent}${view.body}${configScript(view.config)}`,
    { scripts: canAct && head ? [executionScript] : [] },
  );
}

/** The sealed trace, for `fluxrun replay` / `fluxrun guard` on a responder's machine. */
async function sealedTrace(c: Context<AppEnv>): Promise<Response> {
  const row = await getExecution(c.env.DB, c.get("ws"), c.req.param("trace") ?? "");
  if (!row) throw new DashboardError("ERR_NOT_FOUND", "No such execution in this workspace");
  if (!c.env.FLUX_TRACES)
    throw new DashboardError("ERR_BINDING_MISSING", "The trace bucket is not bound (FLUX_TRACES)");
  const obj = await c.env.FLUX_TRACES.get(row.r2Key);
  if (!obj) throw new DashboardError("ERR_NOT_FOUND", "The trace object is no longer in R2");
  return new Response(obj.body, {
    headers: {
      "content-type": TRACE_CONTENT_TYPE,
      "content-disposition": `attachment; filename="${row.traceId}.cbor"`,
      "cache-control": "no-store",
    },
  });
}

export function executionRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/w/:ws/executions", wsAccess("viewer"), (c) => showList(c, clock));
  app.get("/w/:ws/executions/:trace", wsAccess("viewer"), ...agentPage(), showExecution);
  app.get("/w/:ws/executions/:trace/trace.cbor", wsAccess("responder"), sealedTrace);
  return app;
}
