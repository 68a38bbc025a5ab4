/**
 * Setup diagnostics shared by pages: trace bucket binding, traces present, signing key, agent
 * configuration. Each problem is a specific state with its fix, never a generic "unavailable".
 * @module
 */
import { TRACE_ROOT } from "fluxrun/contract";
import { readTrace, TRACE_VERSION } from "fluxrun/trace";
import type { TraceHead } from "fluxrun/trace";
import type { Env } from "../env.js";
import type { ExecutionRow } from "../db/executions.js";
import { h, type Html } from "../views/html.js";
import { stateBox } from "../views/layout.js";
import { BINDING_FIX, bindingMissing } from "../views/setup.js";
import type { Check } from "../views/diagnostics.js";
import { signingKey } from "../auth/issuer.js";
import { DashboardError } from "../errors.js";

/** Reads a trace's clear head, or the state explaining why it cannot be read. */
export async function loadHead(
  env: Env,
  row: ExecutionRow,
): Promise<{ head: TraceHead; problem: null } | { head: null; problem: Html }> {
  if (!env.FLUX_TRACES) return { head: null, problem: bindingMissing() };
  const obj = await env.FLUX_TRACES.get(row.r2Key);
  if (!obj) {
    return {
      head: null,
      problem: stateBox(
        "warn",
        "The trace object is no longer in R2",
        h`<p>The index still lists <code>${row.r2Key}</code>, but the bucket does not hold it (expired by a lifecycle rule, or deleted). Its summary above is all that remains.</p>`,
        { id: "state-trace-gone", code: "TRACE_GONE" },
      ),
    };
  }
  try {
    const { head } = readTrace(new Uint8Array(await obj.arrayBuffer()));
    if (head.id !== row.traceId) {
      return {
        head: null,
        problem: stateBox(
          "bad",
          "The stored object is another trace",
          `The object at ${row.r2Key} holds trace ${head.id}. An admin can rebuild the index from R2.`,
          {
            code: "TRACE_MISMATCH",
          },
        ),
      };
    }
    return { head, problem: null };
  } catch (err) {
    const code =
      typeof (err as { code?: unknown }).code === "string"
        ? (err as { code: string }).code
        : "ERR_TRACE_CORRUPT";
    if (code === "ERR_TRACE_VERSION") {
      return {
        head: null,
        problem: stateBox(
          "bad",
          "Version mismatch: this dashboard cannot read the trace's format",
          h`<p>${(err as Error).message}. This dashboard reads trace format v${TRACE_VERSION}.</p><p><b>Fix:</b> upgrade the dashboard's <code>fluxrun</code> dependency to the release the recording worker uses, and redeploy.</p>`,
          { id: "state-version-mismatch", code },
        ),
      };
    }
    return {
      head: null,
      problem: stateBox(
        "bad",
        "The trace cannot be read",
        h`<p>${(err as Error).message} (<code>${code}</code>). The object is damaged or not a FluxRun trace; it cannot be unlocked or replayed.</p>`,
        { id: "state-trace-unreadable", code },
      ),
    };
  }
}

/** The dashboard-side setup checks for a workspace. */
export async function setupChecks(
  env: Env,
  agent: { origin: string | null; id: string | null },
): Promise<{ checks: Check[]; kid: string | null }> {
  const checks: Check[] = [];
  if (!env.FLUX_TRACES) {
    checks.push({
      id: "binding",
      ok: false,
      label: "Trace bucket (FLUX_TRACES)",
      detail: BINDING_FIX,
    });
  } else {
    const one = await env.FLUX_TRACES.list({ prefix: TRACE_ROOT, limit: 1 });
    checks.push({
      id: "binding",
      ok: true,
      label: "Trace bucket (FLUX_TRACES)",
      detail: one.objects.length
        ? "bound; holds traces"
        : "bound; empty so far (no traces recorded yet)",
    });
  }
  let kid: string | null = null;
  try {
    kid = (await signingKey(env)).kid;
    checks.push({
      id: "signing-key",
      ok: true,
      label: "Token signing key",
      detail: h`Ed25519 key <code>${kid}</code>; the agent must trust <a href="/.well-known/jwks.json">/.well-known/jwks.json</a> (FLUX_DASHBOARD_JWKS).`,
    });
  } catch (err) {
    const e = err as DashboardError;
    checks.push({
      id: "signing-key",
      ok: false,
      label: "Token signing key",
      detail: h`${e.message}. <b>Fix:</b> ${e.fix ?? ""}`,
    });
  }
  checks.push({
    id: "agent",
    ok: Boolean(agent.origin && agent.id),
    label: "Agent endpoint",
    detail:
      agent.origin && agent.id
        ? h`<code>${agent.origin}</code> · agent id <code>${agent.id}</code>`
        : h`Not configured. <b>Fix:</b> an admin sets the agent endpoint (e.g. <code>http://127.0.0.1:8788</code> for <code>npx fluxrun agent</code>) and the agent's FLUX_AGENT_ID in Admin → Agent.`,
  });
  return { checks, kid };
}
