/**
 * FluxRun triage dashboard worker: serves the app, and on its cron trigger sweeps the trace
 * bucket into the executions index.
 * @module
 */
import { createApp } from "./app.js";
import type { Env } from "./env.js";
import { sweep } from "./indexer/sweep.js";
import { pruneIngestLimits } from "./db/ingest-limits.js";
import { pruneSessions } from "./auth/sessions.js";
import { pruneApprovals } from "./db/approvals.js";
import { registeredKeys } from "./indexer/origin.js";

const app = createApp();

/**
 * One cron run: index what R2 holds past each app's last indexed key (and continue rebuilds), and
 * drop ingest counters past their windows and sessions long ended.
 */
export async function scheduledSweep(env: Env, now = Date.now()): Promise<void> {
  await pruneIngestLimits(env.DB, { now });
  await pruneSessions(env.DB, { now });
  await pruneApprovals(env.DB, { now });
  if (!env.FLUX_TRACES) {
    console.error("fluxrun-dashboard: sweep skipped, FLUX_TRACES binding missing");
    return;
  }
  const lookback = Number(env.FLUX_INDEX_LOOKBACK_MS);
  await sweep(env.DB, env.FLUX_TRACES, {
    now,
    defaultWorkspace: env.FLUX_DEFAULT_WORKSPACE,
    originKeys: registeredKeys(env.FLUX_ORIGIN_KEYS),
    ...(Number.isFinite(lookback) && lookback > 0 ? { lookbackMs: lookback } : {}),
  });
}

export default {
  fetch: app.fetch,
  async scheduled(_event, env, ctx) {
    ctx.waitUntil(scheduledSweep(env));
  },
} satisfies ExportedHandler<Env>;
