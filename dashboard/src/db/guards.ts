/**
 * Regression guards: the expected outcome (status, body digest, header names or error) and the
 * boundary sequence of a repaired replay, plus the report itself (digests only, no payloads).
 * @module
 */
import { z } from "zod";

const Outcome = z.object({
  status: z.number().int().nullable(),
  headers: z.array(z.string().max(256)).max(200),
  body: z.string().max(256).nullable(),
  error: z.object({ name: z.string().max(256) }).nullable(),
});

/** The replay report as the agent returns it (`fluxrun replay --json`, fluxrun/replay's ReplayReport). */
export const ReplayReportSchema = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  app: z.string().max(128),
  route: z.string().max(1024),
  method: z.string().max(32),
  recordedAt: z.string().max(64),
  verdict: z.enum(["match", "diverged"]),
  recorded: Outcome,
  replayed: Outcome,
  divergences: z
    .array(
      z.object({
        code: z.string().max(64),
        seq: z.number().int().nullable(),
        kind: z.string().max(64),
        op: z.string().max(256),
        target: z.string().max(2048),
        message: z.string().max(2048),
        fields: z.array(z.string().max(64)).max(50).optional(),
        expected: z.unknown().optional(),
        actual: z.unknown().optional(),
        closest: z
          .object({ seq: z.number().int(), op: z.string(), target: z.string() })
          .nullable()
          .optional(),
      }),
    )
    .max(500),
  unconsumed: z
    .array(
      z.object({ seq: z.number().int(), kind: z.string(), op: z.string(), target: z.string() }),
    )
    .max(5000),
  served: z.number().int().nonnegative(),
  liveNetworkAttempts: z.number().int().nonnegative(),
  /** The effects served, in replay order (`kind op target`); absent from older agents. */
  boundaries: z.array(z.string().max(2400)).max(5000).optional(),
  liveAllowed: z
    .array(z.object({ op: z.string(), target: z.string() }))
    .max(500)
    .optional(),
});

/** The report as validated here (fluxrun/replay's ReplayReport, tolerant of older agents). */
export type StoredReport = z.infer<typeof ReplayReportSchema>;

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
export function isRepaired(report: Pick<StoredReport, "replayed">): boolean {
  const r = report.replayed;
  return !r.error && r.status !== null && r.status < 500;
}

/** Stores (or replaces) the guard for a trace. */
export async function saveGuard(
  db: D1Database,
  guard: Omit<GuardRow, "createdAt"> & { report: StoredReport },
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
      JSON.stringify(guard.report),
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
): Promise<(GuardRow & { report: StoredReport }) | null> {
  const row = await db
    .prepare(`SELECT ${COLS}, report FROM guards WHERE ws = ? AND trace_id = ?`)
    .bind(ws, traceId)
    .first<Raw & { report: string }>();
  return row ? { ...fromRaw(row), report: JSON.parse(row.report) as StoredReport } : null;
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
