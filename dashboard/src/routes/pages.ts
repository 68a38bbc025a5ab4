/**
 * Server-rendered pages: sign-in, account, and the workspace views (executions list, execution,
 * overview, guards, diagnostics). Every workspace page checks membership first; an execution is
 * looked up by (trace id, workspace), so ids from other workspaces read as not found.
 * @module
 */
import { Hono, type Context } from "hono";
import { deleteCookie, setCookie } from "hono/cookie";
import { TRACE_VERSION } from "fluxrun/trace";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { atLeast } from "../auth/roles.js";
import { SESSION_COOKIE } from "../auth/principal.js";
import { accessConfigured } from "../auth/access.js";
import { createApiToken, membershipsOf, revokeTokens, tokensOf, userByToken } from "../db/users.js";
import { appsOf, getWorkspace } from "../db/workspaces.js";
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
} from "../db/executions.js";
import { facets, overview, routesOf } from "../db/rollups.js";
import { guardCommand, guardFor, guardsOf } from "../db/guards.js";
import { audit } from "../db/audit.js";
import { cursorStatus, prefixOf, sweep } from "../indexer/sweep.js";
import { h, raw } from "../views/html.js";
import { stateBox } from "../views/layout.js";
import { LIST_SCRIPT, listView, RANGES, type ListQuery } from "../views/list.js";
import { configScript, executionView } from "../views/execution.js";
import { overviewView } from "../views/overview.js";
import { diagnosticsScript, executionScript } from "../views/client.js";
import { ago, formatCount, formatTime } from "../views/format.js";
import {
  agentOf,
  currentWorkspace,
  readBody,
  render,
  requirePrincipal,
  wsAccess,
} from "./_shared.js";
import { bindingMissing, loadHead, noTracesYet, setupChecks } from "./setup.js";

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
    from: range === "custom" ? parseTime(q.from) : span ? now - span : undefined,
    to: range === "custom" ? parseTime(q.to) : undefined,
  };
}

let lastDevSweep = 0;

/**
 * Local dev only (FLUX_DEV): `wrangler dev` does not fire cron triggers, so the list sweeps R2
 * itself, at most every 2 seconds, before it renders.
 */
async function devSweep(env: AppEnv["Bindings"], now: number): Promise<void> {
  if (env.FLUX_DEV !== "true" || !env.FLUX_TRACES || now - lastDevSweep < 2000) return;
  lastDevSweep = now;
  await sweep(env.DB, env.FLUX_TRACES, {
    now,
    defaultWorkspace: env.FLUX_DEFAULT_WORKSPACE,
    maxPages: 5,
  });
}

export function listQuery(c: { req: { query(k: string): string | undefined } }): ListQuery {
  const q: ListQuery = {};
  for (const k of ["app", "route", "status", "outcome", "error", "range", "from", "to"] as const) {
    const v = c.req.query(k);
    if (v) q[k] = v.slice(0, 1024);
  }
  return q;
}

export function pageRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const p = c.get("principal");
    if (!p) return c.redirect("/login");
    const ws = await membershipsOf(c.env.DB, p.userId);
    if (ws.length) return c.redirect(`/w/${encodeURIComponent(ws[0]!.id)}/executions`);
    return render(
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
    return render(
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
      return render(
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

  const accountPage = async (c: Context<AppEnv>, created: string | null = null) => {
    const p = requirePrincipal(c);
    const tokens = await tokensOf(c.env.DB, p.userId);
    return render(
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
    const [page, count] = await Promise.all([
      listExecutions(db, filter, { cursor }),
      countExecutions(db, filter),
    ]);
    const scope = q.app ? [q.app] : apps;
    const from = filter.from ?? 0;
    const to = filter.to ?? now + 60_000;
    const [routes, facetsData, errorClasses] = await Promise.all([
      routesOf(db, scope, { from: Math.max(from, now - 30 * 86_400_000), to }),
      facets(db, scope, { from, to, route: filter.route ?? null }),
      q.app
        ? errorClassesOf(db, ws, { app: q.app, from: now - 7 * 86_400_000 })
        : Promise.resolve([]),
    ]);
    let top = h``;
    if (!page.rows.length && !cursor && !(await hasExecutions(db, ws))) {
      let bucketHas: boolean | null = null;
      if (c.env.FLUX_TRACES)
        bucketHas =
          (await c.env.FLUX_TRACES.list({ prefix: "traces/", limit: 1 })).objects.length > 0;
      top = c.env.FLUX_TRACES ? noTracesYet(ws, bucketHas) : bindingMissing();
    } else if (!c.env.FLUX_TRACES) {
      top = bindingMissing();
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
    return render(
      c,
      { title: `${row.method} ${row.route}`, ws, active: "executions" },
      h`<p class="small"><a href="/w/${ws}/executions?app=${encodeURIComponent(row.app)}">⟵ ${row.app} executions</a></p>${noAgent}${view.body}${configScript(view.config)}`,
      { scripts: canAct && head ? [executionScript()] : [], connect: [agent.origin] },
    );
  });

  /** The sealed trace, for `fluxrun replay` / `fluxrun guard` on a responder's machine. */
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
    const appQ = c.req.query("app") || undefined;
    if (appQ && !apps.includes(appQ))
      throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
    const range = ["1h", "24h", "7d", "30d"].includes(c.req.query("range") ?? "")
      ? c.req.query("range")!
      : "24h";
    const span = RANGES[range]!.ms!;
    const scope = appQ ? [appQ] : apps;
    const routes = await routesOf(db, scope, { from: now - span, to: now + 60_000 });
    const routeQ = c.req.query("route") || undefined;
    const data = await overview(db, scope, {
      from: now - span,
      to: now,
      route: routeQ && routes.includes(routeQ) ? routeQ : null,
    });
    return render(
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
    return render(
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
              "Open a failing execution, replay it after your fix, and click “Save as regression guard”.",
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
      .all<{ key: string; reason: string; at: number }>();
    const mySkips = skips.filter((s) => apps.some((a) => s.key.startsWith(prefixOf(a.name))));
    const isAdmin = c.get("role") === "admin";
    return render(
      c,
      { title: "Diagnostics", ws, active: "diagnostics" },
      h`<h1>Diagnostics</h1><p class="sub">What this workspace needs to show traces and to unlock and replay them.</p>
      <div class="panel"><h2>Dashboard</h2><table id="checks"><tbody>
        ${checks.map((k) => h`<tr data-check-id="${k.id}"><td style="width:60px"><span class="badge ${k.ok ? "st-2" : k.ok === false ? "st-5" : "st-none"}">${k.ok ? "ok" : "fix"}</span></td><td style="width:220px">${k.label}</td><td class="small">${k.detail}</td></tr>`)}
        <tr><td><span class="badge ${apps.length ? "st-2" : "st-5"}">${apps.length ? "ok" : "fix"}</span></td><td>Apps</td><td class="small">${apps.length ? apps.map((a) => h`<span class="tag">${a.name}</span>`) : "No apps in this workspace yet: record some traffic, then reindex (apps join the default workspace) or register the app in Admin → Apps."}</td></tr>
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
            ) => h`<tr><td class="mono small">${k.prefix}</td><td class="mono small">${k.lastKey ?? "—"}</td><td>${k.sweptAt ? ago(k.sweptAt, clock.now()) : "never"}</td><td class="num">${formatCount(k.indexed)}</td><td class="num">${formatCount(k.skipped)}</td>
            <td>${k.lastError ? h`<span class="oc-exception">${k.lastError}</span>` : k.rebuilding ? "rebuilding" : "ok"}</td></tr>`,
          )}</tbody></table>`
            : h`<p class="muted">Not swept yet. The cron sweep runs every minute; admins can reindex from R2 in Admin.</p>`
        }
        ${mySkips.length ? h`<h3 style="margin-top:12px">Objects not indexed</h3><table><tbody>${mySkips.map((s) => h`<tr><td class="mono small">${s.key}</td><td class="small">${s.reason}</td></tr>`)}</tbody></table>` : null}
      </div>
      ${configScript({ agentOrigin: agent.origin, agentId: agent.id, kid, traceVersion: TRACE_VERSION, isAdmin, autoCheck: Boolean(agent.origin) })}`,
      { scripts: [diagnosticsScript()], connect: [agent.origin] },
    );
  });

  return app;
}

/** Sets the session cookie (an API token; HttpOnly, Lax, Secure on https). */
export function setSession(c: Parameters<typeof setCookie>[0], token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: 7 * 86_400,
  });
}
