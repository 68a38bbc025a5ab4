/**
 * The gate in front of every higher-risk action: the workspace's mode for it decides whether the
 * role is enough (`allow`), a recent sign-in is needed (`reconfirm`: a session started within the
 * workspace's window), or a second person's approval of this exact request (`second_person`: the
 * approval is bound to action, trace and fields, spent once, and expires). For actions the agent
 * performs, the gate's answer becomes an approval statement the dashboard signs (typ
 * `fluxrun-approval+jwt`) and the agent checks itself. Every use and refusal is audited.
 * @module
 */
import {
  APPROVAL_MAX_LIFETIME_S,
  APPROVAL_TYPE,
  ApprovalClaims,
  TOKEN_ALGORITHM,
  TOKEN_ISSUER,
  TOKEN_MAX_LIFETIME_S,
  type AgentAction,
  type ApprovalMode,
  type RiskyAction,
} from "fluxrun/contract";
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import { SignJWT } from "jose";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { approvalPolicy, getApproval, stateOf, useApproval } from "../db/approvals.js";
import type { SigningKey } from "./issuer.js";
import { hashToken } from "./secrets.js";
import { SESSION_COOKIE, SESSION_PREFIX } from "./sessions.js";

/** One risky action as asked: what, where, and the approval id when one was granted. */
export interface RiskRequest {
  ws: string;
  risk: RiskyAction;
  act: AgentAction;
  /** The trace, or `*` for workspace actions. */
  trace: string;
  app: string | null;
  fields: readonly string[];
  approval?: string | undefined;
}

/** What the gate let through: the mode, who approved, and the id the statement carries. */
export interface Cleared {
  mode: ApprovalMode;
  id: string;
  requester: string;
  approver: string;
  /** Epoch ms the clearance ends (an approval's expiry, or a token's lifetime). */
  until: number;
  /** `reconfirm`: when the session signed in (epoch ms). */
  signedInAt?: number;
}

/**
 * When the request's browser session signed in (epoch ms), or null for API tokens, Access-only
 * requests and ended sessions: only a dashboard sign-in counts as a re-confirmation.
 *
 * @example
 * ```ts
 * const t = await signedInAt(c, { now: clock.now() });
 * ```
 */
export async function signedInAt(
  c: Context<AppEnv>,
  options: { now: number },
): Promise<number | null> {
  if (c.get("principal")?.via !== "cookie") return null;
  const id = getCookie(c, SESSION_COOKIE, "host");
  if (!id || !id.startsWith(SESSION_PREFIX) || id.length > 128) return null;
  const row = await c.env.DB.prepare(
    "SELECT created_at FROM sessions WHERE hash = ? AND revoked_at IS NULL AND expires_at > ?",
  )
    .bind(await hashToken(id), options.now)
    .first<{ created_at: number }>();
  return row?.created_at ?? null;
}

/** The path of a URL header (the page to come back to after signing in), or null. */
function pathOf(url: string | undefined): string | null {
  try {
    return url ? new URL(url).pathname : null;
  } catch {
    return null;
  }
}

function sameFields(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((f, i) => f === y[i]);
}

/**
 * Clears one risky action or throws the specific refusal (`ERR_REAUTH_REQUIRED`,
 * `ERR_APPROVAL_REQUIRED`, `_PENDING`, `_DENIED`, `_EXPIRED`, `_USED`, `_MISMATCH`, `_SELF`).
 * A second person's approval is spent here.
 *
 * @example
 * ```ts
 * const cleared = await clearRisk(c, clock, { ws, risk: "unlock_secret", act: "unlock", trace, app, fields, approval });
 * ```
 */
export async function clearRisk(
  c: Context<AppEnv>,
  clock: Clock,
  req: RiskRequest,
): Promise<Cleared> {
  const p = c.get("principal");
  if (!p) throw new DashboardError("ERR_AUTH_REQUIRED", "Sign in to continue");
  const now = clock.now();
  const policy = await approvalPolicy(c.env.DB, req.ws);
  const mode = policy.modes[req.risk];
  const detail = { risk: req.risk, mode, act: req.act, fields: [...req.fields] };
  const refuse = async (reason: string, err: DashboardError): Promise<never> => {
    await c.var.audit("approval.refused", {
      ws: req.ws,
      target: req.trace,
      allowed: false,
      reason,
      detail: { ...detail, approval: req.approval ?? null, code: err.code },
    });
    throw err;
  };
  if (mode === "allow") {
    return { mode, id: clock.id(), requester: p.email, approver: p.email, until: now + 60_000 };
  }
  if (mode === "reconfirm") {
    const at = await signedInAt(c, { now });
    if (at === null || now - at > policy.reconfirmMinutes * 60_000) {
      const next = pathOf(c.req.header("referer"));
      return refuse(
        "sign-in too old",
        new DashboardError(
          "ERR_REAUTH_REQUIRED",
          `This needs a sign-in within the last ${policy.reconfirmMinutes} minutes`,
          {
            fix: `Sign in again (${next ? `/login?next=${encodeURIComponent(next)}` : "/login"}), then retry`,
          },
        ),
      );
    }
    return {
      mode,
      id: clock.id(),
      requester: p.email,
      approver: p.email,
      until: now + TOKEN_MAX_LIFETIME_S * 1000,
      signedInAt: at,
    };
  }
  if (!req.approval) {
    return refuse(
      "no approval",
      new DashboardError(
        "ERR_APPROVAL_REQUIRED",
        "This needs a second person's approval of this exact request",
        { fix: "Request approval; another responder or admin approves it on the Approvals page" },
      ),
    );
  }
  const a = await getApproval(c.env.DB, req.approval);
  if (
    !a ||
    a.ws !== req.ws ||
    a.requesterId !== p.userId ||
    a.risk !== req.risk ||
    a.act !== req.act ||
    a.trace !== req.trace ||
    !sameFields(a.fields, req.fields)
  ) {
    return refuse(
      "approval for another request",
      new DashboardError(
        "ERR_APPROVAL_MISMATCH",
        "That approval was granted for another action, trace, field set or requester",
        { fix: "Request approval for exactly what you are doing" },
      ),
    );
  }
  const state = stateOf(a, now);
  if (state === "pending")
    return refuse(
      "approval pending",
      new DashboardError("ERR_APPROVAL_PENDING", "The approval is still waiting for a decision"),
    );
  if (state === "denied")
    return refuse("approval denied", new DashboardError("ERR_APPROVAL_DENIED", "It was denied"));
  if (state === "expired")
    return refuse(
      "approval expired",
      new DashboardError("ERR_APPROVAL_EXPIRED", "The approval has expired", {
        fix: "Request a new approval",
      }),
    );
  if (state === "used")
    return refuse(
      "approval used",
      new DashboardError("ERR_APPROVAL_USED", "The approval was already used", {
        fix: "Each approval allows one action: request a new one",
      }),
    );
  if (!a.approver || a.approver.toLowerCase() === a.requester.toLowerCase())
    return refuse(
      "self-approved",
      new DashboardError("ERR_APPROVAL_SELF", "The requester cannot approve their own request"),
    );
  if (!(await useApproval(c.env.DB, a.id, now)))
    return refuse(
      "approval used",
      new DashboardError("ERR_APPROVAL_USED", "The approval was already used", {
        fix: "Each approval allows one action: request a new one",
      }),
    );
  await c.var.audit("approval.used", {
    ws: req.ws,
    target: req.trace,
    allowed: true,
    detail: { ...detail, approval: a.id, approver: a.approver },
  });
  return { mode, id: a.id, requester: a.requester, approver: a.approver, until: a.expiresAt };
}

/**
 * Signs the approval statement an agent token carries for a cleared risky action.
 *
 * @example
 * ```ts
 * const apr = await signApproval(key, cleared, { aud, ws, app, trace, act, risk, fields }, { now });
 * ```
 */
export async function signApproval(
  key: SigningKey,
  cleared: Cleared,
  bound: {
    aud: string;
    ws: string;
    app: string;
    trace: string;
    act: AgentAction;
    risk: RiskyAction;
    fields?: readonly string[] | undefined;
  },
  options: { now: number },
): Promise<string> {
  const iat = Math.floor(options.now / 1000);
  const exp = Math.min(Math.floor(cleared.until / 1000), iat + APPROVAL_MAX_LIFETIME_S);
  const claims = ApprovalClaims.parse({
    iss: TOKEN_ISSUER,
    aud: bound.aud,
    ws: bound.ws,
    app: bound.app,
    trace: bound.trace,
    act: bound.act,
    risk: bound.risk,
    mode: cleared.mode,
    ...(bound.fields ? { fields: [...bound.fields].sort() } : {}),
    req: cleared.requester,
    by: cleared.approver,
    ...(cleared.signedInAt !== undefined
      ? { auth_time: Math.floor(cleared.signedInAt / 1000) }
      : {}),
    iat,
    exp,
    jti: cleared.id,
  });
  return new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: APPROVAL_TYPE })
    .sign(key.key);
}
