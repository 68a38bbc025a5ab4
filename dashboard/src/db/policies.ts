/**
 * Each app's replay policy versions (migration 0009): proposals, and their review. The current
 * policy of an app is its highest approved version. A proposal records the approved version it
 * was written against; approving it once another version was approved since is refused as stale,
 * and of two reviews of one proposal exactly one takes effect (conditional updates).
 * @module
 */
import { policyDigest, type ReplayPolicy } from "fluxrun/contract";

export const POLICY_STATES = ["proposed", "approved", "rejected"] as const;
export type PolicyState = (typeof POLICY_STATES)[number];

export interface PolicyVersion {
  app: string;
  ws: string;
  version: number;
  policy: ReplayPolicy;
  digest: string;
  state: PolicyState;
  /** The approved version the proposal was written against (null: there was none). */
  base: number | null;
  note: string | null;
  proposedBy: string;
  proposedAt: number;
  reviewedBy: string | null;
  reviewedAt: number | null;
  reviewNote: string | null;
}

interface Row {
  app: string;
  ws: string;
  version: number;
  policy: string;
  digest: string;
  state: PolicyState;
  base: number | null;
  note: string | null;
  proposed_by: string;
  proposed_at: number;
  reviewed_by: string | null;
  reviewed_at: number | null;
  review_note: string | null;
}

const COLUMNS =
  "app, ws, version, policy, digest, state, base, note, proposed_by, proposed_at, reviewed_by, reviewed_at, review_note";

function fromRow(r: Row): PolicyVersion {
  return {
    app: r.app,
    ws: r.ws,
    version: r.version,
    policy: JSON.parse(r.policy) as ReplayPolicy,
    digest: r.digest,
    state: r.state,
    base: r.base,
    note: r.note,
    proposedBy: r.proposed_by,
    proposedAt: r.proposed_at,
    reviewedBy: r.reviewed_by,
    reviewedAt: r.reviewed_at,
    reviewNote: r.review_note,
  };
}

/**
 * Every version of an app's policy, newest first.
 *
 * @example
 * ```ts
 * (await policyHistory(env.DB, "acme", "shop-api")).map((v) => `v${v.version} ${v.state}`);
 * ```
 */
export async function policyHistory(
  db: D1Database,
  ws: string,
  app: string,
): Promise<PolicyVersion[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM app_policies WHERE ws = ? AND app = ? ORDER BY version DESC`)
    .bind(ws, app)
    .all<Row>();
  return results.map(fromRow);
}

/**
 * One version, or null.
 *
 * @example
 * ```ts
 * const v3 = await policyVersion(env.DB, "acme", "shop-api", 3);
 * ```
 */
export async function policyVersion(
  db: D1Database,
  ws: string,
  app: string,
  version: number,
): Promise<PolicyVersion | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM app_policies WHERE ws = ? AND app = ? AND version = ?`)
    .bind(ws, app, version)
    .first<Row>();
  return row ? fromRow(row) : null;
}

/**
 * The app's current policy: its highest approved version, or null when none was approved.
 *
 * @example
 * ```ts
 * const current = await approvedPolicy(env.DB, "acme", "shop-api"); // null: replays deny-all
 * ```
 */
export async function approvedPolicy(
  db: D1Database,
  ws: string,
  app: string,
): Promise<PolicyVersion | null> {
  const row = await db
    .prepare(
      `SELECT ${COLUMNS} FROM app_policies WHERE ws = ? AND app = ? AND state = 'approved' ORDER BY version DESC LIMIT 1`,
    )
    .bind(ws, app)
    .first<Row>();
  return row ? fromRow(row) : null;
}

/**
 * Per app of a workspace: the approved version (or null) and how many proposals wait.
 *
 * @example
 * ```ts
 * (await policySummary(env.DB, "acme")).get("shop-api"); // { approved: 2, pending: 1 }
 * ```
 */
export async function policySummary(
  db: D1Database,
  ws: string,
): Promise<Map<string, { approved: number | null; pending: number }>> {
  const { results } = await db
    .prepare(
      `SELECT app, MAX(CASE WHEN state = 'approved' THEN version END) AS approved,
              SUM(CASE WHEN state = 'proposed' THEN 1 ELSE 0 END) AS pending
       FROM app_policies WHERE ws = ? GROUP BY app`,
    )
    .bind(ws)
    .all<{ app: string; approved: number | null; pending: number }>();
  return new Map(results.map((r) => [r.app, { approved: r.approved, pending: r.pending }]));
}

/**
 * Stores a proposal as the app's next version, written against the current approved version.
 *
 * @example
 * ```ts
 * const v = await proposePolicy(env.DB, { ws, app, policy, note, by: "dev@acme.com" }, Date.now());
 * ```
 */
export async function proposePolicy(
  db: D1Database,
  proposal: { ws: string; app: string; policy: ReplayPolicy; note: string | null; by: string },
  now: number,
): Promise<PolicyVersion> {
  const { ws, app, policy } = proposal;
  const row = await db
    .prepare(
      `INSERT INTO app_policies (app, ws, version, policy, digest, state, base, note, proposed_by, proposed_at)
       VALUES (?1, ?2,
         (SELECT COALESCE(MAX(version), 0) + 1 FROM app_policies WHERE app = ?1),
         ?3, ?4, 'proposed',
         (SELECT MAX(version) FROM app_policies WHERE app = ?1 AND state = 'approved'),
         ?5, ?6, ?7)
       RETURNING ${COLUMNS}`,
    )
    .bind(app, ws, JSON.stringify(policy), policyDigest(policy), proposal.note, proposal.by, now)
    .first<Row>();
  return fromRow(row!);
}

/** What a review did: applied, or why not. */
export type ReviewOutcome = "done" | "not_pending" | "stale";

/**
 * Approves or rejects a pending proposal. Approval holds only while the proposal's base is still
 * the approved version; both hold only while the proposal is pending, so of two racing reviews
 * exactly one applies.
 *
 * @example
 * ```ts
 * await reviewPolicy(env.DB, { ws, app, version: 3, decision: "approved", by: email, note: null }, Date.now()); // "done" | "not_pending" | "stale"
 * ```
 */
export async function reviewPolicy(
  db: D1Database,
  review: {
    ws: string;
    app: string;
    version: number;
    decision: "approved" | "rejected";
    by: string;
    note: string | null;
  },
  now: number,
): Promise<ReviewOutcome> {
  const { ws, app, version, decision } = review;
  const stillCurrent =
    decision === "approved"
      ? `AND COALESCE(base, 0) = (SELECT COALESCE(MAX(version), 0) FROM app_policies WHERE app = ?1 AND state = 'approved')`
      : "";
  const result = await db
    .prepare(
      `UPDATE app_policies SET state = ?4, reviewed_by = ?5, reviewed_at = ?6, review_note = ?7
       WHERE app = ?1 AND ws = ?2 AND version = ?3 AND state = 'proposed' ${stillCurrent}`,
    )
    .bind(app, ws, version, decision, review.by, now, review.note)
    .run();
  if (result.meta.changes === 1) return "done";
  const row = await policyVersion(db, ws, app, version);
  return row?.state === "proposed" ? "stale" : "not_pending";
}
