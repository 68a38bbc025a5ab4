/**
 * Users, memberships and personal API tokens.
 * @module
 */
import { API_TOKEN_PREFIX, hashToken, newToken, tokenLabel } from "../auth/secrets.js";
import { isRole, type Role } from "../auth/roles.js";

export interface User {
  id: string;
  email: string;
}

export interface Membership {
  id: string;
  name: string;
  role: Role;
}

/** The user an API token belongs to, if the token is known, live and unrevoked. */
export async function userByToken(
  db: D1Database,
  token: string,
  now: number,
): Promise<User | null> {
  if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 128) return null;
  const hash = await hashToken(token);
  const row = await db
    .prepare(
      `SELECT u.id, u.email, t.last_used_at AS used FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.hash = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)`,
    )
    .bind(hash, now)
    .first<{ id: string; email: string; used: number | null }>();
  if (!row) return null;
  if (row.used === null || row.used < now - 3_600_000) {
    await db.prepare("UPDATE api_tokens SET last_used_at = ? WHERE hash = ?").bind(now, hash).run();
  }
  return { id: row.id, email: row.email };
}

/** Finds a user by email, creating it when absent. */
export async function ensureUser(
  db: D1Database,
  email: string,
  deps: { now: number; id: () => string },
): Promise<User> {
  await db
    .prepare("INSERT OR IGNORE INTO users (id, email, created_at) VALUES (?, ?, ?)")
    .bind(deps.id(), email, deps.now)
    .run();
  const row = await db
    .prepare("SELECT id, email FROM users WHERE email = ?")
    .bind(email)
    .first<User>();
  if (!row) throw new Error("Could not create the user");
  return row;
}

/** Every workspace the user belongs to, with their role. */
export async function membershipsOf(db: D1Database, userId: string): Promise<Membership[]> {
  const { results } = await db
    .prepare(
      `SELECT w.id, w.name, m.role FROM members m JOIN workspaces w ON w.id = m.ws
       WHERE m.user_id = ? ORDER BY w.name`,
    )
    .bind(userId)
    .all<{ id: string; name: string; role: string }>();
  return results.filter((r): r is Membership => isRole(r.role));
}

/** The user's role in a workspace, or null when not a member. */
export async function roleIn(db: D1Database, ws: string, userId: string): Promise<Role | null> {
  const row = await db
    .prepare("SELECT role FROM members WHERE ws = ? AND user_id = ?")
    .bind(ws, userId)
    .first<{ role: string }>();
  return row && isRole(row.role) ? row.role : null;
}

export interface MemberRow {
  userId: string;
  email: string;
  role: Role;
  since: number;
}

export async function membersOf(db: D1Database, ws: string): Promise<MemberRow[]> {
  const { results } = await db
    .prepare(
      `SELECT u.id AS userId, u.email, m.role, m.created_at AS since FROM members m
       JOIN users u ON u.id = m.user_id WHERE m.ws = ? ORDER BY u.email`,
    )
    .bind(ws)
    .all<MemberRow>();
  return results;
}

/** Adds a member or changes their role. Returns the previous role (null: new member). */
export async function setMember(
  db: D1Database,
  ws: string,
  userId: string,
  role: Role,
  now: number,
): Promise<Role | null> {
  const before = await roleIn(db, ws, userId);
  await db
    .prepare(
      `INSERT INTO members (ws, user_id, role, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (ws, user_id) DO UPDATE SET role = excluded.role`,
    )
    .bind(ws, userId, role, now)
    .run();
  return before;
}

export async function removeMember(db: D1Database, ws: string, userId: string): Promise<boolean> {
  const r = await db
    .prepare("DELETE FROM members WHERE ws = ? AND user_id = ?")
    .bind(ws, userId)
    .run();
  return r.meta.changes > 0;
}

export async function countAdmins(db: D1Database, ws: string): Promise<number> {
  const row = await db
    .prepare("SELECT count(*) AS n FROM members WHERE ws = ? AND role = 'admin'")
    .bind(ws)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export async function userByEmail(db: D1Database, email: string): Promise<User | null> {
  return db.prepare("SELECT id, email FROM users WHERE email = ?").bind(email).first<User>();
}

export async function userById(db: D1Database, id: string): Promise<User | null> {
  return db.prepare("SELECT id, email FROM users WHERE id = ?").bind(id).first<User>();
}

/** Creates a personal API token and returns it once; only its hash is kept. */
export async function createApiToken(
  db: D1Database,
  userId: string,
  options: { name: string; now: number; expiresAt?: number | null; token?: string },
): Promise<string> {
  const token = options.token ?? newToken(API_TOKEN_PREFIX);
  await db
    .prepare(
      `INSERT OR IGNORE INTO api_tokens (hash, prefix, user_id, name, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      await hashToken(token),
      tokenLabel(token),
      userId,
      options.name,
      options.now,
      options.expiresAt ?? null,
    )
    .run();
  return token;
}

export interface ApiTokenRow {
  prefix: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export async function tokensOf(db: D1Database, userId: string): Promise<ApiTokenRow[]> {
  const { results } = await db
    .prepare(
      `SELECT prefix, name, created_at AS createdAt, last_used_at AS lastUsedAt, revoked_at AS revokedAt
       FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC`,
    )
    .bind(userId)
    .all<ApiTokenRow>();
  return results;
}

/** Revokes every token of a user (an admin removing a member uses the member's own page). */
export async function revokeTokens(
  db: D1Database,
  userId: string,
  options: { prefix?: string; now: number },
): Promise<number> {
  const r = options.prefix
    ? await db
        .prepare(
          "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND prefix = ? AND revoked_at IS NULL",
        )
        .bind(options.now, userId, options.prefix)
        .run()
    : await db
        .prepare("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(options.now, userId)
        .run();
  return r.meta.changes;
}
