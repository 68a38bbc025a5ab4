/**
 * The admin page of a workspace: agent endpoint and id, the dashboard's signing key, members and
 * roles, apps with their index state and ingest tokens, reindexing, and the audit log.
 * @module
 */
import { appPrefix } from "fluxrun/contract";
import { h, raw, type Html } from "./html.js";
import { stateBox } from "./layout.js";
import { bindingMissing } from "./setup.js";
import { formatCount, formatTime } from "./format.js";
import { ROLES } from "../auth/roles.js";
import type { AuditRow } from "../db/audit.js";
import type { CursorStatus } from "../db/index-state.js";
import type { MemberRow } from "../db/users.js";
import type { AppRow, Workspace } from "../db/workspaces.js";
import type { SweepResult } from "../indexer/sweep.js";

export interface AdminData {
  workspace: Workspace;
  /** The agent in use (the workspace's, else the dashboard's defaults). */
  agent: { origin: string | null; id: string | null };
  /** The dashboard's defaults, shown as placeholders. */
  defaults: { agentOrigin: string | undefined; agentId: string | undefined };
  members: MemberRow[];
  apps: AppRow[];
  cursors: CursorStatus[];
  ingestTokens: { prefix: string; app: string; createdAt: number }[];
  jwks: { keys: { kid: string }[] };
  log: AuditRow[];
  accessConfigured: boolean;
  hasBucket: boolean;
}

function agentPanel(d: AdminData, base: string): Html {
  return h`<div class="panel" id="agent-settings"><h2>Agent</h2>
      <p class="small muted">The browser calls this agent for Unlock and Replay. Tokens are issued for its id (FLUX_AGENT_ID).</p>
      <p class="small"><a id="admin-agents" href="${base}/pairings">Agents: paired local agents (list, revoke)</a> · <a href="/w/${d.workspace.id}/pair">Pair a local agent</a></p>
      <form method="post" action="${base}/agent" class="grid" style="gap:8px">
        <label class="f">Agent endpoint<input name="origin" value="${d.workspace.agentOrigin ?? ""}" placeholder="${d.defaults.agentOrigin ?? "https://agent.example.com"}"></label>
        <label class="f">Agent id<input name="id" value="${d.workspace.agentId ?? ""}" placeholder="${d.defaults.agentId ?? "acme-prod-agent"}"></label>
        <div><button type="submit">Save agent</button> <span class="small muted">In use: ${d.agent.origin ?? "none"} · ${d.agent.id ?? "none"}</span></div>
      </form></div>`;
}

function keysPanel(d: AdminData): Html {
  const key = d.jwks.keys[0];
  return h`<div class="panel" id="keys"><h2>Keys</h2>
      ${
        key
          ? h`<p class="small">Tokens are signed with Ed25519 key <code>${key.kid}</code>. Give the agent the public half:</p>
        <code class="cmd">FLUX_DASHBOARD_JWKS='${JSON.stringify(d.jwks)}'</code>
        <p class="small muted">Also served at <a href="/.well-known/jwks.json">/.well-known/jwks.json</a>. The trace private key never comes here: it stays with the agent.</p>`
          : stateBox(
              "bad",
              "No signing key",
              h`<p>Set the secret <code>FLUX_DASHBOARD_SIGNING_KEY</code> (Ed25519 private JWK): <code>wrangler secret put FLUX_DASHBOARD_SIGNING_KEY -c dashboard/wrangler.toml</code>.</p>`,
              { code: "ERR_SIGNING_KEY_MISSING" },
            )
      }
    </div>`;
}

function membersPanel(d: AdminData, base: string): Html {
  return h`<div class="panel" id="members"><h2>Members</h2>
    <table><thead><tr><th>Email</th><th>Role</th><th>Since</th><th></th></tr></thead><tbody>
    ${d.members.map(
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
    <p class="small muted">viewer: summaries only · responder: unlock and replay through the agent, save guards · admin: this page.${d.accessConfigured ? " Members sign in with Cloudflare Access." : " New users get a one-time API token to sign in."}</p>
  </div>`;
}

function appsPanel(d: AdminData, base: string): Html {
  return h`<div class="panel" id="apps"><h2>Apps</h2>
      <table><thead><tr><th>App</th><th>Indexed</th><th>Last sweep</th><th></th></tr></thead><tbody>
      ${d.apps.map((a) => {
        const k = d.cursors.find((x) => x.prefix === appPrefix(a.name));
        return h`<tr><td class="mono">${a.name}</td><td class="num">${formatCount(k?.indexed ?? 0)}</td><td class="small">${k?.sweptAt ? formatTime(k.sweptAt, { millis: false }) : "never"}${k?.lastError ? h` <span class="oc-exception">${k.lastError}</span>` : null}</td>
          <td><form method="post" action="${base}/apps/${encodeURIComponent(a.name)}/ingest-token"><button class="sec" type="submit">New ingest token</button></form></td></tr>`;
      })}</tbody></table>
      ${d.ingestTokens.length ? h`<p class="small muted">Live ingest tokens: ${d.ingestTokens.map((t) => h`<span class="tag">${t.app} ${t.prefix}…</span>`)}</p>` : null}
      <p class="small"><a href="/w/${d.workspace.id}/sourcemaps" id="sourcemaps-link">Source maps</a> <span class="muted">of these apps' releases: upload one to see call sites in source.</span></p>
      <form method="post" action="${base}/apps" class="filters" style="margin-top:12px">
        <label class="f">App name (as in withFlux)<input name="name" required pattern="[A-Za-z0-9._-]+" placeholder="shop-api"></label><button type="submit">Register app</button>
      </form></div>`;
}

function indexPanel(d: AdminData): Html {
  return h`<div class="panel" id="index"><h2>Index</h2>
      <p class="small">The cron sweep indexes new traces from R2 every minute. Reindex walks this workspace's app prefixes from the start and adds anything missing (idempotent by trace id).</p>
      ${d.hasBucket ? null : bindingMissing()}
      <form method="post" action="/admin/reindex"><input type="hidden" name="ws" value="${d.workspace.id}"><button type="submit" id="reindex">Reindex from R2</button></form>
    </div>`;
}

function auditPanel(d: AdminData, base: string): Html {
  return h`<div class="panel" id="audit"><div style="display:flex;justify-content:space-between"><h2>Audit log</h2><a href="${base}/audit.ndjson">Export NDJSON</a></div>
    <table><thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>Result</th><th>Detail</th></tr></thead><tbody>
    ${d.log.map(
      (
        e,
      ) => h`<tr><td class="nowrap small">${formatTime(e.at)}</td><td>${e.actor}</td><td class="mono">${e.action}</td><td class="mono small wrap">${e.target ?? ""}</td>
        <td>${e.allowed ? h`<span class="badge st-2">allowed</span>` : h`<span class="badge st-5">denied</span> <span class="small">${e.reason ?? ""}</span>`}</td>
        <td class="mono small wrap">${Object.keys(e.detail).length ? JSON.stringify(e.detail) : ""}</td></tr>`,
    )}</tbody></table></div>`;
}

/** The admin page's body, a flash (what the last action did) on top. */
export function adminView(d: AdminData, flash: Html | null): Html {
  const base = `/w/${encodeURIComponent(d.workspace.id)}/admin`;
  return h`<h1>Admin · ${d.workspace.name}</h1><p class="sub">Agent, members, apps, keys and the index of this workspace.</p>
  ${flash}
  <div class="grid g2">${agentPanel(d, base)}${keysPanel(d)}</div>
  ${membersPanel(d, base)}
  <div class="grid g2">${appsPanel(d, base)}${indexPanel(d)}</div>
  ${auditPanel(d, base)}`;
}

/** A member's new one-time API token, shown once. */
export function newMemberToken(email: string, role: string, token: string): Html {
  return stateBox(
    "good",
    "Member added",
    h`<p>${email} is now ${role}. Send them this one-time API token over a private channel; it is not shown again:</p><code class="cmd" id="new-token">${token}</code>`,
  );
}

/** An app's new ingest token, shown once, with the endpoint it is for. */
export function newIngestToken(app: string, endpoint: string, token: string): Html {
  return stateBox(
    "good",
    `Ingest token for ${app}`,
    h`<p>For the HTTP sink (<code>POST ${endpoint}</code>). Shown once:</p><code class="cmd" id="new-token">${token}</code>`,
  );
}

/** What a reindex did. */
export function sweepSummary(r: SweepResult): string {
  return `Listed ${r.listed} objects in ${r.prefixes} prefixes: ${r.inserted} newly indexed, ${r.skipped} skipped${r.done ? "" : "; more remain, the cron sweep continues"}.`;
}
