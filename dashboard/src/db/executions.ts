/**
 * The executions index: rows from trace summaries, the filtered list with keyset pagination on
 * (start DESC, trace_id DESC), capped counts, and single-execution lookups scoped by workspace.
 * @module
 */
import {
  indexedSummary,
  OUTCOMES,
  readSummaryMetadata,
  TRACE_ID,
  type IndexedSummary,
  type Outcome,
} from "fluxrun/contract";
import type { TraceHead } from "fluxrun/trace";
import { frameKey } from "./fingerprint.js";

export { OUTCOMES, type Outcome };

/** An index row: the storage contract's {@link IndexedSummary}, placed in a workspace and bucket. */
export interface ExecutionRow extends Omit<IndexedSummary, "errorClass"> {
  ws: string | null;
  statusClass: number;
  /** The trace's storage key. */
  r2Key: string;
  errorClass: string | null;
  /** Whether the app's signature on the trace was verified when it was indexed. */
  origin: "verified" | "unverified";
}

function rowOf(
  indexed: IndexedSummary,
  r2Key: string,
  origin: ExecutionRow["origin"] = "unverified",
): ExecutionRow {
  return {
    ...indexed,
    ws: null,
    statusClass: Math.floor(indexed.status / 100),
    errorClass: indexed.errorClass ?? null,
    r2Key,
    origin,
  };
}

/** A row from R2 custom metadata, or null when the metadata is not a FluxRun summary. */
export function rowFromMetadata(
  metadata: Record<string, string> | undefined,
  r2Key: string,
): ExecutionRow | null {
  const indexed = readSummaryMetadata(metadata);
  return indexed ? rowOf(indexed, r2Key) : null;
}

/** A row from a trace's clear head (objects without metadata, HTTP ingest, signed apps). */
export function rowFromHead(
  head: TraceHead,
  r2Key: string,
  origin: ExecutionRow["origin"] = "unverified",
): ExecutionRow {
  return rowOf(indexedSummary(head.summary, { version: head.version }), r2Key, origin);
}

/**
 * `INSERT OR IGNORE` for one row: idempotent by trace id. `batch` marks the rows this statement
 * batch inserted (see rollupStatements). The row's workspace is bound here, once: `workspace` (the
 * workspace of the ingest token that delivered the trace) when the app is still in it, else the
 * workspace of the app's registration if the trace started after it; otherwise none, for good.
 */
export function insertStatement(
  db: D1Database,
  r: ExecutionRow,
  options: { now: number; batch: string; workspace?: string | undefined },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO executions (trace_id, app, ws, route, method, status, status_class, outcome,
         start, duration_ms, events, hosts, error_class, truncated, runtime, version, r2_key, indexed_at, batch, origin,
         handler, entry, release, cf_ray, colo, top_frame, frame_key)
       VALUES (?1, ?2, CASE WHEN ?22 IS NULL
         THEN (SELECT ws FROM apps WHERE name = ?2 AND bound_from <= ?8)
         ELSE (SELECT ws FROM apps WHERE name = ?2 AND ws = ?22) END, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
         ?23, ?24, ?25, ?26, ?27)`,
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
      r.origin,
      r.handler && r.handler !== "fetch" ? r.handler : null,
      r.entry ?? null,
      options.workspace ?? null,
      r.release || null,
      r.cfRay || null,
      r.colo || null,
      r.topFrame || null,
      frameKey(r.topFrame),
    );
}

const COLUMNS = `trace_id AS traceId, app, ws, route, method, status, status_class AS statusClass,
  outcome, start, duration_ms AS durationMs, events, hosts, error_class AS errorClass, truncated,
  runtime, version, r2_key AS r2Key, origin, handler, entry, release, cf_ray AS cfRay, colo,
  top_frame AS topFrame`;

type Nullable<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: T[P] | null };
type RawRow = Nullable<
  Omit<ExecutionRow, "truncated"> & { truncated: number },
  "handler" | "entry" | "release" | "cfRay" | "colo" | "topFrame"
>;
const fromRaw = ({
  handler,
  entry,
  release,
  cfRay,
  colo,
  topFrame,
  ...r
}: RawRow): ExecutionRow => ({
  ...r,
  truncated: r.truncated === 1,
  ...(handler ? { handler } : {}),
  ...(entry ? { entry } : {}),
  ...(release ? { release } : {}),
  ...(cfRay ? { cfRay } : {}),
  ...(colo ? { colo } : {}),
  ...(topFrame ? { topFrame } : {}),
});

export interface ListFilter {
  /** Always set: the workspace the caller is a member of. */
  ws: string;
  app?: string | undefined;
  route?: string | undefined;
  /** 2..5 for 2xx..5xx. */
  statusClass?: number | undefined;
  outcome?: Outcome | undefined;
  /** Case-insensitive prefix of the error class. */
  errorClass?: string | undefined;
  /**
   * Free text over the clear summary: a trace id prefix, a status, a method, a substring of the
   * route or the error class, a cf-ray prefix, a colo or a release prefix (case-insensitive);
   * `release:`, `colo:` and `ray:` (or `cf-ray:`) terms filter on one of them (see
   * {@link searchTerms}).
   */
  q?: string | undefined;
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

/** A LIKE pattern matching `s` literally. */
function likeText(s: string): string {
  return s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/** A search split into its `release:`, `colo:` and `ray:` terms and the remaining free text. */
export interface SearchTerms {
  text: string;
  release?: string;
  colo?: string;
  ray?: string;
}

const TERM = /(?:^|\s)(release|colo|ray|cf-ray):(\S+)/gi;

/**
 * Splits a search: `release:v42 colo:SJC ray:8f1e… timeout` → the three terms and "timeout".
 *
 * @example
 * ```ts
 * searchTerms("colo:sjc TypeError"); // { text: "TypeError", colo: "SJC" }
 * ```
 */
export function searchTerms(q: string): SearchTerms {
  const out: SearchTerms = { text: "" };
  const text = q.replace(TERM, (_all, key: string, value: string) => {
    const k = key.toLowerCase();
    if (k === "release") out.release = value;
    else if (k === "colo") out.colo = value.toUpperCase();
    else out.ray = value.toLowerCase();
    return " ";
  });
  out.text = text.trim().replace(/\s+/g, " ");
  return out;
}

function where(f: ListFilter): { sql: string; args: (string | number)[] } {
  const parts = ["ws = ?"];
  const args: (string | number)[] = [f.ws];
  if (f.app) (parts.push("app = ?"), args.push(f.app));
  // A route prefix, as a range the (app, route) index can seek (a template matches itself).
  if (f.route) (parts.push("route >= ? AND route < ?"), args.push(f.route, `${f.route}\u{10ffff}`));
  if (f.statusClass) (parts.push("status_class = ?"), args.push(f.statusClass));
  if (f.outcome) (parts.push("outcome = ?"), args.push(f.outcome));
  if (f.errorClass) {
    parts.push("error_class LIKE ? ESCAPE '\\'");
    args.push(`${likeText(f.errorClass)}%`);
  }
  const terms = searchTerms(f.q ?? "");
  if (terms.release) {
    parts.push("release LIKE ? ESCAPE '\\'");
    args.push(`${likeText(terms.release)}%`);
  }
  if (terms.colo) (parts.push("colo = ?"), args.push(terms.colo));
  if (terms.ray) {
    parts.push("cf_ray LIKE ? ESCAPE '\\'");
    args.push(`${likeText(terms.ray)}%`);
  }
  const q = terms.text;
  if (q) {
    const text = `%${likeText(q)}%`;
    const prefix = `${likeText(q)}%`;
    const status = /^[1-5]\d\d$/.test(q) ? Number(q) : -1;
    parts.push(
      `(trace_id LIKE ? ESCAPE '\\' OR route LIKE ? ESCAPE '\\' OR error_class LIKE ? ESCAPE '\\' OR method = ? OR status = ?
        OR cf_ray LIKE ? ESCAPE '\\' OR colo = ? OR release LIKE ? ESCAPE '\\')`,
    );
    args.push(
      `${likeText(q.toLowerCase())}%`,
      text,
      text,
      q.toUpperCase(),
      status,
      prefix,
      q.toUpperCase(),
      prefix,
    );
  }
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
  if (!TRACE_ID.test(traceId)) return null;
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM executions WHERE trace_id = ? AND ws = ?`)
    .bind(traceId, ws)
    .first<RawRow>();
  return row ? fromRaw(row) : null;
}

/** An execution by trace id alone (token issuance looks up its workspace, then checks membership). */
export async function findExecution(db: D1Database, traceId: string): Promise<ExecutionRow | null> {
  if (!TRACE_ID.test(traceId)) return null;
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
