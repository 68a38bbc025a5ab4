/**
 * The reviewed replay policy across the real parts: a responder proposes the app's policy on the
 * dashboard worker, another admin approves it, the dashboard signs it into the replay token's
 * answer, and the agent worker verifies it with the dashboard's published JWKS and enforces it on
 * a replay through the app (a changed version of the recorded code that now reads a live rate).
 * The approved policy lets that GET through; a tampered, foreign-key, wrong-app, wrong-workspace,
 * wrong-digest or wrong-type policy is ignored: the replay runs deny-all, and the report and the
 * agent's audit say why. Dashboard and agent run in workerd (two Miniflares sharing the trace
 * bucket on disk). The internet the live GET reaches is the app's `outboundService`, standing in
 * for the network this machine does not have.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { Miniflare } from "miniflare";
import { nodeD1, withNodeBindings, workerFetch } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  POLICY_TYPE,
  policyDigest,
  TOKEN_ALGORITHM,
  type AgentErrorBody,
  type ReplayPolicy,
  type ReplayRequest,
  type ReplayResponse,
} from "fluxrun/contract";
import { bundleWorker } from "fluxrun/harness";
import { generateTraceKeys } from "fluxrun/trace";
import type { IssuedToken } from "../../src/browser.js";
import type { Env } from "../../src/env.js";
import { signingKey } from "../../src/auth/issuer.js";
import { signPolicy } from "../../src/auth/policy-signer.js";
import { createApiToken, ensureUser, setMember } from "../../src/db/users.js";
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
const RATES_URL = "https://rates.example.com/v1/eur";
const POLICY: ReplayPolicy = {
  version: 1,
  allow: [{ kind: "fetch", method: "GET", host: "rates.example.com", path: "/v1/eur" }],
  ignore: { headers: [], jsonPaths: [] },
};

let persist: string;
let dashMf: Miniflare;
let agentMf: Miniflare;
let dashboard: string;
let dashboardKey: string;
let responder: string;
let traceId: string;
const liveCalls: string[] = [];

async function dashboardCall(token: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${dashboard}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${token}`,
      accept: "application/json",
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function issue(act: "replay" | "preflight"): Promise<IssuedToken> {
  const res = await dashboardCall(DEV_TOKEN, "/api/tokens", { trace: traceId, act });
  expect(res.status).toBe(200);
  return (await res.json()) as IssuedToken;
}

/** Replays through the agent the way the execution page does. */
async function replay(
  token: string,
  policy?: string,
): Promise<{ status: number; json: ReplayResponse & AgentErrorBody }> {
  const res = await agentMf.dispatchFetch("http://agent.test/v1/replay", {
    method: "POST",
    headers: {
      origin: dashboard,
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      trace: traceId,
      ...(policy === undefined ? {} : { policy }),
    } satisfies ReplayRequest),
  });
  return { status: res.status, json: (await res.json()) as ReplayResponse & AgentErrorBody };
}

/** The agent's audit rows, read from its D1. */
async function agentAudit(): Promise<{ action: string; outcome: string; code: string | null }[]> {
  const db = nodeD1(agentMf, "FLUX_AUDIT", "agent");
  const { results } = await db
    .prepare("SELECT action, outcome, code FROM audit ORDER BY id")
    .all<{ action: string; outcome: string; code: string | null }>();
  return results;
}

/** A policy signed with the dashboard's own key, for claims the dashboard would never sign. */
async function forged(claims: Record<string, unknown>, typ = POLICY_TYPE): Promise<string> {
  const key = await signingKey({ FLUX_DASHBOARD_SIGNING_KEY: dashboardKey } as Env);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ })
    .sign(key.key);
}

beforeAll(async () => {
  persist = await mkdtemp(join(tmpdir(), "fluxrun-cross-policy-"));
  const r2Persist = join(persist, "r2");
  const keys = await generateTraceKeys();
  const replaySigning = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  dashboardKey = await signingJwk();
  dashMf = new Miniflare(
    await withNodeBindings({
      r2Persist,
      workers: [
        await dashboardWorker(
          devDashboardBindings({
            devToken: DEV_TOKEN,
            agentId: AGENT_ID,
            signingKey: dashboardKey,
          }),
        ),
      ],
    }),
  );
  dashboard = (await dashMf.ready).toString().replace(/\/$/, "");
  const db = await dashboardDb(dashMf);
  const jwks = await (await fetch(`${dashboard}/.well-known/jwks.json`)).json();
  const appBindings = {
    FLUX_APP: "shop-api",
    FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
    FLUX_AGENT_KEY: JSON.stringify(await exportJWK(replaySigning.publicKey)),
  };
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
        await recorderWorker("recorder", appBindings),
        {
          name: "app",
          modules: [
            {
              type: "ESModule",
              path: "app.js",
              contents: await bundleWorker(
                new URL("./fixture/live-rates.ts", import.meta.url).pathname,
              ),
            },
          ],
          compatibilityDate: "2026-04-20",
          compatibilityFlags: ["nodejs_compat"],
          bindings: appBindings,
          kvNamespaces: ["KV"],
          // Stand-in for the internet: answers the rate the changed code reads, counts each call.
          outboundService: (request: Request) => {
            liveCalls.push(`${request.method} ${request.url}`);
            return request.url === RATES_URL
              ? Response.json({ eur: 1.08 })
              : new Response("no network in cross-part tests", { status: 599 });
          },
        },
      ],
    }),
  );
  await agentMf.ready;
  await (await workerFetch(agentMf, "recorder", "http://shop.test/products")).text();
  const bucket = await traceBucket(agentMf, "agent");
  for (let i = 0; i < 400; i++) {
    if ((await bucket.list({ prefix: "traces/" })).objects.length) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  expect(
    await (await dashboardCall(DEV_TOKEN, "/admin/reindex", { ws: "default" })).json(),
  ).toMatchObject({
    inserted: 1,
  });
  const listed = (await (await dashboardCall(DEV_TOKEN, "/api/w/default/executions")).json()) as {
    executions: { traceId: string }[];
  };
  traceId = listed.executions[0]!.traceId;
  // A responder of the workspace, who proposes; the dev admin reviews.
  const user = await ensureUser(db, "oncall@cross.test", {
    now: Date.now(),
    id: () => crypto.randomUUID(),
  });
  await setMember(db, "default", user.id, "responder", Date.now());
  responder = await createApiToken(db, user.id, { name: "cross", now: Date.now() });
});

afterAll(async () => {
  await agentMf?.dispose();
  await dashMf?.dispose();
  if (persist) await rm(persist, { recursive: true, force: true });
});

describe("reviewed replay policy: dashboard → agent", () => {
  it("without an approved policy, the live GET is blocked (deny-all) and the report says none", async () => {
    const t = await issue("replay");
    expect(t.policy).toBeUndefined();
    const r = await replay(t.token);
    expect(r.status).toBe(200);
    expect(r.json.policy).toEqual({ status: "none", source: "default" });
    expect(r.json.verdict).toBe("diverged");
    expect(r.json.divergences.map((d) => d.code)).toContain("extra_call");
    expect(liveCalls).toEqual([]);
  });

  it("proposed by a responder and approved by the admin, the signed policy lets that GET through", async () => {
    const proposed = await dashboardCall(responder, "/w/default/policies/shop-api", {
      policy: JSON.stringify(POLICY),
      note: "EUR rate on /products",
    });
    expect(proposed.status).toBe(201);
    const { version } = (await proposed.json()) as { version: number };
    const approved = await dashboardCall(
      DEV_TOKEN,
      `/w/default/policies/shop-api/v/${version}/approve`,
      {},
    );
    expect(approved.status).toBe(200);

    const t = await issue("replay");
    expect(t.policy).toBeDefined();
    const r = await replay(t.token, t.policy);
    expect(r.status).toBe(200);
    expect(r.json.policy).toEqual({
      status: "reviewed",
      source: "dashboard",
      app: "shop-api",
      ws: "default",
      version,
      digest: policyDigest(POLICY),
    });
    expect(r.json.liveAllowed).toEqual([{ op: "GET", target: "rates.example.com/v1/eur" }]);
    expect(r.json.verdict).toBe("match");
    expect(liveCalls).toEqual([`GET ${RATES_URL}`]);
    expect((await agentAudit()).slice(-2)).toEqual([
      { action: "replay.policy", outcome: "allowed", code: null },
      { action: "replay", outcome: "allowed", code: null },
    ]);
  });

  it("a tampered policy is ignored: deny-all, with the diagnostic in the report and the audit", async () => {
    const t = await issue("replay");
    const [header, payload, signature] = t.policy!.split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as {
      policy: ReplayPolicy;
    };
    claims.policy.allow.push({ kind: "fetch", method: "GET", host: "evil.example.com" });
    const tampered = [
      header,
      Buffer.from(JSON.stringify(claims)).toString("base64url"),
      signature,
    ].join(".");
    const before = liveCalls.length;
    const r = await replay(t.token, tampered);
    expect(r.status).toBe(200);
    expect(r.json.policy).toMatchObject({
      status: "rejected",
      source: "default",
      diagnostic: { code: "ERR_POLICY_SIGNATURE" },
    });
    expect(r.json.policy?.diagnostic?.message).not.toContain(tampered);
    expect(r.json.liveAllowed).toEqual([]);
    expect(r.json.divergences.map((d) => d.code)).toContain("extra_call");
    expect(liveCalls.length).toBe(before);
    const audit = await agentAudit();
    expect(audit.at(-2)).toEqual({
      action: "replay.policy",
      outcome: "denied",
      code: "ERR_POLICY_SIGNATURE",
    });
    expect(audit.at(-1)).toMatchObject({ action: "replay", outcome: "allowed" });
  });

  it("each policy that does not verify is ignored with its own code", async () => {
    const stranger = await signingKey({ FLUX_DASHBOARD_SIGNING_KEY: await signingJwk() } as Env);
    const good = { app: "shop-api", ws: "default", version: 1, policy: POLICY };
    const digest = policyDigest(POLICY);
    const iat = Math.floor(Date.now() / 1000);
    const cases: [string, string][] = [
      ["ERR_POLICY_SIGNATURE", (await signPolicy(stranger, good, { now: Date.now() })).jws],
      ["ERR_POLICY_APP", await forged({ ...good, app: "billing", digest, iat })],
      ["ERR_POLICY_WORKSPACE", await forged({ ...good, ws: "globex", digest, iat })],
      ["ERR_POLICY_DIGEST", await forged({ ...good, digest: "0".repeat(64), iat })],
      // A copy signed an hour ago (a superseded version captured then): signed with a past time.
      ["ERR_POLICY_EXPIRED", await forged({ ...good, digest, iat: iat - 3600 })],
      ["ERR_POLICY_TYPE", await forged({ ...good, digest, iat }, "JWT")],
      ["ERR_POLICY_TYPE", (await issue("preflight")).token],
      [
        "ERR_POLICY_SCHEMA",
        await forged({
          ...good,
          policy: { version: 1, allow: [{ kind: "fetch", method: "POST", host: "x" }] },
          digest,
          iat,
        }),
      ],
      ["ERR_POLICY_MALFORMED", "not-a-jws"],
    ];
    for (const [code, policy] of cases) {
      const t = await issue("replay");
      const r = await replay(t.token, policy);
      expect([r.status, r.json.policy?.status, r.json.policy?.diagnostic?.code], code).toEqual([
        200,
        "rejected",
        code,
      ]);
      expect(r.json.liveAllowed).toEqual([]);
    }
  });

  it("a signed policy is not a token: the agent refuses it as one", async () => {
    const t = await issue("replay");
    const r = await replay(t.policy!);
    expect([r.status, r.json.error.code]).toEqual([401, "ERR_TOKEN_TYPE"]);
  });
});
