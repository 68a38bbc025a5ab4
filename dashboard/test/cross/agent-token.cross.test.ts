/**
 * The dashboard's token issuer against the real agent: a trace recorded by a withFlux worker is
 * indexed by the dashboard worker, which issues tokens (`POST /api/tokens`) that the agent
 * worker, trusting the dashboard's published JWKS, accepts for exactly the action and trace they
 * name, once. Dashboard and agent run in workerd (two Miniflares sharing the trace bucket on
 * disk, as two deployments share R2). Either side changing the token contract alone fails here.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { Miniflare } from "miniflare";
import { withNodeBindings, workerFetch } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  AgentErrorBody,
  HealthResponse,
  PreflightResponse,
  ReplayResponse,
  TraceAction,
  UnlockResponse,
} from "fluxrun/contract";
import { generateTraceKeys } from "fluxrun/trace";
import type { IssuedToken } from "../../src/browser.js";
import type { Env } from "../../src/env.js";
import { issueAgentToken, signingKey } from "../../src/auth/issuer.js";
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

const DEV_TOKEN = "fxd_cross-part-dev-admin-token-0123456789abcdef";
const AGENT_ID = "cross-agent";

let persist: string;
let dashMf: Miniflare;
let agentMf: Miniflare;
let dashboard: string;
let jwks: { keys: { kid: string }[] };
let traceId: string;

async function dashboardCall(path: string, body: unknown): Promise<Response> {
  return fetch(`${dashboard}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${DEV_TOKEN}`,
      accept: "application/json",
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

async function issue(act: TraceAction, fields?: string[]): Promise<IssuedToken> {
  const res = await dashboardCall("/api/tokens", {
    trace: traceId,
    act,
    ...(fields ? { fields } : {}),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as IssuedToken;
}

/** Calls the agent the way the dashboard's page does: from the dashboard's origin. */
async function agent<T>(
  path: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: T }> {
  const res = await agentMf.dispatchFetch(`http://agent.test${path}`, {
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

beforeAll(async () => {
  persist = await mkdtemp(join(tmpdir(), "fluxrun-cross-"));
  const r2Persist = join(persist, "r2");
  const keys = await generateTraceKeys();
  const replaySigning = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  dashMf = new Miniflare(
    await withNodeBindings({
      r2Persist,
      workers: [
        await dashboardWorker(
          devDashboardBindings({
            devToken: DEV_TOKEN,
            agentId: AGENT_ID,
            signingKey: await signingJwk(),
          }),
        ),
      ],
    }),
  );
  dashboard = (await dashMf.ready).toString().replace(/\/$/, "");
  await dashboardDb(dashMf);
  jwks = (await (await fetch(`${dashboard}/.well-known/jwks.json`)).json()) as typeof jwks;
  agentMf = new Miniflare(
    await withNodeBindings({
      r2Persist,
      workers: [
        await agentWorker(
          await agentBindings({
            keys,
            replaySigning,
            jwks: JSON.stringify(jwks),
            agentId: AGENT_ID,
            dashboard,
            workspaces: "default",
          }),
        ),
        await recorderWorker("app", {
          FLUX_APP: "shop-api",
          FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
          FLUX_AGENT_KEY: JSON.stringify(await exportJWK(replaySigning.publicKey)),
        }),
      ],
    }),
  );
  await agentMf.ready;
  await (await workerFetch(agentMf, "app", "http://shop.test/products")).text();
  const bucket = await traceBucket(agentMf, "agent");
  for (let i = 0; i < 400; i++) {
    if ((await bucket.list({ prefix: "traces/" })).objects.length) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const res = await dashboardCall("/admin/reindex", { ws: "default" });
  expect(await res.json()).toMatchObject({ inserted: 1 });
  const listed = (await (
    await fetch(`${dashboard}/api/w/default/executions`, {
      headers: { authorization: `Bearer ${DEV_TOKEN}` },
    })
  ).json()) as { executions: { traceId: string }[] };
  traceId = listed.executions[0]!.traceId;
});

afterAll(async () => {
  await agentMf?.dispose();
  await dashMf?.dispose();
  if (persist) await rm(persist, { recursive: true, force: true });
});

describe("dashboard tokens → agent", () => {
  it("the agent trusts the key the dashboard publishes", async () => {
    const res = await agentMf.dispatchFetch("http://agent.test/v1/health");
    const health = (await res.json()) as HealthResponse;
    expect(health.issuer.kids).toEqual(jwks.keys.map((k) => k.kid));
    expect(health.agentId).toBe(AGENT_ID);
  });

  it("an unlock token opens the named fields of its trace", async () => {
    const t = await issue("unlock", ["0.headers", "0.url"]);
    expect(t.agent).toEqual({ origin: "http://agent.test", id: AGENT_ID });
    const r = await agent<UnlockResponse>("/v1/unlock", t.token, {
      trace: traceId,
      fields: ["0.headers", "0.url"],
    });
    expect(r.status).toBe(200);
    expect(r.json.trace).toBe(traceId);
    expect(r.json.fields.map((f) => f.path)).toEqual(["0.headers", "0.url"]);
    expect(r.json.fields[1]?.value).toContain("/products");
  });

  it("a replay token replays its trace through the app", async () => {
    const t = await issue("replay");
    const r = await agent<ReplayResponse>("/v1/replay", t.token, { trace: traceId });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ traceId, verdict: "match" });
  });

  it("a preflight token answers from the trace's clear head", async () => {
    const t = await issue("preflight");
    const r = await agent<PreflightResponse>("/v1/preflight", t.token, { trace: traceId });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ traceId, blockers: [] });
  });

  it("a token opens nothing but its own action, and only once", async () => {
    const unlock = await issue("unlock", ["0.headers"]);
    const wrongAction = await agent<AgentErrorBody>("/v1/replay", unlock.token, { trace: traceId });
    expect([wrongAction.status, wrongAction.json.error.code]).toEqual([403, "ERR_TOKEN_ACTION"]);
    const again = await agent<AgentErrorBody>("/v1/unlock", unlock.token, {
      trace: traceId,
      fields: ["0.headers"],
    });
    expect([again.status, again.json.error.code]).toEqual([401, "ERR_TOKEN_REUSED"]);
    const narrow = await issue("unlock", ["0.headers"]);
    const wider = await agent<AgentErrorBody>("/v1/unlock", narrow.token, {
      trace: traceId,
      fields: ["0.headers", "0.body"],
    });
    expect([wider.status, wider.json.error.code]).toEqual([403, "ERR_TOKEN_ACTION"]);
  });

  it("the agent refuses a token the dashboard's issuer signed with a key it does not publish", async () => {
    const env = { FLUX_DASHBOARD_SIGNING_KEY: await signingJwk() } as Env;
    const stranger = await signingKey(env);
    const { token } = await issueAgentToken(
      stranger,
      {
        aud: AGENT_ID,
        sub: "admin@localhost",
        ws: "default",
        app: "shop-api",
        trace: traceId,
        act: "preflight",
      },
      { now: Date.now(), jti: crypto.randomUUID() },
    );
    const r = await agent<AgentErrorBody>("/v1/preflight", token, { trace: traceId });
    expect([r.status, r.json.error.code]).toEqual([401, "ERR_TOKEN_SIGNATURE"]);
  });
});
