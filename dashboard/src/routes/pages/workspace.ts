/**
 * A workspace's other pages: the overview (rollup charts), the regression guards, and the
 * diagnostics (setup checks, the agent checked from the browser, the index).
 * @module
 */
import { appPrefix } from "fluxrun/contract";
import { TRACE_VERSION } from "fluxrun/trace";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { DashboardError } from "../../errors.js";
import { appsOf } from "../../db/workspaces.js";
import { overview, routesOf } from "../../db/rollups.js";
import { guardCommand, guardsOf } from "../../db/guards.js";
import { cursorStatus, skipsUnder } from "../../db/index-state.js";
import { refusalsOf } from "../../db/ingest-limits.js";
import { h } from "../../views/html.js";
import { RANGES } from "../../views/list.js";
import { overviewView } from "../../views/overview.js";
import { guardsView } from "../../views/guards.js";
import { diagnosticsView } from "../../views/diagnostics.js";
import { configScript } from "../../views/execution.js";
import { diagnosticsScript } from "../../views/client.js";
import { noTracesYet } from "../../views/setup.js";
import { agentTimeouts, render, wsAccess } from "../_shared.js";
import { agentPage } from "../_security.js";
import { setupChecks } from "../setup.js";

const OVERVIEW_RANGES = ["1h", "24h", "7d", "30d"];

async function showOverview(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const ws = c.get("ws");
  const db = c.env.DB;
  const now = clock.now();
  const apps = (await appsOf(db, ws)).map((a) => a.name);
  const app = c.req.query("app") || undefined;
  if (app && !apps.includes(app))
    throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
  const asked = c.req.query("range") ?? "";
  const range = OVERVIEW_RANGES.includes(asked) ? asked : "24h";
  const span = RANGES[range]!.ms!;
  const scope = app ? [app] : apps;
  const routes = await routesOf(db, scope, { from: now - span, to: now + 60_000 });
  const askedRoute = c.req.query("route") || undefined;
  const route = askedRoute && routes.includes(askedRoute) ? askedRoute : undefined;
  const data = await overview(db, scope, { from: now - span, to: now, route: route ?? null });
  return render(
    c,
    { title: "Overview", ws, active: "overview" },
    h`<h1>Overview${app ? h` · ${app}` : null}</h1><p class="sub">Requests, errors and duration percentiles (UTC), from the index rollups.</p>
      ${apps.length ? null : noTracesYet(ws, null)}
      ${overviewView({ ws, apps, app, route: askedRoute, range, routes, data })}`,
  );
}

async function showGuards(c: Context<AppEnv>): Promise<Response> {
  const ws = c.get("ws");
  const origin = new URL(c.req.url).origin;
  return render(
    c,
    { title: "Regression guards", ws, active: "guards" },
    guardsView({
      ws,
      guards: await guardsOf(c.env.DB, ws),
      command: (g) => guardCommand(g.traceId, origin, g.ws),
    }),
  );
}

async function showDiagnostics(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const ws = c.get("ws");
  const db = c.env.DB;
  const agent = c.get("agent") ?? { origin: null, id: null };
  const { checks, kid } = await setupChecks(c.env, agent);
  const apps = await appsOf(db, ws);
  const prefixes = apps.map((a) => appPrefix(a.name));
  const now = clock.now();
  const [cursors, skips, refusals] = await Promise.all([
    cursorStatus(db, prefixes),
    skipsUnder(db, prefixes),
    refusalsOf(db, ws, { from: now - 86_400_000 }),
  ]);
  return render(
    c,
    { title: "Diagnostics", ws, active: "diagnostics" },
    h`${diagnosticsView({ checks, apps, agentOrigin: agent.origin, cursors, skips, refusals, now })}
      ${configScript({
        agentOrigin: agent.origin,
        agentId: agent.id,
        kid,
        traceVersion: TRACE_VERSION,
        isAdmin: c.get("role") === "admin",
        autoCheck: Boolean(agent.origin),
        timeouts: agentTimeouts(c.env),
      })}`,
    { scripts: [diagnosticsScript] },
  );
}

export function workspaceRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/w/:ws", wsAccess("viewer"), (c) =>
    c.redirect(`/w/${encodeURIComponent(c.get("ws"))}/issues`),
  );
  app.get("/w/:ws/overview", wsAccess("viewer"), (c) => showOverview(c, clock));
  app.get("/w/:ws/guards", wsAccess("viewer"), showGuards);
  app.get("/w/:ws/diagnostics", wsAccess("viewer"), ...agentPage(), (c) =>
    showDiagnostics(c, clock),
  );
  return app;
}
