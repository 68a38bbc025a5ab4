/**
 * The approved replay policy, signed: `GET /api/apps/:app/policy` for `fluxrun policy pull`
 * (any member of the app's workspace, with an API token), and the signed policy the replay token
 * answer carries to the browser, which hands it to the agent. Every signing is audited (app,
 * version, digest; never the policy or the signature).
 * @module
 */
import type { SignedPolicy } from "fluxrun/contract";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { signingKey } from "../auth/issuer.js";
import { signPolicy } from "../auth/policy-signer.js";
import { approvedPolicy } from "../db/policies.js";
import { appWorkspace } from "../db/workspaces.js";
import { checkWorkspace } from "./_shared.js";

/**
 * The app's approved policy signed now, or null when none was approved. Audited as
 * `policy.signed` with what it was signed for (`use`: `pull` or `replay`).
 *
 * @example
 * ```ts
 * const signed = await signedPolicyFor(c, { ws, app, use: "replay", clock });
 * ```
 */
export async function signedPolicyFor(
  c: Context<AppEnv>,
  target: { ws: string; app: string; use: "pull" | "replay"; clock: Clock },
): Promise<SignedPolicy | null> {
  const approved = await approvedPolicy(c.env.DB, target.ws, target.app);
  if (!approved) return null;
  const { jws } = await signPolicy(
    await signingKey(c.env),
    { app: approved.app, ws: approved.ws, version: approved.version, policy: approved.policy },
    { now: target.clock.now() },
  );
  await c.var.audit("policy.signed", {
    ws: target.ws,
    target: target.app,
    allowed: true,
    detail: { version: approved.version, digest: approved.digest, use: target.use },
  });
  return {
    app: approved.app,
    ws: approved.ws,
    version: approved.version,
    digest: approved.digest,
    policy: approved.policy,
    jws,
    approvedBy: approved.reviewedBy ?? "",
    approvedAt: new Date(approved.reviewedAt ?? 0).toISOString(),
  };
}

/**
 * `GET /api/apps/:app/policy`, mounted under `/api/apps`.
 *
 * @example
 * ```ts
 * api.route("/apps", policyApiRoutes(clock));
 * ```
 */
export function policyApiRoutes(clock: Clock): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  api.get("/:app/policy", async (c) => {
    const app = c.req.param("app");
    const ws = await appWorkspace(c.env.DB, app);
    const notFound = () =>
      new DashboardError("ERR_NOT_FOUND", "No such app in your workspaces", {
        fix: "Check --app (the name in withFlux({ app })) and that your token's user is a member of its workspace",
      });
    if (!ws) throw notFound();
    await checkWorkspace(c, ws, "viewer").catch((err: unknown) => {
      throw err instanceof DashboardError && err.code === "ERR_AUTH_REQUIRED" ? err : notFound();
    });
    const signed = await signedPolicyFor(c, { ws, app, use: "pull", clock });
    if (!signed)
      throw new DashboardError("ERR_POLICY_NONE", `${app} has no approved replay policy`, {
        fix: "A responder proposes one on the dashboard's Policies page and an admin approves it",
      });
    c.header("Cache-Control", "no-store");
    return c.json(signed);
  });
  return api;
}
