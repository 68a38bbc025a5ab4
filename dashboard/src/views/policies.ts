/**
 * Replay policy pages: the apps of a workspace with their approved policy, one app's policy with
 * its proposals and history and the propose form, and one version reviewed as a line diff against
 * the approved version it would replace.
 * @module
 */
import { POLICY_FILE, type ReplayPolicy } from "fluxrun/contract";
import type { PolicyVersion } from "../db/policies.js";
import { formatTime } from "./format.js";
import { h, type Html } from "./html.js";

/**
 * The policy as the pages show it and the propose form starts from.
 *
 * @example
 * ```ts
 * policyText({ version: 1, allow: [], ignore: { headers: [], jsonPaths: [] } }); // indented JSON
 * ```
 */
export function policyText(policy: ReplayPolicy): string {
  return JSON.stringify(policy, null, 2);
}

/** One line of a diff: kept, removed (only in the approved version) or added. */
export type DiffLine = { op: " " | "-" | "+"; text: string };

/**
 * A line diff (longest common subsequence; policies are small).
 *
 * @example
 * ```ts
 * lineDiff("a\nb", "a\nc"); // [{op:" ",text:"a"},{op:"-",text:"b"},{op:"+",text:"c"}]
 * ```
 */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before === "" ? [] : before.split("\n");
  const b = after.split("\n");
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: " ", text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: "-", text: a[i++]! });
    else out.push({ op: "+", text: b[j++]! });
  }
  while (i < n) out.push({ op: "-", text: a[i++]! });
  while (j < m) out.push({ op: "+", text: b[j++]! });
  return out;
}

const STATE_CLASS: Record<PolicyVersion["state"], string> = {
  proposed: "st-4",
  approved: "st-2",
  rejected: "st-5",
};

function stateBadge(v: PolicyVersion, approved: number | null): Html {
  const label = v.state === "approved" && v.version !== approved ? "superseded" : v.state;
  return h`<span class="badge ${v.state === "approved" && v.version !== approved ? "st-none" : STATE_CLASS[v.state]}" data-state="${label}">${label}</span>`;
}

const base = (ws: string, app: string) =>
  `/w/${encodeURIComponent(ws)}/policies/${encodeURIComponent(app)}`;

/**
 * The workspace's apps and their policies.
 *
 * @example
 * ```ts
 * policiesView({ ws: "acme", apps: [{ name: "shop-api", approved: 2, pending: 1 }] });
 * ```
 */
export function policiesView(d: {
  ws: string;
  apps: { name: string; approved: number | null; pending: number }[];
}): Html {
  return h`<h1>Replay policies</h1>
  <p class="sub">Each app's ${POLICY_FILE}: the live read-only calls a replay may make and the noise it ignores. A responder proposes a change, an admin reviews it; the agent enforces only the approved version, signed by this dashboard.</p>
  <div class="panel"><table id="policy-apps"><thead><tr><th>App</th><th>Approved</th><th>Waiting for review</th></tr></thead><tbody>
  ${d.apps.length ? d.apps.map((a) => h`<tr data-app="${a.name}"><td><a href="${base(d.ws, a.name)}">${a.name}</a></td><td>${a.approved === null ? h`<span class="muted">none (deny-all)</span>` : `v${a.approved}`}</td><td class="num">${a.pending}</td></tr>`) : h`<tr><td colspan="3" class="muted">No apps yet: an admin registers them in Admin → Apps.</td></tr>`}
  </tbody></table></div>`;
}

function history(
  ws: string,
  app: string,
  versions: PolicyVersion[],
  approved: number | null,
): Html {
  if (!versions.length) return h`<p class="muted">No versions yet.</p>`;
  return h`<table id="policy-history"><thead><tr><th>Version</th><th>State</th><th>Proposed</th><th>Reviewed</th><th>Note</th></tr></thead><tbody>
  ${versions.map(
    (
      v,
    ) => h`<tr data-version="${v.version}"><td><a href="${base(ws, app)}/v/${v.version}">v${v.version}</a></td><td>${stateBadge(v, approved)}</td>
    <td class="small">${v.proposedBy}<br><span class="muted">${formatTime(v.proposedAt, { millis: false })} UTC</span></td>
    <td class="small">${v.reviewedBy ? h`${v.reviewedBy}<br><span class="muted">${formatTime(v.reviewedAt ?? 0, { millis: false })} UTC</span>` : h`<span class="muted">—</span>`}</td>
    <td class="small wrap">${v.note ?? ""}${v.reviewNote ? h`<br><span class="muted">review: ${v.reviewNote}</span>` : null}</td></tr>`,
  )}
  </tbody></table>`;
}

/**
 * One app's policy page.
 *
 * @example
 * ```ts
 * appPolicyView({ ws, app, approved, versions, canPropose: true, draft: policyText(approved.policy) });
 * ```
 */
export function appPolicyView(d: {
  ws: string;
  app: string;
  approved: PolicyVersion | null;
  versions: PolicyVersion[];
  canPropose: boolean;
  /** The text to show in the form (the refused proposal after an error). */
  draft: string;
  flash?: Html | null;
}): Html {
  const pending = d.versions.filter((v) => v.state === "proposed");
  const approvedNo = d.approved?.version ?? null;
  return h`<h1>Replay policy · ${d.app}</h1>
  <p class="sub"><a href="/w/${encodeURIComponent(d.ws)}/policies">⟵ All apps</a> · Pull it into a checkout with <code>npx fluxrun policy pull --app ${d.app}</code></p>
  ${d.flash ?? null}
  <div class="grid g2">
    <div class="panel" id="policy-approved"><h2>Approved ${d.approved ? h`<span data-version="${d.approved.version}">v${d.approved.version}</span>` : null}</h2>
      ${d.approved ? h`<pre class="val" id="approved-json">${policyText(d.approved.policy)}</pre><p class="small muted">approved by ${d.approved.reviewedBy ?? "?"} · digest <code>${d.approved.digest.slice(0, 16)}</code></p>` : h`<p class="muted" id="no-approved">No approved version: replays through the agent allow no live call (deny-all).</p>`}
    </div>
    <div class="panel" id="policy-propose"><h2>Propose a change</h2>
      ${
        d.canPropose
          ? h`<form method="post" action="${base(d.ws, d.app)}" id="propose-form">
        <textarea name="policy" id="policy-text" rows="14" style="width:100%" class="mono" spellcheck="false">${d.draft}</textarea>
        <label class="f">Why (shown to the reviewer)<input name="note" id="policy-note" maxlength="500" style="width:100%"></label>
        <p><button type="submit" id="propose-btn">Propose for review</button></p></form>`
          : h`<p class="muted">Proposing needs the responder role.</p>`
      }
    </div>
  </div>
  ${pending.length ? h`<div class="panel" id="policy-pending"><h2>Waiting for review</h2><ul>${pending.map((v) => h`<li><a href="${base(d.ws, d.app)}/v/${v.version}">v${v.version}</a> by ${v.proposedBy}${v.note ? h` — ${v.note}` : null}</li>`)}</ul></div>` : null}
  <div class="panel"><h2>History</h2>${history(d.ws, d.app, d.versions, approvedNo)}</div>`;
}

function diffView(lines: DiffLine[]): Html {
  return h`<pre class="val" id="policy-diff">${lines.map(
    (l) =>
      h`<div class="${l.op === "+" ? "d-add" : l.op === "-" ? "d-del" : "d-same"}" style="${l.op === "+" ? "background:#e6f4ea" : l.op === "-" ? "background:#fdecec" : ""}">${l.op} ${l.text}</div>`,
  )}</pre>`;
}

/**
 * One version: its policy, the diff against the approved version, and the review forms.
 *
 * @example
 * ```ts
 * policyVersionView({ ws, app, version: v, approved, cannotReview: null });
 * ```
 */
export function policyVersionView(d: {
  ws: string;
  app: string;
  version: PolicyVersion;
  approved: PolicyVersion | null;
  /** Why the viewer cannot review it, or null when they can. */
  cannotReview: string | null;
  flash?: Html | null;
}): Html {
  const v = d.version;
  const against = d.approved && d.approved.version !== v.version ? d.approved : null;
  const diff = lineDiff(against ? policyText(against.policy) : "", policyText(v.policy));
  const stale = v.state === "proposed" && (v.base ?? 0) !== (d.approved?.version ?? 0);
  const action = `${base(d.ws, d.app)}/v/${v.version}`;
  return h`<h1>Replay policy · ${d.app} · v${v.version}</h1>
  <p class="sub"><a href="${base(d.ws, d.app)}">⟵ ${d.app}'s policy</a> · ${stateBadge(v, d.approved?.version ?? null)} · proposed by ${v.proposedBy} at ${formatTime(v.proposedAt, { millis: false })} UTC${v.note ? h` · “${v.note}”` : null}</p>
  ${d.flash ?? null}
  <div class="panel"><h2>${against ? `Changes against the approved v${against.version}` : d.approved?.version === v.version ? "The approved version" : "New policy (nothing approved yet)"}</h2>
    ${diffView(diff)}
    <p class="small muted">digest <code>${v.digest.slice(0, 16)}</code>${v.base ? ` · written against v${v.base}` : ""}</p>
  </div>
  ${
    v.state === "proposed"
      ? h`<div class="panel" id="policy-review"><h2>Review</h2>
      ${stale ? h`<p class="state warn" id="policy-stale">Another version was approved since this one was proposed: it can only be rejected; propose again from the approved version.</p>` : null}
      ${
        d.cannotReview
          ? h`<p class="muted" id="review-blocked">${d.cannotReview}</p>`
          : h`<form method="post" action="${action}/approve" class="inline"><input type="hidden" name="note" value=""><button type="submit" id="approve-btn" ${stale ? "disabled" : ""}>Approve v${v.version}</button></form>
        <form method="post" action="${action}/reject" class="inline"><input name="note" placeholder="why (optional)" maxlength="500"> <button type="submit" class="danger" id="reject-btn">Reject</button></form>`
      }</div>`
      : v.reviewedBy
        ? h`<p class="small muted" id="policy-reviewed">${v.state} by ${v.reviewedBy} at ${formatTime(v.reviewedAt ?? 0, { millis: false })} UTC${v.reviewNote ? h` — ${v.reviewNote}` : null}</p>`
        : null
  }`;
}
