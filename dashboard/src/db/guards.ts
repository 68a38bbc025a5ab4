/**
 * Regression guards: the expected outcome (status, body digest, header names or error) and the
 * boundary sequence of a repaired replay, plus the report itself (digests only, no payloads).
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { ReplayReport } from "fluxrun/contract";

/** A digest as the report writes them (`sha256:` and 16 hex digits), a masked value, or null. */
const DIGEST = /^(sha256:[0-9a-f]{16}|null|\[masked[^\]]*\])$/;

function digestOf(value: unknown): string {
  if (typeof value === "string" && DIGEST.test(value)) return value;
  if (value === null || value === undefined) return "null";
  const json = JSON.stringify(value) ?? String(value);
  return `sha256:${bytesToHex(sha256(utf8ToBytes(json))).slice(0, 16)}`;
}

/**
 * The report as the dashboard stores it: each divergence's `diff` keeps its paths, its values
 * become digests (a report built with values never reaches D1 with them).
 *
 * @example
 * ```ts
 * withoutDiffValues(report).divergences[0]?.diff; // [{ path: "body.id", expected: "sha256:…", actual: "sha256:…" }]
 * ```
 */
export function withoutDiffValues(report: ReplayReport): ReplayReport {
  return {
    ...report,
    divergences: report.divergences.map((d) =>
      d.diff
        ? {
            ...d,
            diff: d.diff.map((e) => ({
              path: e.path,
              expected: digestOf(e.expected),
              actual: digestOf(e.actual),
            })),
          }
        : d,
    ),
  };
}

export interface GuardRow {
  id: string;
  ws: string;
  app: string;
  traceId: string;
  route: string;
  method: string;
  status: number | null;
  bodyDigest: string | null;
  errorName: string | null;
  headers: string[];
  boundaries: string[];
  createdBy: string;
  createdAt: number;
}

/** True when the replay ended in a non-5xx response without a thrown error. */
export function isRepaired(report: Pick<ReplayReport, "replayed">): boolean {
  const r = report.replayed;
  return !r.error && r.status !== null && r.status < 500;
}

/** Stores (or replaces) the guard for a trace. */
export async function saveGuard(
  db: D1Database,
  guard: Omit<GuardRow, "createdAt"> & { report: ReplayReport },
  now: number,
): Promise<void> {
  await db
    .prepare(
      `INSERT INTO guards (id, ws, app, trace_id, route, method, status, body_digest, error_name, headers, boundaries, report, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (ws, trace_id) DO UPDATE SET status = excluded.status, body_digest = excluded.body_digest,
         error_name = excluded.error_name, headers = excluded.headers, boundaries = excluded.boundaries,
         report = excluded.report, created_by = excluded.created_by, created_at = excluded.created_at`,
    )
    .bind(
      guard.id,
      guard.ws,
      guard.app,
      guard.traceId,
      guard.route,
      guard.method,
      guard.status,
      guard.bodyDigest,
      guard.errorName,
      JSON.stringify(guard.headers),
      JSON.stringify(guard.boundaries),
      JSON.stringify(withoutDiffValues(guard.report)),
      guard.createdBy,
      now,
    )
    .run();
}

type Raw = Omit<GuardRow, "headers" | "boundaries"> & { headers: string; boundaries: string };
const COLS = `id, ws, app, trace_id AS traceId, route, method, status, body_digest AS bodyDigest,
  error_name AS errorName, headers, boundaries, created_by AS createdBy, created_at AS createdAt`;
const fromRaw = (r: Raw): GuardRow => ({
  ...r,
  headers: JSON.parse(r.headers) as string[],
  boundaries: JSON.parse(r.boundaries) as string[],
});

export async function guardsOf(db: D1Database, ws: string): Promise<GuardRow[]> {
  const { results } = await db
    .prepare(`SELECT ${COLS} FROM guards WHERE ws = ? ORDER BY created_at DESC LIMIT 500`)
    .bind(ws)
    .all<Raw>();
  return results.map(fromRaw);
}

export async function guardFor(
  db: D1Database,
  ws: string,
  traceId: string,
): Promise<(GuardRow & { report: ReplayReport }) | null> {
  const row = await db
    .prepare(`SELECT ${COLS}, report FROM guards WHERE ws = ? AND trace_id = ?`)
    .bind(ws, traceId)
    .first<Raw & { report: string }>();
  return row ? { ...fromRaw(row), report: JSON.parse(row.report) as ReplayReport } : null;
}

/**
 * The commands that write a guard as a local test: fetch the sealed trace (a responder's API
 * token; the bytes stay sealed), then `fluxrun guard` next to the worker's wrangler.toml.
 */
export function guardCommand(traceId: string, origin = "<dashboard>", ws = "<workspace>"): string {
  return [
    `curl -sf -H "Authorization: Bearer $FLUX_DASHBOARD_TOKEN" ${origin}/w/${ws}/executions/${traceId}/trace.cbor -o ${traceId}.cbor`,
    `npx fluxrun guard ${traceId}.cbor --out test/guards`,
  ].join("\n");
}
