/**
 * The dashboard's audit log: every sensitive action, allowed or denied, with who, what, when and
 * why denied. Details hold names and ids only (action, trace id, field names, token id); never
 * tokens, payloads or keys.
 * @module
 */

export const AUDIT_ACTIONS = [
  "token.issued",
  "token.denied",
  "role.changed",
  "member.added",
  "member.removed",
  "agent.changed",
  "pairing.requested",
  "pairing.succeeded",
  "pairing.refused",
  "pairing.revoked",
  "app.registered",
  "ingest_token.created",
  "api_token.created",
  "api_token.revoked",
  "guard.saved",
  "guard.denied",
  "issue.state",
  "reindex",
  "ingest.denied",
  "policy.proposed",
  "policy.approved",
  "policy.rejected",
  "policy.denied",
  "policy.signed",
  "approval.requested",
  "approval.granted",
  "approval.denied",
  "approval.refused",
  "approval.used",
  "approval.settings",
  "sourcemap.uploaded",
  "sourcemap.denied",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditEntry {
  ws: string | null;
  actor: string;
  action: AuditAction;
  target?: string | null;
  allowed: boolean;
  reason?: string | null;
  detail?: Record<string, string | number | boolean | string[] | null>;
}

export interface AuditRow {
  id: number;
  ws: string | null;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  allowed: boolean;
  reason: string | null;
  detail: Record<string, unknown>;
}

/** Appends one entry. */
export async function audit(db: D1Database, entry: AuditEntry, now: number): Promise<void> {
  await db
    .prepare(
      "INSERT INTO audit (ws, at, actor, action, target, allowed, reason, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(
      entry.ws,
      now,
      entry.actor,
      entry.action,
      entry.target ?? null,
      entry.allowed ? 1 : 0,
      entry.reason ?? null,
      entry.detail ? JSON.stringify(entry.detail) : null,
    )
    .run();
}

/** The newest entries of a workspace, newest first; `before` pages by id. */
export async function auditOf(
  db: D1Database,
  ws: string,
  options: { limit?: number; before?: number } = {},
): Promise<AuditRow[]> {
  const limit = Math.min(options.limit ?? 100, 1000);
  const { results } = await db
    .prepare(
      `SELECT id, ws, at, actor, action, target, allowed, reason, detail FROM audit
       WHERE ws = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    )
    .bind(ws, options.before ?? Number.MAX_SAFE_INTEGER, limit)
    .all<Omit<AuditRow, "allowed" | "detail"> & { allowed: number; detail: string | null }>();
  return results.map((r) => ({
    ...r,
    allowed: r.allowed === 1,
    detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : {},
  }));
}

/** The newest 1000 entries of a workspace as NDJSON (oldest last), details inlined. */
export async function auditExport(db: D1Database, ws: string): Promise<string> {
  const lines = (await auditOf(db, ws, { limit: 1000 })).map((r) =>
    JSON.stringify({
      at: new Date(r.at).toISOString(),
      actor: r.actor,
      action: r.action,
      target: r.target,
      allowed: r.allowed,
      reason: r.reason,
      ...r.detail,
    }),
  );
  return lines.join("\n") + (lines.length ? "\n" : "");
}
