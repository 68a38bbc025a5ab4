/**
 * The agent's HTTP contract: what the dashboard (and any script) sends and gets back. The
 * dashboard imports these types only, never the agent's code.
 * @module
 */
import type { ReplayReport, PreflightReport } from "fluxrun/replay";

/** Actions a dashboard token can authorize. `audit` exports the audit log. */
export type AgentAction = "unlock" | "replay" | "preflight" | "audit";

/** Claims of the dashboard-issued token (JWT, alg EdDSA, with kid). */
export interface AgentTokenClaims {
  iss: "fluxrun-dashboard";
  /** The agent id (FLUX_AGENT_ID). */
  aud: string;
  /** The user. */
  sub: string;
  /** Workspace. */
  ws: string;
  app: string;
  /** Trace id (from the trace summary); `*` for act `audit`. */
  trace: string;
  act: AgentAction;
  iat: number;
  /** At most 60 s after iat. */
  exp: number;
  jti: string;
  /** For act `unlock`: when present, the only field paths the token allows. */
  fields?: string[];
}

/** `POST /v1/unlock` body: name each field; there is no "everything". */
export interface UnlockRequest {
  trace: string;
  /** `<seq>.<path>`: `0.body`, `0.headers`, `6.result.body`, `6.request.headers.authorization`, `5`. */
  fields: string[];
}

export interface UnlockedField {
  path: string;
  value?: string;
  encoding?: "utf8" | "base64" | "json";
  /** The value holds masked entries shown as `[masked:…]` tokens (name them to reveal). */
  masked?: true;
  /** Nothing at that path. */
  missing?: true;
  /** Cut by the recorder's size budget; only size and digest exist. */
  truncated?: true;
}

export interface UnlockResponse {
  trace: string;
  fields: UnlockedField[];
}

/** `POST /v1/replay` and `POST /v1/preflight` body. */
export interface TraceRequest {
  trace: string;
}

export type ReplayResponse = ReplayReport;
export type PreflightResponse = PreflightReport;

/** `GET /v1/health`: diagnostics, never secrets. */
export interface HealthResponse {
  ok: boolean;
  agentId: string | null;
  versions: { agent: string; trace: number };
  /** The private trace key (FLUX_PRIVATE_KEY): loaded, its kid, whether it matches FLUX_PUBLIC_KEY. */
  key: { loaded: boolean; kid: string | null; matchesPublicKey: boolean | null; error?: string };
  /** The Ed25519 key replays are signed with (FLUX_AGENT_SIGNING_KEY). */
  signingKey: { loaded: boolean; error?: string };
  /** The dashboard's token keys (FLUX_DASHBOARD_JWKS). */
  issuer: { configured: boolean; kids: string[]; error?: string };
  bucket: { bound: boolean; reachable: boolean; error?: string };
  replayBinding: { bound: boolean };
  allowedOrigins: string[];
  /** What to fix, in words. Empty when ok. */
  problems: string[];
}

/** Every refusal: 401/403 for authorization, 404/422 for traces, 400 for bad requests. */
export interface AgentErrorBody {
  error: { code: AgentErrorCode; message: string };
}

export type AgentErrorCode =
  | "ERR_TOKEN_MISSING"
  | "ERR_TOKEN_MALFORMED"
  | "ERR_TOKEN_TOO_LARGE"
  | "ERR_TOKEN_ALGORITHM"
  | "ERR_TOKEN_SIGNATURE"
  | "ERR_TOKEN_EXPIRED"
  | "ERR_TOKEN_LIFETIME"
  | "ERR_TOKEN_ISSUER"
  | "ERR_TOKEN_AUDIENCE"
  | "ERR_TOKEN_ACTION"
  | "ERR_TOKEN_TRACE"
  | "ERR_TOKEN_REUSED"
  | "ERR_ORIGIN_NOT_ALLOWED"
  | "ERR_KEY_MISSING"
  | "ERR_ISSUER_NOT_CONFIGURED"
  | "ERR_TRACE_NOT_FOUND"
  | "ERR_TRACE_CORRUPT"
  | "ERR_TRACE_TRUNCATED"
  | "ERR_TRACE_LIMIT"
  | "ERR_TRACE_VERSION"
  | "ERR_TRACE_SCHEMA"
  | "ERR_TRACE_KEY"
  | "ERR_TRACE_TAMPERED"
  | "ERR_REPLAY_UNAVAILABLE"
  | "ERR_REPLAY_FAILED"
  | "ERR_BAD_REQUEST";
