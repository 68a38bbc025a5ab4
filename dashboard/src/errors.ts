/**
 * The dashboard's domain error: a literal `code`, a message that says what was attempted, and
 * the fix. Messages never carry tokens, keys or payloads.
 * @module
 */

export const DASHBOARD_ERROR_CODES = {
  ERR_AUTH_REQUIRED: 401,
  ERR_AUTH_INVALID: 401,
  ERR_FORBIDDEN: 403,
  ERR_CSRF: 403,
  ERR_NOT_FOUND: 404,
  ERR_BAD_REQUEST: 400,
  ERR_CONFLICT: 409,
  ERR_TOO_LARGE: 413,
  ERR_AGENT_NOT_CONFIGURED: 409,
  /** Claim-code pairing: a malformed code, a connector off loopback, an expired or used pairing. */
  ERR_PAIRING_CODE_FORMAT: 400,
  ERR_PAIRING_AGENT: 400,
  ERR_PAIRING_EXPIRED: 409,
  ERR_PAIRING_USED: 409,
  ERR_PAIRING_CODE_WRONG: 403,
  ERR_PAIRING_RATE_LIMITED: 429,
  ERR_PAIRING_REVOKED: 403,
  ERR_SIGNING_KEY_MISSING: 503,
  ERR_SIGNING_KEY_INVALID: 503,
  ERR_BINDING_MISSING: 503,
  ERR_ACCESS_CONFIG: 503,
  ERR_INGEST_TOKEN: 401,
  ERR_RATE_LIMITED: 429,
  ERR_INGEST_LOCKED: 429,
  ERR_GUARD_NOT_REPAIRED: 409,
  ERR_TRACE_UNREADABLE: 422,
  ERR_SOURCE_MAP_TOO_LARGE: 413,
  ERR_SOURCE_MAP_INVALID: 422,
  ERR_DB_NOT_MIGRATED: 503,
  ERR_INTERNAL: 500,
  /** A proposed replay policy that parsePolicy refuses. */
  ERR_POLICY_INVALID: 400,
  /** An admin reviewing their own policy proposal. */
  ERR_POLICY_SELF_REVIEW: 403,
  /** Approving a proposal written against an approved version that is no longer current. */
  ERR_POLICY_STALE: 409,
  /** Reviewing a proposal already approved or rejected. */
  ERR_POLICY_NOT_PENDING: 409,
  /** The app has no approved replay policy. */
  ERR_POLICY_NONE: 404,
  /** A risky action needs a second person's approval: request one (`POST /api/approvals`). */
  ERR_APPROVAL_REQUIRED: 403,
  /** A risky action needs a recent sign-in (re-confirmation). */
  ERR_REAUTH_REQUIRED: 403,
  ERR_APPROVAL_PENDING: 409,
  ERR_APPROVAL_DENIED: 403,
  ERR_APPROVAL_EXPIRED: 409,
  ERR_APPROVAL_USED: 409,
  /** The approval was granted for another action, trace, field set or requester. */
  ERR_APPROVAL_MISMATCH: 403,
  /** Approving your own request when a second person is required. */
  ERR_APPROVAL_SELF: 403,
  /** Only responders and admins approve. */
  ERR_APPROVAL_ROLE: 403,
} as const;

export type DashboardErrorCode = keyof typeof DASHBOARD_ERROR_CODES;

/**
 * A refusal or failure with a code the UI and API clients switch on.
 *
 * @example
 * ```ts
 * throw new DashboardError("ERR_FORBIDDEN", "Issuing a replay token needs the responder role");
 * ```
 */
export class DashboardError extends Error {
  override name = "DashboardError";
  readonly code: DashboardErrorCode;
  readonly fix: string | undefined;
  /** Seconds to wait before retrying (sent as `Retry-After`). */
  readonly retryAfter: number | undefined;

  constructor(
    code: DashboardErrorCode,
    message: string,
    options: { fix?: string; cause?: unknown; retryAfter?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.fix = options.fix;
    this.retryAfter = options.retryAfter;
  }

  get status(): 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 | 500 | 503 {
    return DASHBOARD_ERROR_CODES[this.code];
  }

  toJSON(): { error: { code: DashboardErrorCode; message: string; fix?: string } } {
    return {
      error: { code: this.code, message: this.message, ...(this.fix ? { fix: this.fix } : {}) },
    };
  }
}
