/**
 * Admin of a workspace, one sub-app per resource under `/w/:ws/admin` (admins only): the page,
 * the agent settings, members, apps and ingest tokens, the audit log export; and the reindex.
 * Every action is audited through `c.var.audit` (names and ids only).
 * @module
 */
import { Hono } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { auditExport } from "../../db/audit.js";
import { wsAccess } from "../_shared.js";
import { riskGate } from "../approvals.js";
import { agentSettings } from "./agent.js";
import { appRoutes } from "./apps.js";
import { memberRoutes } from "./members.js";
import { showAdmin } from "./page.js";
import { reindexRoutes } from "./reindex.js";
import { pairingAdmin } from "../pairing.js";

export function adminRoutes(clock: Clock): Hono<AppEnv> {
  const workspace = new Hono<AppEnv>();
  workspace.use("*", wsAccess("admin"));
  workspace.get("/", (c) => showAdmin(c));
  workspace.use("/agent", riskGate(clock, "agent_settings", { writesOnly: true }));
  workspace.use("/audit.ndjson", riskGate(clock, "audit_export"));
  workspace.route("/agent", agentSettings());
  workspace.route("/members", memberRoutes(clock));
  workspace.route("/apps", appRoutes(clock));
  workspace.route("/pairings", pairingAdmin(clock));
  workspace.get("/audit.ndjson", async (c) => {
    c.header("Content-Type", "application/x-ndjson; charset=utf-8");
    c.header("Content-Disposition", `attachment; filename="fluxrun-audit-${c.get("ws")}.ndjson"`);
    return c.body(await auditExport(c.env.DB, c.get("ws")));
  });

  const admin = new Hono<AppEnv>();
  admin.route("/w/:ws/admin", workspace);
  admin.route("/admin/reindex", reindexRoutes(clock));
  return admin;
}
