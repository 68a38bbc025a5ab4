/**
 * Pairings of local connectors with a workspace (claim-code pairing, migration 0007): started
 * pending by a signed-in user, made active once by the connector's confirmation, revoked by an
 * admin. Neither the claim code nor anything derived from it is stored.
 * @module
 */

export type PairingState = "pending" | "active" | "failed" | "revoked";

export interface PairingRow {
  id: string;
  ws: string;
  userId: string;
  actor: string;
  agentOrigin: string;
  agentId: string;
  agentThumbprint: string;
  agentNonce: string;
  dashboardNonce: string;
  state: PairingState;
  createdAt: number;
  expiresAt: number;
  pairedAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
}

const COLUMNS = `id, ws, user_id AS userId, actor, agent_origin AS agentOrigin, agent_id AS agentId,
  agent_thumbprint AS agentThumbprint, agent_nonce AS agentNonce, dashboard_nonce AS dashboardNonce,
  state, created_at AS createdAt, expires_at AS expiresAt, paired_at AS pairedAt,
  last_used_at AS lastUsedAt, revoked_at AS revokedAt, revoked_by AS revokedBy`;

/**
 * Records a pairing a user started.
 *
 * @example
 * ```ts
 * await createPairing(env.DB, { id, ws, userId, actor, agentOrigin, agentId, agentKey, agentThumbprint, agentNonce, dashboardNonce, createdAt, expiresAt });
 * ```
 */
export async function createPairing(
  db: D1Database,
  p: Omit<PairingRow, "state" | "pairedAt" | "lastUsedAt" | "revokedAt" | "revokedBy"> & {
    agentKey: string;
  },
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO pairings (id, ws, user_id, actor, agent_origin, agent_id, agent_key, agent_thumbprint,
        agent_nonce, dashboard_nonce, state, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    )
    .bind(
      p.id,
      p.ws,
      p.userId,
      p.actor,
      p.agentOrigin,
      p.agentId,
      p.agentKey,
      p.agentThumbprint,
      p.agentNonce,
      p.dashboardNonce,
      p.createdAt,
      p.expiresAt,
    )
    .run();
}

export async function getPairing(db: D1Database, id: string): Promise<PairingRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM pairings WHERE id = ?`).bind(id).first<PairingRow>();
}

/** Pairings a user started since `since` (epoch ms): the per-user attempt limit counts them. */
export async function pairingAttemptsSince(
  db: D1Database,
  userId: string,
  since: number,
): Promise<number> {
  const row = await db
    .prepare("SELECT COUNT(*) AS n FROM pairings WHERE user_id = ? AND created_at >= ?")
    .bind(userId, since)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * Moves a pending, unexpired pairing to `to` (active or failed). True only for the one call that
 * did: a second confirmation, even a simultaneous one, finds it no longer pending.
 */
export async function settlePairing(
  db: D1Database,
  id: string,
  to: "active" | "failed",
  now: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE pairings SET state = ?, paired_at = CASE WHEN ? = 'active' THEN ? ELSE NULL END
       WHERE id = ? AND state = 'pending' AND expires_at >= ?`,
    )
    .bind(to, to, now, id, now)
    .run();
  return result.meta.changes === 1;
}

/** Revokes an active (or pending) pairing of `ws`; true when it was revoked by this call. */
export async function revokePairing(
  db: D1Database,
  ws: string,
  id: string,
  by: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE pairings SET state = 'revoked', revoked_at = ?, revoked_by = ?
       WHERE id = ? AND ws = ? AND state IN ('active', 'pending')`,
    )
    .bind(now, by, id, ws)
    .run();
  return result.meta.changes === 1;
}

/** The pairings of a workspace, newest first (the Admin → Agents list). */
export async function pairingsOf(db: D1Database, ws: string, limit = 100): Promise<PairingRow[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM pairings WHERE ws = ? ORDER BY created_at DESC LIMIT ?`)
    .bind(ws, limit)
    .all<PairingRow>();
  return results;
}

/**
 * Whether the dashboard may issue a token for agent `agentId` of `ws`: `"unpaired"` (a configured
 * agent, never paired), `"active"` (then its last use is recorded) or `"revoked"` (every pairing
 * of that agent in the workspace was revoked: no more tokens for it).
 *
 * @example
 * ```ts
 * if ((await pairingForToken(env.DB, ws, agent.id, now)) === "revoked") throw ...;
 * ```
 */
export async function pairingForToken(
  db: D1Database,
  ws: string,
  agentId: string,
  now: number,
): Promise<"unpaired" | "active" | "revoked"> {
  const { results } = await db
    .prepare(
      "SELECT id, state FROM pairings WHERE ws = ? AND agent_id = ? AND state IN ('active', 'revoked')",
    )
    .bind(ws, agentId)
    .all<{ id: string; state: PairingState }>();
  const active = results.filter((r) => r.state === "active");
  if (active.length) {
    await db
      .prepare(
        `UPDATE pairings SET last_used_at = ? WHERE id IN (${active.map(() => "?").join(",")})`,
      )
      .bind(now, ...active.map((r) => r.id))
      .run();
    return "active";
  }
  return results.length ? "revoked" : "unpaired";
}
