/**
 * Writes index rows in D1 batches: apps first seen join the default workspace (with their history:
 * the operator chose that), rows are inserted idempotently by trace id and bound to a workspace
 * once, and the rollups and issues grow by exactly the rows each batch inserted.
 * @module
 */
import { insertStatement, type ExecutionRow } from "../db/executions.js";
import { rollupStatements } from "../db/rollups.js";
import { issueStatements } from "../db/issues.js";

/** Rows per D1 batch: keeps the rollup statements under D1's 100 bound parameters. */
export const CHUNK = 50;

/**
 * Indexes rows; returns the trace ids that were new (the others were indexed before).
 *
 * @example
 * ```ts
 * const fresh = await storeRows(env.DB, rows, { now: Date.now(), defaultWorkspace: "default" });
 * fresh.size; // rows newly indexed
 * ```
 */
export async function storeRows(
  db: D1Database,
  rows: readonly ExecutionRow[],
  options: {
    now: number;
    defaultWorkspace?: string | undefined;
    /** The workspace of the ingest token that delivered these rows (binds them, see insertStatement). */
    workspace?: string | undefined;
    id?: () => string;
  },
): Promise<Set<string>> {
  const id = options.id ?? (() => crypto.randomUUID());
  const inserted = new Set<string>();
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const batch = id();
    const statements: D1PreparedStatement[] = [];
    if (options.defaultWorkspace) {
      for (const app of new Set(chunk.map((r) => r.app))) {
        statements.push(
          db
            .prepare(
              "INSERT OR IGNORE INTO apps (name, ws, created_at, bound_from) SELECT ?, id, ?, 0 FROM workspaces WHERE id = ?",
            )
            .bind(app, options.now, options.defaultWorkspace),
        );
      }
    }
    const first = statements.length;
    for (const r of chunk)
      statements.push(
        insertStatement(db, r, { now: options.now, batch, workspace: options.workspace }),
      );
    const ids = chunk.map((r) => r.traceId);
    statements.push(...rollupStatements(db, batch, ids), ...issueStatements(db, batch, ids));
    const results = await db.batch(statements);
    chunk.forEach((r, j) => {
      if ((results[first + j]?.meta.changes ?? 0) > 0) inserted.add(r.traceId);
    });
  }
  return inserted;
}
