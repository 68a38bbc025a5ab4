/**
 * Issues: failing executions grouped by fingerprint (app, method, route template, the error
 * class, or the status when a 5xx carries none, and the thrown error's top user frame when the
 * summary carries one: see {@link frameKey}). The indexer grows them in the same D1 batch as
 * its inserts, from the rows that batch inserted (re-indexing never double counts). States:
 * open, resolved (by a saved guard or by hand), ignored. A resolved issue reopens when a failing
 * execution that started after its resolution is indexed; an ignored one keeps counting, muted.
 * Executions without a top frame (recorded before the runtime wrote it) keep the fingerprint
 * they had without it, so the issues they formed stay theirs.
 * @module
 */

export const ISSUE_STATES = ["open", "resolved", "ignored"] as const;
export type IssueState = (typeof ISSUE_STATES)[number];

/** The fingerprint of an executions row, as SQL over its columns. */
const FINGERPRINT = `app || char(31) || method || char(31) || route || char(31) || coalesce(error_class, 'HTTP ' || status)
  || coalesce(char(31) || frame_key, '')`;
const FAILING = `outcome != 'ok'`;

export interface IssueRow {
  id: number;
  ws: string | null;
  app: string;
  method: string;
  route: string;
  error: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  lastTrace: string;
  state: IssueState;
  stateAt: number | null;
  stateBy: string | null;
  reopened: number;
  /** The latest execution's top user frame, when the fingerprint has one. */
  topFrame: string | null;
}

const COLS = `id, ws, app, method, route, error, count, first_seen AS firstSeen, last_seen AS lastSeen,
  last_trace AS lastTrace, state, state_at AS stateAt, state_by AS stateBy, reopened, top_frame AS topFrame`;

/**
 * The statement that adds the failing rows of `traceIds` that batch `batch` inserted to their
 * issues (creating, counting, reopening). Run in the same `db.batch` as the inserts.
 *
 * @example
 * ```ts
 * await db.batch([...inserts, ...rollupStatements(db, batch, ids), ...issueStatements(db, batch, ids)]);
 * ```
 */
export function issueStatements(
  db: D1Database,
  batch: string,
  traceIds: readonly string[],
): D1PreparedStatement[] {
  if (!traceIds.length) return [];
  const ids = traceIds.map(() => "?").join(",");
  return [
    db
      .prepare(
        `INSERT INTO issues (fingerprint, ws, app, method, route, error, count, first_seen, last_seen, last_trace,
           frame_key, top_frame)
         SELECT ${FINGERPRINT} AS fp, ws, app, method, route, coalesce(error_class, 'HTTP ' || status),
           count(*), min(start), max(start), trace_id, frame_key, top_frame
         FROM executions WHERE trace_id IN (${ids}) AND batch = ? AND ${FAILING}
         GROUP BY fp
         ON CONFLICT (fingerprint) DO UPDATE SET
           count = issues.count + excluded.count,
           top_frame = CASE WHEN excluded.last_seen >= issues.last_seen THEN excluded.top_frame ELSE issues.top_frame END,
           ws = coalesce(excluded.ws, issues.ws),
           first_seen = min(issues.first_seen, excluded.first_seen),
           last_seen = max(issues.last_seen, excluded.last_seen),
           last_trace = CASE WHEN excluded.last_seen >= issues.last_seen THEN excluded.last_trace ELSE issues.last_trace END,
           reopened = issues.reopened + (issues.state = 'resolved' AND excluded.last_seen > coalesce(issues.state_at, 0)),
           state_by = CASE WHEN issues.state = 'resolved' AND excluded.last_seen > coalesce(issues.state_at, 0) THEN 'a new execution' ELSE issues.state_by END,
           state_at = CASE WHEN issues.state = 'resolved' AND excluded.last_seen > coalesce(issues.state_at, 0) THEN excluded.last_seen ELSE issues.state_at END,
           state = CASE WHEN issues.state = 'resolved' AND excluded.last_seen > coalesce(issues.state_at, 0) THEN 'open' ELSE issues.state END`,
      )
      .bind(...traceIds, batch),
  ];
}

/** A workspace's issues in `states`, the most recently seen first. */
export async function issuesOf(
  db: D1Database,
  ws: string,
  options: { states?: readonly IssueState[]; limit?: number } = {},
): Promise<IssueRow[]> {
  const states = options.states ?? ISSUE_STATES;
  const { results } = await db
    .prepare(
      `SELECT ${COLS} FROM issues WHERE ws = ? AND state IN (${states.map(() => "?").join(",")})
       ORDER BY last_seen DESC LIMIT ?`,
    )
    .bind(ws, ...states, Math.min(Math.max(options.limit ?? 100, 1), 500))
    .all<IssueRow>();
  return results;
}

/** Open, resolved and ignored issues of a workspace, counted. */
export async function issueCounts(db: D1Database, ws: string): Promise<Record<IssueState, number>> {
  const { results } = await db
    .prepare("SELECT state, count(*) AS n FROM issues WHERE ws = ? GROUP BY state")
    .bind(ws)
    .all<{ state: IssueState; n: number }>();
  const out: Record<IssueState, number> = { open: 0, resolved: 0, ignored: 0 };
  for (const r of results) out[r.state] = r.n;
  return out;
}

/** One issue of a workspace. */
export async function getIssue(db: D1Database, ws: string, id: number): Promise<IssueRow | null> {
  return db.prepare(`SELECT ${COLS} FROM issues WHERE ws = ? AND id = ?`).bind(ws, id).first();
}

/** The issue an execution belongs to (null when it did not fail). */
export async function issueOfTrace(
  db: D1Database,
  ws: string,
  traceId: string,
): Promise<IssueRow | null> {
  return db
    .prepare(
      `SELECT ${COLS} FROM issues WHERE ws = ? AND fingerprint =
         (SELECT ${FINGERPRINT} FROM executions WHERE trace_id = ? AND ws = ? AND ${FAILING})`,
    )
    .bind(ws, traceId, ws)
    .first();
}

/** Sets an issue's state by hand (or by a guard); returns false when it is not in `ws`. */
export async function setIssueState(
  db: D1Database,
  ws: string,
  id: number,
  change: { state: IssueState; by: string; now: number },
): Promise<boolean> {
  const res = await db
    .prepare("UPDATE issues SET state = ?, state_at = ?, state_by = ? WHERE ws = ? AND id = ?")
    .bind(change.state, change.now, change.by, ws, id)
    .run();
  return (res.meta.changes ?? 0) > 0;
}

/** Hourly failing executions of each issue over the last `hours` (the rows' sparklines). */
export async function issueTrends(
  db: D1Database,
  ws: string,
  ids: readonly number[],
  options: { now: number; hours?: number },
): Promise<Map<number, number[]>> {
  const hours = options.hours ?? 24;
  const out = new Map<number, number[]>(ids.map((id) => [id, new Array<number>(hours).fill(0)]));
  if (!ids.length) return out;
  const from = options.now - hours * 3_600_000;
  const { results } = await db
    .prepare(
      `SELECT i.id AS id, CAST((e.start - ?) / 3600000 AS INTEGER) AS h, count(*) AS n
       FROM issues i JOIN executions e ON e.app = i.app AND e.route = i.route AND e.method = i.method
         AND coalesce(e.error_class, 'HTTP ' || e.status) = i.error AND e.${FAILING}
         AND coalesce(e.frame_key, '') = coalesce(i.frame_key, '')
       WHERE i.ws = ? AND i.id IN (${ids.map(() => "?").join(",")}) AND e.start >= ?
       GROUP BY i.id, h`,
    )
    .bind(from, ws, ...ids, from)
    .all<{ id: number; h: number; n: number }>();
  for (const r of results) {
    const row = out.get(r.id);
    if (row && r.h >= 0 && r.h < hours) row[r.h] = r.n;
  }
  return out;
}
