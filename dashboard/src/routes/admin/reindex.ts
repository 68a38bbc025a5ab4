/**
 * Admin → Reindex: walks the workspace's app prefixes in R2 from the start and indexes anything
 * missing (idempotent by trace id). The default workspace also adopts apps not seen before.
 * @module
 */
import { appPrefix } from "fluxrun/contract";
import { Hono } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { DashboardError } from "../../errors.js";
import { appsOf } from "../../db/workspaces.js";
import { appPrefixes, sweep } from "../../indexer/sweep.js";
import { registeredKeys } from "../../indexer/origin.js";
import { sweepSummary } from "../../views/admin.js";
import { stateBox } from "../../views/layout.js";
import { checkWorkspace, readBody, wantsJson } from "../_shared.js";
import { field, showAdmin } from "./page.js";

export function reindexRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post("/", async (c) => {
    const ws = field(await readBody(c), "ws", 128) || (c.req.query("ws") ?? "").slice(0, 128);
    await checkWorkspace(c, ws, "admin");
    c.set("ws", ws);
    c.set("role", "admin");
    const bucket = c.env.FLUX_TRACES;
    if (!bucket) {
      await c.var.audit("reindex", {
        target: ws,
        allowed: false,
        reason: "FLUX_TRACES binding missing",
      });
      throw new DashboardError(
        "ERR_BINDING_MISSING",
        "The trace bucket is not bound (FLUX_TRACES)",
        {
          fix: 'Add [[r2_buckets]] binding = "FLUX_TRACES", bucket_name = "fluxrun-traces" to dashboard/wrangler.toml',
        },
      );
    }
    const own = (await appsOf(c.env.DB, ws)).map((a) => appPrefix(a.name));
    const prefixes =
      c.env.FLUX_DEFAULT_WORKSPACE === ws
        ? [...new Set([...own, ...(await appPrefixes(bucket))])]
        : own;
    const result = await sweep(c.env.DB, bucket, {
      now: clock.now(),
      prefixes,
      rebuild: true,
      defaultWorkspace: c.env.FLUX_DEFAULT_WORKSPACE,
      originKeys: registeredKeys(c.env.FLUX_ORIGIN_KEYS),
    });
    await c.var.audit("reindex", {
      target: ws,
      allowed: true,
      detail: {
        prefixes: prefixes.length,
        listed: result.listed,
        inserted: result.inserted,
        skipped: result.skipped,
        done: result.done,
      },
    });
    if (wantsJson(c)) return c.json(result);
    return showAdmin(c, { flash: stateBox("good", "Reindexed from R2", sweepSummary(result)) });
  });
  return app;
}
