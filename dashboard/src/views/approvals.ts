/**
 * The Approvals page: requests waiting for a second person (approve or deny, each a same-origin
 * form), recent decisions, and the workspace's mode per higher-risk action (editable by admins).
 * Requests show names and ids only: action, trace, field paths, who asked.
 * @module
 */
import {
  APPROVAL_MODES,
  RECONFIRM_MINUTES,
  RISKY_ACTIONS,
  type RiskyAction,
} from "fluxrun/contract";
import type { Approval, ApprovalPolicy } from "../db/approvals.js";
import { stateOf } from "../db/approvals.js";
import { formatTime } from "./format.js";
import { h, raw, type Html } from "./html.js";

/**
 * What each risky action is, in words.
 *
 * @example
 * ```ts
 * RISK_LABELS.replay_production; // "Replay through a production agent"
 * ```
 */
export const RISK_LABELS: Readonly<Record<RiskyAction, string>> = {
  unlock_secret: "Reveal a secret (env value), a masked header or a sensitive field",
  replay_production: "Replay through a production agent",
  audit_export: "Export the audit log",
  agent_settings: "Change agent and approval settings",
};

const MODE_LABELS = {
  allow: "Allowed for the role",
  reconfirm: "Re-confirm (recent sign-in)",
  second_person: "Second person approves",
} as const;

export interface ApprovalsPage {
  ws: string;
  me: string;
  canApprove: boolean;
  isAdmin: boolean;
  now: number;
  pending: Approval[];
  /** The viewer's own live requests (pending, or approved and not yet used). */
  mine: Approval[];
  recent: Approval[];
  policy: ApprovalPolicy;
  flash: Html | null;
}

function what(a: Approval): Html {
  return h`<b>${RISK_LABELS[a.risk]}</b><div class="small mono">${a.act} · ${a.trace === "*" ? "workspace" : h`trace <a href="/w/${encodeURIComponent(a.ws)}/executions/${a.trace}">${a.trace}</a>`}</div>${a.fields.length ? h`<div class="small">fields: ${a.fields.map((f) => h`<code>${f}</code> `)}</div>` : null}`;
}

function pendingRow(p: ApprovalsPage, a: Approval): Html {
  const mine = a.requester.toLowerCase() === p.me.toLowerCase();
  const base = `/w/${encodeURIComponent(a.ws)}/approvals/${encodeURIComponent(a.id)}`;
  return h`<tr data-approval="${a.id}" data-state="pending">
    <td>${what(a)}</td>
    <td>${a.requester}</td>
    <td class="nowrap small">${formatTime(a.createdAt)}<div class="muted">lapses ${formatTime(a.expiresAt)}</div></td>
    <td class="nowrap">${
      mine
        ? h`<span class="small muted">Yours: another responder or admin decides</span>`
        : p.canApprove
          ? h`<form class="inline" method="post" action="${base}/approve"><button type="submit" data-approve="${a.id}">Approve</button></form>
             <form class="inline" method="post" action="${base}/deny"><button class="danger" type="submit" data-deny="${a.id}">Deny</button></form>`
          : h`<span class="small muted">Responders and admins decide</span>`
    }</td>
  </tr>`;
}

/** How to use an approved workspace action: the export link, or the settings form carrying it. */
function use(p: ApprovalsPage, a: Approval): Html {
  if (a.state !== "approved") return h`<span class="small muted">waiting for a decision</span>`;
  const ws = encodeURIComponent(p.ws);
  const id = encodeURIComponent(a.id);
  if (a.risk === "audit_export")
    return h`<a class="btn" data-use="${a.id}" href="/w/${ws}/admin/audit.ndjson?approval=${id}">Export the audit log</a>`;
  if (a.risk === "agent_settings")
    return h`<form method="post" action="/w/${ws}/admin/agent?approval=${id}" class="actions" data-use="${a.id}">
      <input name="origin" placeholder="Agent endpoint" aria-label="Agent endpoint"><input name="id" placeholder="Agent id" aria-label="Agent id">
      <button type="submit">Save agent</button></form>
      <p class="small muted">Or save the approval settings below: the form uses this approval.</p>`;
  return h`<span class="small muted">approved: the execution page uses it</span>`;
}

function mine(p: ApprovalsPage): Html {
  const request = p.isAdmin
    ? h`<form method="post" action="/w/${encodeURIComponent(p.ws)}/approvals/request" class="actions" id="approval-request-form">
        <select name="risk" aria-label="Action">
          <option value="audit_export">${RISK_LABELS.audit_export}</option>
          <option value="agent_settings">${RISK_LABELS.agent_settings}</option>
        </select><button type="submit" class="sec">Request approval</button></form>`
    : null;
  if (!p.mine.length && !request) return h``;
  return h`<div class="panel" id="mine"><h2>Your requests</h2>${
    p.mine.length
      ? h`<table><tbody>${p.mine.map(
          (a) =>
            h`<tr data-approval="${a.id}" data-state="${a.state}"><td>${what(a)}</td><td>${a.state}${a.approver ? h` by ${a.approver}` : null}<div class="small muted">until ${formatTime(a.expiresAt)}</div></td><td>${use(p, a)}</td></tr>`,
        )}</tbody></table>`
      : null
  }${request ? h`<p class="small muted">Exporting the audit log or changing settings, when this workspace needs a second person for it:</p>${request}` : null}</div>`;
}

function settings(p: ApprovalsPage): Html {
  const rows = RISKY_ACTIONS.map(
    (risk) =>
      h`<tr><td>${RISK_LABELS[risk]}</td><td>${
        p.isAdmin
          ? h`<select name="mode_${risk}" aria-label="${risk}">${APPROVAL_MODES.map(
              (m) =>
                h`<option value="${m}" ${p.policy.modes[risk] === m ? raw("selected") : null}>${MODE_LABELS[m]}</option>`,
            )}</select>`
          : h`<span data-mode="${risk}">${MODE_LABELS[p.policy.modes[risk]]}</span>`
      }</td></tr>`,
  );
  const table = h`<table id="approval-settings"><thead><tr><th>Action</th><th>Needs</th></tr></thead><tbody>${rows}</tbody></table>`;
  if (!p.isAdmin)
    return h`${table}<p class="small muted">Re-confirmation window: ${p.policy.reconfirmMinutes} min · agent ${p.policy.agentProduction ? "is" : "is not"} marked production.</p>`;
  const granted = p.mine.find((a) => a.risk === "agent_settings" && a.state === "approved");
  const action = `/w/${encodeURIComponent(p.ws)}/approvals/settings${granted ? `?approval=${encodeURIComponent(granted.id)}` : ""}`;
  return h`<form method="post" action="${action}" id="approval-settings-form">
    ${table}
    <p><label>Re-confirmation window (minutes since sign-in) <input type="number" name="reconfirm_minutes" min="${RECONFIRM_MINUTES.min}" max="${RECONFIRM_MINUTES.max}" value="${p.policy.reconfirmMinutes}"></label></p>
    <p><label><input type="checkbox" name="agent_production" value="true" ${p.policy.agentProduction ? raw("checked") : null}> This workspace's agent is a production agent (set <code>FLUX_AGENT_PRODUCTION=true</code> on it too)</label></p>
    <button type="submit">Save approval settings</button>
  </form>`;
}

/**
 * The whole page body.
 *
 * @example
 * ```ts
 * render(c, { title: "Approvals", ws, active: "approvals" }, approvalsView(data));
 * ```
 */
export function approvalsView(p: ApprovalsPage): Html {
  return h`<h1>Approvals</h1>
  <p class="sub">Higher-risk actions need what this workspace chose below. An approval covers one action on one trace and field set, once, for at most 10 minutes.</p>
  ${p.flash}
  <div class="panel"><h2>Waiting for a decision (<span id="pending-count">${p.pending.length}</span>)</h2>
  ${
    p.pending.length
      ? h`<table id="pending"><thead><tr><th>Request</th><th>Requested by</th><th>When</th><th></th></tr></thead><tbody>${p.pending.map((a) => pendingRow(p, a))}</tbody></table>`
      : h`<p class="muted" id="no-pending">Nothing is waiting.</p>`
  }</div>
  ${mine(p)}
  <div class="panel"><h2>Recent</h2>${
    p.recent.length
      ? h`<table id="recent"><thead><tr><th>Request</th><th>Requested by</th><th>State</th><th>Decided by</th></tr></thead><tbody>${p.recent.map(
          (a) =>
            h`<tr data-approval="${a.id}" data-state="${stateOf(a, p.now)}"><td>${what(a)}</td><td>${a.requester}</td><td>${stateOf(a, p.now)}</td><td>${a.approver ?? "—"}</td></tr>`,
        )}</tbody></table>`
      : h`<p class="muted">No decisions yet.</p>`
  }</div>
  <div class="panel"><h2>What each action needs</h2>${settings(p)}</div>`;
}
