/**
 * Sign-in and account pages: the token sign-in form, the "no workspace yet" state, and the
 * account's personal API tokens.
 * @module
 */
import { h, type Html } from "./html.js";
import { stateBox } from "./layout.js";
import { ago, formatTime } from "./format.js";
import type { ApiTokenRow } from "../db/users.js";
import type { Principal } from "../auth/principal.js";

export function noWorkspace(email: string): Html {
  return stateBox(
    "info",
    "You are not a member of any workspace yet",
    h`<p>Signed in as <b>${email}</b>. Ask a workspace admin to add this email with a role (viewer, responder or admin).</p>`,
    { id: "state-no-workspace" },
  );
}

export function loginView(options: {
  access: boolean;
  dev: boolean;
  nonce: string;
  next?: string;
}): Html {
  return h`<div class="panel" style="max-width:560px;margin:40px auto">
    <h1>Sign in to FluxRun</h1>
    ${options.access ? h`<p>This dashboard is behind Cloudflare Access: open it through your team's Access login and you are signed in.</p>` : null}
    <form method="post" action="/login" class="grid" style="gap:10px">
      ${options.next && options.next !== "/" ? h`<input type="hidden" name="next" value="${options.next}">` : null}
      <input type="hidden" name="nonce" value="${options.nonce}">
      <label class="f">API token<input name="token" type="password" autocomplete="off" placeholder="fxd_…" required></label>
      <button type="submit">Sign in with token</button>
    </form>
    ${options.dev ? h`<p class="small muted">Local dev: <code>npm start</code> prints a login link for the seeded admin.</p>` : null}
  </div>`;
}

export function loginForged(): Html {
  return h`<div style="max-width:560px;margin:40px auto">${stateBox("bad", "Sign in from this page", "The sign-in did not come from this dashboard's own login form (another site, or the form expired). Open the login page and sign in again.", { code: "ERR_CSRF" })}<a href="/login">Sign in</a></div>`;
}

export function loginRefused(): Html {
  return h`<div style="max-width:560px;margin:40px auto">${stateBox("bad", "That token is unknown, expired or revoked", "Create a new one on your account page (or ask an admin), then sign in again.", { code: "ERR_AUTH_INVALID" })}<a href="/login">Back</a></div>`;
}

export function accountView(d: {
  principal: Principal;
  tokens: ApiTokenRow[];
  /** A token just created: shown once. */
  created: string | null;
  now: number;
}): Html {
  return h`<h1>Account</h1><p class="sub">${d.principal.email} · signed in with ${d.principal.via === "access" ? "Cloudflare Access" : "an API token"}</p>
  ${d.created ? stateBox("good", "New API token", h`<p>Copy it now; it is not shown again.</p><code class="cmd" id="new-token">${d.created}</code>`) : null}
  <div class="panel"><h2>API tokens</h2>
    <table><thead><tr><th>Token</th><th>Name</th><th>Created</th><th>Last used</th><th></th></tr></thead><tbody>
    ${d.tokens.map(
      (
        t,
      ) => h`<tr><td class="mono">${t.prefix}…</td><td>${t.name}</td><td>${formatTime(t.createdAt, { millis: false })}</td>
        <td>${t.lastUsedAt ? ago(t.lastUsedAt, d.now) : "never"}</td>
        <td>${t.revokedAt ? h`<span class="muted">revoked</span>` : h`<form method="post" action="/account/tokens/revoke"><input type="hidden" name="prefix" value="${t.prefix}"><button class="danger" type="submit">Revoke</button></form>`}</td></tr>`,
    )}</tbody></table>
    <form method="post" action="/account/tokens" class="filters" style="margin-top:12px">
      <label class="f">Name<input name="name" required maxlength="64" placeholder="laptop CLI"></label><button type="submit">Create token</button>
    </form>
  </div>`;
}
