/**
 * The approval contract: which actions are higher-risk, the modes a workspace admin picks for
 * each, the approval statement the dashboard signs (a compact JWS with its own `typ`) that an
 * agent token carries for a risky action, and which unlock fields are risky (env secrets, named
 * masked headers, fields the recorder marked sensitive). The dashboard and the agent both decide
 * "is this risky" with {@link riskyFields}, so neither side can disagree with the other.
 * @module
 */
import * as z from "zod/mini";
import { AGENT_ACTIONS, FieldPath, MAX_UNLOCK_FIELDS, TOKEN_ISSUER } from "./agent.js";
import { TRACE_ID } from "./storage.js";

/**
 * Higher-risk actions: revealing a secret (env value, masked header, sensitive field), replaying
 * through an agent marked production, exporting the audit log, changing agent settings.
 */
export const RISKY_ACTIONS = [
  "unlock_secret",
  "replay_production",
  "audit_export",
  "agent_settings",
] as const;
export type RiskyAction = (typeof RISKY_ACTIONS)[number];

/**
 * What a risky action needs: `allow` (the role is enough), `reconfirm` (a sign-in within the
 * workspace's window), `second_person` (another responder or admin approves this exact request).
 */
export const APPROVAL_MODES = ["allow", "reconfirm", "second_person"] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

/** Rank of a mode: an agent's floor (`FLUX_APPROVAL_MIN`) refuses statements below it. */
export const APPROVAL_MODE_RANK: Readonly<Record<ApprovalMode, number>> = {
  allow: 0,
  reconfirm: 1,
  second_person: 2,
};

/**
 * The defaults of a workspace that set nothing: a secret needs a second person, a production
 * replay a recent sign-in. Exporting the audit log and changing agent settings already need the
 * admin role, so they default to `allow`; an admin tightens them on the Approvals page.
 */
export const DEFAULT_APPROVAL_MODES: Readonly<Record<RiskyAction, ApprovalMode>> = {
  unlock_secret: "second_person",
  replay_production: "reconfirm",
  audit_export: "allow",
  agent_settings: "allow",
};

/** An approval lives this long at most after it is granted, in seconds. */
export const APPROVAL_MAX_LIFETIME_S = 600;
/** Re-confirmation window bounds (minutes since sign-in); the default. */
export const RECONFIRM_MINUTES = { min: 1, max: 60, default: 5 } as const;

/** `typ` of the approval statement's protected header (never accepted as an agent token). */
export const APPROVAL_TYPE = "fluxrun-approval+jwt";
/** Env var of the agent: the lowest mode it accepts for a risky action (default `reconfirm`). */
export const AGENT_APPROVAL_MIN_VAR = "FLUX_APPROVAL_MIN";
/** Env var of the agent: `true` marks it production (replays through it are risky). */
export const AGENT_PRODUCTION_VAR = "FLUX_AGENT_PRODUCTION";

const bounded = z.string().check(z.minLength(1), z.maxLength(256));

/**
 * Claims of an approval statement, signed by the dashboard's token key with header
 * `typ: fluxrun-approval+jwt`. Bound to one agent, workspace, app, trace, action and field set;
 * `jti` is the approval id, spent once by the agent.
 */
export const ApprovalClaims = z.object({
  iss: z.literal(TOKEN_ISSUER),
  aud: bounded,
  ws: bounded,
  app: bounded,
  trace: z.union([z.string().check(z.regex(TRACE_ID)), z.literal("*")]),
  act: z.enum(AGENT_ACTIONS),
  risk: z.enum(RISKY_ACTIONS),
  mode: z.enum(APPROVAL_MODES),
  /** The fields the approval covers (sorted), for act `unlock`. */
  fields: z.optional(z.array(FieldPath).check(z.maxLength(MAX_UNLOCK_FIELDS))),
  /** Who asked (the agent token's `sub` must be this user). */
  req: bounded,
  /** Who approved: another user for `second_person`; the requester for `reconfirm` and `allow`. */
  by: bounded,
  /** For `reconfirm`: when the requester last signed in (epoch seconds). */
  auth_time: z.optional(z.int()),
  iat: z.int(),
  /** At most {@link APPROVAL_MAX_LIFETIME_S} after iat. */
  exp: z.int(),
  jti: bounded,
});
export type ApprovalClaims = z.infer<typeof ApprovalClaims>;

/**
 * `POST /api/approvals` body: a trace action (`trace`, `act`, and the `fields` of an unlock), or
 * a workspace action (`ws` and `risk`: `audit_export` or `agent_settings`).
 */
export const ApprovalRequest = z.object({
  trace: z.optional(z.string().check(z.regex(TRACE_ID))),
  act: z.optional(z.enum(AGENT_ACTIONS)),
  fields: z.optional(z.array(FieldPath).check(z.minLength(1), z.maxLength(MAX_UNLOCK_FIELDS))),
  ws: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
  risk: z.optional(z.enum(RISKY_ACTIONS)),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** States of an approval request on the dashboard. */
export const APPROVAL_STATES = ["pending", "approved", "denied", "used", "expired"] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** `GET /api/approvals/:id`: what the requester's page polls. */
export const ApprovalView = z.object({
  id: z.string(),
  ws: z.string(),
  risk: z.enum(RISKY_ACTIONS),
  act: z.string(),
  trace: z.string(),
  fields: z.array(z.string()),
  requester: z.string(),
  approver: z.nullable(z.string()),
  state: z.enum(APPROVAL_STATES),
  /** Epoch ms: when a pending request lapses, or when a granted approval expires. */
  expiresAt: z.int(),
});
export type ApprovalView = z.infer<typeof ApprovalView>;

/** What {@link riskyFields} needs of a trace head (its clear part). */
export interface RiskHead {
  events: readonly { kind: string; op: string }[];
  masks: { headers: readonly string[]; fields: readonly string[] };
}

/**
 * The fields of an unlock that reveal a secret: an env value (`fluxENV`/env read), a header the
 * recorder masks named by its name (`3.request.headers.authorization`), or a field marked
 * sensitive named by its name.
 *
 * @example
 * ```ts
 * riskyFields(head, ["0.url", "4"]); // ["4"] when event 4 is an env read
 * ```
 */
export function riskyFields(head: RiskHead, paths: readonly string[]): string[] {
  const headers = new Set(head.masks.headers.map((h) => h.toLowerCase()));
  const sensitive = new Set(head.masks.fields.flatMap((f) => f.split(".").at(-1) ?? []));
  return paths.filter((path) => {
    const [seq, ...parts] = path.split(".");
    const event = head.events[Number(seq)];
    if (!event) return false;
    if (event.kind === "env" && event.op !== "shape") return true;
    const i = parts.indexOf("headers");
    if (i >= 0 && parts[i + 1] && headers.has(parts[i + 1]!.toLowerCase())) return true;
    return parts.slice(1).some((p) => sensitive.has(p));
  });
}
