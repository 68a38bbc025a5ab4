/**
 * Approval checks for risky actions (a secret unlock, a replay on a production agent): the agent
 * decides itself that an action is risky (it reads the trace head and knows whether it is
 * production), then requires the token to carry a dashboard-signed approval statement (typ
 * `fluxrun-approval+jwt`) bound to the same agent, workspace, app, trace, action, fields and
 * requester, at or above the agent's floor (`FLUX_APPROVAL_MIN`), approved by someone else when
 * a second person was required, and spent once here.
 * @module
 */
import {
  APPROVAL_MAX_LIFETIME_S,
  APPROVAL_MODE_RANK,
  APPROVAL_MODES,
  APPROVAL_TYPE,
  ApprovalClaims,
  TOKEN_ALGORITHM,
  TOKEN_CLOCK_SKEW_S,
  TOKEN_ISSUER,
  type AgentTokenClaims,
  type ApprovalMode,
  type RiskyAction,
} from "fluxrun/contract";
import { errors, jwtVerify } from "jose";
import { issuerKeys } from "./auth.js";
import { AgentError } from "./errors.js";

/**
 * The lowest mode the agent accepts: `FLUX_APPROVAL_MIN`, `reconfirm` when unset or unknown.
 *
 * @example
 * ```ts
 * approvalFloor(env.FLUX_APPROVAL_MIN); // "reconfirm"
 * ```
 */
export function approvalFloor(value: string | undefined): ApprovalMode {
  return (APPROVAL_MODES as readonly string[]).includes(value ?? "")
    ? (value as ApprovalMode)
    : "reconfirm";
}

function sameFields(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...(b ?? [])].sort();
  return x.length === y.length && x.every((f, i) => f === y[i]);
}

async function verifyStatement(
  jws: string,
  options: { jwks: string | undefined; audience: string; now?: () => number },
): Promise<ApprovalClaims> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(jws, issuerKeys(options.jwks), {
      algorithms: [TOKEN_ALGORITHM],
      issuer: TOKEN_ISSUER,
      audience: options.audience,
      typ: APPROVAL_TYPE,
      clockTolerance: TOKEN_CLOCK_SKEW_S,
      requiredClaims: ["exp", "iat", "jti"],
      ...(options.now ? { currentDate: new Date(options.now()) } : {}),
    }));
  } catch (err) {
    if (err instanceof AgentError) throw err;
    if (err instanceof errors.JWTExpired)
      throw new AgentError(
        "ERR_APPROVAL_EXPIRED",
        "The approval has expired: request a new approval",
      );
    if (err instanceof errors.JWTClaimValidationFailed && err.claim === "aud")
      throw new AgentError("ERR_APPROVAL_MISMATCH", "The approval was issued for another agent");
    throw new AgentError(
      "ERR_APPROVAL_INVALID",
      "The approval statement is not a dashboard-signed approval",
    );
  }
  const parsed = ApprovalClaims.safeParse(payload);
  if (!parsed.success)
    throw new AgentError("ERR_APPROVAL_INVALID", "The approval statement's claims are invalid");
  if (parsed.data.exp - parsed.data.iat > APPROVAL_MAX_LIFETIME_S)
    throw new AgentError(
      "ERR_APPROVAL_INVALID",
      `The approval lives longer than ${APPROVAL_MAX_LIFETIME_S} s`,
    );
  return parsed.data;
}

/**
 * Checks the token's approval for `risk` and returns it; `spend` marks its id used (false on a
 * second use). Throws an AgentError with an `ERR_APPROVAL_*` code otherwise.
 *
 * @example
 * ```ts
 * await checkApproval(claims, "unlock_secret", { jwks, audience, floor: env.FLUX_APPROVAL_MIN, spend });
 * ```
 */
export async function checkApproval(
  claims: AgentTokenClaims,
  risk: RiskyAction,
  options: {
    jwks: string | undefined;
    audience: string;
    floor: string | undefined;
    spend: (id: string, exp: number) => Promise<boolean>;
    now?: () => number;
  },
): Promise<ApprovalClaims> {
  if (!claims.apr)
    throw new AgentError(
      "ERR_APPROVAL_REQUIRED",
      risk === "unlock_secret"
        ? "Revealing a secret, a masked header or a sensitive field needs an approval"
        : "Replaying through a production agent needs an approval (mark the agent production in Admin → Agent)",
    );
  const a = await verifyStatement(claims.apr, options);
  if (
    a.risk !== risk ||
    a.act !== claims.act ||
    a.trace !== claims.trace ||
    a.ws !== claims.ws ||
    a.app !== claims.app ||
    a.req !== claims.sub ||
    (claims.act === "unlock" &&
      (!a.fields?.length || !claims.fields || !sameFields(a.fields, claims.fields)))
  )
    throw new AgentError(
      "ERR_APPROVAL_MISMATCH",
      "The approval names another action, trace, field set or requester than the token",
    );
  if (a.mode === "second_person" && a.by.toLowerCase() === a.req.toLowerCase())
    throw new AgentError(
      "ERR_APPROVAL_SELF",
      "A second person's approval was required, but the requester approved it",
    );
  const floor = approvalFloor(options.floor);
  if (APPROVAL_MODE_RANK[a.mode] < APPROVAL_MODE_RANK[floor])
    throw new AgentError(
      "ERR_APPROVAL_MODE",
      `This agent needs at least ${floor} for ${risk}; the workspace allowed ${a.mode}`,
    );
  if (!(await options.spend(a.jti, a.exp)))
    throw new AgentError(
      "ERR_APPROVAL_REUSED",
      "The approval was already used: each approval allows one action",
    );
  return a;
}
