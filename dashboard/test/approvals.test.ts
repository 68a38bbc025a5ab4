/**
 * Approvals for higher-risk actions (issue 16.2) through the dashboard app on real D1/R2
 * (Miniflare) with a frozen clock: the secure defaults, the second-person round (request, refusals
 * of self-approval and of viewers, approval, the signed statement in the token, single use,
 * expiry, mismatch), re-confirmation by a recent sign-in, production replays, the gate on the
 * audit export, the Approvals page and nav count, and the audit trail (names and ids only).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from "jose";
import { APPROVAL_TYPE, type ApprovalView } from "fluxrun/contract";
import { createApp } from "../src/app.js";
import { sweep } from "../src/indexer/sweep.js";
import { APPROVAL_RETENTION_MS, getApproval, pruneApprovals } from "../src/db/approvals.js";
import type { Env } from "../src/env.js";
import {
  bearer,
  frozenClock,
  hexId,
  jsonPost,
  makeEnv,
  putTrace,
  seed,
  signingJwk,
  startStorage,
  T0,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });
const A = hexId(0xa9);
const ORIGIN = "http://dash.test";
/** Event 1 of the helper's trace is an env read (a secret); event 0's body is not. */
const SECRET = ["0.body", "1"];

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t, { FLUX_DASHBOARD_SIGNING_KEY: await signingJwk() });
  await putTrace(t.bucket, {
    id: A,
    app: "shop-api",
    route: "/checkout",
    method: "POST",
    status: 500,
    outcome: "exception",
    errorClass: "TypeError",
    start: T0 - 60_000,
  });
  await sweep(t.db, t.bucket, { now: T0 });
});
afterAll(async () => t?.dispose());
beforeEach(async () => {
  clock.set(T0);
  // Each test starts from the workspace's defaults, whatever the one before it set.
  await t.db.batch([
    t.db.prepare("DELETE FROM approval_settings WHERE ws = 'acme'"),
    t.db.prepare("DELETE FROM approval_policy WHERE ws = 'acme'"),
  ]);
});

type Who = keyof Seeded["tokens"];

async function call(who: Who, path: string, body?: unknown): Promise<Response> {
  return app.request(
    `${ORIGIN}${path}`,
    body === undefined
      ? bearer(s.tokens[who], { headers: { accept: "application/json" } })
      : jsonPost(s.tokens[who], body),
    env,
  );
}

async function code(res: Response): Promise<[number, string]> {
  const body = (await res.json()) as { error?: { code: string } };
  return [res.status, body.error?.code ?? "none"];
}

/** Sets the acme workspace's modes (the rest at their defaults), as an admin's form does. */
async function settings(form: Record<string, string>, approval?: string): Promise<void> {
  const res = await settingsPost(form, approval);
  expect(res.status).toBe(200);
}

async function settingsPost(form: Record<string, string>, approval?: string): Promise<Response> {
  return app.request(
    `${ORIGIN}/w/acme/approvals/settings${approval ? `?approval=${approval}` : ""}`,
    bearer(s.tokens.acmeAdmin, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        mode_unlock_secret: "second_person",
        mode_replay_production: "reconfirm",
        mode_audit_export: "allow",
        mode_agent_settings: "allow",
        reconfirm_minutes: "5",
        ...form,
      }).toString(),
    }),
    env,
  );
}

async function request(who: Who, fields = SECRET): Promise<ApprovalView> {
  const res = await call(who, "/api/approvals", { trace: A, act: "unlock", fields });
  expect(res.status).toBe(201);
  return (await res.json()) as ApprovalView;
}

async function auditActions(): Promise<{ action: string; detail: string | null }[]> {
  const { results } = await t.db
    .prepare("SELECT action, detail, reason FROM audit WHERE action LIKE 'approval.%' ORDER BY id")
    .all<{ action: string; detail: string | null }>();
  return results;
}

describe("defaults", () => {
  it("a secret needs a second person; other fields need nothing", async () => {
    expect(
      await code(
        await call("acmeResponder", "/api/tokens", { trace: A, act: "unlock", fields: SECRET }),
      ),
    ).toEqual([403, "ERR_APPROVAL_REQUIRED"]);
    const plain = await call("acmeResponder", "/api/tokens", {
      trace: A,
      act: "unlock",
      fields: ["0.body"],
    });
    expect(plain.status).toBe(200);
    expect(decodeJwt(((await plain.json()) as { token: string }).token)).not.toHaveProperty("apr");
    const masked = await call("acmeResponder", "/api/tokens", {
      trace: A,
      act: "unlock",
      fields: ["0.headers.authorization"],
    });
    expect(await code(masked)).toEqual([403, "ERR_APPROVAL_REQUIRED"]);
  });

  it("nothing to approve is refused as a request", async () => {
    const res = await call("acmeResponder", "/api/approvals", {
      trace: A,
      act: "unlock",
      fields: ["0.body"],
    });
    expect(await code(res)).toEqual([400, "ERR_BAD_REQUEST"]);
  });
});

describe("a second person's approval", () => {
  it("is requested, refused to the requester and to viewers, approved by another, used once", async () => {
    const asked = await request("acmeResponder");
    expect(asked).toMatchObject({ state: "pending", fields: ["0.body", "1"], act: "unlock" });
    expect(asked.expiresAt).toBe(T0 + 600_000);
    const approve = `/api/approvals/${asked.id}/approve`;
    expect(await code(await call("acmeResponder", approve, {}))).toEqual([
      403,
      "ERR_APPROVAL_SELF",
    ]);
    expect(await code(await call("acmeViewer", approve, {}))).toEqual([403, "ERR_APPROVAL_ROLE"]);
    expect(await code(await call("globexAdmin", approve, {}))).toEqual([404, "ERR_NOT_FOUND"]);
    const token = (extra: object) =>
      call("acmeResponder", "/api/tokens", {
        trace: A,
        act: "unlock",
        fields: SECRET,
        approval: asked.id,
        ...extra,
      });
    expect(await code(await token({}))).toEqual([409, "ERR_APPROVAL_PENDING"]);

    clock.set(T0 + 60_000);
    const ok = await call("acmeAdmin", approve, {});
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ state: "approved", approver: "admin@acme.test" });
    expect(await code(await call("acmeAdmin", approve, {}))).toEqual([409, "ERR_CONFLICT"]);

    // Bound to its fields and its requester: neither spends it.
    expect(await code(await token({ fields: ["1"] }))).toEqual([403, "ERR_APPROVAL_MISMATCH"]);
    const other = await call("acmeAdmin", "/api/tokens", {
      trace: A,
      act: "unlock",
      fields: SECRET,
      approval: asked.id,
    });
    expect(await code(other)).toEqual([403, "ERR_APPROVAL_MISMATCH"]);

    const used = await token({});
    expect(used.status).toBe(200);
    const issued = (await used.json()) as { token: string };
    const claims = decodeJwt(issued.token) as { apr?: string };
    const jwks = (await (await app.request("/.well-known/jwks.json", {}, env)).json()) as {
      keys: JWK[];
    };
    expect(decodeProtectedHeader(claims.apr!).typ).toBe(APPROVAL_TYPE);
    const { payload } = await jwtVerify(claims.apr!, createLocalJWKSet(jwks), {
      typ: APPROVAL_TYPE,
      audience: "test-agent",
      currentDate: new Date(T0 + 61_000),
    });
    expect(payload).toMatchObject({
      ws: "acme",
      app: "shop-api",
      trace: A,
      act: "unlock",
      risk: "unlock_secret",
      mode: "second_person",
      fields: ["0.body", "1"],
      req: "oncall@acme.test",
      by: "admin@acme.test",
      jti: asked.id,
      exp: Math.floor((T0 + 60_000 + 600_000) / 1000),
    });

    expect(await code(await token({}))).toEqual([409, "ERR_APPROVAL_USED"]);
    const state = (await (await call("acmeResponder", `/api/approvals/${asked.id}`)).json()) as {
      state: string;
    };
    expect(state.state).toBe("used");

    const log = await auditActions();
    const mine = log.filter((r) => (r.detail ?? "").includes(asked.id));
    expect(mine.map((r) => r.action)).toEqual([
      "approval.requested",
      "approval.refused",
      "approval.refused",
      "approval.refused",
      "approval.granted",
      "approval.refused",
      "approval.refused",
      "approval.refused",
      "approval.used",
      "approval.refused",
    ]);
    expect(JSON.stringify(log)).not.toMatch(/sk_live|secret_value|eyJ/);
  });

  it("expires: a granted approval after 10 minutes, a pending request too", async () => {
    const asked = await request("acmeResponder");
    expect((await call("acmeAdmin", `/api/approvals/${asked.id}/approve`, {})).status).toBe(200);
    clock.set(T0 + 600_001);
    const late = await call("acmeResponder", "/api/tokens", {
      trace: A,
      act: "unlock",
      fields: SECRET,
      approval: asked.id,
    });
    expect(await code(late)).toEqual([409, "ERR_APPROVAL_EXPIRED"]);

    clock.set(T0);
    const lapsing = await request("acmeResponder");
    clock.set(T0 + 600_000);
    expect(await code(await call("acmeAdmin", `/api/approvals/${lapsing.id}/approve`, {}))).toEqual(
      [409, "ERR_APPROVAL_EXPIRED"],
    );
  });

  it("denied stays denied", async () => {
    const asked = await request("acmeResponder");
    expect((await call("acmeAdmin", `/api/approvals/${asked.id}/deny`, {})).status).toBe(200);
    const res = await call("acmeResponder", "/api/tokens", {
      trace: A,
      act: "unlock",
      fields: SECRET,
      approval: asked.id,
    });
    expect(await code(res)).toEqual([403, "ERR_APPROVAL_DENIED"]);
  });

  it("the Approvals page lists what waits, and the nav counts it for responders", async () => {
    const asked = await request("acmeResponder");
    const page = await (await call("acmeAdmin", "/w/acme/approvals")).text();
    expect(page).toContain(`data-approval="${asked.id}"`);
    expect(page).toContain(`data-approve="${asked.id}"`);
    expect(page).toMatch(/id="nav-approvals-count">\d+</);
    const own = await (await call("acmeResponder", "/w/acme/approvals")).text();
    expect(own).not.toContain(`data-approve="${asked.id}"`);
    const viewer = await (await call("acmeViewer", "/w/acme/issues")).text();
    expect(viewer).not.toContain("nav-approvals");
  });
});

describe("retention", () => {
  it("the cron drops requests 30 days past their expiry, and nothing younger", async () => {
    const asked = await request("acmeResponder");
    await pruneApprovals(t.db, { now: asked.expiresAt + APPROVAL_RETENTION_MS - 1 });
    expect(await getApproval(t.db, asked.id)).not.toBeNull();
    await pruneApprovals(t.db, { now: asked.expiresAt + APPROVAL_RETENTION_MS + 1 });
    expect(await getApproval(t.db, asked.id)).toBeNull();
  });
});

describe("races", () => {
  it("an approve and a deny racing one request: exactly one decides it", async () => {
    const asked = await request("acmeResponder");
    const both = await Promise.all([
      call("acmeAdmin", `/api/approvals/${asked.id}/approve`, {}),
      call("acmeAdmin", `/api/approvals/${asked.id}/deny`, {}),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it("two tokens racing one approval: exactly one is issued", async () => {
    const asked = await request("acmeResponder");
    expect((await call("acmeAdmin", `/api/approvals/${asked.id}/approve`, {})).status).toBe(200);
    const body = { trace: A, act: "unlock", fields: SECRET, approval: asked.id };
    const both = await Promise.all([
      call("acmeResponder", "/api/tokens", body),
      call("acmeResponder", "/api/tokens", body),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
  });
});

describe("re-confirmation", () => {
  beforeEach(() => settings({ mode_unlock_secret: "reconfirm", reconfirm_minutes: "5" }));

  async function session(token: string): Promise<string> {
    const page = await app.request(`${ORIGIN}/login`, {}, env);
    const nonce = /name="nonce" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
    const res = await app.request(
      `${ORIGIN}/login`,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          cookie: (page.headers.get("set-cookie") ?? "").split(";")[0]!,
          origin: ORIGIN,
        },
        body: new URLSearchParams({ token, nonce }).toString(),
      },
      env,
    );
    return res.headers
      .getSetCookie()
      .find((c) => c.startsWith("__Host-flux_session="))!
      .split(";")[0]!;
  }

  const viaSession = (jar: string) =>
    app.request(
      `${ORIGIN}/api/tokens`,
      {
        method: "POST",
        headers: { cookie: jar, origin: ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ trace: A, act: "unlock", fields: SECRET }),
      },
      env,
    );

  it("needs a sign-in within the window; an API token is not one", async () => {
    const res = await call("acmeResponder", "/api/tokens", {
      trace: A,
      act: "unlock",
      fields: SECRET,
    });
    expect(await code(res)).toEqual([403, "ERR_REAUTH_REQUIRED"]);
    const badReferer = await app.request(
      `${ORIGIN}/api/tokens`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${s.tokens.acmeResponder}`,
          "content-type": "application/json",
          referer: "::not a url::",
        },
        body: JSON.stringify({ trace: A, act: "unlock", fields: SECRET }),
      },
      env,
    );
    expect(await code(badReferer)).toEqual([403, "ERR_REAUTH_REQUIRED"]);
    const jar = await session(s.tokens.acmeResponder);
    clock.set(T0 + 4 * 60_000);
    const fresh = await viaSession(jar);
    expect(fresh.status).toBe(200);
    const apr = (decodeJwt(((await fresh.json()) as { token: string }).token) as { apr: string })
      .apr;
    expect(decodeJwt(apr)).toMatchObject({
      mode: "reconfirm",
      req: "oncall@acme.test",
      by: "oncall@acme.test",
      auth_time: Math.floor(T0 / 1000),
    });
    clock.set(T0 + 5 * 60_000 + 1);
    expect(await code(await viaSession(jar))).toEqual([403, "ERR_REAUTH_REQUIRED"]);
  });
});

describe("production replay and the dashboard's own risky actions", () => {
  it("a replay through an agent marked production needs its mode (re-confirm by default)", async () => {
    await settings({});
    expect((await call("acmeResponder", "/api/tokens", { trace: A, act: "replay" })).status).toBe(
      200,
    );
    await settings({ agent_production: "true" });
    expect(
      await code(await call("acmeResponder", "/api/tokens", { trace: A, act: "replay" })),
    ).toEqual([403, "ERR_REAUTH_REQUIRED"]);
    await settings({ agent_production: "true", mode_replay_production: "allow" });
    const allowed = await call("acmeResponder", "/api/tokens", { trace: A, act: "replay" });
    expect(allowed.status).toBe(200);
    const apr = (decodeJwt(((await allowed.json()) as { token: string }).token) as { apr: string })
      .apr;
    expect(decodeJwt(apr)).toMatchObject({ risk: "replay_production", mode: "allow" });
    await settings({});
  });

  it("settings behind a second person: requested on the page, approved by another, used once", async () => {
    await settings({ mode_agent_settings: "second_person" });
    expect(await code(await settingsPost({}))).toEqual([403, "ERR_APPROVAL_REQUIRED"]);
    const agentForm = (query = "") =>
      app.request(
        `${ORIGIN}/w/acme/admin/agent${query}`,
        bearer(s.tokens.acmeAdmin, {
          method: "POST",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            accept: "application/json",
          },
          body: "origin=https%3A%2F%2Fagent.acme.example&id=acme-agent",
        }),
        env,
      );
    expect(await code(await agentForm())).toEqual([403, "ERR_APPROVAL_REQUIRED"]);
    expect((await call("acmeAdmin", "/w/acme/admin")).status).toBe(200);
    const asked = await app.request(
      `${ORIGIN}/w/acme/approvals/request`,
      bearer(s.tokens.acmeAdmin, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "risk=agent_settings",
      }),
      env,
    );
    expect(asked.status).toBe(303);
    const { id } = (await t.db
      .prepare(
        "SELECT id FROM approvals WHERE risk = 'agent_settings' AND state = 'pending' ORDER BY rowid DESC",
      )
      .first<{ id: string }>())!;
    const page = await (await call("acmeAdmin", "/w/acme/approvals")).text();
    expect(page).toContain(`<tr data-approval="${id}" data-state="pending">`);
    const approved = await app.request(
      `${ORIGIN}/w/acme/approvals/${id}/approve`,
      bearer(s.tokens.acmeResponder, { method: "POST" }),
      env,
    );
    expect(approved.headers.get("location")).toBe("/w/acme/approvals?done=approved");
    const ready = await (await call("acmeAdmin", "/w/acme/approvals")).text();
    expect(ready).toContain(`action="/w/acme/approvals/settings?approval=${id}"`);
    expect(ready).toContain(`action="/w/acme/admin/agent?approval=${id}"`);
    await settings({ mode_agent_settings: "second_person" }, id);
    expect(await code(await settingsPost({ mode_agent_settings: "second_person" }, id))).toEqual([
      409,
      "ERR_APPROVAL_USED",
    ]);
  });

  it("the audit export behind a second person: one approval, one export", async () => {
    await settings({ mode_audit_export: "second_person" });
    expect(await code(await call("acmeAdmin", "/w/acme/admin/audit.ndjson"))).toEqual([
      403,
      "ERR_APPROVAL_REQUIRED",
    ]);
    const res = await call("acmeAdmin", "/api/approvals", { ws: "acme", risk: "audit_export" });
    expect(res.status).toBe(201);
    const asked = (await res.json()) as ApprovalView;
    expect((await call("acmeResponder", `/api/approvals/${asked.id}/approve`, {})).status).toBe(
      200,
    );
    const exported = await call("acmeAdmin", `/w/acme/admin/audit.ndjson?approval=${asked.id}`);
    expect(exported.status).toBe(200);
    expect(await exported.text()).toContain("approval.used");
    expect(
      await code(await call("acmeAdmin", `/w/acme/admin/audit.ndjson?approval=${asked.id}`)),
    ).toEqual([409, "ERR_APPROVAL_USED"]);
    await settings({});
  });
});
