/**
 * The regression guards of a workspace: repaired replays saved as the expected outcome, each
 * with the commands that write it as a local test.
 * @module
 */
import { h, type Html } from "./html.js";
import { stateBox } from "./layout.js";
import { formatTime } from "./format.js";
import type { GuardRow } from "../db/guards.js";

export function guardsView(d: {
  ws: string;
  guards: GuardRow[];
  command: (g: GuardRow) => string;
}): Html {
  return h`<h1>Regression guards</h1><p class="sub">Repaired replays saved as the expected outcome. Write one as a local test with the command shown; CI replays it against your code.</p>
  ${
    d.guards.length
      ? h`<div class="panel" style="padding:0"><table id="guards"><thead><tr><th>Saved</th><th>Request</th><th>Expected</th><th>Boundaries</th><th>Command</th></tr></thead><tbody>
    ${d.guards.map(
      (
        g,
      ) => h`<tr><td class="nowrap">${formatTime(g.createdAt, { millis: false })}<div class="small muted">${g.createdBy}</div></td>
        <td><a href="/w/${d.ws}/executions/${g.traceId}"><span class="mono">${g.method}</span> ${g.route}</a><div class="small muted">${g.app}</div></td>
        <td>${g.errorName ? h`throws ${g.errorName}` : h`<span class="badge">${g.status}</span> <span class="mono small">${g.bodyDigest ?? ""}</span>`}</td>
        <td class="num">${g.boundaries.length}</td><td><code class="cmd small">${d.command(g)}</code></td></tr>`,
    )}</tbody></table></div>`
      : stateBox(
          "info",
          "No guards yet",
          "Open a failing execution, replay it after your fix, and click “Save as regression guard”.",
        )
  }`;
}
