/**
 * The page shell: header with workspace switcher and navigation, the stylesheet (inline, no
 * external assets), and the nonce'd inline scripts.
 * @module
 */
import { h, raw, type Html } from "./html.js";
import { shellScript } from "./client.js";
import type { Membership } from "../db/users.js";
import type { Role } from "../auth/roles.js";

export interface Shell {
  title: string;
  nonce: string;
  email?: string | null;
  workspaces?: readonly Membership[];
  ws?: string | null;
  role?: Role | null;
  active?:
    | "issues"
    | "executions"
    | "overview"
    | "guards"
    | "diagnostics"
    | "admin"
    | "account"
    | "policies"
    | "approvals"
    | null;
  /** Approval requests waiting in this workspace (shown to responders and admins). */
  approvals?: number | null;
}

const CSS = `
:root{--bg:#f6f7f9;--panel:#fff;--ink:#1b1f24;--muted:#5d6773;--line:#e3e6ea;--accent:#3d5afe;--accent-soft:#eef1ff;
--ok:#1a7f37;--ok-soft:#e6f4ea;--warn:#9a6700;--warn-soft:#fff5d6;--bad:#c62828;--bad-soft:#fdecec;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}html,body{margin:0;padding:0}[hidden]{display:none!important}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:18px;padding:0 24px;height:52px;background:#151a23;color:#e9edf3}
header.top a{color:#c8d0dc}header.top a.on{color:#fff;font-weight:600}
.brand{font-weight:700;letter-spacing:.2px;color:#fff!important;display:flex;gap:8px;align-items:center}
.brand i{display:inline-block;width:18px;height:18px;border-radius:5px;background:linear-gradient(135deg,#5c7cfa,#22b8cf)}
header nav{display:flex;gap:16px}header .sp{flex:1}
header select{background:#232a36;color:#e9edf3;border:1px solid #364050;border-radius:6px;padding:4px 8px}
header .who{color:#9aa5b4;font-size:13px}
header form{margin:0}header button.link{background:none;border:0;color:#c8d0dc;cursor:pointer;font:inherit;padding:0}
main{max-width:1280px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:0 0 10px}h3{font-size:13px;margin:0 0 8px;color:var(--muted);text-transform:uppercase;letter-spacing:.4px}
.sub{color:var(--muted);margin:0 0 16px}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:16px;margin-bottom:16px}
.grid{display:grid;gap:16px}.g2{grid-template-columns:repeat(2,minmax(0,1fr))}.g3{grid-template-columns:repeat(3,minmax(0,1fr))}.g4{grid-template-columns:repeat(4,minmax(0,1fr))}.grid>.panel{overflow-x:auto}
@media (max-width:900px){.g2,.g3,.g4{grid-template-columns:1fr}}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;background:#fafbfc}
tr.row{cursor:pointer}tr.row:hover td{background:#f7f9ff}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.mono,code{font-family:var(--mono);font-size:12.5px}
code.cmd{display:block;background:#151a23;color:#e9edf3;padding:10px 12px;border-radius:8px;white-space:pre-wrap;overflow-wrap:anywhere}
main code,td.wrap{overflow-wrap:anywhere}
.badge{display:inline-block;padding:1px 7px;border-radius:999px;font-size:12px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.st-2{background:var(--ok-soft);color:var(--ok)}.st-3{background:#eef2f6;color:#41505f}.st-4{background:var(--warn-soft);color:var(--warn)}.st-5{background:var(--bad-soft);color:var(--bad)}.st-none{background:#eef2f6;color:var(--muted)}
.oc-ok{color:var(--ok)}.oc-error{color:var(--warn)}.oc-exception{color:var(--bad);font-weight:600}
.k{display:inline-block;min-width:70px;padding:1px 6px;border-radius:4px;font-size:11.5px;font-weight:600;text-align:center;background:#eef2f6;color:#41505f}
.k-request,.k-response{background:#e7ecff;color:#3346c9}.k-fetch{background:#e3f6f9;color:#0b7285}.k-binding{background:#f3e8ff;color:#7b2cbf}
.k-host{background:#fff0e0;color:#b35c00}.k-exception{background:var(--bad-soft);color:var(--bad)}.k-unsupported{background:var(--warn-soft);color:var(--warn)}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end}
label.f{display:flex;flex-direction:column;gap:3px;font-size:12px;color:var(--muted)}
input,select,textarea{font:inherit;padding:6px 8px;border:1px solid #cfd5dc;border-radius:6px;background:#fff;color:var(--ink)}
button,.btn{font:inherit;font-weight:600;padding:7px 14px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;display:inline-block}
button.sec,.btn.sec{background:#fff;color:var(--accent)}button:disabled{opacity:.5;cursor:default}
button.danger{background:#fff;color:var(--bad);border-color:#e6b3b3}
.counts{display:flex;gap:18px;align-items:baseline;flex-wrap:wrap;margin:14px 0 10px;color:var(--muted)}
.counts b{color:var(--ink)}
.pager{display:flex;gap:12px;justify-content:flex-end;margin-top:12px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}.kv dt{color:var(--muted)}.kv dd{margin:0}
.state{border-radius:10px;padding:14px 16px;margin-bottom:16px;border:1px solid}
.state h2{margin:0 0 4px}.state p{margin:4px 0}
.state.info{background:var(--accent-soft);border-color:#cbd4ff}.state.warn{background:var(--warn-soft);border-color:#f0d98c}
.state.bad{background:var(--bad-soft);border-color:#f2b8b8}.state.good{background:var(--ok-soft);border-color:#a9dcb5}
.sealed{color:var(--muted);font-style:italic}
.wf{position:relative;height:16px;background:#f1f3f6;border-radius:3px;min-width:240px}
.wf span{position:absolute;top:3px;height:10px;border-radius:2px;background:#7c8ea3;min-width:2px}
.wf span.fetch{background:#15aabf}.wf span.binding{background:#9c36b5}.wf span.host{background:#f08c00}.wf span.request,.wf span.response{background:#4c6ef5}.wf span.err{background:var(--bad)}
.muted{color:var(--muted)}.small{font-size:12px}.right{text-align:right}.nowrap{white-space:nowrap}
.tag{display:inline-block;padding:0 6px;border-radius:4px;background:#eef2f6;color:#41505f;font-size:11.5px;margin:0 3px 2px 0}
.tag.w{background:var(--warn-soft);color:var(--warn)}
.fields{columns:2;column-gap:24px}.fields label{display:block;break-inside:avoid;padding:2px 0}
pre.val{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px;margin:4px 0 10px;max-height:320px;overflow:auto;font-family:var(--mono);font-size:12.5px}
.actions{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
svg text{font:11px system-ui,sans-serif;fill:#5d6773}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.stat b{display:block;font-size:22px}.stat span{color:var(--muted);font-size:12px}
details summary{cursor:pointer;color:var(--muted)}
div.val{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:8px;margin:4px 0 10px;max-height:420px;overflow:auto;font-family:var(--mono);font-size:12.5px;overflow-wrap:anywhere}
.jt ul.j-list{list-style:none;margin:0;padding-left:18px}.jt details>summary{color:var(--muted)}
.j-key{color:#6f42c1}.j-str{color:#0a3069;white-space:pre-wrap}.j-str::before,.j-str::after{content:'"';color:var(--muted)}
.j-number{color:#0550ae}.j-boolean,.j-null{color:#cf222e}
table.hdrs th,table.hdrs td{padding:3px 8px;background:none;font-weight:400}table.hdrs th{color:#6f42c1;width:1%;white-space:nowrap}
.secret{display:flex;gap:6px;align-items:center;flex-wrap:wrap;margin:4px 0 10px}
.tabs{display:flex;gap:4px;margin:0 0 12px}.tabs a.tab{padding:5px 12px;border-radius:6px;color:var(--muted)}.tabs a.tab.on{background:var(--accent-soft);color:var(--accent);font-weight:600}
form.inline{display:inline;margin:0}svg.spark{display:block}
.ruler{position:relative;height:16px}.ruler .tick{position:absolute;transform:translateX(-50%);font-weight:400;white-space:nowrap}.ruler .tick:first-child{transform:none}.ruler .tick:last-child{transform:translateX(-100%)}
.wf i{position:absolute;top:0;bottom:0;width:1px;background:#dfe3e8}
tr.ev.on td{background:#eef1ff}th.sort{cursor:pointer}th.sort:hover{color:var(--accent)}
aside#side{position:fixed;top:52px;right:0;bottom:0;width:min(520px,92vw);background:#fff;border-left:1px solid var(--line);box-shadow:-6px 0 18px rgba(0,0,0,.08);padding:16px;overflow:auto;z-index:5}
aside#side #side-close{float:right}ol.frames{margin:0;padding-left:18px}.wrap{overflow-wrap:anywhere}
.small-btn{padding:3px 10px;font-size:12px}.tag.bad-tag{background:var(--bad-soft);color:var(--bad);font-weight:600}
`;

/** The brand mark as an inline SVG icon (no asset route, allowed by the CSP's img-src data:). */
const FAVICON = `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#5c7cfa"/><stop offset="1" stop-color="#22b8cf"/></linearGradient></defs><rect width="16" height="16" rx="4" fill="url(#g)"/></svg>')}`;

function nav(shell: Shell): Html {
  if (!shell.ws) return h``;
  const item = (key: Shell["active"], href: string, label: string) =>
    h`<a href="${href}" class="${shell.active === key ? "on" : ""}">${label}</a>`;
  const base = `/w/${encodeURIComponent(shell.ws)}`;
  return h`<nav>
    ${item("issues", `${base}/issues`, "Issues")}
    ${item("executions", `${base}/executions`, "Executions")}
    ${item("overview", `${base}/overview`, "Overview")}
    ${item("guards", `${base}/guards`, "Guards")}
    ${item("policies", `${base}/policies`, "Policies")}
    ${item("diagnostics", `${base}/diagnostics`, "Diagnostics")}
    ${shell.approvals != null ? h`<a href="${base}/approvals" class="${shell.active === "approvals" ? "on" : ""}" id="nav-approvals">Approvals${shell.approvals ? h` <span class="badge st-4" id="nav-approvals-count">${shell.approvals}</span>` : null}</a>` : null}
    ${shell.role === "admin" ? item("admin", `${base}/admin`, "Admin") : null}
  </nav>`;
}

function switcher(shell: Shell): Html {
  const list = shell.workspaces ?? [];
  if (!shell.ws || list.length < 2) return h``;
  return h`<select id="ws-switch" aria-label="Workspace">
    ${list.map((w) => h`<option value="${w.id}" ${w.id === shell.ws ? raw("selected") : null}>${w.name}</option>`)}
  </select>`;
}

/** A full page. */
export function page(shell: Shell, body: Html, scripts: Html[] = []): string {
  const wsName = shell.workspaces?.find((w) => w.id === shell.ws)?.name;
  return h`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${shell.title} · FluxRun</title><link rel="icon" href="${FAVICON}"><style>${raw(CSS)}</style></head>
<body>
<header class="top">
  <a class="brand" href="/"><i></i>FluxRun</a>
  ${shell.ws && (shell.workspaces?.length ?? 0) < 2 ? h`<span class="who">${wsName ?? shell.ws}</span>` : null}
  ${switcher(shell)}
  ${nav(shell)}
  <span class="sp"></span>
  ${
    shell.email
      ? h`<span class="who">${shell.email}${shell.role ? h` · ${shell.role}` : null}</span>
    <a href="/account" class="${shell.active === "account" ? "on" : ""}">Account</a>
    <form method="post" action="/logout"><button class="link" type="submit">Sign out</button></form>`
      : null
  }
</header>
<main>${body}</main>
${[shellScript, ...scripts].map((s) => h`<script nonce="${shell.nonce}">${s}</script>`)}
</body></html>`.value;
}

/** A state box: what is wrong and how to fix it. */
export function stateBox(
  kind: "info" | "warn" | "bad" | "good",
  title: string,
  body: Html | string,
  options: { id?: string; code?: string } = {},
): Html {
  return h`<div class="state ${kind}" ${options.id ? h`id="${options.id}"` : null} ${options.code ? h`data-code="${options.code}"` : null}>
    <h2>${title}</h2>${typeof body === "string" ? h`<p>${body}</p>` : body}
  </div>`;
}
