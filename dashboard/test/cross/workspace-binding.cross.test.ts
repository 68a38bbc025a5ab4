/**
 * Issue 13, attack 2, against the real parts: traces of `shop-api` are recorded (and some
 * indexed) before any workspace registers `shop-api`; the admin of another workspace then
 * registers an app of that name and reindexes. That workspace must see none of those traces,
 * get no token for them, and the customer's agent (the dashboard's default agent, serving only
 * the customer's workspace) must refuse a token for them even if a dashboard signed one.
 * Dashboard, agent and recorder run in workerd (two Miniflares sharing the trace bucket on disk).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { Miniflare } from "miniflare";
import { withNodeBindings, workerFetch } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentErrorBody, UnlockResponse } from "fluxrun/contract";
import { generateTraceKeys } from "fluxrun/trace";
import type { Env } from "../../src/env.js";
import { issueAgentToken, signingKey } from "../../src/auth/issuer.js";
import { createApiToken, ensureUser, setMember } from "../../src/db/users.js";
import { createWorkspace } from "../../src/db/workspaces.js";
import { signingJwk } from "../_helpers.js";
import {
  agentBindings,
  agentWorker,
  dashboardDb,
  dashboardWorker,
  recorderWorker,
  traceBucket,
} from "./_parts.js";

const AGENT_ID = "customer-agent";

let persist: string;
let dashMf: Miniflare;
let agentMf: Miniflare;
let dashboard: string;
let db: D1Database;
let dashboardKey: string;
let evilToken: string;
/** Indexed (unassigned) before the claim, and recorded before it but first indexed after it. */
let indexedBefore: string;
let indexedAfter: string;

async function record(path: string): Promise<string> {
  const bucket = await traceBucket(agentMf, "agent");
  const before = new Set((await bucket.list({ prefix: "traces/" })).objects.map((o) => o.key));
  await (await workerFetch(agentMf, "app", `http://shop.test${path}`)).text();
  for (let i = 0; i < 400; i++) {
    const fresh = (await bucket.list({ prefix: "traces/" })).objects.find(
      (o) => !before.has(o.key),
    );
    if (fresh) return fresh.key.slice(-37, -5);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the recorder stored no trace");
}

function asEvil(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${dashboard}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${evilToken}`,
      accept: "application/json",
      ...(init.headers as Record<string, string> | undefined),
    },
  });
}

async function unlockAtAgent(token: string, trace: string) {
  const res = await agentMf.dispatchFetch("http://agent.test/v1/unlock", {
    method: "POST",
    headers: {
      origin: dashboard,
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ trace, fields: ["0.url"] }),
  });
  return { status: res.status, json: (await res.json()) as AgentErrorBody & UnlockResponse };
}

/** A token signed with the dashboard's own key, as a dashboard that trusted the claim would. */
async function dashboardSigned(ws: string, trace: string): Promise<string> {
  const key = await signingKey({ FLUX_DASHBOARD_SIGNING_KEY: dashboardKey } as Env);
  const claims = { aud: AGENT_ID, sub: "admin@evil.test", ws, app: "shop-api", trace };
  const { token } = await issueAgentToken(
    key,
    { ...claims, act: "unlock", fields: ["0.url"] },
    { now: Date.now(), jti: crypto.randomUUID() },
  );
  return token;
}

beforeAll(async () => {
  persist = await mkdtemp(join(tmpdir(), "fluxrun-binding-"));
  const r2Persist = join(persist, "r2");
  const keys = await generateTraceKeys();
  const replaySigning = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  dashboardKey = await signingJwk();
  // No FLUX_DEFAULT_WORKSPACE: apps nobody registered stay unassigned, as in the red team's run.
  dashMf = new Miniflare(
    await withNodeBindings({
      r2Persist,
      workers: [
        await dashboardWorker({
          FLUX_AGENT_ORIGIN: "http://agent.test",
          FLUX_AGENT_ID: AGENT_ID,
          FLUX_DASHBOARD_SIGNING_KEY: dashboardKey,
        }),
      ],
    }),
  );
  dashboard = (await dashMf.ready).toString().replace(/\/$/, "");
  db = await dashboardDb(dashMf);
  const jwks = await (await fetch(`${dashboard}/.well-known/jwks.json`)).json();
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
            workspaces: "acme",
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

  indexedBefore = await record("/checkout");
  await (await dashMf.getWorker("dashboard")).scheduled({ cron: "* * * * *" });
  const row = await db
    .prepare("SELECT ws FROM executions WHERE trace_id = ?")
    .bind(indexedBefore)
    .first<{ ws: string | null }>();
  expect(row).toEqual({ ws: null });
  indexedAfter = await record("/cart");

  const now = Date.now();
  await createWorkspace(db, { id: "acme", name: "Acme (the customer)" }, now);
  await createWorkspace(db, { id: "evil", name: "Another workspace" }, now);
  const admin = await ensureUser(db, "admin@evil.test", { now, id: () => crypto.randomUUID() });
  await setMember(db, "evil", admin.id, "admin", now);
  evilToken = await createApiToken(db, admin.id, { name: "attack", now });
});

afterAll(async () => {
  await agentMf?.dispose();
  await dashMf?.dispose();
  if (persist) await rm(persist, { recursive: true, force: true });
});

describe("claiming an app name in another workspace (issue 13, attack 2)", () => {
  it("the claim is accepted, but reveals no trace recorded before it", async () => {
    const claim = await asEvil("/w/evil/admin/apps", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "name=shop-api",
    });
    expect(claim.status).toBe(200);
    const reindex = await asEvil("/admin/reindex", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ws: "evil" }),
    });
    expect(reindex.status).toBe(200);

    const list = (await (await asEvil("/api/w/evil/executions")).json()) as {
      executions: unknown[];
    };
    expect(list.executions).toEqual([]);
    for (const trace of [indexedBefore, indexedAfter]) {
      expect((await asEvil(`/api/w/evil/executions/${trace}`)).status).toBe(404);
      const token = await asEvil("/api/tokens", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ trace, act: "unlock", fields: ["0.url"] }),
      });
      expect(token.status).toBe(404);
    }
    const { results } = await db
      .prepare("SELECT trace_id AS t, ws FROM executions ORDER BY t")
      .all<{ t: string; ws: string | null }>();
    expect(results.map((r) => r.ws)).toEqual([null, null]);
    const rollups = await db.prepare("SELECT count(*) AS n FROM rollups").first<{ n: number }>();
    expect(rollups?.n).toBe(0);
  });

  it("the agent refuses a token for another workspace even when the dashboard's key signed it", async () => {
    const r = await unlockAtAgent(await dashboardSigned("evil", indexedBefore), indexedBefore);
    expect([r.status, r.json.error?.code]).toEqual([403, "ERR_TOKEN_WORKSPACE"]);
    // The same token for the workspace the agent serves opens the trace: the refusal was the workspace.
    const own = await unlockAtAgent(await dashboardSigned("acme", indexedBefore), indexedBefore);
    expect(own.status).toBe(200);
    expect(own.json.fields[0]?.value).toContain("/checkout");
  });
});
