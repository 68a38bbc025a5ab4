/**
 * The agent contract: the tokens the dashboard signs for the agent, the agent's HTTP API
 * (`/v1/unlock`, `/v1/replay`, `/v1/preflight`, `/v1/audit`, `/v1/health`) with its request and
 * response bodies and error codes, and the signature the agent puts on each replay it sends the
 * app. The dashboard (issuer, browser code), the agent and the app's replay check import it.
 * @module
 */
import * as z from "zod/mini";
import { PreflightReport, ReplayReport, TraceOriginView } from "./report.js";
import { TRACE_ID } from "./storage.js";
import { POLICY_DIAGNOSTICS } from "./policy.js";
import { PAIRING_AGENT_ERRORS } from "./pairing.js";
import {
  AGENT_KEY_VAR,
  REPLAY_AUTH_AUDIENCE,
  REPLAY_AUTH_HEADER,
  REPLAY_AUTH_MAX_AGE_S,
  REPLAY_AUTH_TYPE,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_MAX_LENGTH,
} from "./_agent-constants.js";

export {
  AGENT_KEY_VAR,
  REPLAY_AUTH_AUDIENCE,
  REPLAY_AUTH_HEADER,
  REPLAY_AUTH_MAX_AGE_S,
  REPLAY_AUTH_TYPE,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_MAX_LENGTH,
};
const bounded = z.string().check(z.minLength(1), z.maxLength(256));
/** Characters of an approval statement at most (it rides inside a token of at most 4096). */
export const APPROVAL_MAX_LENGTH = 2560;

/** Actions a dashboard token can authorize. `audit` exports the agent's audit log. */
export const AGENT_ACTIONS = ["unlock", "replay", "preflight", "audit"] as const;
export type AgentAction = (typeof AGENT_ACTIONS)[number];

/** The actions bound to one trace (the others take the trace `*`). */
export const TRACE_ACTIONS = ["unlock", "replay", "preflight"] as const;
export type TraceAction = (typeof TRACE_ACTIONS)[number];

/** `iss` of every agent token. */
export const TOKEN_ISSUER = "fluxrun-dashboard";
/** The only signature algorithm; the header also names the key (`kid`). */
export const TOKEN_ALGORITHM = "EdDSA";
/** `exp - iat` at most, in seconds. */
export const TOKEN_MAX_LIFETIME_S = 60;
/** Fields one unlock may name. */
export const MAX_UNLOCK_FIELDS = 20;

/**
 * A payload field: `<seq>` (the whole payload of event `seq`) or `<seq>.<name>...`, such as
 * `0.body`, `6.result.body`, `6.request.headers.authorization`.
 */
export const FIELD_PATH = /^[0-9]{1,6}(\.[A-Za-z0-9_-]{1,64}){0,6}$/;
export const FieldPath = z.string().check(z.regex(FIELD_PATH));

const Fields = z.array(FieldPath).check(z.minLength(1), z.maxLength(MAX_UNLOCK_FIELDS));

/** Claims of a dashboard-issued agent token (a JWT). */
export const AgentTokenClaims = z.object({
  iss: z.literal(TOKEN_ISSUER),
  /** The agent id (the agent's FLUX_AGENT_ID). */
  aud: bounded,
  /** The user. */
  sub: bounded,
  /** Workspace. */
  ws: bounded,
  app: bounded,
  /** The trace; `*` for act `audit`. */
  trace: z.union([z.string().check(z.regex(TRACE_ID)), z.literal("*")]),
  act: z.enum(AGENT_ACTIONS),
  iat: z.int(),
  /** At most {@link TOKEN_MAX_LIFETIME_S} after iat. */
  exp: z.int(),
  jti: bounded,
  /** For act `unlock`: when present, the only fields the token allows. */
  fields: z.optional(Fields),
  /**
   * For a risky action (see `approval.ts`): the dashboard-signed approval statement (a compact
   * JWS, `typ` `fluxrun-approval+jwt`) the agent verifies and matches against this token.
   */
  apr: z.optional(z.string().check(z.minLength(1), z.maxLength(APPROVAL_MAX_LENGTH))),
});
export type AgentTokenClaims = z.infer<typeof AgentTokenClaims>;

/** `POST /v1/replay` and `POST /v1/preflight` body. */
export const TraceRequest = z.object({ trace: z.string().check(z.regex(TRACE_ID)) });
export type TraceRequest = z.infer<typeof TraceRequest>;

/** `POST /v1/unlock` body: name each field; there is no "everything". */
export const UnlockRequest = z.object({
  trace: z.string().check(z.regex(TRACE_ID)),
  fields: Fields,
});
export type UnlockRequest = z.infer<typeof UnlockRequest>;

export const UnlockedField = z.object({
  path: z.string(),
  value: z.optional(z.string()),
  encoding: z.optional(z.enum(["utf8", "base64", "json"])),
  /** The value holds masked entries shown as `[masked:…]` tokens (name them to reveal). */
  masked: z.optional(z.literal(true)),
  /** Nothing at that path. */
  missing: z.optional(z.literal(true)),
  /** Cut by the recorder's size budget; only size and digest exist. */
  truncated: z.optional(z.literal(true)),
});
export type UnlockedField = z.infer<typeof UnlockedField>;

export const UnlockResponse = z.object({
  trace: z.string(),
  fields: z.array(UnlockedField),
  /** Whether the app's signature vouches for the trace the values come from. */
  origin: z.optional(TraceOriginView),
});
export type UnlockResponse = z.infer<typeof UnlockResponse>;

export const ReplayResponse = ReplayReport;
export type ReplayResponse = ReplayReport;
export const PreflightResponse = PreflightReport;
export type PreflightResponse = PreflightReport;

const Problem = z.optional(z.string());

/** `GET /v1/health`: diagnostics, never secrets. */
export const HealthResponse = z.object({
  ok: z.boolean(),
  agentId: z.nullable(z.string()),
  versions: z.object({ agent: z.string(), trace: z.int() }),
  /** The private trace key (FLUX_PRIVATE_KEY): loaded, its kid, whether it matches FLUX_PUBLIC_KEY. */
  key: z.object({
    loaded: z.boolean(),
    kid: z.nullable(z.string()),
    matchesPublicKey: z.nullable(z.boolean()),
    error: Problem,
  }),
  /** The Ed25519 key replays are signed with (FLUX_AGENT_SIGNING_KEY). */
  signingKey: z.object({ loaded: z.boolean(), error: Problem }),
  /**
   * The workspaces (`ws`) or workspace apps (`ws/app`) this agent serves (FLUX_WORKSPACES): it
   * refuses tokens for any other. Optional: agents before this field do not send it.
   */
  workspaces: z.optional(z.array(z.string())),
  /** The dashboard's token keys (FLUX_DASHBOARD_JWKS). */
  issuer: z.object({ configured: z.boolean(), kids: z.array(z.string()), error: Problem }),
  bucket: z.object({ bound: z.boolean(), reachable: z.boolean(), error: Problem }),
  replayBinding: z.object({ bound: z.boolean() }),
  allowedOrigins: z.array(z.string()),
  /**
   * Approvals (see `approval.ts`): whether the agent is production (FLUX_AGENT_PRODUCTION) and the
   * lowest approval mode it accepts (FLUX_APPROVAL_MIN). Optional: older agents do not send it.
   */
  approvals: z.optional(z.object({ production: z.boolean(), floor: z.string() })),
  /** What to fix, in words. Empty when ok. */
  problems: z.array(z.string()),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

/** Every refusal of the agent, with its HTTP status. */
export const AGENT_ERRORS = {
  ERR_BAD_REQUEST: 400,
  ERR_TOKEN_MISSING: 401,
  ERR_TOKEN_MALFORMED: 401,
  ERR_TOKEN_TOO_LARGE: 401,
  ERR_TOKEN_ALGORITHM: 401,
  ERR_TOKEN_SIGNATURE: 401,
  ERR_TOKEN_EXPIRED: 401,
  ERR_TOKEN_LIFETIME: 401,
  ERR_TOKEN_ISSUER: 401,
  ERR_TOKEN_REUSED: 401,
  ERR_ISSUER_NOT_CONFIGURED: 401,
  ERR_TOKEN_AUDIENCE: 403,
  ERR_TOKEN_ACTION: 403,
  ERR_TOKEN_TRACE: 403,
  /** The token's workspace (or its app in it) is not one the agent serves (FLUX_WORKSPACES). */
  ERR_TOKEN_WORKSPACE: 403,
  ERR_ORIGIN_NOT_ALLOWED: 403,
  ERR_TRACE_NOT_FOUND: 404,
  ERR_TRACE_CORRUPT: 422,
  ERR_TRACE_TRUNCATED: 422,
  ERR_TRACE_LIMIT: 422,
  ERR_TRACE_VERSION: 422,
  ERR_TRACE_SCHEMA: 422,
  ERR_TRACE_KEY: 422,
  ERR_TRACE_TAMPERED: 422,
  ERR_TRACE_UNSIGNED: 422,
  ERR_TRACE_SIGNER: 422,
  ERR_TRACE_SIGNATURE: 422,
  ERR_TRACE_DUPLICATE: 409,
  ERR_INTERNAL: 500,
  ERR_REPLAY_FAILED: 502,
  ERR_KEY_MISSING: 503,
  ERR_JTI_UNAVAILABLE: 503,
  /** The agent has no FLUX_WORKSPACES: it serves no workspace, so it refuses every token. */
  ERR_WORKSPACES_NOT_CONFIGURED: 503,
  ERR_REPLAY_UNAVAILABLE: 503,
  ERR_ORIGIN_KEYS_INVALID: 503,
  /** A signed policy (typ fluxrun-policy+jwt) presented as a token. */
  ERR_TOKEN_TYPE: 401,
  /** Why a signed policy was ignored: never answered, reported and audited (see module:policy). */
  ...POLICY_DIAGNOSTICS,
  /** A risky action (secret unlock, production replay) without an approval statement. */
  ERR_APPROVAL_REQUIRED: 403,
  /** The approval statement is malformed, of another type, or not signed by the dashboard. */
  ERR_APPROVAL_INVALID: 403,
  ERR_APPROVAL_EXPIRED: 403,
  /** The approval id was already spent at this agent. */
  ERR_APPROVAL_REUSED: 403,
  /** The approval names another action, trace, field set, workspace, app, agent or requester. */
  ERR_APPROVAL_MISMATCH: 403,
  /** A second-person approval whose approver is the requester. */
  ERR_APPROVAL_SELF: 403,
  /** The approval's mode is below the agent's floor (FLUX_APPROVAL_MIN). */
  ERR_APPROVAL_MODE: 403,
  ...PAIRING_AGENT_ERRORS,
} as const;
export type AgentErrorCode = keyof typeof AGENT_ERRORS;
export const AGENT_ERROR_CODES = Object.keys(AGENT_ERRORS) as AgentErrorCode[];

/** The body of every refusal. */
export const AgentErrorBody = z.object({
  error: z.object({ code: z.enum(AGENT_ERROR_CODES), message: z.string() }),
});
export type AgentErrorBody = z.infer<typeof AgentErrorBody>;

/**
 * Env var of the agent listing what it serves, comma-separated: `ws` (every app of workspace
 * `ws`) or `ws/app` (that app only). The agent checks each token's `ws` and `app` against it: a
 * dashboard that mis-assigned a trace still cannot make this agent open it for another workspace.
 */
export const AGENT_WORKSPACES_VAR = "FLUX_WORKSPACES";

/** Claims of a replay authorization (a JWT the agent signs over one envelope). */
export const ReplayAuthClaims = z.object({
  aud: z.literal(REPLAY_AUTH_AUDIENCE),
  trace: z.string().check(z.regex(TRACE_ID)),
  /** Hex SHA-256 of the envelope bytes. */
  digest: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  iat: z.int(),
  exp: z.int(),
  jti: bounded,
});
export type ReplayAuthClaims = z.infer<typeof ReplayAuthClaims>;
