/**
 * First-run seeding: the local dev admin (FLUX_DEV + FLUX_DEV_ADMIN_TOKEN, printed by `npm start`)
 * and, in production, a bootstrap admin email for the default workspace (Cloudflare Access
 * sign-in). Idempotent; runs once per isolate.
 * @module
 */
import type { Env } from "./env.js";
import type { Clock } from "./deps.js";
import { createApiToken, ensureUser, countAdmins, setMember } from "./db/users.js";
import { createWorkspace } from "./db/workspaces.js";

const done = new Set<string>();

export const DEV_ADMIN_EMAIL = "admin@localhost";

export async function ensureSeed(env: Env, clock: Clock): Promise<void> {
  const dev = env.FLUX_DEV === "true" && env.FLUX_DEV_ADMIN_TOKEN ? env.FLUX_DEV_ADMIN_TOKEN : null;
  const bootstrap = env.FLUX_BOOTSTRAP_ADMIN ?? null;
  if (!dev && !bootstrap) return;
  const ws = env.FLUX_DEFAULT_WORKSPACE || "default";
  const key = `${ws}\0${dev ?? ""}\0${bootstrap ?? ""}`;
  if (done.has(key)) return;
  const db = env.DB;
  const now = clock.now();
  await createWorkspace(db, { id: ws, name: ws === "default" ? "Default workspace" : ws }, now);
  if (dev) {
    const user = await ensureUser(db, DEV_ADMIN_EMAIL, { now, id: () => clock.id() });
    await setMember(db, ws, user.id, "admin", now);
    await createApiToken(db, user.id, { name: "local dev (npm start)", now, token: dev });
  }
  if (bootstrap && (await countAdmins(db, ws)) === 0) {
    const user = await ensureUser(db, bootstrap.toLowerCase(), { now, id: () => clock.id() });
    await setMember(db, ws, user.id, "admin", now);
  }
  done.add(key);
}
