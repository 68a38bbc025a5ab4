/**
 * The executions index: rows from trace summaries, the filtered list with keyset pagination on
 * (start DESC, trace_id DESC), capped counts, and single-execution lookups scoped by workspace.
 * @module
 */
import { z } from "zod";
import type { TraceSummary } from "fluxrun/trace";

export const OUTCOMES = ["ok", "error", "exception"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ExecutionRow {
  traceId: string;
  app: string;
  ws: string | null;
  route: string;
  method: string;
  status: number;
  statusClass: number;
  outcome: Outcome;
  start: number;
  durationMs: number;
  events: number;
  hosts: string;
  errorClass: string | null;
  truncated: boolean;
  runtime: string;
  version: string;
  r2Key: string;
}

const intString = z
  .string()
  .regex(/^-?\d{1,16}$/)
  .transform(Number);

/** R2 custom metadata as written by the runtime's `summaryMetadata`. */
export const SummaryMetadata = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  app: z.string().min(1).max(128),
  route: z.string().max(1024),
  method: z.string().min(1).max(32),
  status: intString,
  outcome: z.enum(OUTCOMES),
  start: intString,
  durationMs: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .transform(Number),
  events: intString,
  hosts: z.string().max(2048).optional(),
  errorClass: z.string().max(256).optional(),
  truncated: z.string().optional(),
  runtime: z.string().max(64).optional(),
  version: z.string().max(16).optional(),
});

/** A row from R2 custom metadata, or null when the metadata is not a FluxRun summary. */
export function rowFromMetadata(
  meta: Record<string, string> | undefined,
  r2Key: string,
): ExecutionRow | null {
  const parsed = SummaryMetadata.safeParse(meta ?? {});
  if (!parsed.success) return null;
  const m = parsed.data;
  return {
    traceId: m.traceId,
    app: m.app,
    ws: null,
    route: m.route,
    method: m.method,
    status: m.status,
    statusClass: Math.floor(m.status / 100),
    outcome: m.outcome,
    start: m.start,
    durationMs: m.durationMs,
    events: m.events,
    hosts: m.hosts ?? "",
    errorClass: m.errorClass ?? null,
    truncated: m.truncated === "1" || m.truncated === "true",
    runtime: m.runtime ?? "",
    version: m.version ?? "",
    r2Key,
  };
}

/** A row from a trace head's summary (objects without metadata, HTTP ingest). */
export function rowFromSummary(s: TraceSummary, r2Key: string, version: string): ExecutionRow {
  return {
    traceId: s.traceId,
    app: s.app,
    ws: null,
    route: s.route.slice(0, 1024),
    method: s.method,
    status: s.status,
    statusClass: Math.floor(s.status / 100),
    outcome: s.outcome,
    start: s.start,
    durationMs: s.durationMs,
    events: Object.values(s.eventCounts).reduce((a, b) => a + b, 0),
    hosts: [...new Set(s.fetches.map((f) => f.host))].join(",").slice(0, 2048),
    errorClass: s.errorClass ?? null,
    truncated: s.truncated,
    runtime: s.runtime,
    version,
    r2Key,
  };
}

/**
 * `INSERT OR IGNORE` for one row: idempotent by trace id. `ws` comes from the apps table; `batch`
 * marks the rows this statement batch inserted (see rollupStatements).
 */
export function insertStatement(
  db: D1Database,
  r: ExecutionRow,
  options: { now: number; batch: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO executions (trace_id, app, ws, route, method, status, status_class, outcome,
         start, duration_ms, events, hosts, error_class, truncated, runtime, version, r2_key, indexed_at, batch)
       VALUES (?1, ?2, (SELECT ws FROM apps WHERE name = ?2), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)`,
    )
    .bind(
      r.traceId,
      r.app,
      r.route,
      r.method,
      r.status,
      r.statusClass,
      r.outcome,
      r.start,
      r.durationMs,
      r.events,
      r.hosts,
      r.errorClass,
      r.truncated ? 1 : 0,
      r.runtime,
      r.version,
      r.r2Key,
      options.now,
      options.batch,
    );
}

const COLUMNS = `trace_id AS traceId, app, ws, route, method, status, status_class AS statusClass,
  outcome, start, duration_ms AS durationMs, events, hosts, error_class AS errorClass, truncated,
  runtime, version, r2_key AS r2Key`;

type RawRow = Omit<ExecutionRow, "truncated"> & { truncated: number };
const fromRaw = (r: RawRow): ExecutionRow => ({ ...r, truncated: r.truncated === 1 });

export interface ListFilter {
  /** Always set: the workspace the caller is a member of. */
  ws: string;
  app?: string | undefined;
  route?: string | undefined;
  /** 2..5 for 2xx..5xx. */
  statusClass?: number | undefined;
  outcome?: Outcome | undefined;
  errorClass?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
}

export interface Cursor {
  start: number;
  traceId: string;
}

export function encodeCursor(c: Cursor): string {
  return `${c.start.toString(36)}.${c.traceId}`;
}

export function decodeCursor(s: string | undefined | null): Cursor | null {
  const m = /^(-?[0-9a-z]{1,12})\.([0-9a-f]{32})$/.exec(s ?? "");
  if (!m) return null;
  const start = parseInt(m[1]!, 36);
  return Number.isSafeInteger(start) ? { start, traceId: m[2]! } : null;
}

function where(f: ListFilter): { sql: string; args: (string | number)[] } {
  const parts = ["ws = ?"];
  const args: (string | number)[] = [f.ws];
  if (f.app) (parts.push("app = ?"), args.push(f.app));
  if (f.route) (parts.push("route = ?"), args.push(f.route));
  if (f.statusClass) (parts.push("status_class = ?"), args.push(f.statusClass));
  if (f.outcome) (parts.push("outcome = ?"), args.push(f.outcome));
  if (f.errorClass) (parts.push("error_class = ?"), args.push(f.errorClass));
  if (f.from !== undefined) (parts.push("start >= ?"), args.push(f.from));
  if (f.to !== undefined) (parts.push("start < ?"), args.push(f.to));
  return { sql: parts.join(" AND "), args };
}

export interface Page {
  rows: ExecutionRow[];
  next: string | null;
}

/**
 * One page of executions, newest first. The cursor is the last row's (start, traceId); the row
 * value comparison lets SQLite seek in the (…, start DESC, trace_id DESC) indexes.
 */
export async function listExecutions(
  db: D1Database,
  filter: ListFilter,
  options: { cursor?: Cursor | null; limit?: number } = {},
): Promise<Page> {
  const limit = Math.min(Math.max(options.limit ?? 50, 1), 200);
  const w = where(filter);
  let sql = `SELECT ${COLUMNS} FROM executions WHERE ${w.sql}`;
  const args = [...w.args];
  if (options.cursor) {
    sql += " AND (start, trace_id) < (?, ?)";
    args.push(options.cursor.start, options.cursor.traceId);
  }
  sql += " ORDER BY start DESC, trace_id DESC LIMIT ?";
  args.push(limit + 1);
  const { results } = await db
    .prepare(sql)
    .bind(...args)
    .all<RawRow>();
  const rows = results.slice(0, limit).map(fromRaw);
  const last = rows[rows.length - 1];
  return {
    rows,
    next:
      results.length > limit && last
        ? encodeCursor({ start: last.start, traceId: last.traceId })
        : null,
  };
}

/** Matching rows, counted up to `cap` (past it the UI says "10,000+"). */
export async function countExecutions(
  db: D1Database,
  filter: ListFilter,
  cap = 10_000,
): Promise<{ count: number; capped: boolean }> {
  const w = where(filter);
  const row = await db
    .prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM executions WHERE ${w.sql} LIMIT ?)`)
    .bind(...w.args, cap + 1)
    .first<{ n: number }>();
  const n = row?.n ?? 0;
  return { count: Math.min(n, cap), capped: n > cap };
}

/** One execution, only if it belongs to `ws`. Any other case reads as not found. */
export async function getExecution(
  db: D1Database,
  ws: string,
  traceId: string,
): Promise<ExecutionRow | null> {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return null;
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM executions WHERE trace_id = ? AND ws = ?`)
    .bind(traceId, ws)
    .first<RawRow>();
  return row ? fromRaw(row) : null;
}

/** An execution by trace id alone (token issuance looks up its workspace, then checks membership). */
export async function findExecution(db: D1Database, traceId: string): Promise<ExecutionRow | null> {
  if (!/^[0-9a-f]{32}$/.test(traceId)) return null;
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM executions WHERE trace_id = ?`)
    .bind(traceId)
    .first<RawRow>();
  return row ? fromRaw(row) : null;
}

/** Error classes seen recently in some apps (for the filter's suggestions). */
export async function errorClassesOf(
  db: D1Database,
  ws: string,
  options: { app?: string | undefined; from: number },
): Promise<{ errorClass: string; n: number }[]> {
  const { results } = await db
    .prepare(
      `SELECT error_class AS errorClass, count(*) AS n FROM executions
       WHERE ws = ? ${options.app ? "AND app = ?" : ""} AND error_class IS NOT NULL AND start >= ?
       GROUP BY error_class ORDER BY n DESC LIMIT 20`,
    )
    .bind(...(options.app ? [ws, options.app, options.from] : [ws, options.from]))
    .all<{ errorClass: string; n: number }>();
  return results;
}

/** Indexed executions for a workspace (0 drives the "no traces yet" state). */
export async function hasExecutions(db: D1Database, ws: string): Promise<boolean> {
  const row = await db
    .prepare("SELECT 1 AS x FROM executions WHERE ws = ? LIMIT 1")
    .bind(ws)
    .first();
  return row !== null;
}
