/**
 * `POST /v1/ingest`: the HTTP sink's endpoint (runtimes without R2). The body is one sealed trace
 * (`application/cbor`, as the R2 sink stores it); `Authorization: Bearer fxi_…` is a per-app
 * ingest token. The dashboard reads the clear head (no key), stores the bytes in the trace
 * bucket under the runtime's key layout (so the agent can unlock and replay it) and indexes the
 * summary. Idempotent by trace id.
 * @module
 */
import { Hono } from "hono";
import { readTrace, summaryMetadata, traceKey } from "fluxrun/trace";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { appByIngestToken, appWorkspace } from "../db/workspaces.js";
import { audit } from "../db/audit.js";
import { rowFromSummary } from "../db/executions.js";
import { storeRows } from "../indexer/store.js";

/** Largest accepted trace: the runtime's 4 MiB budget plus the head. */
export const MAX_INGEST_BYTES = 5 * 1024 * 1024;

export function ingestRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/v1/ingest", async (c) => {
    const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    const tokenApp = m ? await appByIngestToken(c.env.DB, m[1]!) : null;
    if (!tokenApp) {
      throw new DashboardError(
        "ERR_INGEST_TOKEN",
        "The ingest token is missing, unknown or revoked",
        {
          fix: "Create one in Admin → Apps → New ingest token and configure the HTTP sink with it",
        },
      );
    }
    const len = Number(c.req.header("content-length") ?? 0);
    if (len > MAX_INGEST_BYTES)
      throw new DashboardError("ERR_TOO_LARGE", `A trace is at most ${MAX_INGEST_BYTES} bytes`);
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.length > MAX_INGEST_BYTES)
      throw new DashboardError("ERR_TOO_LARGE", `A trace is at most ${MAX_INGEST_BYTES} bytes`);
    let head;
    try {
      head = readTrace(bytes).head;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      throw new DashboardError(
        "ERR_TRACE_UNREADABLE",
        `The body is not a readable FluxRun trace (${typeof code === "string" ? code : "ERR_TRACE_CORRUPT"})`,
        { cause: err },
      );
    }
    const now = clock.now();
    if (head.summary.app !== tokenApp) {
      await audit(
        c.env.DB,
        {
          ws: await appWorkspace(c.env.DB, tokenApp),
          actor: `ingest:${tokenApp}`,
          action: "ingest.denied",
          target: head.id,
          allowed: false,
          reason: `trace is for app ${head.summary.app}`,
        },
        now,
      );
      throw new DashboardError(
        "ERR_FORBIDDEN",
        `This ingest token is for app ${tokenApp}, not ${head.summary.app}`,
      );
    }
    if (!c.env.FLUX_TRACES) {
      throw new DashboardError(
        "ERR_BINDING_MISSING",
        "The trace bucket is not bound (FLUX_TRACES): ingested traces could not be unlocked or replayed",
        {
          fix: 'Add [[r2_buckets]] binding = "FLUX_TRACES" to dashboard/wrangler.toml',
        },
      );
    }
    const key = traceKey(head.summary);
    if (!(await c.env.FLUX_TRACES.head(key))) {
      await c.env.FLUX_TRACES.put(key, bytes, {
        httpMetadata: { contentType: "application/cbor" },
        customMetadata: summaryMetadata(head.summary),
      });
    }
    const inserted = await storeRows(
      c.env.DB,
      [rowFromSummary(head.summary, key, String(head.version))],
      {
        now,
        defaultWorkspace: c.env.FLUX_DEFAULT_WORKSPACE,
      },
    );
    return c.json({ traceId: head.id, key, indexed: inserted === 1 }, 202);
  });
  return app;
}
