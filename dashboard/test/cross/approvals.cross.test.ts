/**
 * Approvals between the real dashboard and the real agent (issue 16.2), each in workerd: a trace
 * whose app read a secret is indexed by the dashboard; one user asks to reveal it, another
 * approves, the dashboard's token carries the signed approval statement and the agent reveals the
 * secret once. The agent enforces it on its own: a token the dashboard's key signed without an
 * approval, or with an approval that is self-approved, expired, reused, for other fields, below
 * the agent's floor, of another type or signed by another key, is refused with its own code; a
 * production agent (FLUX_AGENT_PRODUCTION) refuses replays without one.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { Miniflare } from "miniflare";
import { withNodeBindings, workerFetch } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  AgentErrorBody,
  ApprovalView,
  HealthResponse,
  ReplayResponse,
  UnlockResponse,
} from "fluxrun/contract";
import { bundleWorker } from "fluxrun/harness";
import { generateTraceKeys, type TraceEvent } from "fluxrun/trace";
import type { IssuedToken } from "../../src/browser.js";
import type { Env } from "../../src/env.js";
import { issueAgentToken, signingKey, type SigningKey } from "../../src/auth/issuer.js";
import { signApproval, type Cleared } from "../../src/auth/approvals.js";
import { signingJwk } from "../_helpers.js";
import {
  agentBindings,
  agentWorker,
  dashboardDb,
  dashboardWorker,
  devDashboardBindings,
  recorderWorker,
  traceBucket,
} from "./_parts.js";

const DEV_TOKEN = "fxd_cross-approvals-dev-admin-token-0123456789";
const AGENT_ID = "cross-approvals-agent";
const ADMIN = "admin@localhost";
const SECRET_VALUE = "sk_cross_secret_value";

let persist: string;
let dashMf: Miniflare;
let agentMf: Miniflare;
let dashboard: string;
let dashKey: SigningKey;
let traceId: string;
let secretField: string;
let responderToken: string;

async function dashboardCall(token: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${dashboard}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      accept: "application/json",
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

async function agent<T>(
  worker: "agent" | "agent-prod",
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: T }> {
  const host = worker === "agent" ? "agent.test" : "prod.test";
  const res = await workerFetch(agentMf, worker, `http://${host}${path}`, {
    method: "POST",
    headers: {
      origin: dashboard,
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}

const refusal = (r: { status: number; json: AgentErrorBody }) => [r.status, r.json.error.code];

/** A token the dashboard's key signs for the admin, carrying `apr` if given (as a forger with the key would not need to). */
async function token(
  act: "unlock" | "replay",
  options: { fields?: string[]; apr?: string; now?: number } = {},
): Promise<string> {
  return (
    await issueAgentToken(
      dashKey,
      {
        aud: AGENT_ID,
        sub: ADMIN,
        ws: "default",
        app: "vault-app",
        trace: traceId,
        act,
        ...(options.fields ? { fields: options.fields } : {}),
        ...(options.apr ? { apr: options.apr } : {}),
      },
      { now: options.now ?? Date.now(), jti: crypto.randomUUID() },
    )
  ).token;
}

/** An approval statement signed with `key` (the dashboard's unless told). */
async function statement(
  over: Partial<Cleared> & {
    fields?: string[];
    act?: "unlock" | "replay";
    risk?: "unlock_secret" | "replay_production";
    key?: SigningKey;
    now?: number;
  } = {},
): Promise<string> {
  const now = over.now ?? Date.now();
  return signApproval(
    over.key ?? dashKey,
    {
      mode: over.mode ?? "second_person",
      id: over.id ?? crypto.randomUUID(),
      requester: over.requester ?? ADMIN,
      approver: over.approver ?? "b@cross.test",
      until: over.until ?? now + 300_000,
    },
    {
      aud: AGENT_ID,
      ws: "default",
      app: "vault-app",
      trace: traceId,
      act: over.act ?? "unlock",
      risk: over.risk ?? "unlock_secret",
      ...((over.act ?? "unlock") === "unlock" ? { fields: over.fields ?? [secretField] } : {}),
    },
    { now },
  );
}

beforeAll(async () => {
  persist = await mkdtemp(join(tmpdir(), "fluxrun-cross-apr-"));
  const r2Persist = join(persist, "r2");
  const keys = await generateTraceKeys();
  const replaySigning = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const signingKeyJwk = await signingJwk();
  dashKey = await signingKey({ FLUX_DASHBOARD_SIGNING_KEY: signingKeyJwk } as Env);
  dashMf = new Miniflare(
    await withNodeBindings({
      r2Persist,
      workers: [
        await dashboardWorker(
          devDashboardBindings({
            devToken: DEV_TOKEN,
            agentId: AGENT_ID,
            signingKey: signingKeyJwk,
          }),
        ),
      ],
    }),
  );
  dashboard = (await dashMf.ready).toString().replace(/\/$/, "");
  await dashboardDb(dashMf);
  const jwks = await (await fetch(`${dashboard}/.well-known/jwks.json`)).text();
  const bindings = await agentBindings({
    keys,
    replaySigning,
    jwks,
    agentId: AGENT_ID,
    dashboard,
    workspaces: "default",
  });
  const app = await recorderWorker("app", {
    FLUX_APP: "vault-app",
    FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
    FLUX_AGENT_KEY: JSON.stringify(await exportJWK(replaySigning.publicKey)),
    API_KEY: SECRET_VALUE,
  });
  app.modules = [
    {
      type: "ESModule",
      path: "app.js",
      contents: await bundleWorker(new URL("./fixture/secret-reader.ts", import.meta.url).pathname),
    },
  ];
  agentMf = new Miniflare(
    await withNodeBindings({
      r2Persist,
      workers: [
        await agentWorker(bindings),
        {
          ...(await agentWorker({ ...bindings, FLUX_AGENT_PRODUCTION: "true" })),
          name: "agent-prod",
        },
        app,
      ],
    }),
  );
  await agentMf.ready;
  await (await workerFetch(agentMf, "app", "http://vault.test/")).text();
  const bucket = await traceBucket(agentMf, "agent");
  for (let i = 0; i < 400; i++) {
    if ((await bucket.list({ prefix: "traces/" })).objects.length) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const res = await dashboardCall(DEV_TOKEN, "/admin/reindex", { ws: "default" });
  expect(await res.json()).toMatchObject({ inserted: 1 });
  const list = (await (
    await fetch(`${dashboard}/api/w/default/executions`, {
      headers: { authorization: `Bearer ${DEV_TOKEN}` },
    })
  ).json()) as { executions: { traceId: string }[] };
  traceId = list.executions[0]!.traceId;
  const detail = (await (
    await fetch(`${dashboard}/api/w/default/executions/${traceId}`, {
      headers: { authorization: `Bearer ${DEV_TOKEN}` },
    })
  ).json()) as { events: TraceEvent[] };
  secretField = String(detail.events.find((e) => e.kind === "env" && e.target === "API_KEY")!.seq);
  // A second person: a responder the admin adds (the page shows their one-time token).
  const added = await fetch(`${dashboard}/w/default/admin/members`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${DEV_TOKEN}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ email: "b@cross.test", role: "responder" }).toString(),
  });
  responderToken = /id="new-token">(fxd_[^<]+)</.exec(await added.text())![1]!;
});

afterAll(async () => {
  await agentMf?.dispose();
  await dashMf?.dispose();
  if (persist) await rm(persist, { recursive: true, force: true });
});

describe("approvals: dashboard → agent", () => {
  it("a second person's approval reveals the secret, once", async () => {
    const fields = [secretField];
    const bare = await dashboardCall(DEV_TOKEN, "/api/tokens", {
      trace: traceId,
      act: "unlock",
      fields,
    });
    expect(bare.status).toBe(403);
    const asked = (await (
      await dashboardCall(DEV_TOKEN, "/api/approvals", { trace: traceId, act: "unlock", fields })
    ).json()) as ApprovalView;
    expect(asked.state).toBe("pending");
    const approved = await dashboardCall(responderToken, `/api/approvals/${asked.id}/approve`, {});
    expect(approved.status).toBe(200);
    const issued = (await (
      await dashboardCall(DEV_TOKEN, "/api/tokens", {
        trace: traceId,
        act: "unlock",
        fields,
        approval: asked.id,
      })
    ).json()) as IssuedToken;
    const r = await agent<UnlockResponse>("agent", "/v1/unlock", issued.token, {
      trace: traceId,
      fields,
    });
    expect(r.status).toBe(200);
    expect(r.json.fields[0]?.value).toContain(SECRET_VALUE);

    // The same approval in a fresh token (as if the dashboard's word were replayed): spent.
    const apr = (
      JSON.parse(atob(issued.token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as {
        apr: string;
      }
    ).apr;
    const again = await agent<AgentErrorBody>(
      "agent",
      "/v1/unlock",
      await token("unlock", { fields, apr }),
      {
        trace: traceId,
        fields,
      },
    );
    expect(refusal(again)).toEqual([403, "ERR_APPROVAL_REUSED"]);
  });

  it("the agent refuses a secret on the dashboard's token alone, and every bad approval with its code", async () => {
    const fields = [secretField];
    const unlock = async (apr?: string, f = fields) =>
      refusal(
        await agent<AgentErrorBody>(
          "agent",
          "/v1/unlock",
          await token("unlock", { fields: f, ...(apr ? { apr } : {}) }),
          { trace: traceId, fields: f },
        ),
      );
    expect(await unlock()).toEqual([403, "ERR_APPROVAL_REQUIRED"]);
    expect(await unlock(await statement({ approver: ADMIN }))).toEqual([403, "ERR_APPROVAL_SELF"]);
    const past = Date.now() - 3_600_000;
    expect(await unlock(await statement({ now: past, until: past + 300_000 }))).toEqual([
      403,
      "ERR_APPROVAL_EXPIRED",
    ]);
    expect(await unlock(await statement({ fields: ["0.url"] }))).toEqual([
      403,
      "ERR_APPROVAL_MISMATCH",
    ]);
    expect(await unlock(await statement({ mode: "allow", approver: ADMIN }))).toEqual([
      403,
      "ERR_APPROVAL_MODE",
    ]);
    const stranger = await signingKey({ FLUX_DASHBOARD_SIGNING_KEY: await signingJwk() } as Env);
    expect(await unlock(await statement({ key: stranger }))).toEqual([403, "ERR_APPROVAL_INVALID"]);
    // A plain JWT with the approval's claims but not its type is not an approval statement.
    const untyped = await new SignJWT({
      iss: "fluxrun-dashboard",
      aud: AGENT_ID,
      ws: "default",
      app: "vault-app",
      trace: traceId,
      act: "unlock",
      risk: "unlock_secret",
      mode: "second_person",
      fields,
      req: ADMIN,
      by: "b@cross.test",
      jti: crypto.randomUUID(),
    })
      .setProtectedHeader({ alg: "EdDSA", kid: dashKey.kid, typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(dashKey.key);
    expect(await unlock(untyped)).toEqual([403, "ERR_APPROVAL_INVALID"]);
    // A re-confirmation statement passes the default floor.
    const ok = await agent<UnlockResponse>(
      "agent",
      "/v1/unlock",
      await token("unlock", {
        fields,
        apr: await statement({ mode: "reconfirm", approver: ADMIN }),
      }),
      { trace: traceId, fields },
    );
    expect(ok.status).toBe(200);
    // An unlock of nothing secret needs no approval.
    const plain = await agent<UnlockResponse>(
      "agent",
      "/v1/unlock",
      await token("unlock", { fields: ["0.url"] }),
      {
        trace: traceId,
        fields: ["0.url"],
      },
    );
    expect(plain.status).toBe(200);
  });

  it("a production agent refuses a replay without an approval; the same token replays elsewhere", async () => {
    const health = (await (
      await workerFetch(agentMf, "agent-prod", "http://prod.test/v1/health")
    ).json()) as HealthResponse;
    expect(health.approvals).toEqual({ production: true, floor: "reconfirm" });
    const prod = await agent<AgentErrorBody>("agent-prod", "/v1/replay", await token("replay"), {
      trace: traceId,
    });
    expect(refusal(prod)).toEqual([403, "ERR_APPROVAL_REQUIRED"]);
    const plain = await agent<ReplayResponse>("agent", "/v1/replay", await token("replay"), {
      trace: traceId,
    });
    expect(plain.status).toBe(200);
    const apr = await statement({
      act: "replay",
      risk: "replay_production",
      mode: "reconfirm",
      approver: ADMIN,
    });
    const approved = await agent<ReplayResponse>(
      "agent-prod",
      "/v1/replay",
      await token("replay", { apr }),
      { trace: traceId },
    );
    expect(approved.status).toBe(200);
    expect(approved.json.verdict).toBe("match");
  });
});
