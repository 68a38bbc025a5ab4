/**
 * Replay policies per app (`/w/:ws/policies`): members see each app's approved policy and its
 * history; a responder proposes a change (checked with `parsePolicy`, the CLI's and the agent's
 * own rules); an admin other than the proposer approves or rejects it after seeing the diff. Every
 * proposal, review and refusal is audited with the app, the version and the digest, never the
 * policy text. API clients (an API token, `Accept: application/json`) get JSON answers.
 * @module
 */
import { parsePolicy, type ReplayPolicy } from "fluxrun/contract";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../../env.js";
import type { Clock } from "../../deps.js";
import { DashboardError } from "../../errors.js";
import { atLeast } from "../../auth/roles.js";
import {
  approvedPolicy,
  policyHistory,
  policySummary,
  policyVersion,
  proposePolicy,
  reviewPolicy,
  type PolicyVersion,
} from "../../db/policies.js";
import { appsOf } from "../../db/workspaces.js";
import { stateBox } from "../../views/layout.js";
import {
  appPolicyView,
  policiesView,
  policyText,
  policyVersionView,
} from "../../views/policies.js";
import { readBody, render, requirePrincipal, wantsJson, wsAccess } from "../_shared.js";

/** Characters of a policy's canonical JSON at most: its signed form must fit the agent's limit. */
export const MAX_POLICY_CHARS = 4096;
const MAX_NOTE = 500;

const DEFAULT_DRAFT: ReplayPolicy = {
  version: 1,
  allow: [],
  ignore: { headers: [], jsonPaths: [] },
};

async function appOf(c: Context<AppEnv>): Promise<string> {
  const app = c.req.param("app") ?? "";
  if (!(await appsOf(c.env.DB, c.get("ws"))).some((a) => a.name === app))
    throw new DashboardError("ERR_NOT_FOUND", "No such app in this workspace");
  return app;
}

function versionOf(c: Context<AppEnv>): number {
  const n = Number(c.req.param("version"));
  if (!Number.isInteger(n) || n < 1) throw new DashboardError("ERR_NOT_FOUND", "No such version");
  return n;
}

function note(value: unknown): string | null {
  if (typeof value !== "string" || !value.trim()) return null;
  return value.trim().slice(0, MAX_NOTE);
}

/**
 * The proposed text checked as a policy, or ERR_POLICY_INVALID saying where it is wrong.
 *
 * @example
 * ```ts
 * checkProposal('{"version": 1}'); // { version: 1, allow: [], ignore: { headers: [], jsonPaths: [] } }
 * ```
 */
export function checkProposal(text: unknown): ReplayPolicy {
  if (typeof text !== "string" || !text.trim())
    throw new DashboardError("ERR_POLICY_INVALID", "The policy is empty", {
      fix: 'Start from {"version": 1}',
    });
  if (text.length > MAX_POLICY_CHARS * 4)
    throw new DashboardError(
      "ERR_POLICY_INVALID",
      `The policy is over ${MAX_POLICY_CHARS * 4} characters`,
    );
  let policy: ReplayPolicy;
  try {
    policy = parsePolicy(text);
  } catch (err) {
    throw new DashboardError(
      "ERR_POLICY_INVALID",
      err instanceof Error ? err.message : "The policy is invalid",
      {
        fix: "Only GET and HEAD fetch rules on exact hosts can be allowed; see the README's replay policy section",
      },
    );
  }
  if (JSON.stringify(policy).length > MAX_POLICY_CHARS)
    throw new DashboardError(
      "ERR_POLICY_INVALID",
      `The policy is over ${MAX_POLICY_CHARS} characters once normalized`,
    );
  return policy;
}

/** Why the signed-in user cannot review `v`, or null when they can. */
function reviewBlock(c: Context<AppEnv>, v: PolicyVersion): string | null {
  if (!atLeast(c.get("role"), "admin")) return "Reviewing needs the admin role.";
  if (v.proposedBy === requirePrincipal(c).email)
    return "You proposed this version: another admin reviews it.";
  return null;
}

async function showApp(
  c: Context<AppEnv>,
  app: string,
  options: { draft?: string; flash?: ReturnType<typeof stateBox>; status?: 200 | 400 } = {},
): Promise<Response> {
  const ws = c.get("ws");
  const [approved, versions] = await Promise.all([
    approvedPolicy(c.env.DB, ws, app),
    policyHistory(c.env.DB, ws, app),
  ]);
  return render(
    c,
    { title: `Policy · ${app}`, ws, active: "policies" },
    appPolicyView({
      ws,
      app,
      approved,
      versions,
      canPropose: atLeast(c.get("role"), "responder"),
      draft: options.draft ?? policyText(approved?.policy ?? DEFAULT_DRAFT),
      flash: options.flash ?? null,
    }),
    { status: options.status ?? 200 },
  );
}

async function propose(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const p = requirePrincipal(c);
  const app = await appOf(c);
  const body = await readBody(c);
  if (!atLeast(c.get("role"), "responder")) {
    await c.var.audit("policy.denied", {
      target: app,
      allowed: false,
      reason: `propose: role ${c.get("role")}`,
    });
    throw new DashboardError(
      "ERR_FORBIDDEN",
      `Proposing a replay policy needs the responder role; you are ${c.get("role")}`,
      { fix: "Ask a workspace admin for the responder role" },
    );
  }
  let policy: ReplayPolicy;
  try {
    policy = checkProposal(body.policy);
  } catch (err) {
    if (!(err instanceof DashboardError)) throw err;
    await c.var.audit("policy.denied", {
      target: app,
      allowed: false,
      reason: `propose: ${err.code}`,
    });
    if (wantsJson(c)) throw err;
    return showApp(c, app, {
      draft: typeof body.policy === "string" ? body.policy : "",
      flash: stateBox("bad", "The policy is invalid", err.message, {
        id: "policy-error",
        code: err.code,
      }),
      status: 400,
    });
  }
  const v = await proposePolicy(
    c.env.DB,
    { ws: c.get("ws"), app, policy, note: note(body.note), by: p.email },
    clock.now(),
  );
  await c.var.audit("policy.proposed", {
    target: app,
    allowed: true,
    detail: { version: v.version, base: v.base, digest: v.digest },
  });
  if (wantsJson(c))
    return c.json({ app, version: v.version, state: v.state, digest: v.digest, base: v.base }, 201);
  return c.redirect(
    `/w/${encodeURIComponent(c.get("ws"))}/policies/${encodeURIComponent(app)}/v/${v.version}`,
    303,
  );
}

async function review(
  c: Context<AppEnv>,
  clock: Clock,
  decision: "approved" | "rejected",
): Promise<Response> {
  const p = requirePrincipal(c);
  const ws = c.get("ws");
  const app = await appOf(c);
  const version = versionOf(c);
  const body = await readBody(c);
  const verb = decision === "approved" ? "approve" : "reject";
  const refuse = async (err: DashboardError): Promise<never> => {
    await c.var.audit("policy.denied", {
      target: app,
      allowed: false,
      reason: `${verb}: ${err.code}`,
      detail: { version },
    });
    throw err;
  };
  if (!atLeast(c.get("role"), "admin"))
    return refuse(
      new DashboardError(
        "ERR_FORBIDDEN",
        `Reviewing a replay policy needs the admin role; you are ${c.get("role")}`,
        { fix: "Ask a workspace admin to review it" },
      ),
    );
  const v = await policyVersion(c.env.DB, ws, app, version);
  if (!v) throw new DashboardError("ERR_NOT_FOUND", "No such policy version");
  if (v.proposedBy === p.email)
    return refuse(
      new DashboardError("ERR_POLICY_SELF_REVIEW", "You cannot review your own proposal", {
        fix: "Another admin of the workspace reviews it",
      }),
    );
  const outcome = await reviewPolicy(
    c.env.DB,
    { ws, app, version, decision, by: p.email, note: note(body.note) },
    clock.now(),
  );
  if (outcome === "not_pending")
    return refuse(
      new DashboardError("ERR_POLICY_NOT_PENDING", `v${version} was already reviewed`, {
        fix: "Reload the page to see its state",
      }),
    );
  if (outcome === "stale")
    return refuse(
      new DashboardError(
        "ERR_POLICY_STALE",
        `v${version} was written against an approved version that is no longer current`,
        { fix: "Reject it and propose the change again from the approved version" },
      ),
    );
  await c.var.audit(decision === "approved" ? "policy.approved" : "policy.rejected", {
    target: app,
    allowed: true,
    detail: { version, base: v.base, digest: v.digest, proposedBy: v.proposedBy },
  });
  if (wantsJson(c)) return c.json({ app, version, state: decision, digest: v.digest });
  return c.redirect(
    `/w/${encodeURIComponent(ws)}/policies/${encodeURIComponent(app)}/v/${version}`,
    303,
  );
}

/**
 * The `/w/:ws/policies` routes.
 *
 * @example
 * ```ts
 * app.route("/w/:ws/policies", policyRoutes(clock));
 * ```
 */
export function policyRoutes(clock: Clock): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", wsAccess("viewer"));

  app.get("/", async (c) => {
    const ws = c.get("ws");
    const [apps, summary] = await Promise.all([appsOf(c.env.DB, ws), policySummary(c.env.DB, ws)]);
    const rows = apps.map((a) => ({
      name: a.name,
      approved: summary.get(a.name)?.approved ?? null,
      pending: summary.get(a.name)?.pending ?? 0,
    }));
    if (wantsJson(c)) return c.json({ apps: rows });
    return render(
      c,
      { title: "Replay policies", ws, active: "policies" },
      policiesView({ ws, apps: rows }),
    );
  });

  app.get("/:app", async (c) => {
    const name = await appOf(c);
    if (wantsJson(c)) {
      const ws = c.get("ws");
      const [approved, versions] = await Promise.all([
        approvedPolicy(c.env.DB, ws, name),
        policyHistory(c.env.DB, ws, name),
      ]);
      return c.json({ app: name, approved: approved?.version ?? null, versions });
    }
    return showApp(c, name);
  });
  app.post("/:app", (c) => propose(c, clock));

  app.get("/:app/v/:version", async (c) => {
    const ws = c.get("ws");
    const name = await appOf(c);
    const v = await policyVersion(c.env.DB, ws, name, versionOf(c));
    if (!v) throw new DashboardError("ERR_NOT_FOUND", "No such policy version");
    const approved = await approvedPolicy(c.env.DB, ws, name);
    if (wantsJson(c)) return c.json({ ...v, current: approved?.version === v.version });
    return render(
      c,
      { title: `Policy · ${name} · v${v.version}`, ws, active: "policies" },
      policyVersionView({ ws, app: name, version: v, approved, cannotReview: reviewBlock(c, v) }),
    );
  });
  app.post("/:app/v/:version/approve", (c) => review(c, clock, "approved"));
  app.post("/:app/v/:version/reject", (c) => review(c, clock, "rejected"));

  return app;
}
