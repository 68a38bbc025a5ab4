/**
 * The issues page: failing executions grouped by fingerprint, with count, first and last seen,
 * a 24-hour trend, the route, the latest execution one click away, and the state (open,
 * resolved, ignored) with the buttons that change it.
 * @module
 */
import { h, raw, type Html } from "./html.js";
import { stateBox } from "./layout.js";
import { ago, formatCount, formatTime } from "./format.js";
import { ISSUE_STATES, type IssueRow, type IssueState } from "../db/issues.js";
import type { CallSite } from "fluxrun/contract";

/** Hourly counts as a small bar chart (the newest hour on the right). */
export function sparkline(counts: readonly number[]): Html {
  const max = Math.max(1, ...counts);
  const w = 4;
  const hgt = 22;
  return h`<svg class="spark" width="${counts.length * w}" height="${hgt}" viewBox="0 0 ${counts.length * w} ${hgt}" role="img" aria-label="failures per hour, last ${counts.length} hours: ${counts.join(" ")}">${counts.map(
    (n, i) => {
      const bh = n ? Math.max(2, Math.round((n / max) * (hgt - 2))) : 1;
      return h`<rect x="${i * w}" y="${hgt - bh}" width="${w - 1}" height="${bh}" fill="${n ? "#c62828" : "#dfe3e8"}"></rect>`;
    },
  )}</svg>`;
}

const STATE_LABEL: Record<IssueState, string> = {
  open: "open",
  resolved: "resolved",
  ignored: "ignored",
};

function stateCell(i: IssueRow): Html {
  const cls = i.state === "open" ? "st-5" : i.state === "resolved" ? "st-2" : "st-none";
  return h`<span class="badge ${cls}" data-state="${i.state}">${STATE_LABEL[i.state]}</span>${
    i.reopened && i.state === "open"
      ? h`<div class="small oc-error">reopened${i.reopened > 1 ? ` ×${i.reopened}` : ""}</div>`
      : null
  }${i.stateBy && i.state !== "open" ? h`<div class="small muted">by ${i.stateBy}</div>` : null}`;
}

function actions(ws: string, i: IssueRow): Html {
  const to = (state: IssueState, label: string) =>
    h`<form method="post" action="/w/${ws}/issues/${i.id}/state" class="inline"><input type="hidden" name="state" value="${state}"><button type="submit" class="sec small-btn" data-set="${state}">${label}</button></form>`;
  return h`<div class="actions">${i.state === "open" ? h`${to("resolved", "Resolve")}${to("ignored", "Ignore")}` : to("open", "Reopen")}</div>`;
}

export interface IssuesData {
  ws: string;
  issues: IssueRow[];
  trends: Map<number, number[]>;
  counts: Record<IssueState, number>;
  state: IssueState | "all";
  canAct: boolean;
  now: number;
  top: Html;
  /** Top frames in source, by issue id, where the release's source map covers them. */
  frames?: ReadonlyMap<number, CallSite>;
}

/** An issue's top frame: in source when mapped (the bundle frame on hover), else as recorded. */
function topFrame(recorded: string, mapped: CallSite | undefined): Html {
  return mapped
    ? h`<div class="small mono muted" data-top-frame="mapped" title="${`bundle: ${recorded}`}">at ${mapped[1]}:${mapped[2]}${mapped[0] ? ` ${mapped[0]}` : ""}</div>`
    : h`<div class="small mono muted" data-top-frame="bundle" title="the top user frame of the latest execution (deployed bundle)">at ${recorded}</div>`;
}

export function issuesView(d: IssuesData): Html {
  const tab = (s: IssueState | "all", label: string) =>
    h`<a href="/w/${d.ws}/issues${s === "open" ? "" : `?state=${s}`}" class="${d.state === s ? "tab on" : "tab"}">${label}</a>`;
  return h`<h1>Issues</h1><p class="sub">Failing executions grouped by app, route, error class (or 5xx status) and top user frame. A resolved issue reopens when a new failing execution matches it.</p>
  ${d.top}
  <div class="tabs" id="issue-tabs">${ISSUE_STATES.map((s) => tab(s, `${STATE_LABEL[s]} ${formatCount(d.counts[s])}`))}${tab("all", "all")}</div>
  ${
    d.issues.length
      ? h`<div class="panel" style="padding:0"><table id="issues"><thead><tr><th>Issue</th><th class="num">Events</th><th>Last 24 h</th><th>First seen</th><th>Last seen</th><th>State</th>${d.canAct ? h`<th></th>` : null}</tr></thead><tbody>
      ${d.issues.map(
        (
          i,
        ) => h`<tr class="row" data-issue="${i.id}" data-href="/w/${d.ws}/executions/${i.lastTrace}">
        <td><a href="/w/${d.ws}/executions/${i.lastTrace}" title="open the latest execution"><span class="mono oc-exception">${i.error}</span></a>
          <div class="small"><span class="mono">${i.method}</span> <a href="/w/${d.ws}/executions?app=${encodeURIComponent(i.app)}&amp;route=${encodeURIComponent(i.route)}&amp;outcome=">${i.route}</a> <span class="muted">· ${i.app}</span></div>${i.topFrame ? topFrame(i.topFrame, d.frames?.get(i.id)) : null}</td>
        <td class="num" data-count="${i.count}"><b>${formatCount(i.count)}</b></td>
        <td>${sparkline(d.trends.get(i.id) ?? [])}</td>
        <td class="small nowrap" title="${formatTime(i.firstSeen)} UTC">${ago(i.firstSeen, d.now)}</td>
        <td class="small nowrap" title="${formatTime(i.lastSeen)} UTC">${ago(i.lastSeen, d.now)}</td>
        <td>${stateCell(i)}</td>
        ${d.canAct ? h`<td>${actions(d.ws, i)}</td>` : null}
      </tr>`,
      )}</tbody></table></div>`
      : stateBox(
          d.state === "open" ? "good" : "info",
          d.state === "open"
            ? "No open issues"
            : `No ${d.state === "all" ? "" : `${d.state} `}issues`,
          d.state === "open"
            ? h`<p>No failing execution is waiting for triage. ${raw("")}<a href="/w/${d.ws}/executions">All executions</a></p>`
            : "",
          { id: "no-issues" },
        )
  }`;
}
