/**
 * The diagnostics page's script: asks the workspace's agent for its health report (the agent
 * contract's `HealthResponse`) from this browser, as Unlock and Replay would reach it, and shows
 * each setting with its fix.
 * @module
 */
import type { HealthResponse } from "fluxrun/contract";
import type { DiagnosticsConfig } from "../src/browser.js";
import { agent } from "./api.js";
import { el, pageConfig } from "./dom.js";
import { asState, FluxState, JWKS, ORIGIN, showState } from "./states.js";

const cfg = pageConfig<DiagnosticsConfig>();
const box = document.getElementById("agent-health");

/** A check's row: ok, fix (red, with its fix), info, or "not checked" (grey, no fix). */
function row(ok: boolean | null | "unchecked", label: string, detail: string): HTMLTableRowElement {
  const [cls, text] =
    ok === true
      ? ["st-2", "ok"]
      : ok === false
        ? ["st-5", "fix"]
        : ok === "unchecked"
          ? ["st-none", "not checked"]
          : ["st-none", "info"];
  return el("tr", { "data-check": label, "data-result": text }, [
    el("td", {}, [el("span", { cls: `badge ${cls}`, text })]),
    el("td", { text: label }),
    el("td", { cls: "small", text: detail }),
  ]);
}

/** One row per setting the dashboard and the agent must agree on. */
function rows(h: HealthResponse): HTMLTableRowElement[] {
  const sameId = h.agentId === cfg.agentId;
  const trusts = cfg.kid ? h.issuer.kids.includes(cfg.kid) : h.issuer.configured;
  const allowed = h.allowedOrigins.includes(ORIGIN);
  return [
    row(
      sameId,
      "Agent id",
      `agent: ${h.agentId ?? "none"} · dashboard issues tokens for: ${cfg.agentId ?? "none"}${sameId ? "" : " → set the same id in Admin → Agent"}`,
    ),
    row(
      h.key.loaded,
      "Private key",
      h.key.loaded
        ? `loaded${h.key.kid ? ` · kid ${h.key.kid}` : ""}`
        : "missing → wrangler secret put FLUX_PRIVATE_KEY",
    ),
    h.key.matchesPublicKey === null
      ? row(
          "unchecked",
          "Key matches the public key",
          "this agent does not know the recording workers' FLUX_PUBLIC_KEY, so it cannot compare (a failed unlock names a key mismatch)",
        )
      : row(
          h.key.matchesPublicKey,
          "Key matches the public key",
          h.key.matchesPublicKey
            ? "yes"
            : "the private key does not match the recorded workers' FLUX_PUBLIC_KEY",
        ),
    row(
      h.bucket.reachable,
      "Trace bucket",
      h.bucket.reachable ? "reachable" : "unreachable → bind FLUX_TRACES to fluxrun-traces",
    ),
    row(
      trusts,
      "Dashboard public key",
      trusts
        ? `trusted${cfg.kid ? ` (kid ${cfg.kid})` : ""}`
        : `missing → set FLUX_DASHBOARD_JWKS to the JSON at ${JWKS}`,
    ),
    row(
      allowed,
      "Allowed origins",
      `${h.allowedOrigins.join(", ")}${allowed ? "" : ` → add ${ORIGIN}`}`,
    ),
    row(
      h.versions.trace === cfg.traceVersion,
      "Trace format",
      `agent reads v${h.versions.trace} · dashboard indexes v${cfg.traceVersion}`,
    ),
    row(null, "Agent version", h.versions.agent),
  ];
}

async function check(target: HTMLElement): Promise<void> {
  if (!cfg.agentOrigin) {
    showState(
      target,
      new FluxState(
        "warn",
        "ERR_AGENT_NOT_CONFIGURED",
        "No agent configured for this workspace",
        "",
        cfg.isAdmin
          ? "Set the agent endpoint and id below."
          : "Ask a workspace admin to set the agent endpoint.",
      ),
    );
    return;
  }
  target.replaceChildren(el("p", { cls: "muted", text: `Checking ${cfg.agentOrigin} …` }));
  try {
    const health = await agent<HealthResponse>(cfg.agentOrigin, "/v1/health", {
      agentId: cfg.agentId,
      timeoutMs: cfg.timeouts.call,
    });
    target.replaceChildren(
      el("div", { cls: "state good", "data-code": "AGENT_OK" }, [
        el("h2", { text: `The agent answers from ${cfg.agentOrigin}` }),
      ]),
      el("table", {}, [el("tbody", {}, rows(health))]),
    );
  } catch (err) {
    showState(target, asState(err), () => void check(target));
  }
}

if (box) {
  document.getElementById("check-agent")?.addEventListener("click", () => void check(box));
  if (cfg.autoCheck) void check(box);
}
