/**
 * Workspaces, their agent settings, apps and per-app ingest tokens.
 * @module
 */
import { hashToken, INGEST_TOKEN_PREFIX, newToken, tokenLabel } from "../auth/secrets.js";

export interface Workspace {
  id: string;
  name: string;
  agentOrigin: string | null;
  agentId: string | null;
}

export async function getWorkspace(db: D1Database, id: string): Promise<Workspace | null> {
  return db
    .prepare(
      "SELECT id, name, agent_origin AS agentOrigin, agent_id AS agentId FROM workspaces WHERE id = ?",
    )
    .bind(id)
    .first<Workspace>();
}

export async function createWorkspace(
  db: D1Database,
  ws: { id: string; name: string; agentOrigin?: string | null; agentId?: string | null },
  now: number,
): Promise<void> {
  await db
    .prepare(
      "INSERT OR IGNORE INTO workspaces (id, name, agent_origin, agent_id, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(ws.id, ws.name, ws.agentOrigin ?? null, ws.agentId ?? null, now)
    .run();
}

export async function setAgent(
  db: D1Database,
  ws: string,
  agent: { origin: string | null; id: string | null },
): Promise<void> {
  await db
    .prepare("UPDATE workspaces SET agent_origin = ?, agent_id = ? WHERE id = ?")
    .bind(agent.origin, agent.id, ws)
    .run();
}

export interface AppRow {
  name: string;
  ws: string;
  createdAt: number;
}

export async function appsOf(db: D1Database, ws: string): Promise<AppRow[]> {
  const { results } = await db
    .prepare("SELECT name, ws, created_at AS createdAt FROM apps WHERE ws = ? ORDER BY name")
    .bind(ws)
    .all<AppRow>();
  return results;
}

export async function appWorkspace(db: D1Database, app: string): Promise<string | null> {
  const row = await db
    .prepare("SELECT ws FROM apps WHERE name = ?")
    .bind(app)
    .first<{ ws: string }>();
  return row?.ws ?? null;
}

/**
 * Registers an app in a workspace. Refuses an app another workspace holds. The app owns the traces
 * that start from `now` on: executions indexed before, or recorded before, stay where they are
 * (unassigned ones stay visible to nobody), so a name claimed later never reveals earlier traces.
 *
 * @example
 * ```ts
 * await registerApp(env.DB, "acme", "shop-api", Date.now()); // "created" | "exists" | "taken"
 * ```
 */
export async function registerApp(
  db: D1Database,
  ws: string,
  app: string,
  now: number,
): Promise<"created" | "exists" | "taken"> {
  const owner = await appWorkspace(db, app);
  if (owner === ws) return "exists";
  if (owner) return "taken";
  const inserted = await db
    .prepare(
      "INSERT OR IGNORE INTO apps (name, ws, created_at, bound_from) VALUES (?1, ?2, ?3, ?3)",
    )
    .bind(app, ws, now)
    .run();
  if (!inserted.meta.changes) return (await appWorkspace(db, app)) === ws ? "exists" : "taken";
  return "created";
}

/** A new ingest token for an app, returned once. */
export async function createIngestToken(db: D1Database, app: string, now: number): Promise<string> {
  const token = newToken(INGEST_TOKEN_PREFIX);
  await db
    .prepare("INSERT INTO ingest_tokens (hash, prefix, app, created_at) VALUES (?, ?, ?, ?)")
    .bind(await hashToken(token), tokenLabel(token), app, now)
    .run();
  return token;
}

/** An ingest token's app and that app's workspace: the workspace its traces are bound to. */
export interface IngestTokenOwner {
  app: string;
  ws: string;
  /** The token's SHA-256 (hex): the key of its rate counter. */
  hash: string;
  /** False once revoked: the owner is known, the token refused. */
  live: boolean;
}

/**
 * The app and workspace an ingest token is (or, revoked, was) for; null for an unknown token.
 *
 * @example
 * ```ts
 * const owner = await ingestTokenOwner(env.DB, "fxi_..."); // { app: "shop-api", ws: "acme", live: true, … }
 * ```
 */
export async function ingestTokenOwner(
  db: D1Database,
  token: string,
): Promise<IngestTokenOwner | null> {
  if (!token.startsWith(INGEST_TOKEN_PREFIX) || token.length > 128) return null;
  const hash = await hashToken(token);
  const row = await db
    .prepare(
      `SELECT t.app, a.ws, t.revoked_at AS revokedAt FROM ingest_tokens t JOIN apps a ON a.name = t.app
       WHERE t.hash = ?`,
    )
    .bind(hash)
    .first<{ app: string; ws: string; revokedAt: number | null }>();
  return row ? { app: row.app, ws: row.ws, hash, live: row.revokedAt === null } : null;
}

export async function ingestTokensOf(
  db: D1Database,
  ws: string,
): Promise<{ prefix: string; app: string; createdAt: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT t.prefix, t.app, t.created_at AS createdAt FROM ingest_tokens t JOIN apps a ON a.name = t.app
       WHERE a.ws = ? AND t.revoked_at IS NULL ORDER BY t.created_at DESC`,
    )
    .bind(ws)
    .all<{ prefix: string; app: string; createdAt: number }>();
  return results;
}
