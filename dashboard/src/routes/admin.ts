/**
 * Admin: the workspace's agent endpoint and id, members and roles, apps and ingest tokens, the
 * dashboard's public signing key, reindexing from R2, and the audit log (page and NDJSON export).
 * Every action is audited (names and ids only).
 * @module
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { isRole, ROLES } from "../auth/roles.js";
import { publicJwks } from "../auth/issuer.js";
import { accessConfigured } from "../auth/access.js";
import {
  countAdmins,
  createApiToken,
  ensureUser,
  membersOf,
  removeMember,
  roleIn,
  setMember,
  userById,
} from "../db/users.js";
import {
  appsOf,
  createIngestToken,
  ingestTokensOf,
  registerApp,
  setAgent,
  type Workspace,
} from "../db/workspaces.js";
import { audit, auditOf } from "../db/audit.js";
import { appPrefixes, cursorStatus, prefixOf, sweep, type SweepResult } from "../indexer/sweep.js";
import { h, raw, type Html } from "../views/html.js";
import { stateBox } from "../views/layout.js";
import { formatCount, formatTime } from "../views/format.js";
import {
  agentOf,
  checkWorkspace,
  currentWorkspace,
  readBody,
  render,
  wantsJson,
  wsAccess,
} from "./_shared.js";
import { bindingMissing } from "./setup.js";

const APP_NAME = /^[A-Za-z0-9._-]{1,128}$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

function str(v: unknown, max = 512): string {
  return typeof v === "string" ? v.trim().slice(0, max) : "";
}

async function adminPage(
  c: Context<AppEnv>,
  clock: Clock,
  flash: Html | null = null,
  status: 200 | 400 | 409 = 200,
): Promise<Response> {
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
          ? h`<p class="small">Tokens are signed with Ed25519 key <code>${jwks.keys[0]!.kid}</code>. Give the agent the public half:</p>
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
  return render(c, { title: "Admin", ws, active: "admin" }, body, { status });
}

function sweepSummary(r: SweepResult): string {
  return `Listed ${r.listed} objects in ${r.prefixes} prefixes: ${r.inserted} newly indexed, ${r.skipped} skipped${r.done ? "" : "; more remain, the cron sweep continues"}.`;
}

export function adminRoutes(clock: Clock): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  const w = new Hono<AppEnv>();
  w.use("*", wsAccess("admin"));

  w.get("/", (c) => adminPage(c, clock));

  w.post("/agent", async (c) => {
    const body = await readBody(c);
    const origin = str(body.origin);
    const id = str(body.id, 256);
    if (origin) {
      let u: URL;
      try {
        u = new URL(origin);
      } catch {
        return adminPage(
          c,
          clock,
          stateBox(
            "bad",
            "Not a URL",
            `“${origin}” is not an absolute URL such as https://agent.example.com.`,
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
    const before: Workspace = await currentWorkspace(c);
    const normalized = origin ? new URL(origin).origin : null;
    await setAgent(c.env.DB, ws, { origin: normalized, id: id || null });
    await audit(
      c.env.DB,
      {
        ws,
        actor: c.get("principal")!.email,
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
    const existed = await db
      .prepare("SELECT id FROM users WHERE email = ?")
      .bind(email)
      .first<{ id: string }>();
    const user = await ensureUser(db, email, { now, id: () => clock.id() });
    const before = await setMember(db, ws, user.id, role, now);
    const actor = c.get("principal")!.email;
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
    const actor = c.get("principal")!.email;
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
      stateBox("good", "Role changed", `${target.email}: ${current} → ${role}.`),
    );
  });

  w.post("/members/:user/remove", async (c) => {
    const ws = c.get("ws");
    const db = c.env.DB;
    const target = await userById(db, c.req.param("user"));
    const current = target ? await roleIn(db, ws, target.id) : null;
    if (!target || !current)
      throw new DashboardError("ERR_NOT_FOUND", "No such member in this workspace");
    const actor = c.get("principal")!.email;
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
    const actor = c.get("principal")!.email;
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
        actor: c.get("principal")!.email,
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
    const rows = await auditOf(c.env.DB, c.get("ws"), { limit: 1000 });
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
    // The default workspace also adopts apps not seen before; other workspaces rebuild their own.
    const prefixes =
      c.env.FLUX_DEFAULT_WORKSPACE === ws
        ? [...new Set([...apps, ...(await appPrefixes(c.env.FLUX_TRACES))])]
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
