/**
 * The admin page itself: loads what it shows and renders it, with a flash saying what the last
 * action did.
 * @module
 */
import { appPrefix } from "fluxrun/contract";
import type { Context } from "hono";
import type { AppEnv } from "../../env.js";
import { publicJwks } from "../../auth/issuer.js";
import { accessConfigured } from "../../auth/access.js";
import { auditOf } from "../../db/audit.js";
import { cursorStatus } from "../../db/index-state.js";
import { membersOf } from "../../db/users.js";
import { appsOf, ingestTokensOf } from "../../db/workspaces.js";
import type { Html } from "../../views/html.js";
import { adminView } from "../../views/admin.js";
import { agentOf, currentWorkspace, render } from "../_shared.js";

/**
 * Renders the admin page of the route's workspace.
 *
 * @example
 * ```ts
 * return showAdmin(c, { flash: stateBox("good", "Agent saved", "…") });
 * ```
 */
export async function showAdmin(
  c: Context<AppEnv>,
  options: { flash?: Html | null; status?: 200 | 400 | 409 } = {},
): Promise<Response> {
  const ws = c.get("ws");
  const db = c.env.DB;
  const workspace = await currentWorkspace(c);
  const [members, apps, ingestTokens, jwks, log] = await Promise.all([
    membersOf(db, ws),
    appsOf(db, ws),
    ingestTokensOf(db, ws),
    publicJwks(c.env),
    auditOf(db, ws, { limit: 30 }),
  ]);
  const cursors = await cursorStatus(
    db,
    apps.map((a) => appPrefix(a.name)),
  );
  const body = adminView(
    {
      workspace,
      agent: agentOf(c.env, workspace),
      defaults: { agentOrigin: c.env.FLUX_AGENT_ORIGIN, agentId: c.env.FLUX_AGENT_ID },
      members,
      apps,
      cursors,
      ingestTokens,
      jwks,
      log,
      accessConfigured: accessConfigured(c.env),
      hasBucket: Boolean(c.env.FLUX_TRACES),
    },
    options.flash ?? null,
  );
  return render(c, { title: "Admin", ws, active: "admin" }, body, {
    status: options.status ?? 200,
  });
}

/** A form field as trimmed text, at most `max` characters. */
export function field(body: Record<string, unknown>, name: string, max = 512): string {
  const v = body[name];
  return typeof v === "string" ? v.trim().slice(0, max) : "";
}
