/**
 * The execution page's script: Unlock, Replay and Save-as-guard. The browser calls the agent
 * directly with a token the dashboard issued for that one action; payloads go from the agent to
 * this page and nowhere else (never to the dashboard).
 * @module
 */
import type {
  Divergence,
  OutcomeView,
  PolicyView,
  ReplayRequest,
  ReplayResponse,
  UnlockedField,
  UnlockResponse,
} from "fluxrun/contract";
import type { ExecutionConfig, SavedGuard } from "../src/browser.js";
import { agent, dashboard } from "./api.js";
import { issueApproved } from "./approval.js";
import { busy, byId, el, pageConfig } from "./dom.js";
import { decode, revealedTag, secretGate, view } from "./evidence.js";
import { asState, FluxState, showState } from "./states.js";
import { replayMapControl, resetSites, siteLines } from "./sites.js";

const cfg = pageConfig<ExecutionConfig>();
const callCtx = { agentId: cfg.agentId, timeoutMs: cfg.timeouts.call };
const replayCtx = { agentId: cfg.agentId, timeoutMs: cfg.timeouts.replay };
const out = byId("agent-state");

const secrets = new Map(cfg.secrets.map((x) => [x.path, x.name]));
/** What the agent answered, by field path (this page's memory only). */
const unlocked = new Map<string, UnlockedField>();

/** Marks every place showing `path` as a revealed secret, showing the value there too. */
function markRevealed(path: string): void {
  const f = unlocked.get(path);
  if (!f) return;
  for (const n of document.querySelectorAll<HTMLElement>(`[data-sealed="${CSS.escape(path)}"]`)) {
    n.replaceChildren(revealedTag(), view(decode(f), f.path));
  }
  for (const n of document.querySelectorAll<HTMLElement>(
    `[data-path="${CSS.escape(path)}"] [data-secret="hidden"]`,
  )) {
    n.dataset.secret = "revealed";
    n.replaceChildren(revealedTag(), view(decode(f), f.path));
  }
}

/** A field as the page shows it: by type, a secret behind its confirmation. */
function shown(f: UnlockedField): HTMLElement {
  const name = secrets.get(f.path);
  if (!name || f.missing || f.value == null) return view(decode(f), f.path);
  return secretGate(
    name,
    () => view(decode(f), f.path),
    () => markRevealed(f.path),
  );
}

function renderUnlocked(res: UnlockResponse): void {
  const box = byId("unlocked");
  box.replaceChildren(
    el("h2", { text: "Unlocked payloads" }),
    el("p", {
      cls: "small muted",
      text: "Shown in this page only: not stored by the dashboard. Reloading hides them.",
    }),
  );
  for (const f of res.fields) {
    unlocked.set(f.path, f);
    box.append(
      el("div", { "data-path": f.path, cls: "field" }, [
        el("div", {}, [
          el("code", { text: f.path }),
          f.masked ? el("span", { cls: "tag w", text: "masked field" }) : null,
          f.truncated ? el("span", { cls: "tag w", text: "truncated" }) : null,
        ]),
        shown(f),
      ]),
    );
    for (const n of document.querySelectorAll<HTMLElement>(
      `[data-sealed="${CSS.escape(f.path)}"]`,
    )) {
      n.classList.remove("sealed");
      n.replaceChildren(shown(f));
    }
  }
  box.hidden = false;
  document.dispatchEvent(new CustomEvent("flux:unlocked"));
}

function outcomeLine(o: OutcomeView | undefined): string {
  if (!o) return "—";
  if (o.error) return `threw ${o.error.name}`;
  if (o.status == null) return "no response";
  return `${o.status}${o.body ? ` · ${o.body}` : ""}`;
}

function compact(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

/** True when the replay ended in a non-5xx response without a thrown error. */
function repaired(r: ReplayResponse): boolean {
  return !r.replayed.error && r.replayed.status != null && r.replayed.status < 500;
}

function divergenceRow(d: Divergence, i: number): HTMLTableRowElement {
  return el("tr", { "data-code": d.code }, [
    el("td", { cls: "num", text: String(i + 1) }),
    el("td", {}, [
      el("span", { cls: `badge st-${d.code === "changed_outcome" ? "5" : "4"}`, text: d.code }),
    ]),
    el("td", { cls: "mono", text: d.seq == null ? "—" : `#${d.seq}` }),
    el("td", { cls: "mono", text: `${d.kind} ${d.op} ${d.target}` }),
    el("td", {}, [
      d.message,
      d.fields?.length
        ? el("div", { cls: "small muted", text: `fields: ${d.fields.join(", ")}` })
        : null,
      d.expected !== undefined
        ? el("div", { cls: "small mono", text: `expected: ${compact(d.expected)}` })
        : null,
      d.actual !== undefined
        ? el("div", { cls: "small mono", text: `actual: ${compact(d.actual)}` })
        : null,
      ...siteLines(d, cfg.sourceMaps, { ws: cfg.ws, trace: cfg.trace }),
      d.closest
        ? el("div", {
            cls: "small muted",
            text: `closest recorded: #${d.closest.seq} ${d.closest.op} ${d.closest.target}`,
          })
        : null,
      ...(d.diff ?? []).map((x) =>
        el("div", {
          cls: "small mono",
          "data-diff": x.path,
          text: `${x.path}: ${compact(x.expected)} → ${compact(x.actual)}`,
        }),
      ),
    ]),
  ]);
}

/** The policy the agent replayed with, in words. */
function policyLine(p: PolicyView): string {
  const why = p.diagnostic ? ` (${p.diagnostic.code}: ${p.diagnostic.message})` : "";
  if (p.status === "reviewed")
    return `Replay policy: approved v${p.version ?? "?"}, verified by the agent`;
  if (p.status === "rejected") return `Replay policy IGNORED, replayed deny-all${why}`;
  if (p.status === "none") return "Replay policy: none approved, deny-all";
  return `Replay policy: unreviewed${why}`;
}

let lastReport: ReplayResponse | null = null;

function renderReport(r: ReplayResponse): void {
  const match = r.verdict === "match";
  const n = r.divergences.length;
  resetSites(r.replayedRelease, cfg.sourceMaps);
  const rows = r.divergences.map(divergenceRow);
  byId("report").replaceChildren(
    el(
      "div",
      { cls: `state ${match ? "good" : "bad"}`, id: "verdict", "data-verdict": r.verdict },
      [
        el("h2", {
          text: match
            ? "MATCH: the replay behaved like the recording"
            : `DIVERGED: ${n} difference${n === 1 ? "" : "s"}`,
        }),
        el("p", {
          text: `recorded: ${outcomeLine(r.recorded)}   ·   replayed: ${outcomeLine(r.replayed)}`,
        }),
        el("p", {
          cls: "small muted",
          text: `${r.served} recorded events served · ${r.liveNetworkAttempts} live network attempts (blocked)`,
        }),
        r.policy
          ? el("p", {
              cls: `small ${r.policy.status === "rejected" ? "" : "muted"}`,
              id: "replay-policy",
              "data-policy": r.policy.status,
              text: policyLine(r.policy),
            })
          : el("span"),
      ],
    ),
    rows.length
      ? el("table", {}, [
          el("thead", {}, [
            el(
              "tr",
              {},
              ["#", "code", "event", "call", "detail"].map((t) => el("th", { text: t })),
            ),
          ]),
          el("tbody", {}, rows),
        ])
      : el("span"),
    replayMapControl(cfg.sourceMaps, { ws: cfg.ws, trace: cfg.trace }) ?? el("span"),
    r.unconsumed.length
      ? el("p", {
          cls: "small muted",
          text: `Recorded but not consumed: ${r.unconsumed.map((u) => `#${u.seq} ${u.kind} ${u.op} ${u.target}`).join("; ")}`,
        })
      : el("span"),
  );
  byId("report").hidden = false;
  const guard = byId("guard");
  guard.hidden = !repaired(r);
  lastReport = repaired(r) ? r : null;
  if (lastReport) {
    byId("guard-note").textContent =
      `The replay ends in ${outcomeLine(r.replayed)}. Save it to keep this path from regressing.`;
  }
}

function checkedFields(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>("input[name=field]:checked")].map(
    (n) => n.value,
  );
}

/** Runs an action behind a button: busy while it runs, its failure shown in `box` with a retry. */
function onClick(id: string, box: () => HTMLElement, run: () => Promise<void>): void {
  const button = document.getElementById(id) as HTMLButtonElement | null;
  if (!button) return;
  const go = (): void => {
    busy(button, true);
    run()
      .catch((e: unknown) => showState(box(), asState(e), go))
      .finally(() => busy(button, false));
  };
  button.addEventListener("click", go);
}

const count = document.getElementById("field-count");

/** The selection against the agent's limit, shown before asking: over it, Unlock waits. */
function updateCount(): void {
  const n = checkedFields().length;
  const over = n > cfg.maxFields;
  if (count) {
    count.textContent = over
      ? `${n} selected: the agent unlocks at most ${cfg.maxFields} per request, untick ${n - cfg.maxFields}`
      : `${n} of at most ${cfg.maxFields} selected`;
    count.className = over ? "oc-exception" : "";
  }
  const button = document.getElementById("unlock-btn") as HTMLButtonElement | null;
  if (button && !button.textContent?.endsWith("…")) button.disabled = over;
}

onClick(
  "unlock-btn",
  () => out,
  async () => {
    const fields = checkedFields();
    if (!fields.length) {
      showState(
        out,
        new FluxState(
          "info",
          "NO_FIELDS",
          "Choose what to unlock",
          "Tick the payloads you need; nothing is unlocked by default.",
          "",
        ),
      );
      return;
    }
    out.replaceChildren();
    const t = await issueApproved({ trace: cfg.trace, act: "unlock", fields }, out);
    renderUnlocked(
      await agent<UnlockResponse>(t.agent.origin, "/v1/unlock", callCtx, {
        token: t.token,
        payload: { trace: cfg.trace, fields },
      }),
    );
  },
);

onClick(
  "replay-btn",
  () => out,
  async () => {
    out.replaceChildren();
    const t = await issueApproved({ trace: cfg.trace, act: "replay" }, out);
    renderReport(
      await agent<ReplayResponse>(t.agent.origin, "/v1/replay", replayCtx, {
        token: t.token,
        payload: {
          trace: cfg.trace,
          ...(t.policy ? { policy: t.policy } : {}),
        } satisfies ReplayRequest,
      }),
    );
  },
);

onClick(
  "guard-btn",
  () => byId("guard-done"),
  async () => {
    if (!lastReport) return;
    const saved = await dashboard<SavedGuard>("/api/guards", {
      trace: cfg.trace,
      report: lastReport,
    });
    byId("guard-done").replaceChildren(
      el("div", { cls: "state good", id: "guard-saved" }, [
        el("h2", { text: "Regression guard saved" }),
        el("p", { text: "Run it locally next to your wrangler.toml:" }),
        el("code", { cls: "cmd", text: saved.command }),
      ]),
    );
    byId("guard-btn").hidden = true;
  },
);

for (const n of document.querySelectorAll<HTMLElement>("[data-check]")) {
  n.addEventListener("click", (ev) => {
    ev.preventDefault();
    const on = n.dataset.check === "all";
    let i = 0;
    for (const c of document.querySelectorAll<HTMLInputElement>("input[name=field]"))
      c.checked = on && i++ < cfg.maxFields;
    updateCount();
  });
}
for (const c of document.querySelectorAll<HTMLInputElement>("input[name=field]")) {
  c.addEventListener("change", updateCount);
}
updateCount();

/* The waterfall: a row opens its side panel; "Unlock these" unlocks that event's payloads. */
const side = document.getElementById("side");

function openEvent(seq: string): void {
  if (!side) return;
  for (const n of side.querySelectorAll<HTMLElement>(".evd")) n.hidden = n.dataset.ev !== seq;
  for (const tr of document.querySelectorAll<HTMLElement>("#waterfall tr.ev")) {
    tr.classList.toggle("on", tr.dataset.seq === seq);
  }
  side.hidden = false;
}

for (const tr of document.querySelectorAll<HTMLElement>("#waterfall tr.ev")) {
  tr.addEventListener("click", () => openEvent(tr.dataset.seq ?? ""));
}
document.getElementById("side-close")?.addEventListener("click", () => {
  if (side) side.hidden = true;
  for (const tr of document.querySelectorAll("#waterfall tr.ev.on")) tr.classList.remove("on");
});
for (const b of document.querySelectorAll<HTMLElement>("[data-unlock-event]")) {
  b.addEventListener("click", () => {
    const seq = b.dataset.unlockEvent ?? "";
    for (const c of document.querySelectorAll<HTMLInputElement>("input[name=field]")) {
      c.checked = c.value === seq || c.value.startsWith(`${seq}.`);
    }
    updateCount();
    document.getElementById("unlock-btn")?.click();
  });
}

/* The network table sorts by any column header (numbers numerically, blanks last). */
const network = document.getElementById("network");
for (const th of network?.querySelectorAll<HTMLElement>("th[data-sort]") ?? []) {
  th.addEventListener("click", () => {
    const key = th.dataset.sort ?? "seq";
    const body = network?.querySelector("tbody");
    if (!body) return;
    const desc = th.dataset.dir !== "desc";
    for (const o of network?.querySelectorAll<HTMLElement>("th[data-sort]") ?? [])
      delete o.dataset.dir;
    th.dataset.dir = desc ? "desc" : "asc";
    const num = th.classList.contains("num");
    const rows = [...body.querySelectorAll<HTMLElement>("tr")];
    rows.sort((a, b) => {
      const x = a.dataset[key] ?? "";
      const y = b.dataset[key] ?? "";
      const c = num ? Number(x) - Number(y) : x.localeCompare(y);
      return desc ? -c : c;
    });
    body.append(...rows);
  });
}

interface HarHeader {
  name: string;
  value: string;
}

/** Unlocked headers of a field as HAR headers (none when sealed). */
function harHeaders(path: string): HarHeader[] {
  const f = unlocked.get(path);
  const d = f ? decode(f) : null;
  return d?.type === "headers" ? d.pairs.map(([name, value]) => ({ name, value })) : [];
}

/** An unlocked body as HAR text (binary as base64), or null when sealed. */
function harBody(path: string): { text: string; encoding?: "base64" } | null {
  const f = unlocked.get(path);
  if (!f || f.value == null || f.missing) return null;
  return f.encoding === "base64" ? { text: f.value, encoding: "base64" } : { text: f.value };
}

/** HAR 1.2 of the outbound calls with what this page has unlocked; sealed parts are left out. */
function har(): unknown {
  return {
    log: {
      version: "1.2",
      creator: { name: "FluxRun dashboard", version: "1" },
      comment: `trace ${cfg.trace}: only unlocked headers and bodies are included; URLs carry no scheme in the trace (https assumed)`,
      entries: cfg.network.map((n) => {
        const reqHeaders = harHeaders(`${n.seq}.request.headers`);
        const resHeaders = harHeaders(`${n.seq}.result.headers`);
        const mime = (hs: HarHeader[]) =>
          hs.find((x) => x.name.toLowerCase() === "content-type")?.value ?? "";
        const reqBody = harBody(`${n.seq}.request.body`);
        const resBody = harBody(`${n.seq}.result.body`);
        const url = /^[a-z]+:\/\//.test(n.target) ? n.target : `https://${n.target}`;
        return {
          startedDateTime: new Date(cfg.start + n.at / 1000).toISOString(),
          time: (n.dur ?? 0) / 1000,
          request: {
            method: n.method,
            url,
            httpVersion: "HTTP/1.1",
            headers: reqHeaders,
            queryString: [],
            cookies: [],
            headersSize: -1,
            bodySize: -1,
            ...(reqBody ? { postData: { mimeType: mime(reqHeaders), text: reqBody.text } } : {}),
          },
          response: {
            status: n.status ?? 0,
            statusText: "",
            httpVersion: "HTTP/1.1",
            headers: resHeaders,
            cookies: [],
            content: { size: -1, mimeType: mime(resHeaders), ...(resBody ?? {}) },
            redirectURL: "",
            headersSize: -1,
            bodySize: -1,
          },
          cache: {},
          timings: { send: 0, wait: (n.dur ?? 0) / 1000, receive: 0 },
          comment: `#${n.seq}${reqHeaders.length ? "" : " · request headers sealed"}${resBody ? "" : " · response body sealed"}`,
        };
      }),
    },
  };
}

document.getElementById("har-btn")?.addEventListener("click", () => {
  const a = el("a", {
    href: URL.createObjectURL(
      new Blob([JSON.stringify(har(), null, 2)], { type: "application/json" }),
    ),
    download: `${cfg.trace}.har`,
  });
  document.body.append(a);
  a.click();
  a.remove();
});
