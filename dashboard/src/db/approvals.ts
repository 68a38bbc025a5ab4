/**
 * Approvals in D1: each workspace's mode per higher-risk action (its defaults from
 * `fluxrun/contract`), its re-confirmation window and production flag, and the approval requests
 * themselves. State changes are single conditional UPDATEs, so of two racing approvers or two
 * racing uses exactly one wins. Rows hold names and ids only (field paths, never values).
 * @module
 */
import {
  APPROVAL_MAX_LIFETIME_S,
  APPROVAL_MODES,
  DEFAULT_APPROVAL_MODES,
  RECONFIRM_MINUTES,
  RISKY_ACTIONS,
  type ApprovalMode,
  type ApprovalState,
  type ApprovalView,
  type RiskyAction,
} from "fluxrun/contract";

/** A pending request lapses this long after it was made (ms). */
export const PENDING_TTL_MS = APPROVAL_MAX_LIFETIME_S * 1000;
/** A granted approval expires this long after it was granted (ms). */
export const APPROVED_TTL_MS = APPROVAL_MAX_LIFETIME_S * 1000;

/** A workspace's approval policy. */
export interface ApprovalPolicy {
  modes: Record<RiskyAction, ApprovalMode>;
  reconfirmMinutes: number;
  /** The workspace's agent is a production agent: replays through it are risky. */
  agentProduction: boolean;
}

/** One approval request as stored. */
export interface Approval {
  id: string;
  ws: string;
  risk: RiskyAction;
  act: string;
  trace: string;
  app: string | null;
  fields: string[];
  requesterId: string;
  requester: string;
  approver: string | null;
  state: "pending" | "approved" | "denied" | "used";
  createdAt: number;
  decidedAt: number | null;
  expiresAt: number;
  usedAt: number | null;
}

interface Row {
  id: string;
  ws: string;
  risk: RiskyAction;
  act: string;
  trace: string;
  app: string | null;
  fields: string;
  requester_id: string;
  requester: string;
  approver: string | null;
  state: Approval["state"];
  created_at: number;
  decided_at: number | null;
  expires_at: number;
  used_at: number | null;
}

function fromRow(r: Row): Approval {
  return {
    id: r.id,
    ws: r.ws,
    risk: r.risk,
    act: r.act,
    trace: r.trace,
    app: r.app,
    fields: JSON.parse(r.fields) as string[],
    requesterId: r.requester_id,
    requester: r.requester,
    approver: r.approver,
    state: r.state,
    createdAt: r.created_at,
    decidedAt: r.decided_at,
    expiresAt: r.expires_at,
    usedAt: r.used_at,
  };
}

/**
 * True when `v` is a risky action name.
 *
 * @example
 * ```ts
 * isRisk("unlock_secret"); // true
 * ```
 */
export function isRisk(v: unknown): v is RiskyAction {
  return typeof v === "string" && (RISKY_ACTIONS as readonly string[]).includes(v);
}

/**
 * True when `v` is a mode name.
 *
 * @example
 * ```ts
 * isMode(form.mode_unlock_secret); // "allow" | "reconfirm" | "second_person" → true
 * ```
 */
export function isMode(v: unknown): v is ApprovalMode {
  return typeof v === "string" && (APPROVAL_MODES as readonly string[]).includes(v);
}

/**
 * The workspace's policy: its saved modes over the secure defaults.
 *
 * @example
 * ```ts
 * (await approvalPolicy(db, "acme")).modes.unlock_secret; // "second_person" unless changed
 * ```
 */
export async function approvalPolicy(db: D1Database, ws: string): Promise<ApprovalPolicy> {
  const [settings, policy] = await db.batch([
    db.prepare("SELECT risk, mode FROM approval_settings WHERE ws = ?").bind(ws),
    db
      .prepare("SELECT reconfirm_minutes, agent_production FROM approval_policy WHERE ws = ?")
      .bind(ws),
  ]);
  const modes = { ...DEFAULT_APPROVAL_MODES };
  for (const r of (settings?.results ?? []) as { risk: string; mode: string }[])
    if (isRisk(r.risk) && isMode(r.mode)) modes[r.risk] = r.mode;
  const p = (policy?.results ?? [])[0] as
    { reconfirm_minutes: number; agent_production: number } | undefined;
  return {
    modes,
    reconfirmMinutes: p?.reconfirm_minutes ?? RECONFIRM_MINUTES.default,
    agentProduction: p?.agent_production === 1,
  };
}

/**
 * Saves a workspace's policy (every mode, the window, the production flag).
 *
 * @example
 * ```ts
 * await savePolicy(db, "acme", policy, { now, by: "admin@acme.test" });
 * ```
 */
export async function savePolicy(
  db: D1Database,
  ws: string,
  policy: ApprovalPolicy,
  options: { now: number; by: string },
): Promise<void> {
  await db.batch([
    ...RISKY_ACTIONS.map((risk) =>
      db
        .prepare(
          `INSERT INTO approval_settings (ws, risk, mode, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (ws, risk) DO UPDATE SET mode = excluded.mode, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        )
        .bind(ws, risk, policy.modes[risk], options.now, options.by),
    ),
    db
      .prepare(
        `INSERT INTO approval_policy (ws, reconfirm_minutes, agent_production, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (ws) DO UPDATE SET reconfirm_minutes = excluded.reconfirm_minutes,
           agent_production = excluded.agent_production, updated_at = excluded.updated_at`,
      )
      .bind(ws, policy.reconfirmMinutes, policy.agentProduction ? 1 : 0, options.now),
  ]);
}

/**
 * A new pending request (its fields sorted), lapsing {@link PENDING_TTL_MS} after `now`.
 *
 * @example
 * ```ts
 * const a = await createApproval(db, { id, ws, risk, act, trace, app, fields, requesterId, requester }, now);
 * ```
 */
export async function createApproval(
  db: D1Database,
  a: Pick<
    Approval,
    "id" | "ws" | "risk" | "act" | "trace" | "app" | "requesterId" | "requester"
  > & {
    fields: readonly string[];
  },
  now: number,
): Promise<Approval> {
  const fields = [...a.fields].sort();
  await db
    .prepare(
      `INSERT INTO approvals (id, ws, risk, act, trace, app, fields, requester_id, requester, state, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    )
    .bind(
      a.id,
      a.ws,
      a.risk,
      a.act,
      a.trace,
      a.app,
      JSON.stringify(fields),
      a.requesterId,
      a.requester,
      now,
      now + PENDING_TTL_MS,
    )
    .run();
  return {
    ...a,
    fields,
    approver: null,
    state: "pending",
    createdAt: now,
    decidedAt: null,
    expiresAt: now + PENDING_TTL_MS,
    usedAt: null,
  };
}

/**
 * One request by id, or null.
 *
 * @example
 * ```ts
 * const a = await getApproval(db, c.req.param("id"));
 * ```
 */
export async function getApproval(db: D1Database, id: string): Promise<Approval | null> {
  const r = await db.prepare("SELECT * FROM approvals WHERE id = ?").bind(id).first<Row>();
  return r ? fromRow(r) : null;
}

/**
 * Approves or denies a pending, unexpired request; false when another decision or its expiry
 * came first.
 *
 * @example
 * ```ts
 * if (!(await decideApproval(db, id, { approve: true, by: "b@acme.test", now }))) …
 * ```
 */
export async function decideApproval(
  db: D1Database,
  id: string,
  options: { approve: boolean; by: string; now: number },
): Promise<boolean> {
  const r = await db
    .prepare(
      `UPDATE approvals SET state = ?, approver = ?, decided_at = ?, expires_at = ?
       WHERE id = ? AND state = 'pending' AND expires_at > ?`,
    )
    .bind(
      options.approve ? "approved" : "denied",
      options.by,
      options.now,
      options.approve ? options.now + APPROVED_TTL_MS : options.now,
      id,
      options.now,
    )
    .run();
  return (r.meta.changes ?? 0) === 1;
}

/**
 * Spends a granted, unexpired approval; false when it was used, denied or expired meanwhile.
 *
 * @example
 * ```ts
 * if (!(await useApproval(db, id, now))) throw new DashboardError("ERR_APPROVAL_USED", "…");
 * ```
 */
export async function useApproval(db: D1Database, id: string, now: number): Promise<boolean> {
  const r = await db
    .prepare(
      "UPDATE approvals SET state = 'used', used_at = ? WHERE id = ? AND state = 'approved' AND expires_at > ?",
    )
    .bind(now, id, now)
    .run();
  return (r.meta.changes ?? 0) === 1;
}

/**
 * The state a viewer sees: pending and approved requests past their expiry are `expired`.
 *
 * @example
 * ```ts
 * stateOf(a, now); // "expired" once now >= a.expiresAt, for a pending or approved request
 * ```
 */
export function stateOf(a: Approval, now: number): ApprovalState {
  if ((a.state === "pending" || a.state === "approved") && a.expiresAt <= now) return "expired";
  return a.state;
}

/**
 * The public view of a request (what `GET /api/approvals/:id` answers).
 *
 * @example
 * ```ts
 * return c.json(approvalView(a, clock.now()));
 * ```
 */
export function approvalView(a: Approval, now: number): ApprovalView {
  return {
    id: a.id,
    ws: a.ws,
    risk: a.risk,
    act: a.act,
    trace: a.trace,
    fields: a.fields,
    requester: a.requester,
    approver: a.approver,
    state: stateOf(a, now),
    expiresAt: a.expiresAt,
  };
}

/**
 * Pending, unexpired requests of a workspace, oldest first.
 *
 * @example
 * ```ts
 * const waiting = await pendingApprovals(db, "acme", now);
 * ```
 */
export async function pendingApprovals(
  db: D1Database,
  ws: string,
  now: number,
): Promise<Approval[]> {
  const { results } = await db
    .prepare(
      "SELECT * FROM approvals WHERE ws = ? AND state = 'pending' AND expires_at > ? ORDER BY created_at LIMIT 100",
    )
    .bind(ws, now)
    .all<Row>();
  return results.map(fromRow);
}

/**
 * How many requests of a workspace wait for a decision (the nav's count).
 *
 * @example
 * ```ts
 * await pendingCount(db, "acme", now); // 2
 * ```
 */
export async function pendingCount(db: D1Database, ws: string, now: number): Promise<number> {
  const r = await db
    .prepare(
      "SELECT count(*) AS n FROM approvals WHERE ws = ? AND state = 'pending' AND expires_at > ?",
    )
    .bind(ws, now)
    .first<{ n: number }>();
  return r?.n ?? 0;
}

/**
 * A user's requests in a workspace that are still live (pending, or approved and unused).
 *
 * @example
 * ```ts
 * const mine = await liveApprovalsOf(db, "acme", principal.userId, now);
 * ```
 */
export async function liveApprovalsOf(
  db: D1Database,
  ws: string,
  userId: string,
  now: number,
): Promise<Approval[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM approvals WHERE ws = ? AND requester_id = ? AND state IN ('pending', 'approved')
       AND expires_at > ? ORDER BY created_at DESC LIMIT 50`,
    )
    .bind(ws, userId, now)
    .all<Row>();
  return results.map(fromRow);
}

/** Approval rows are kept this long after they lapse (the audit log keeps the history). */
export const APPROVAL_RETENTION_MS = 30 * 86_400_000;

/**
 * Deletes requests that lapsed more than {@link APPROVAL_RETENTION_MS} ago (the cron does this).
 *
 * @example
 * ```ts
 * await pruneApprovals(env.DB, { now: Date.now() });
 * ```
 */
export async function pruneApprovals(db: D1Database, options: { now: number }): Promise<void> {
  await db
    .prepare("DELETE FROM approvals WHERE expires_at < ?")
    .bind(options.now - APPROVAL_RETENTION_MS)
    .run();
}

/**
 * The newest decided or spent requests of a workspace (for the approvals page).
 *
 * @example
 * ```ts
 * const recent = await recentApprovals(db, "acme", { limit: 20 });
 * ```
 */
export async function recentApprovals(
  db: D1Database,
  ws: string,
  options: { limit?: number } = {},
): Promise<Approval[]> {
  const { results } = await db
    .prepare(
      "SELECT * FROM approvals WHERE ws = ? AND state != 'pending' ORDER BY coalesce(decided_at, created_at) DESC LIMIT ?",
    )
    .bind(ws, Math.min(options.limit ?? 20, 100))
    .all<Row>();
  return results.map(fromRow);
}
