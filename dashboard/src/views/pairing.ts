/**
 * Pairing views: the "Pair a local agent" form (its script runs the exchange) and Admin → Agents,
 * the workspace's pairings with revocation.
 * @module
 */
import { PAGE_CONFIG_ID, type PairConfig } from "../browser.js";
import type { PairingRow } from "../db/pairings.js";
import { formatTime } from "./format.js";
import { h, jsonScript, type Html } from "./html.js";

/**
 * The pairing form. The claim code is typed (or prefilled from the QR link's fragment by the page
 * script) and sent only in request bodies, never in a URL.
 *
 * @example
 * ```ts
 * pairPage({ ws: "default", defaultAgent: "http://127.0.0.1:8788" });
 * ```
 */
export function pairPage(config: PairConfig): Html {
  return h`<h1>Pair a local agent</h1>
  <p class="sub">Run <code>npx fluxrun agent --pair</code> on your machine and enter the claim code it prints. The agent then serves workspace <b>${config.ws}</b> for tokens of this dashboard only.</p>
  <div class="panel" style="max-width:560px">
    <form id="pair-form" class="grid" style="gap:10px" autocomplete="off">
      <label class="f">Claim code<input id="pair-code" name="code" required maxlength="12" placeholder="XXXX-XXXX" spellcheck="false" autocapitalize="characters"></label>
      <label class="f">Local agent address<input id="pair-agent" name="agent" required value="${config.defaultAgent}"></label>
      <div><button id="pair-submit" type="submit">Pair</button></div>
    </form>
  </div>
  <div id="pair-state" aria-live="polite"></div>
  <script type="application/json" id="${PAGE_CONFIG_ID}">${jsonScript(config)}</script>`;
}

function when(ms: number | null): string {
  return ms === null ? "—" : formatTime(ms, { millis: false });
}

/**
 * Admin → Agents: each pairing with who paired it, the agent id, created and last used, its state
 * and a Revoke button for the live ones.
 *
 * @example
 * ```ts
 * pairingsView({ ws, pairings: await pairingsOf(env.DB, ws) }, null);
 * ```
 */
export function pairingsView(d: { ws: string; pairings: PairingRow[] }, flash: Html | null): Html {
  const base = `/w/${encodeURIComponent(d.ws)}`;
  return h`<h1>Agents</h1>
  <p class="sub">Local agents paired with this workspace by claim code. <a href="${base}/pair">Pair a local agent</a> · <a href="${base}/admin">Admin</a></p>
  ${flash}
  <div class="panel" id="pairings">
  ${
    d.pairings.length
      ? h`<table><thead><tr><th>Agent id</th><th>Address</th><th>Paired by</th><th>Created</th><th>Last used</th><th>State</th><th></th></tr></thead><tbody>
    ${d.pairings.map(
      (
        p,
      ) => h`<tr data-pairing="${p.id}" data-state="${p.state}"><td class="mono">${p.agentId}</td><td class="mono">${p.agentOrigin}</td>
      <td>${p.actor}</td><td>${when(p.createdAt)}</td><td>${when(p.lastUsedAt)}</td>
      <td><span class="tag ${p.state === "active" ? "" : "w"}">${p.state}</span>${p.revokedBy ? h` <span class="small muted">by ${p.revokedBy} ${when(p.revokedAt)}</span>` : null}</td>
      <td>${
        p.state === "active"
          ? h`<form method="post" action="${base}/admin/pairings/${p.id}/revoke" class="inline"><button class="danger small-btn" type="submit">Revoke</button></form>`
          : null
      }</td></tr>`,
    )}</tbody></table>`
      : h`<p class="muted">No pairings yet.</p>`
  }
  </div>`;
}
