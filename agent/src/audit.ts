/**
 * The agent's audit log (D1): every attempt, allowed or denied, with who, what, when and why
 * denied. Field names, never values; a hash of the token id, never the token.
 * @module
 */
import { FIELD_PATH, MAX_UNLOCK_FIELDS } from "fluxrun/contract";

export interface AuditEntry {
  at: string;
  action: string;
  outcome: "allowed" | "denied";
  code: string | null;
  sub: string | null;
  ws: string | null;
  app: string | null;
  trace: string | null;
  fields: string[];
  origin: string | null;
  jti: string | null;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT,
  sub TEXT, ws TEXT, app TEXT, trace TEXT, fields TEXT NOT NULL, origin TEXT, jti TEXT)`;

let ready: Promise<unknown> | undefined;

function ensure(db: D1Database): Promise<unknown> {
  ready ??= db.prepare(SCHEMA).run();
  return ready;
}

/** Only well-formed field paths (the contract's) are logged: anything else is dropped. */
function scrubFields(fields: readonly string[]): string[] {
  return fields.filter((f) => FIELD_PATH.test(f)).slice(0, MAX_UNLOCK_FIELDS);
}

export async function audit(db: D1Database | undefined, entry: AuditEntry): Promise<void> {
  if (!db) return;
  await ensure(db);
  await db
    .prepare(
      "INSERT INTO audit (at, action, outcome, code, sub, ws, app, trace, fields, origin, jti) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(
      entry.at,
      entry.action,
      entry.outcome,
      entry.code,
      entry.sub,
      entry.ws,
      entry.app,
      entry.trace,
      JSON.stringify(scrubFields(entry.fields)),
      entry.origin,
      entry.jti,
    )
    .run();
}

/** The log as NDJSON, oldest first. */
export async function exportAudit(db: D1Database): Promise<string> {
  await ensure(db);
  const { results } = await db
    .prepare(
      "SELECT at, action, outcome, code, sub, ws, app, trace, fields, origin, jti FROM audit ORDER BY id",
    )
    .all<Record<string, string | null>>();
  return (
    results
      .map((r) => JSON.stringify({ ...r, fields: JSON.parse(r.fields ?? "[]") as string[] }))
      .join("\n") + (results.length ? "\n" : "")
  );
}
