/**
 * What went wrong, as the page shows it: a state (kind, code, title, detail, fix) for every
 * refusal of the dashboard, every error code of the agent contract, and network failures told
 * apart as CORS or unreachable. Imports from `fluxrun/contract` are types only: the page script
 * carries no schema code.
 * @module
 */
import type { AgentErrorBody, AgentErrorCode, PAIRING_AGENT_ERRORS } from "fluxrun/contract";
import type { DashboardErrorCode } from "../src/errors.js";
import { el } from "./dom.js";

export type StateKind = "info" | "warn" | "bad" | "good";

export class FluxState {
  constructor(
    readonly kind: StateKind,
    readonly code: string,
    readonly title: string,
    readonly detail: string,
    readonly fix: string,
  ) {}
}

/** Renders a state into `box`, replacing what it held; `retry` adds a Retry button. */
export function showState(box: HTMLElement, s: FluxState, retry?: () => void): void {
  const again = retry
    ? el("button", { type: "button", cls: "sec", "data-retry": s.code, text: "Retry" })
    : null;
  again?.addEventListener("click", () => {
    box.replaceChildren();
    retry?.();
  });
  box.replaceChildren(
    el("div", { cls: `state ${s.kind}`, "data-code": s.code }, [
      el("h2", { text: s.title }),
      s.detail ? el("p", { text: s.detail }) : null,
      s.fix ? el("p", {}, [el("b", { text: "Fix: " }), s.fix]) : null,
      again,
      el("p", { cls: "small muted", text: `code ${s.code}` }),
    ]),
  );
}

/** How long a call to the agent or the dashboard may take when the page sets no other bound. */
export const DEFAULT_TIMEOUT_MS = 15_000;

/** The agent accepted the connection but sent nothing back in time (paused, overloaded, hung). */
export function notAnswering(origin: string, timeoutMs: number): FluxState {
  return new FluxState(
    "bad",
    "AGENT_TIMEOUT",
    "The agent is not answering",
    `No answer from ${origin} within ${Math.round(timeoutMs / 1000)} s.`,
    "Check that the agent process is running and not paused or overloaded (its logs, or Diagnostics → Check agent), then retry.",
  );
}

/** Any error as a state (a FluxState passes through). */
export function asState(err: unknown): FluxState {
  if (err instanceof FluxState) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FluxState(
    "bad",
    "CLIENT_ERROR",
    "Something failed in the page",
    message,
    "Reload and retry.",
  );
}

const ORIGIN = location.origin;
const JWKS = `${ORIGIN}/.well-known/jwks.json`;

/** What the page knows when it explains an agent refusal. */
export interface AgentContext {
  /** The agent id the dashboard issues tokens for. */
  agentId: string | null;
  /** How long the call may take before the page shows "not answering". */
  timeoutMs?: number;
}

type Explained = [kind: StateKind, title: string, fix: (ctx: AgentContext) => string];

const TOKEN_REFUSED: Explained = [
  "bad",
  "The agent refused the dashboard's token",
  () => `Make the agent trust this dashboard: FLUX_DASHBOARD_JWKS must hold the keys at ${JWKS}.`,
];
const TRACE_UNREADABLE: Explained = [
  "bad",
  "The agent could not open this trace",
  () =>
    "The stored object is damaged or was changed after sealing; it cannot be unlocked or replayed.",
];

const FORGED: Explained = [
  "bad",
  "The agent refused this trace: the app did not sign it",
  () =>
    "The stored object was not written by the app (forged, or changed after signing). Do not trust its contents; check who can write to the trace bucket.",
];

const POLICY_IGNORED: Explained = [
  "warn",
  "The agent ignored the app's signed replay policy",
  () =>
    `The replay ran deny-all. Make the agent trust this dashboard: FLUX_DASHBOARD_JWKS must hold the keys at ${JWKS}.`,
];

const NEW_CODE: Explained = [
  "warn",
  "The claim code can no longer pair",
  () => "Start `fluxrun agent --pair` on your machine for a fresh code and enter it here.",
];

/** The local connector's pairing refusals (the `PAIRING_AGENT_ERRORS` of the contract). */
const PAIRING_STATES: Record<keyof typeof PAIRING_AGENT_ERRORS, Explained> = {
  ERR_PAIR_NO_CODE: NEW_CODE,
  ERR_PAIR_CODE_EXPIRED: NEW_CODE,
  ERR_PAIR_CODE_USED: NEW_CODE,
  ERR_PAIR_RACED: [
    "warn",
    "Another browser paired with this code first",
    () =>
      "A claim code pairs once. If that was not you, run `fluxrun agent unpair <id>` and pair again.",
  ],
  ERR_PAIR_CODE_WRONG: [
    "warn",
    "Wrong claim code",
    () => "Check the code the agent printed (XXXX-XXXX); a few wrong tries burn it.",
  ],
  ERR_PAIR_CODE_BURNT: NEW_CODE,
  ERR_PAIR_OFFER: [
    "bad",
    "The local agent refused the dashboard's offer",
    () => "Reload this page and retry; if it persists, the dashboard and agent versions differ.",
  ],
  ERR_PAIRING_UNAVAILABLE: [
    "bad",
    "This agent does not pair by claim code",
    () => "Only the local connector (`fluxrun agent`) pairs; a deployed agent is configured.",
  ],
  ERR_NOT_PAIRED: [
    "bad",
    "The local agent is not paired",
    () => "Pair it: run `fluxrun agent --pair` and enter its code under Pair a local agent.",
  ],
  ERR_PAIRING_REVOKED: [
    "bad",
    "The local agent's pairing with this workspace was revoked",
    () => "Pair it again: run `fluxrun agent --pair` and enter its code under Pair a local agent.",
  ],
};

/** One entry per error code of the agent contract: the compiler keeps this table complete. */
const AGENT_STATES: Record<AgentErrorCode, Explained> = {
  ERR_BAD_REQUEST: [
    "bad",
    "The agent refused the request",
    () => "Reload the page and retry; if it persists, the dashboard and agent versions differ.",
  ],
  ERR_TOKEN_MISSING: TOKEN_REFUSED,
  ERR_TOKEN_MALFORMED: TOKEN_REFUSED,
  ERR_TOKEN_TOO_LARGE: TOKEN_REFUSED,
  ERR_TOKEN_ALGORITHM: TOKEN_REFUSED,
  ERR_TOKEN_SIGNATURE: TOKEN_REFUSED,
  ERR_TOKEN_ISSUER: TOKEN_REFUSED,
  ERR_TOKEN_EXPIRED: [
    "warn",
    "The token expired before the agent checked it",
    () =>
      "Tokens live for seconds, not minutes. Check that the clocks of the dashboard and the agent agree, then try again.",
  ],
  ERR_TOKEN_LIFETIME: [
    "bad",
    "The agent refused a token that lives too long",
    () => "The dashboard and agent disagree on the token lifetime: check both versions.",
  ],
  ERR_TOKEN_REUSED: [
    "warn",
    "The agent refused a token that was already used",
    () => "Every token is single use. Click again: the dashboard issues a fresh one.",
  ],
  ERR_ISSUER_NOT_CONFIGURED: [
    "bad",
    "The agent has no dashboard public key",
    () => `Set the agent's FLUX_DASHBOARD_JWKS to the JSON at ${JWKS}.`,
  ],
  ERR_TOKEN_AUDIENCE: [
    "bad",
    "The token was issued for another agent",
    (ctx) =>
      `Admin → Agent: set the agent id to this agent's FLUX_AGENT_ID (the dashboard used ${ctx.agentId ?? "none"}).`,
  ],
  ERR_TOKEN_ACTION: [
    "bad",
    "The token does not cover this action",
    () =>
      "Reload the page and retry; if it persists the dashboard and agent disagree on the token contract (check both versions).",
  ],
  ERR_TOKEN_TRACE: [
    "bad",
    "The token was issued for another trace",
    () => "Reload the page and retry.",
  ],
  ERR_TOKEN_WORKSPACE: [
    "bad",
    "The agent does not serve this workspace",
    () =>
      "This workspace's traces belong to another agent, or the agent's FLUX_WORKSPACES does not list this workspace: an admin sets this workspace's own agent in Admin → Agent.",
  ],
  ERR_ORIGIN_NOT_ALLOWED: [
    "bad",
    "The agent refuses this dashboard's origin",
    () =>
      `Add ${ORIGIN} to the agent's FLUX_ALLOWED_ORIGINS (comma-separated) and restart or redeploy it.`,
  ],
  ERR_TRACE_NOT_FOUND: [
    "bad",
    "The agent cannot find this trace",
    () =>
      "Check that the agent's FLUX_TRACES is bound to the bucket the app records into (fluxrun-traces).",
  ],
  ERR_TRACE_CORRUPT: TRACE_UNREADABLE,
  ERR_TRACE_TRUNCATED: TRACE_UNREADABLE,
  ERR_TRACE_LIMIT: TRACE_UNREADABLE,
  ERR_TRACE_SCHEMA: TRACE_UNREADABLE,
  ERR_TRACE_TAMPERED: TRACE_UNREADABLE,
  ERR_TRACE_UNSIGNED: FORGED,
  ERR_TRACE_SIGNER: FORGED,
  ERR_TRACE_SIGNATURE: FORGED,
  ERR_TRACE_DUPLICATE: [
    "bad",
    "Two stored objects claim this trace id",
    () =>
      "The agent cannot tell which is real: register the app's verification key (.fluxrun/signing-public.jwk) in the agent's FLUX_ORIGIN_KEYS, then retry.",
  ],
  ERR_TOKEN_TYPE: TOKEN_REFUSED,
  // Never answered as refusals: the agent replays deny-all and reports them in the report.
  ERR_POLICY_MALFORMED: POLICY_IGNORED,
  ERR_POLICY_TYPE: POLICY_IGNORED,
  ERR_POLICY_SIGNATURE: POLICY_IGNORED,
  ERR_POLICY_SCHEMA: POLICY_IGNORED,
  ERR_POLICY_APP: POLICY_IGNORED,
  ERR_POLICY_WORKSPACE: POLICY_IGNORED,
  ERR_POLICY_DIGEST: POLICY_IGNORED,
  ERR_POLICY_EXPIRED: POLICY_IGNORED,
  ...PAIRING_STATES,
  ERR_ORIGIN_KEYS_INVALID: [
    "bad",
    "The agent's trace verification keys are misconfigured",
    () =>
      'Set the agent\'s FLUX_ORIGIN_KEYS to JSON: {"<app>": <public Ed25519 JWK from .fluxrun/signing-public.jwk>}.',
  ],
  ERR_TRACE_VERSION: [
    "bad",
    "Version mismatch: the agent cannot read this trace's format",
    () =>
      "Upgrade the agent to a fluxrun release that reads this trace's format version, then retry.",
  ],
  ERR_TRACE_KEY: [
    "bad",
    "The agent's key does not open this trace",
    () =>
      "The trace was sealed to another public key: give the agent the private key matching the recording worker's FLUX_PUBLIC_KEY.",
  ],
  ERR_KEY_MISSING: [
    "bad",
    "The agent has no private key",
    () =>
      "Run wrangler secret put FLUX_PRIVATE_KEY with the JWK from npx fluxrun keygen (or start fluxrun agent with --key).",
  ],
  ERR_JTI_UNAVAILABLE: [
    "bad",
    "The agent cannot enforce single-use tokens",
    () => "Bind the FLUX_JTI Durable Object in the agent's wrangler.toml and redeploy it.",
  ],
  ERR_WORKSPACES_NOT_CONFIGURED: [
    "bad",
    "The agent serves no workspace",
    () =>
      "Set the agent's FLUX_WORKSPACES to this dashboard workspace's id (or ws/app), comma-separated, and redeploy it.",
  ],
  ERR_REPLAY_UNAVAILABLE: [
    "bad",
    "The agent cannot replay",
    () => "Bind the recorded app to the agent as the APP service binding.",
  ],
  ERR_REPLAY_FAILED: [
    "bad",
    "Replay failed",
    () => "See the message; the agent never falls back to live calls.",
  ],
  ERR_APPROVAL_REQUIRED: [
    "warn",
    "The agent needs an approval for this",
    () =>
      "The agent treats this as a risky action (a secret, or a production replay). An admin marks the agent production, or sets what the action needs, on the Approvals page.",
  ],
  ERR_APPROVAL_INVALID: TOKEN_REFUSED,
  ERR_APPROVAL_EXPIRED: [
    "warn",
    "The approval expired before the agent checked it",
    () => "Request a new approval.",
  ],
  ERR_APPROVAL_REUSED: [
    "warn",
    "The agent refused an approval that was already used",
    () => "Each approval allows one action: request a new one.",
  ],
  ERR_APPROVAL_MISMATCH: [
    "bad",
    "The approval does not match this request",
    () => "Request approval for exactly this action, trace and fields.",
  ],
  ERR_APPROVAL_SELF: [
    "bad",
    "The agent refused a self-approved request",
    () => "Another responder or admin must approve it.",
  ],
  ERR_APPROVAL_MODE: [
    "warn",
    "The agent needs a stronger approval than this workspace asks for",
    () =>
      "The agent's FLUX_APPROVAL_MIN is above this workspace's setting: an admin raises the setting on the Approvals page.",
  ],
  ERR_INTERNAL: [
    "bad",
    "The agent failed",
    () => "Open Diagnostics → Check agent for its health report, and the agent's logs.",
  ],
};

function isAgentCode(code: unknown): code is AgentErrorCode {
  return typeof code === "string" && Object.hasOwn(AGENT_STATES, code);
}

/** The state for an agent's refusal (`{ error: { code, message } }`, the agent contract). */
export function fromAgent(status: number, body: unknown, ctx: AgentContext): FluxState {
  const error = (body as Partial<AgentErrorBody> | null)?.error;
  const message = typeof error?.message === "string" ? error.message : "";
  if (isAgentCode(error?.code)) {
    const [kind, title, fix] = AGENT_STATES[error.code];
    return new FluxState(kind, error.code, title, message, fix(ctx));
  }
  if (status === 429)
    return new FluxState(
      "warn",
      `HTTP_${status}`,
      "The agent is rate limiting",
      message,
      "Wait a moment and retry.",
    );
  return new FluxState(
    "bad",
    `HTTP_${status}`,
    `The agent answered ${status}`,
    message || "No error body.",
    "Open Diagnostics → Check agent for its health report.",
  );
}

const DASHBOARD_STATES: Partial<Record<DashboardErrorCode, [StateKind, string, string?]>> = {
  ERR_FORBIDDEN: [
    "warn",
    "Your role cannot do this",
    "Ask a workspace admin for the responder role.",
  ],
  ERR_AGENT_NOT_CONFIGURED: ["warn", "No agent configured for this workspace"],
  ERR_SIGNING_KEY_MISSING: ["bad", "The dashboard cannot sign agent tokens"],
  ERR_SIGNING_KEY_INVALID: ["bad", "The dashboard's signing key is unusable"],
  ERR_AUTH_REQUIRED: ["warn", "Your session ended", "Sign in again, then retry."],
  ERR_AUTH_INVALID: ["warn", "Your session ended", "Sign in again, then retry."],
  ERR_GUARD_NOT_REPAIRED: ["warn", "This replay is not a repaired one"],
  ERR_NOT_FOUND: ["bad", "Trace not found in this workspace"],
  ERR_APPROVAL_REQUIRED: ["info", "This needs a second person's approval"],
  ERR_REAUTH_REQUIRED: ["warn", "Sign in again to confirm it is you"],
  ERR_APPROVAL_PENDING: ["info", "Waiting for approval"],
  ERR_APPROVAL_DENIED: ["bad", "The request was denied"],
  ERR_APPROVAL_EXPIRED: ["warn", "The approval expired"],
  ERR_APPROVAL_USED: ["warn", "The approval was already used"],
  ERR_APPROVAL_MISMATCH: ["bad", "The approval is for another request"],
  ERR_APPROVAL_SELF: ["bad", "You cannot approve your own request"],
  ERR_APPROVAL_ROLE: ["warn", "Only responders and admins approve"],
};

/** The state for a dashboard refusal (`{ error: { code, message, fix } }`). */
export function fromDashboard(status: number, body: unknown): FluxState {
  const e =
    (body as { error?: { code?: string; message?: string; fix?: string } } | null)?.error ?? {};
  const code = e.code ?? `HTTP_${status}`;
  const known = DASHBOARD_STATES[code as DashboardErrorCode];
  const [kind, title, fix] = known ?? ["bad", "The dashboard refused the request"];
  return new FluxState(kind, code, title, e.message ?? `HTTP ${status}`, e.fix ?? fix ?? "");
}

/** Why a fetch to the agent failed without an answer: it answers others (CORS), or nobody. */
export async function networkState(origin: string): Promise<FluxState> {
  try {
    await fetch(`${origin}/v1/health`, { mode: "no-cors", credentials: "omit", cache: "no-store" });
    return new FluxState(
      "bad",
      "CORS",
      "The agent refuses this dashboard's origin (CORS)",
      `The agent at ${origin} answered, but not to ${ORIGIN}.`,
      `Add ${ORIGIN} to the agent's FLUX_ALLOWED_ORIGINS and restart or redeploy it.`,
    );
  } catch {
    return new FluxState(
      "bad",
      "UNREACHABLE",
      "The agent is unreachable",
      `Nothing answered at ${origin}.`,
      "Start it (npx fluxrun agent binds 127.0.0.1:8788) or fix the agent endpoint in Admin → Agent.",
    );
  }
}

export { ORIGIN, JWKS };
